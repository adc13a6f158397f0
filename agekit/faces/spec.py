"""`CropSpec`: how a face crop is cut from a photo, as data a model card can store.

A crop is either a **template** crop (a similarity transform from the face's 68
landmarks onto a named template's landmark pixels, see `agekit.faces.template`) or a
**margin** crop (a square around the detector box, `MARGINS`, optionally rotated so the
eyes are level). The detector matters to a margin crop: dlib's HOG and CNN boxes differ
in size and position, so the detector, its upsampling and `max_side` are part of the
geometry and are recorded with it.

`CropSpec.to_dict()` is JSON-ready and `CropSpec.from_dict` reads it back, so the model
card's `crop` field, `prepare_dataset`'s `settings.json` and a prediction all name the
same geometry. `crop_spec` accepts a `CropSpec`, such a dict, a template name, a margin
preset or a margin fraction.
"""

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from agekit._validation import fail
from agekit.faces.crop import MARGINS, PADS
from agekit.faces.detect import DETECTORS
from agekit.faces.template import TEMPLATES

POINTS = (5, 68)


@dataclass(frozen=True)
class CropSpec:
    """The geometry of a face crop and the detection that feeds it.

    Exactly one of `template` and `margin` is set.

    Args:
        template: a name in `TEMPLATES` (`"utkface"`): the crop puts the eyes, nose tip
            and mouth corners where that template does (needs `points=68`).
        margin: for a crop around the detector box: a preset of `MARGINS` (`"tight"`,
            `"loose"`, `"very_loose"`), a fraction >= 0 of the box side, or `"raw"` (the
            whole image, padded square; no detection).
        align: margin crops only: rotate so the eyes are level first (`align_face`).
            Template crops are always aligned; `align=False` with a template is an error.
        points: landmarks used to align: 68 or 5 (dlib's 5-point model: eye corners and
            nose, about 2.5x faster, margin crops only).
        detector: `"auto"` (HOG, then the CNN where HOG finds nothing; see
            `detect_faces`), `"hog"` or `"cnn"`.
        upsample: detector upsampling steps (0 finds faces from about 80 px).
        max_side: detect on a copy shrunk to this longer side (`None`: full size, or
            the `"auto"` cascade's own sizes).
        size: side of the crop in pixels; `None` keeps the template's size (200 for
            `"utkface"`) or the margin crop's own size.
        pad: `"constant"` (black) or `"reflect"` where the crop leaves the photo.

    Example:

    >>> spec = CropSpec(template="utkface")
    >>> CropSpec.from_dict(spec.to_dict()) == spec
    True
    >>> CropSpec(margin="loose", points=5, detector="cnn").to_dict()["margin"]
    'loose'
    """

    template: str | None = None
    margin: str | float | None = None
    align: bool = True
    points: int = 68
    detector: str = "auto"
    upsample: int = 0
    max_side: int | None = None
    size: int | None = None
    pad: str = "constant"

    def __post_init__(self):
        if (self.template is None) == (self.margin is None):
            fail("exactly one of `template` and `margin`", "(template, margin)", (self.template, self.margin))
        if not isinstance(self.align, (bool, np.bool_)):
            fail("`align` as True or False", "align", self.align, error=TypeError)
        object.__setattr__(self, "align", bool(self.align))
        if self.template is not None:
            if self.template not in TEMPLATES:
                fail(f"`template` in {tuple(TEMPLATES)}", "template", self.template)
            if not self.align:
                fail("align=True with a template (template crops are always aligned)", "align", self.align)
            if self.points != 68:
                fail("points=68 with a template (it needs the eyes, nose tip and mouth corners)",
                     "points", self.points)
        else:
            object.__setattr__(self, "margin", _check_margin(self.margin))
            if self.margin == "raw" and self.align:
                fail("align=False with margin='raw' (the whole image, nothing to align)", "align", self.align)
        if self.points not in POINTS:
            fail(f"`points` in {POINTS}", "points", self.points)
        if self.detector not in DETECTORS:
            fail(f"`detector` in {DETECTORS}", "detector", self.detector)
        if isinstance(self.upsample, bool) or not isinstance(self.upsample, (int, np.integer)) \
                or not 0 <= self.upsample <= 4:
            fail("`upsample` as an integer in 0..4", "upsample", self.upsample)
        if self.max_side is not None and (isinstance(self.max_side, bool) or not isinstance(
                self.max_side, (int, np.integer)) or self.max_side < 16):
            fail("`max_side` as an integer >= 16, or None", "max_side", self.max_side)
        if self.size is not None and (isinstance(self.size, bool) or not isinstance(
                self.size, (int, np.integer)) or self.size < 1):
            fail("`size` as a positive integer or None", "size", self.size)
        if self.pad not in PADS:
            fail(f"`pad` in {tuple(PADS)}", "pad", self.pad)
        for name in ("points", "upsample", "max_side", "size"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, int(value))

    def to_dict(self) -> dict:
        """Every field as JSON-ready values (the model card's `crop` field).

        Example:

        >>> sorted(CropSpec(template="utkface").to_dict())[:3]
        ['align', 'detector', 'margin']
        """
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "CropSpec":
        """The spec a `to_dict()` dict describes; missing fields take their defaults.

        Example:

        >>> CropSpec.from_dict({"margin": "tight", "align": False}).margin
        'tight'
        """
        if not isinstance(data, dict):
            fail("a dict from CropSpec.to_dict()", "data", data, error=TypeError)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            fail(f"crop fields among {sorted(known)}", "unknown fields", unknown)
        return cls(**data)

    def replace(self, **changes) -> "CropSpec":
        """A copy with some fields changed (validated again).

        Example:

        >>> CropSpec(template="utkface").replace(size=64).size
        64
        """
        return dataclasses.replace(self, **changes)


def crop_spec(crop) -> CropSpec:
    """A `CropSpec` from a spec, its dict, a template name, a margin preset or a fraction.

    Args:
        crop: a `CropSpec` (returned as is); a dict from `CropSpec.to_dict()`; a name in
            `TEMPLATES` (`"utkface"`: a template crop with every other field default);
            `"tight"`, `"loose"`, `"very_loose"` or `"raw"`, or a number (a margin crop,
            aligned, 68 points, `"auto"` detector; `"raw"`: not aligned).

    Returns:
        The `CropSpec`.

    Example:

    >>> crop_spec("utkface").template
    'utkface'
    >>> crop_spec(0.2).margin
    0.2
    """
    if isinstance(crop, CropSpec):
        return crop
    if isinstance(crop, dict):
        return CropSpec.from_dict(crop)
    if isinstance(crop, str) and crop in TEMPLATES:
        return CropSpec(template=crop)
    if crop == "raw":
        return CropSpec(margin="raw", align=False)
    if isinstance(crop, (str, int, float, np.number)) and not isinstance(crop, bool):
        return CropSpec(margin=crop)
    fail("a CropSpec, its dict, a template name, a margin preset or a number", "crop", crop, error=TypeError)


def _check_margin(margin):
    if isinstance(margin, str):
        if margin not in MARGINS and margin != "raw":
            fail(f"`margin` in {sorted(MARGINS) + ['raw']} or a number >= 0 (or a template name "
                 f"in {tuple(TEMPLATES)} as `template`)", "margin", margin)
        return margin
    if isinstance(margin, bool) or not isinstance(margin, (int, float, np.number)):
        fail("`margin` as a preset name or a number >= 0", "margin", margin, error=TypeError)
    if not math.isfinite(margin) or margin < 0:
        fail("`margin` as a number >= 0", "margin", margin)
    return float(margin)
