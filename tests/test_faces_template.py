"""Landmark templates: the similarity fit by hand, dots landing on the template's pixels."""

import math

import cv2
import numpy as np
import pytest

from agekit.faces import TEMPLATES, template_crop
from agekit.faces.template import similarity_transform, template_points

UTK = np.array(TEMPLATES["utkface"].points)
MARKED = [0, 9, 18, 21, 27]  # of the 33: top of the nose, outer eye corners, mouth corners


def _sixty_eight(points):
    """dlib's 68 points with 27-59 at `points` (the others far away: never fitted)."""
    landmarks = np.full((68, 2), 1e4)
    landmarks[27:60] = points
    return landmarks


def _similarity(angle, scale, shift):
    turn = math.radians(angle)
    rotation = scale * np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    return np.c_[rotation, shift]


def test_similarity_by_hand():
    m = similarity_transform(np.array([[0, 0], [1, 0]]), np.array([[10, 10], [10, 12]]))
    np.testing.assert_allclose(m, [[0, -2, 10], [2, 0, 10]], atol=1e-12)
    # Five points moved by a known similarity: recovered exactly, and never a mirror.
    known = _similarity(-17.0, 0.37, (12.5, -3.0))
    moved = UTK @ known[:, :2].T + known[:, 2]
    np.testing.assert_allclose(similarity_transform(UTK, moved), known, atol=1e-9)
    mirrored = UTK * (-1, 1)
    assert np.linalg.det(similarity_transform(UTK, mirrored)[:, :2]) > 0
    with pytest.raises(ValueError, match=r"two \(n, 2\) point arrays of one shape"):
        similarity_transform(UTK, UTK[:3])
    with pytest.raises(ValueError, match=r"source points that are not all equal"):
        similarity_transform(np.zeros((3, 2)), UTK[:3])


def test_template_points_are_the_nose_eyes_and_outer_lips():
    landmarks = np.arange(136.0).reshape(68, 2)
    np.testing.assert_array_equal(template_points(landmarks), landmarks[27:60])
    with pytest.raises(ValueError, match=r"68 landmarks of shape \(68, 2\)"):
        template_points(np.zeros((5, 2)))


def _dots(image):
    """Centroids of the five saturated dots (red, green, blue, yellow, magenta)."""
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255)]
    centres = []
    for colour in colours:
        close = np.all(np.abs(image.astype(int) - colour) < 90, axis=2)
        ys, xs = np.nonzero(close)
        centres.append((xs.mean(), ys.mean()))
    return np.array(centres)


@pytest.mark.parametrize("angle, scale", [(8.0, 1.3), (-25.0, 0.9), (5.0, 4.0)])
def test_template_crop_puts_the_landmarks_on_the_template(angle, scale):
    # A photo whose landmarks are the template's moved by a known similarity, five of
    # them marked by coloured dots; cut back, the dots sit on the template's pixels.
    known = _similarity(angle, scale, (150.0, 120.0))
    moved = UTK @ known[:, :2].T + known[:, 2]
    photo = np.full((1200, 1200, 3), 90, np.uint8)
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255)]
    for (x, y), colour in zip(moved[MARKED], colours):
        cv2.circle(photo, (round(x), round(y)), max(3, round(4 * scale)), colour, -1)
    crop = template_crop(photo, _sixty_eight(moved))
    assert crop.shape == (200, 200, 3)
    np.testing.assert_allclose(_dots(crop), UTK[MARKED], atol=1.0)
    small = template_crop(photo, _sixty_eight(moved), size=100)
    np.testing.assert_allclose(_dots(small), UTK[MARKED] / 2, atol=1.0)


def test_shrinking_averages_instead_of_aliasing():
    # A 1-px checkerboard at 3.7 times the template's scale, turned: area averaging gives
    # flat grey; a plain bilinear warp returns a moire of dark and light bands.
    board = (np.indices((1000, 1000)).sum(axis=0) % 2 * 255).astype(np.uint8)
    photo = np.dstack([board] * 3)
    known = _similarity(7.0, 3.7, (150.0, 80.0))
    moved = UTK @ known[:, :2].T + known[:, 2]
    crop = template_crop(photo, _sixty_eight(moved))
    assert abs(crop[20:180, 20:180].mean() - 127.5) < 3 and crop[20:180, 20:180].std() < 10


def test_outside_the_photo_is_black_or_mirrored():
    photo = np.full((150, 150, 3), 200, np.uint8)
    moved = UTK * 0.75 - 40  # the face partly off the top-left corner
    black = template_crop(photo, _sixty_eight(moved))
    assert black[0, 0].tolist() == [0, 0, 0] and black[199, 199].tolist() == [200, 200, 200]
    mirrored = template_crop(photo, _sixty_eight(moved), pad="reflect")
    assert mirrored[0, 0].tolist() == [200, 200, 200]
    with pytest.raises(ValueError, match=r"Expected `template` in \('utkface',\). Received: template='x'"):
        template_crop(photo, _sixty_eight(moved), template="x")
