"""From photos to ages: detect every face, cut it as the model was trained, predict.

The crop is the model's own: its card's `crop` (a `agekit.faces.CropSpec`: a landmark
template such as `"utkface"` for models trained on UTKFace chips, or the margin,
alignment and detector of `prepare_dataset` crops), so a face in a photo reaches the
model cut the way its training faces were. `crop=`, `detector=`, `upsample=`,
`max_side=` change it for one call.

- `model_crop(model)`: that crop as a `CropSpec`;
- `predict_faces(model, image)`: every face of one photo;
- `predict_photos(model, photos)`: every face of many photos, detection and cropping in
  worker threads, the faces predicted in batches, a progress bar; unreadable files are
  counted, never fatal;
- `annotate(image, faces)`: the boxes and ages drawn on the photo.
"""

import sys
import time
import warnings

import numpy as np
import pandas as pd

from agekit.faces.spec import CropSpec, crop_spec

BOX_COLUMNS = ["face", "left", "top", "right", "bottom", "score"]
# A model whose card names no crop: the geometry most agekit models are trained on.
FALLBACK_CROP = CropSpec(template="utkface")


def spec_from_card(crop: dict | None) -> CropSpec | None:
    """The `CropSpec` of a model card's `crop` fact (`None`: it names no photo crop).

    Cards written before `CropSpec` held `{"kind": "dataset", "dataset": ...}` or
    `{"kind": "margin", ...}`; both are read.

    Example:

    >>> spec_from_card({"kind": "dataset", "dataset": "utkface"}).template
    'utkface'
    >>> spec_from_card({"kind": "dataset", "dataset": "adience"}) is None
    True
    """
    if not crop:
        return None
    kind = crop.get("kind")
    if kind is None:
        return CropSpec.from_dict(crop)
    if kind == "dataset":
        return CropSpec(template="utkface") if crop.get("dataset") == "utkface" else None
    if kind == "margin":
        return CropSpec(margin=crop.get("margin", "loose"), align=bool(crop.get("align", False)),
                        detector=crop.get("detector", "hog"), upsample=int(crop.get("upsample", 0)))
    return None


def model_crop(model, crop=None, *, detector=None, upsample=None, max_side=None,
               align=None, margin=None) -> CropSpec:
    """The crop `model` was trained on, with this call's changes.

    Args:
        model: A model with a card (`agekit.models.card_of`).
        crop: Anything `agekit.faces.crop_spec` takes (`"utkface"`, `"tight"`, a
            fraction, a dict, a `CropSpec`); `None`: the card's.
        detector, upsample, max_side: Change how faces are found (`"auto"`, `"hog"`,
            `"cnn"`; see `agekit.faces.detect_faces`).
        align, margin: A margin crop instead (`margin="tight"`, `align=False`, ...).

    Returns:
        A `CropSpec`. A card without a crop gives `FALLBACK_CROP` with a warning.
    """
    from agekit.models.card import card_of

    if crop is not None:
        spec = crop_spec(crop)
    else:
        spec = spec_from_card(card_of(model).crop)
        if spec is None:
            warnings.warn(f"The model card names no photo crop (crop={card_of(model).crop!r}): cutting "
                          f"faces with the {FALLBACK_CROP.template!r} template. Pass crop=... to choose.",
                          stacklevel=3)
            spec = FALLBACK_CROP
    if margin is not None:
        default_align = True if spec.template is not None else spec.align
        spec = CropSpec(margin=margin, align=default_align if align is None else bool(align),
                        detector=spec.detector, upsample=spec.upsample, max_side=spec.max_side, pad=spec.pad)
    elif align is not None and spec.template is None:
        spec = spec.replace(align=bool(align))
    changes = {k: v for k, v in (("detector", detector), ("upsample", upsample), ("max_side", max_side))
               if v is not None}
    return spec.replace(**changes) if changes else spec


def predict_faces(model, image, *, boxes=None, crop=None, detector=None, upsample=None,
                  max_side=None, align=None, margin=None, batch_size=64,
                  interval: float | None = None) -> pd.DataFrame:
    """Find every face in a photo and predict its age (and gender / ethnicity).

    Each face is detected by the crop's detector (the card's, see `model_crop`), cut
    with the model's crop geometry (`agekit.faces.cut_face`) and predicted
    (`agekit.predict.predict_age`).

    Args:
        model: A loaded agekit model, or a name / path for `load_model`.
        image: An RGB array or an image path (greyscale / RGBA / 16-bit are converted).
        boxes: `FaceBox`es already found in `image`; `None` detects them.
        crop, detector, upsample, max_side, align, margin: Change the card's crop for
            this call (see `model_crop`).
        batch_size: Faces per forward pass.
        interval: Also give each face an age interval at this level (see `predict_age`).

    Returns:
        One row per face, most confident first: `face` (0, 1, ...), the box `left`,
        `top`, `right`, `bottom` (pixels, right/bottom exclusive), the detector `score`,
        then the columns of `predict_age`. No face gives an empty table.

    Example:
        >>> predict_faces("utkface", "two_people.jpg")[["left", "top", "age"]]  # doctest: +SKIP
    """
    from agekit.faces import cut_faces
    from agekit.images import load_image
    from agekit.predict import load_model, predict_age

    if not hasattr(model, "predict"):
        model = load_model(model)
    spec = model_crop(model, crop, detector=detector, upsample=upsample, max_side=max_side,
                      align=align, margin=margin)
    boxes, crops = cut_faces(load_image(image), spec, boxes=boxes)
    faces = pd.DataFrame([(i, b.left, b.top, b.right, b.bottom, b.score) for i, b in enumerate(boxes)],
                         columns=BOX_COLUMNS)
    if not boxes:
        return faces
    table = predict_age(model, crops, batch_size=batch_size, interval=interval)
    return pd.concat([faces, table], axis=1)


