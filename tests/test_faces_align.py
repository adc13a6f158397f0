"""Landmarks and eye-level alignment: geometry on synthetic dots, and on real faces."""

import math

import cv2
import numpy as np
import pytest

from agekit.faces import align_face, detect_faces, eye_angle, face_landmarks
from agekit.faces.align import eye_centers
from agekit.images import read_image


def _five_points(left_eye, right_eye, nose):
    """dlib's 5-point layout: two corners per eye (0-1, 2-3), then the nose (4)."""
    (lx, ly), (rx, ry) = left_eye, right_eye
    return np.array([(rx + 4, ry), (rx - 4, ry), (lx - 4, ly), (lx + 4, ly), nose], float)


def test_eye_centres_and_angle_by_hand():
    points = _five_points((30, 40), (30 + 20 * math.sqrt(3), 60), (40, 70))
    left, right = eye_centers(points)
    np.testing.assert_allclose(left, (30, 40))
    np.testing.assert_allclose(right, (30 + 20 * math.sqrt(3), 60))
    assert eye_angle(points) == pytest.approx(30.0)
    sixty_eight = np.zeros((68, 2))
    sixty_eight[36:42] = (10, 50)
    sixty_eight[42:48] = (30, 30)
    assert eye_angle(sixty_eight) == pytest.approx(-45.0)


def _dot_centres(image):
    """Centroids of the red and the green dot."""
    centres = []
    for channel, other in ((0, 1), (1, 0)):
        ys, xs = np.nonzero((image[..., channel] > 128) & (image[..., other] < 100))
        centres.append((xs.mean(), ys.mean()))
    return centres


@pytest.mark.parametrize("pad", ["constant", "reflect"])
def test_align_levels_the_eyes_on_a_drawn_face(pad):
    image = np.zeros((600, 600, 3), np.uint8)
    left_eye, right_eye = (270.0, 320.0), (340.0, 280.0)   # right eye 29.7 degrees higher
    cv2.circle(image, (270, 320), 6, (255, 0, 0), -1)
    cv2.circle(image, (340, 280), 6, (0, 255, 0), -1)
    points = _five_points(left_eye, right_eye, (315, 330))
    out = align_face(image, points, size=None, margin="loose", pad=pad)
    (lx, ly), (rx, ry) = _dot_centres(out)
    assert abs(math.degrees(math.atan2(ry - ly, rx - lx))) < 0.5
    assert rx > lx  # not mirrored
    # Rotation keeps distances: the dots stay 80.6 px apart, centred horizontally.
    assert math.hypot(rx - lx, ry - ly) == pytest.approx(math.hypot(70, 40), abs=0.5)
    assert (lx + rx) / 2 == pytest.approx(out.shape[1] / 2, abs=1.0)
    assert align_face(image, points, size=64, margin="tight", pad=pad).shape == (64, 64, 3)


def test_reflect_fills_the_corners_that_rotation_uncovers():
    image = np.full((100, 100, 3), 200, np.uint8)
    points = _five_points((30, 60), (70, 40), (50, 60))   # 26.6 degrees to undo
    black = align_face(image, points, margin="very_loose", pad="constant")
    mirrored = align_face(image, points, margin="very_loose", pad="reflect")
    assert black[0, 0].tolist() == [0, 0, 0]
    assert mirrored.min() == 200


def test_align_errors():
    image = np.zeros((50, 50, 3), np.uint8)
    with pytest.raises(ValueError, match=r"landmarks of shape \(68, 2\) or \(5, 2\). Received: landmarks.shape=\(4, 2\)"):
        align_face(image, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="Received: margin='raw'"):
        align_face(image, np.zeros((5, 2)), margin="raw")
    with pytest.raises(ValueError, match=r"Expected `points` in \(68, 5\). Received: points=7"):
        face_landmarks(image, None, points=7)


@pytest.mark.real_data
def test_eye_line_is_level_within_one_degree_on_real_faces(shared_data):
    """Align with 68-point landmarks, then detect and landmark the aligned crop again."""
    faces = shared_data / "faces"
    files = ["face_recognition/obama.jpg", "face_recognition/32bit.png", "face_recognition/two_people.jpg",
             "face_recognition/biden.jpg", "dlib-examples/Tom_Cruise_avp_2014_4.jpg",
             "dlib-examples/bald_guys.jpg"]
    before, after = [], []
    for name in files:
        image = read_image(faces / name)
        for box in detect_faces(image, model="hog", max_side=800):
            points = face_landmarks(image, box)
            assert points.shape == (68, 2)
            aligned = align_face(image, points, size=300, margin="loose", box=box)
            again = detect_faces(aligned, model="hog")
            assert len(again) == 1, name
            before.append(eye_angle(points))
            after.append(eye_angle(face_landmarks(aligned, again[0])))
    assert len(after) >= 20
    assert max(map(abs, before)) > 10  # the photos do need rotating
    assert max(map(abs, after)) < 1.0, after
