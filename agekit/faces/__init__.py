"""Face detection, crops, alignment and dataset preparation (OpenCV + dlib).

- `detect_faces` / `batch_detect`: dlib's CNN or HOG detector -> `FaceBox`es in the
  input image's pixels (optionally detecting on a copy shrunk to `max_side`);
  `primary_face` picks one face by a documented rule.
- `crop_face`: square crops with margin presets (`MARGINS`), padded, never shifted.
- `face_landmarks` (68 / 5 points) and `align_face` (eyes level, then cropped);
  `face_crops` cuts every detected face of a photo, aligned or straight.
- `CropSpec` / `crop_spec`: a crop geometry as data (a landmark template such as
  `"utkface"`, or a margin around the detector box; the detector that feeds it; the
  size), JSON-ready for a model card; `template_crop` and `TEMPLATES`.
- `cut_face` / `cut_faces` / `cut_photos`: cut one face, every face of a photo, or every
  face of many photos (worker processes) by a `CropSpec`.
- `prepare_dataset`: the batch job over a dataset (parallel, sharded, resumable) and
  `read_manifest` to load what it recorded.
- `read_imglab_boxes`, `match_boxes`, `detection_recall`: judging a detector against
  hand-labelled boxes.

Importing this package loads no dlib model: each is loaded on first use, then cached
for the process.
"""

from agekit.faces._manifest import STATUSES, read_manifest
from agekit.faces.align import align_face, eye_angle, face_crops, face_landmarks
from agekit.faces.crop import MARGINS, crop_face
from agekit.faces.cut import PhotoFaces, cut_face, cut_faces, cut_photos
from agekit.faces.detect import (
    DETECTORS,
    FaceBox,
    batch_detect,
    detect_faces,
    hog_like,
    primary_face,
)
from agekit.faces.evaluate import detection_recall, match_boxes, read_imglab_boxes
from agekit.faces.prepare import prepare_dataset
from agekit.faces.spec import CropSpec, crop_spec
from agekit.faces.template import TEMPLATES, template_crop

__all__ = [
    "DETECTORS",
    "MARGINS",
    "STATUSES",
    "TEMPLATES",
    "CropSpec",
    "FaceBox",
    "PhotoFaces",
    "align_face",
    "batch_detect",
    "crop_face",
    "crop_spec",
    "cut_face",
    "cut_faces",
    "cut_photos",
    "detect_faces",
    "detection_recall",
    "eye_angle",
    "face_crops",
    "face_landmarks",
    "hog_like",
    "match_boxes",
    "prepare_dataset",
    "primary_face",
    "read_imglab_boxes",
    "read_manifest",
    "template_crop",
]
