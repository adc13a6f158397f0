"""Procedural cartoon faces whose age, gender and ethnicity can be learnt from pixels.

What encodes what (each with noise, so no single pixel gives the label away):

- Age 0-18: head shape and proportions. Children have rounder heads, eyes lower on the
  face and larger relative to it; the face lengthens as they grow.
- Age 25+: forehead lines (count and contrast grow with age), then crow's feet and
  nasolabial folds (40+), age spots (60+).
- Age 30-80: hair greyness, from the identity's hair colour to grey-white.
- Gender: hair length (long hair falling past the jaw for female faces), lip colour,
  eyebrow thickness.
- Ethnicity: skin tone (five base tones, with jitter per person).

A person (`Identity`) keeps face shape, skin and hair colour across photos, so several
photos of one subject look alike: that is what makes a subject leak between splits
measurable on synthetic data too.
"""

from dataclasses import dataclass

import numpy as np

# RGB skin tones for ethnicity 0-4 (White, Black, Asian, Indian, Others).
SKIN_TONES = np.array(
    [[232, 196, 174], [102, 68, 50], [226, 188, 146], [168, 116, 84], [196, 150, 116]],
    dtype=np.float64,
)
HAIR_COLOURS = np.array([[25, 20, 18], [70, 45, 25], [120, 80, 40], [190, 160, 100]], dtype=float)
GREY = np.array([205.0, 205.0, 210.0])
CANVAS = 96  # faces are drawn at least this large, then resized


@dataclass(frozen=True)
class Identity:
    """What stays the same across the photos of one person."""

    gender: int
    ethnicity: int
    skin: tuple
    hair: tuple
    width: float  # head width factor
    eye_gap: float
    mouth_width: float

    @classmethod
    def random(cls, rng, *, gender=None, ethnicity=None):
        gender = int(rng.integers(2)) if gender is None else int(gender)
        ethnicity = int(rng.integers(5)) if ethnicity is None else int(ethnicity)
        skin = np.clip(SKIN_TONES[ethnicity] + rng.normal(0, 10, 3), 0, 255)
        if ethnicity == 0:
            hair = HAIR_COLOURS[rng.integers(4)]
        else:
            hair = HAIR_COLOURS[rng.integers(2)]
        hair = np.clip(hair + rng.normal(0, 8, 3), 0, 255)
        return cls(
            gender=gender,
            ethnicity=ethnicity,
            skin=tuple(skin.tolist()),
            hair=tuple(hair.tolist()),
            width=float(rng.uniform(0.92, 1.08)),
            eye_gap=float(rng.uniform(0.9, 1.1)),
            mouth_width=float(rng.uniform(0.85, 1.15)),
        )


def _colour(rgb):
    return tuple(min(255.0, max(0.0, float(c))) for c in rgb)


