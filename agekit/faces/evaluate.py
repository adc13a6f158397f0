"""Judging a face detector against hand-labelled boxes.

- `read_imglab_boxes`: the boxes of dlib's imglab XML files (`training.xml`,
  `testing.xml` of dlib's examples: `<box top left width height>`).
- `match_boxes`: true boxes matched one-to-one, greedily by IoU, at IoU >= a threshold.
- `detection_recall`: recall and false detections of a detector over labelled images.
"""

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from agekit.errors import MissingFileError
from agekit.faces.detect import FaceBox, detect_faces


def read_imglab_boxes(xml_path: str | os.PathLike) -> dict:
    """`{image file: [FaceBox, ...]}` from a dlib imglab XML file.

    Example:
        dlib's `examples/faces/testing.xml` holds 25 boxes; a file of one:

        >>> import tempfile
        >>> from pathlib import Path
        >>> xml = Path(tempfile.mkdtemp()) / "testing.xml"
        >>> _ = xml.write_text("<dataset><images><image file='a.jpg'>"
        ...                    "<box top='10' left='20' width='30' height='40'/></image></images></dataset>")
        >>> read_imglab_boxes(xml)
        {'a.jpg': [FaceBox(left=20.0, top=10.0, right=50.0, bottom=50.0, score=nan)]}
    """
    xml_path = Path(xml_path)
    if not xml_path.is_file():
        raise MissingFileError(f"Expected an imglab XML file. Received: path={str(xml_path)!r}")
    boxes = {}
    for image in ET.parse(xml_path).getroot().iter("image"):
        boxes[image.get("file")] = [
            FaceBox(int(b.get("left")), int(b.get("top")),
                    int(b.get("left")) + int(b.get("width")),
                    int(b.get("top")) + int(b.get("height")))
            for b in image.iter("box")
        ]
    return boxes


def match_boxes(truth, found, *, iou=0.5) -> int:
    """How many true boxes a detection matches, one-to-one, best IoU first.

    Example:
        >>> match_boxes([FaceBox(0, 0, 10, 10)], [FaceBox(1, 1, 11, 11)])
        1
    """
    pairs = sorted(((t.iou(f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)),
                   reverse=True)
    used_true, used_found = set(), set()
    for overlap, i, j in pairs:
        if overlap >= iou and i not in used_true and j not in used_found:
            used_true.add(i)
            used_found.add(j)
    return len(used_true)


def detection_recall(truth, folder, *, iou=0.5, images=None, **options):
    """Recall of `detect_faces(**options)` on labelled images, and its false detections.

    Args:
        truth: `{image file: [FaceBox]}` (such as `read_imglab_boxes`).
        folder: Folder the image files are relative to.
        iou: IoU a detection needs to count.
        images: Optional `{image file: RGB array}` already read (saves the decoding).
        **options: Passed to `detect_faces` (`model`, `upsample`, `max_side`, ...).

    Returns:
        `(recall, false_detections)`.
    """
    hits = total = false = 0
    for name, boxes in truth.items():
        image = images[name] if images is not None else Path(folder) / name
        found = detect_faces(image, **options)
        hit = match_boxes(boxes, found, iou=iou)
        hits, total, false = hits + hit, total + len(boxes), false + len(found) - hit
    return (hits / total if total else float("nan")), false
