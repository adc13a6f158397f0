"""Landmark templates: the similarity fit by hand, dots landing on the template's pixels."""

import math

import cv2
import numpy as np
import pytest

from agekit.faces import TEMPLATES, template_crop
from agekit.faces.template import similarity_transform, template_points

UTK = np.array(TEMPLATES["utkface"].points)


def _sixty_eight(five):
    """dlib's 68 points with the five template landmarks at `five` (the rest at the nose)."""
    points = np.repeat(np.asarray(five[2:3], float), 68, axis=0)
    points[36:42], points[42:48] = five[0], five[1]
    points[30], points[48], points[54] = five[2], five[3], five[4]
    return points


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


def test_template_points_orders_eyes_and_mouth_by_image_side():
    five = np.array([[30, 40], [70, 42], [50, 60], [35, 80], [65, 80]], float)
    np.testing.assert_allclose(template_points(_sixty_eight(five)), five)
    swapped = _sixty_eight(five[[1, 0, 2, 4, 3]])  # dlib's eye / corner order mirrored
    np.testing.assert_allclose(template_points(swapped), five)
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
    # A photo whose five landmarks are the template's moved by a known similarity, each
    # marked by a coloured dot; cut back, the dots sit on the template's pixels.
    known = _similarity(angle, scale, (150.0, 120.0))
    five = UTK @ known[:, :2].T + known[:, 2]
    photo = np.full((1200, 1200, 3), 90, np.uint8)
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255)]
    for (x, y), colour in zip(five, colours):
        cv2.circle(photo, (round(x), round(y)), max(3, round(4 * scale)), colour, -1)
    crop = template_crop(photo, _sixty_eight(five))
    assert crop.shape == (200, 200, 3)
    np.testing.assert_allclose(_dots(crop), UTK, atol=1.0)
    small = template_crop(photo, _sixty_eight(five), size=100)
    np.testing.assert_allclose(_dots(small), UTK / 2, atol=1.0)


def test_shrinking_averages_instead_of_aliasing():
    # A 1-px checkerboard at 3.7 times the template's scale, turned: area averaging gives
    # flat grey; a plain bilinear warp returns a moire of dark and light bands.
    board = (np.indices((1000, 1000)).sum(axis=0) % 2 * 255).astype(np.uint8)
    photo = np.dstack([board] * 3)
    known = _similarity(7.0, 3.7, (150.0, 80.0))
    five = UTK @ known[:, :2].T + known[:, 2]
    crop = template_crop(photo, _sixty_eight(five))
    assert abs(crop[20:180, 20:180].mean() - 127.5) < 3 and crop[20:180, 20:180].std() < 10


def test_outside_the_photo_is_black_or_mirrored():
    photo = np.full((150, 150, 3), 200, np.uint8)
    five = UTK * 0.75 - 40  # the face partly off the top-left corner
    black = template_crop(photo, _sixty_eight(five))
    assert black[0, 0].tolist() == [0, 0, 0] and black[199, 199].tolist() == [200, 200, 200]
    mirrored = template_crop(photo, _sixty_eight(five), pad="reflect")
    assert mirrored[0, 0].tolist() == [200, 200, 200]
    with pytest.raises(ValueError, match=r"Expected `template` in \('utkface',\). Received: template='x'"):
        template_crop(photo, _sixty_eight(five), template="x")