def face_crops_for(model, image, boxes, **changes) -> list:
    """The crops of `boxes` in a photo, cut as `model` was trained (see `model_crop`).

    Example:
        >>> face_crops_for(model, photo, [box])[0].shape  # doctest: +SKIP
        (200, 200, 3)
    """
    from agekit.faces import cut_faces
    from agekit.images import load_image

    return cut_faces(load_image(image), model_crop(model, **changes), boxes=list(boxes))[1]


def predict_photos(model, photos, *, crop=None, detector=None, upsample=None, max_side=None,
                   workers: int = 2, batch_size: int = 64, interval: float | None = None,
                   progress: bool | None = None) -> pd.DataFrame:
    """Every face of many photos: detected and cut in worker threads, predicted in batches.

    Args:
        model: A loaded agekit model, or a name / path for `load_model`.
        photos: Image paths (or RGB arrays).
        crop, detector, upsample, max_side: Change the card's crop (see `model_crop`).
        workers: Photos detected and cut at once (threads; dlib releases the GIL, so
            one per core helps).
        batch_size: Faces per forward pass.
        interval: Also an age interval per face at this level (see `predict_age`).
        progress: Show a progress bar on stderr; `None`: when stderr is a terminal
            and there are more than 10 photos.

    Returns:
        One row per face: `image` (the path as given, or the array's position), then
        the columns of `predict_faces`. `table.attrs["photos"]` holds one dict per
        photo: `image`, `status` (`"ok"`, `"no_face"`, `"missing"`, `"unreadable"`),
        `faces` (how many), `error`.

    Example:
        >>> table = predict_photos("utkface", ["a.jpg", "b.jpg"])  # doctest: +SKIP
        >>> pd.DataFrame(table.attrs["photos"])["status"].value_counts()  # doctest: +SKIP
    """
    from agekit.faces import cut_photos
    from agekit.predict import load_model, predict_age

    if not hasattr(model, "predict"):
        model = load_model(model)
    photos = list(photos)
    spec = model_crop(model, crop, detector=detector, upsample=upsample, max_side=max_side)
    show = progress if progress is not None else len(photos) > 10 and sys.stderr.isatty()
    bar = _Progress(len(photos), "photos") if show else None
    statuses, pending, tables = [], [], []

    def flush():
        crops = [c for _, c in pending]
        table = predict_age(model, crops, batch_size=batch_size, interval=interval)
        tables.append(pd.concat([pd.DataFrame([r for r, _ in pending], columns=["image", *BOX_COLUMNS]),
                                 table], axis=1))
        pending.clear()

    for result in cut_photos(photos, spec, workers=workers):
        statuses.append((result.source, result.status, len(result.crops), result.error))
        for i, (box, face) in enumerate(zip(result.boxes, result.crops)):
            pending.append(((result.source, i, box.left, box.top, box.right, box.bottom, box.score), face))
        if len(pending) >= 4 * batch_size:
            flush()
        if bar:
            bar.update()
    if pending:
        flush()
    if bar:
        bar.close()
    columns = ["image", *BOX_COLUMNS, "age"]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    table.attrs["photos"] = [dict(zip(("image", "status", "faces", "error"), row)) for row in statuses]
    return table


class _Progress:
    """A one-line progress bar on stderr: `photos  120/508  24%  31.2/s  ETA 12s`."""

    def __init__(self, total, unit):
        self.total, self.unit, self.done, self.start = total, unit, 0, time.perf_counter()
        self.shown = 0.0

    def update(self, n=1):
        self.done += n
        now = time.perf_counter()
        if now - self.shown < 0.2 and self.done < self.total:
            return
        self.shown = now
        rate = self.done / max(now - self.start, 1e-9)
        eta = (self.total - self.done) / rate if rate else 0
        sys.stderr.write(f"\r{self.unit} {self.done:>6}/{self.total} {100 * self.done / self.total:3.0f}%"
                         f"  {rate:6.1f}/s  ETA {eta:4.0f}s ")
        sys.stderr.flush()

    def close(self):
        sys.stderr.write("\n")
        sys.stderr.flush()


def annotate(image, faces: pd.DataFrame) -> np.ndarray:
    """Draw each face's box and predicted age (and gender) on a copy of the image.

    Args:
        image: The RGB photo (array or path) that `faces` was predicted on.
        faces: A `predict_faces` table.

    Returns:
        RGB uint8 array of the same size; write it with `agekit.images.write_image`.

    Example:
        >>> marked = annotate("two_people.jpg", predict_faces("utkface", "two_people.jpg"))  # doctest: +SKIP
    """
    import cv2

    from agekit.images import load_image

    image = load_image(image).copy()
    thickness = max(1, round(max(image.shape[:2]) / 400))
    for row in faces.itertuples():
        label = f"{row.age:.0f}"
        if "gender" in faces.columns:
            label += f" {row.gender[0].upper()}"
        cv2.rectangle(image, (int(row.left), int(row.top)), (int(row.right) - 1, int(row.bottom) - 1),
                      (0, 255, 0), thickness)
        scale = max(0.4, (row.right - row.left) / 120)
        (width, height), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = max(int(row.top) - height - 6, 0)
        cv2.rectangle(image, (int(row.left), top), (int(row.left) + width + 4, top + height + 6),
                      (0, 255, 0), -1)
        cv2.putText(image, label, (int(row.left) + 2, top + height + 2), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (0, 0, 0), thickness, cv2.LINE_AA)
    return image