def draw_face(age, identity, rng, *, size=64):
    """Draw one face of `identity` at `age` years as an RGB uint8 array (size, size, 3)."""
    import cv2

    s = max(size, CANVAS)
    growth = min(max(age, 0.0), 18.0) / 18.0
    wrinkle = np.clip((age - 22.0) / 55.0 + rng.normal(0, 0.05), 0, 1)
    grey = np.clip((age - 30.0) / 45.0 + rng.normal(0, 0.07), 0, 1)
    skin = np.array(identity.skin) + rng.normal(0, 4, 3)
    hair = np.array(identity.hair) * (1 - grey) + GREY * grey

    background = rng.uniform(40, 220, 3)
    img = np.empty((s, s, 3), dtype=np.float32)
    ramp = np.linspace(-1, 1, s, dtype=np.float32)[:, None, None]
    img[:] = background + 25 * ramp * rng.normal(0, 1, 3)
    img = np.ascontiguousarray(np.clip(img, 0, 255).astype(np.uint8))

    cx = s * (0.5 + rng.normal(0, 0.02))
    cy = s * (0.54 + rng.normal(0, 0.02))
    half_w = s * (0.25 + 0.02 * growth) * identity.width
    half_h = s * (0.25 + 0.09 * growth)
    aa = cv2.LINE_AA

    def pt(x, y):
        return (round(x), round(y))

    def ellipse(x, y, ax, ay, colour, thickness=-1, angle=0.0, start=0, end=360):
        cv2.ellipse(img, pt(x, y), pt(max(ax, 1), max(ay, 1)), angle, start, end,
                    _colour(colour), thickness, aa)

    # Hair behind the head: long hair for female faces falls past the jaw.
    bald = identity.gender == 0 and age > 45 and grey > 0.5
    if identity.gender == 1:
        ellipse(cx, cy + 0.1 * half_h, half_w * 1.28, half_h * 1.3, hair)
    elif not bald:
        ellipse(cx, cy - 0.15 * half_h, half_w * 1.12, half_h * 1.02, hair)
    # Neck and head.
    cv2.rectangle(img, pt(cx - 0.45 * half_w, cy + 0.6 * half_h), pt(cx + 0.45 * half_w, s),
                  _colour(skin * 0.9), -1, aa)
    ellipse(cx, cy, half_w, half_h, skin)
    # Fringe on top.
    top = cy - half_h
    fringe = half_h * (0.35 if not bald else 0.12)
    ellipse(cx, top + fringe * 0.6, half_w * 0.98, fringe, hair, start=180, end=360)

    # Eyes: lower and larger for children.
    eye_y = cy + half_h * (0.12 - 0.28 * growth)
    eye_dx = half_w * 0.42 * identity.eye_gap
    eye_r = half_w * (0.2 - 0.06 * growth)
    brow = 2 + 2 * (identity.gender == 0)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        ellipse(ex, eye_y, eye_r, eye_r * 0.6, (245, 245, 245))
        ellipse(ex, eye_y, eye_r * 0.45, eye_r * 0.45, (50, 35, 25))
        ellipse(ex, eye_y - eye_r * 0.9, eye_r * 1.1, eye_r * 0.35, hair * 0.7 + skin * 0.3,
                thickness=max(1, brow * s // 128), start=200, end=340)
    # Nose and mouth.
    nose_y = eye_y + (cy + half_h - eye_y) * 0.4
    cv2.line(img, pt(cx, eye_y + eye_r), pt(cx - 0.05 * half_w, nose_y), _colour(skin * 0.75),
             max(1, s // 96), aa)
    mouth_y = eye_y + (cy + half_h - eye_y) * 0.68
    lips = (190, 70, 80) if identity.gender == 1 else skin * 0.6 + np.array([40, 0, 0])
    ellipse(cx, mouth_y, half_w * 0.32 * identity.mouth_width, half_h * 0.05 + 1, lips)

    # Ageing lines: darker and more numerous with age.
    line_colour = skin * (1 - 0.5 * wrinkle)
    thickness = max(1, s // 110)
    n_lines = int(np.clip(round(wrinkle * 6 + rng.normal(0, 0.4)), 0, 6))
    for k in range(n_lines):
        y = eye_y - eye_r * 1.6 - k * (eye_y - eye_r * 1.6 - (top + fringe * 1.1)) / 6.5
        ellipse(cx, y + half_w * 0.2, half_w * 0.55, half_w * 0.2, line_colour, thickness,
                start=200, end=340)
    if age > 40:
        for side in (-1, 1):
            ex = cx + side * (eye_dx + eye_r * 1.2)
            for k in range(int(np.clip((age - 40) / 12, 1, 3))):
                angle = (k - 1) * 0.35
                cv2.line(img, pt(ex, eye_y + k - 1),
                         pt(ex + side * eye_r * 0.8 * np.cos(angle),
                            eye_y + eye_r * 0.8 * np.sin(angle)),
                         _colour(line_colour), thickness, aa)
            cv2.line(img, pt(cx + side * half_w * 0.25, nose_y),
                     pt(cx + side * half_w * 0.42, mouth_y + half_h * 0.05),
                     _colour(line_colour), thickness, aa)
    if age > 60:
        for _ in range(int(rng.integers(2, 6))):
            x = cx + rng.uniform(-0.7, 0.7) * half_w
            y = cy + rng.uniform(-0.2, 0.6) * half_h
            ellipse(x, y, s / 90, s / 90, skin * 0.7)

    # Photo variation: small rotation, scale and shift, lighting, sensor noise.
    angle = rng.normal(0, 5)
    scale = rng.uniform(0.93, 1.07)
    matrix = cv2.getRotationMatrix2D((s / 2, s / 2), angle, scale)
    matrix[:, 2] += rng.normal(0, 0.02 * s, 2)
    img = cv2.warpAffine(img, matrix, (s, s), borderMode=cv2.BORDER_REFLECT)
    if s != size:
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    light = rng.uniform(0.85, 1.15) * (1 + rng.normal(0, 0.03, 3))
    noisy = img.astype(np.float32) * light + rng.normal(0, 4, img.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def write_image(path, rgb, *, quality=92):
    """Write an RGB array with OpenCV (which expects BGR); raises OSError on failure."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise OSError(f"Expected a writable image path. Received: path={str(path)!r}")
