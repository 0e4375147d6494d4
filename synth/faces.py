"""Procedurally drawn faces: clinical photographs of a patient's face, for the identifiable-face filter.

How they are made (our own drawing code, numpy + OpenCV only; no photographs, no third-party images, no
face models or data sets): a muted studio backdrop with a vertical gradient and noise; neck and shoulders
with a gown; a head drawn as a shaded ellipse in one of ``synth.images.SKIN_TONES`` (lit from one side,
darker towards its rim); hair as a cap (dark brown, brown, grey, auburn or blond); brow shadows and dark
brows above eyes with white sclera, a coloured iris and a dark pupil, upper-lid lines and under-eye
shading; a lit nose bridge with a shadow on one side and two dark nostrils; lips with a dark line between
them; ears; then a skin lesion of the caption (acne papules, a malar rash, a nodule or a pigmented patch),
camera grain and a slight blur.

``view="profile"`` draws the head turned about 60 degrees: the features are squeezed towards the facing
side, the far eye is hidden, and the nose is a shaded wedge that sticks out of the head outline.

How often the cascades fire (filter settings, 360x440 px, JPEG quality 80, random tone, hair, backdrop and
lesion, seeds 0-49): frontal 40 of 50, profile 24 of 50 (the turned head is a squeezed frontal drawing, not a
true silhouette; dark hair and middle skin tones work best). The image model of the modality stage calls all
100 clinical. The sample books use parameters and seeds whose faces are found.

The proportions and shading were tuned until OpenCV's Haar cascades (``haarcascade_frontalface_default``
and ``haarcascade_profileface``, shipped with opencv-python-headless) detect the faces with the filter's
settings (``pipeline.filters.faces``); ``tests/pipeline/test_sample_faces_overlays.py`` checks that the
faces of the sample books still are.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import cv2
import numpy as np
from PIL import Image

from synth.images import SKIN_TONES, _blob, _fbm, _grid, _mix, _skin_tone, _smoothstep, _to_image

Size = Tuple[int, int]
FACE_LESIONS = ("acne", "malar", "nodule", "pigmented", "none")
BACKDROPS = ((0.55, 0.62, 0.70), (0.72, 0.72, 0.70), (0.50, 0.58, 0.55), (0.78, 0.74, 0.68))
FACE_GRAIN = 0.025  # camera noise (std, 0..1 scale)
FACE_BLUR = 0.7  # Gaussian blur (px) of the finished photograph
SOCKET_SHADE = 0.34  # how much the brow shadow darkens the eye sockets
HAIR_COLOURS = ((0.14, 0.10, 0.07), (0.36, 0.24, 0.15), (0.60, 0.58, 0.56), (0.46, 0.24, 0.13), (0.70, 0.56, 0.34))


def _ellipse(xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, rx: float, ry: float, soft: float = 1.5,
             angle: float = 0.0) -> np.ndarray:
    """Soft-edged filled ellipse mask 0..1 (``soft`` pixels of edge)."""
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = xx - cx, yy - cy
    u, v = (dx * c + dy * s) / rx, (-dx * s + dy * c) / ry
    d = np.sqrt(u * u + v * v)
    return np.clip((1.0 - d) * min(rx, ry) / soft + 0.5, 0.0, 1.0).astype(np.float32)


def _gauss(xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2) / 2).astype(np.float32)


def make_face(rng: np.random.Generator, size: Size = (400, 480), view: str = "frontal", tone: Optional[float] = None,
              lesion: Optional[str] = None, hair: Optional[int] = None, head_frac: float = 0.62,
              backdrop: Optional[int] = None) -> Image.Image:
    """A clinical photograph of a face (head and shoulders) with a skin lesion.

    view: "frontal" or "profile" (turned to the image's left); tone: 0 (very fair) .. 5 (very dark);
    lesion: one of FACE_LESIONS (random if None); hair: index into HAIR_COLOURS (dark brown, brown, grey,
    auburn, blond; random if None); backdrop: index into BACKDROPS (random if None);
    head_frac: head height as a share of the image height.
    """
    if view not in ("frontal", "profile"):
        raise ValueError(f"unknown view {view!r}")
    w, h = int(size[0]), int(size[1])
    lesion = lesion or str(rng.choice(FACE_LESIONS))
    if lesion not in FACE_LESIONS:
        raise ValueError(f"unknown face lesion {lesion!r}")
    xx, yy = _grid(h, w)
    skin = _skin_tone(rng, tone)
    dark_skin = float(skin.mean()) < 0.5

    # backdrop: a muted studio wall with a vertical gradient
    back_i = int(rng.integers(len(BACKDROPS))) if backdrop is None else int(backdrop)
    back = np.array(BACKDROPS[back_i], np.float32) * rng.uniform(0.95, 1.05, 3).astype(np.float32)
    grad = 1.0 + 0.12 * (0.5 - yy / h) + 0.03 * _fbm(rng, h, w, base=2, octaves=2)
    img = back[None, None, :] * grad[..., None]

    # geometry
    ry = 0.5 * head_frac * h
    rx = ry * float(rng.uniform(0.72, 0.78))
    cx = w / 2 + float(rng.uniform(-0.03, 0.03)) * w
    cy = 0.06 * h + ry + float(rng.uniform(-0.01, 0.02)) * h
    turn = 0.0 if view == "frontal" else -1.0  # -1: facing left
    light_dir = float(rng.choice([-1.0, 1.0]))

    # shoulders, gown and neck
    gown = np.array(rng.choice([(0.35, 0.55, 0.62), (0.85, 0.85, 0.82), (0.45, 0.50, 0.65)]), np.float32)
    sh = _ellipse(xx, yy, cx, cy + ry * 1.95, rx * 2.3, ry * 0.95, soft=3)
    img = _mix(img, gown * (0.9 + 0.1 * _fbm(rng, h, w, base=6, octaves=2))[..., None], sh)
    neck = _ellipse(xx, yy, cx + turn * 0.08 * rx, cy + ry * 0.95, rx * 0.5, ry * 0.55, soft=3)
    img = _mix(img, skin * 0.78, neck)

    # head: shaded ellipse, lit from one side, darker towards its rim
    head = _ellipse(xx, yy, cx, cy, rx, ry, soft=2.5)
    nx, ny = (xx - cx) / rx, (yy - cy) / ry
    rim = np.clip(nx * nx + ny * ny, 0, 1)
    shade = (1.0 - 0.38 * rim ** 1.6) * (1.0 + 0.10 * light_dir * nx)
    tex = 1.0 + 0.025 * _fbm(rng, h, w, base=12, octaves=3)
    img = _mix(img, skin[None, None, :] * (shade * tex)[..., None], head)

    # ears (frontal: both sides; profile: one, towards the back of the head)
    ear_y = cy + 0.02 * ry
    ears = [cx - rx * 0.98, cx + rx * 0.98] if view == "frontal" else [cx + rx * 0.35]
    for ex in ears:
        ear = _ellipse(xx, yy, ex, ear_y, rx * 0.13, ry * 0.2, soft=2)
        img = _mix(img, skin * 0.8, ear * (1 - head * (view == "frontal")))
        if view == "profile":
            img = _mix(img, skin * 0.62, _ellipse(xx, yy, ex, ear_y, rx * 0.06, ry * 0.11, soft=2) * 0.8)

    # hair: a dark cap on the top of the head
    hair_col = np.array(HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS))) if hair is None else int(hair)], np.float32)
    cap = _ellipse(xx, yy, cx + turn * 0.12 * rx, cy - 0.2 * ry, rx * 1.06, ry * 0.9, soft=3)
    cap *= _smoothstep(cy - 0.38 * ry, cy - 0.52 * ry, yy)
    if view == "profile":
        cap = np.maximum(cap, _ellipse(xx, yy, cx + rx * 0.55, cy - 0.05 * ry, rx * 0.55, ry * 0.75, soft=3)
                         * _smoothstep(cy + 0.35 * ry, cy + 0.1 * ry, yy) * _smoothstep(cx + 0.25 * rx, cx + 0.5 * rx, xx))
    img = _mix(img, hair_col * (0.85 + 0.3 * _fbm(rng, h, w, base=30, octaves=2).clip(-1, 1))[..., None], cap)

    # features: positions relative to the head (profile: squeezed towards the facing side)
    eye_y = cy - 0.08 * ry
    if view == "frontal":
        eyes = [(cx - 0.40 * rx, 1.0), (cx + 0.40 * rx, 1.0)]
        nose_x = cx
        mouth_x, mouth_w = cx, 0.36 * rx
    else:
        eyes = [(cx - 0.55 * rx, 0.8)]
        nose_x = cx - 0.88 * rx
        mouth_x, mouth_w = cx - 0.62 * rx, 0.22 * rx
    eye_rx, eye_ry = 0.17 * rx, 0.075 * ry

    # brow shadows (the eye sockets are darker than the cheeks and the forehead)
    for ex, sq in eyes:
        socket = _gauss(xx, yy, ex, eye_y - 0.02 * ry, eye_rx * 1.5 * sq, eye_ry * 2.2)
        img *= (1.0 - SOCKET_SHADE * socket * head)[..., None]
    # cheeks catch the light
    for sx in ([-1, 1] if view == "frontal" else [-1]):
        cheek = _gauss(xx, yy, cx + sx * 0.42 * rx + turn * 0.15 * rx, cy + 0.22 * ry, 0.22 * rx, 0.15 * ry)
        img *= (1.0 + 0.06 * cheek * head)[..., None]

    brow_col = np.minimum(hair_col * 0.7, 0.25)
    iris_col = np.array(rng.choice([(0.20, 0.13, 0.07), (0.22, 0.30, 0.42), (0.22, 0.26, 0.14)]), np.float32)
    for ex, sq in eyes:
        brow = _ellipse(xx, yy, ex, eye_y - 0.21 * ry, eye_rx * 1.25 * sq, 0.032 * ry, soft=1.8)
        img = _mix(img, brow_col, brow * 0.9)
        eye = _ellipse(xx, yy, ex, eye_y, eye_rx * sq, eye_ry, soft=1.2)
        sclera = np.array((0.88, 0.86, 0.82), np.float32) * (0.75 if dark_skin else 0.9)
        img = _mix(img, sclera, eye)
        iris = _ellipse(xx, yy, ex + turn * 0.2 * eye_rx, eye_y, eye_ry * 0.95 * sq, eye_ry * 0.95, soft=1.0) * eye
        img = _mix(img, iris_col, iris)
        pupil = _ellipse(xx, yy, ex + turn * 0.2 * eye_rx, eye_y, eye_ry * 0.45 * sq, eye_ry * 0.45, soft=1.0) * eye
        img = _mix(img, (0.03, 0.03, 0.03), pupil)
        lid = _ellipse(xx, yy, ex, eye_y - eye_ry * 0.7, eye_rx * 1.05 * sq, eye_ry * 0.35, soft=1.0)
        img = _mix(img, skin * 0.35, lid * 0.9)
        under = _gauss(xx, yy, ex, eye_y + eye_ry * 1.8, eye_rx * 0.9 * sq, eye_ry * 0.6)
        img *= (1.0 - 0.12 * under * head)[..., None]

    # nose: lit bridge, one shaded side, two dark nostrils
    nose_top, nose_tip = eye_y + 0.02 * ry, cy + 0.30 * ry
    if view == "frontal":
        bridge = _gauss(xx, yy, nose_x - light_dir * 0.03 * rx, (nose_top + nose_tip) / 2, 0.05 * rx, 0.2 * ry)
        img *= (1.0 + 0.10 * bridge * head)[..., None]
        side = _gauss(xx, yy, nose_x + light_dir * 0.11 * rx, (nose_top + nose_tip) / 2 + 0.05 * ry, 0.05 * rx, 0.18 * ry)
        img *= (1.0 - 0.20 * side * head)[..., None]
        tip_sh = _gauss(xx, yy, nose_x, nose_tip + 0.05 * ry, 0.18 * rx, 0.04 * ry)
        img *= (1.0 - 0.22 * tip_sh * head)[..., None]
        for s in (-1, 1):
            nostril = _ellipse(xx, yy, nose_x + s * 0.09 * rx, nose_tip + 0.02 * ry, 0.045 * rx, 0.022 * ry, soft=1.2)
            img = _mix(img, skin * 0.3, nostril * 0.9)
    else:
        pts = np.array([[nose_x + 0.28 * rx, nose_top], [nose_x - 0.16 * rx, nose_tip + 0.02 * ry],
                        [nose_x + 0.22 * rx, nose_tip + 0.07 * ry]], np.int32)
        wedge = np.zeros((h, w), np.float32)
        cv2.fillPoly(wedge, [pts], 1.0, cv2.LINE_AA)
        wedge = cv2.GaussianBlur(wedge, (0, 0), 1.2)
        img = _mix(img, skin[None, None, :] * (0.95 + 0.1 * (xx - nose_x) / rx)[..., None], wedge)
        img = _mix(img, skin * 0.35, _ellipse(xx, yy, nose_x + 0.06 * rx, nose_tip + 0.035 * ry, 0.05 * rx,
                                              0.02 * ry, soft=1.0) * 0.9)
        under = _gauss(xx, yy, nose_x + 0.2 * rx, nose_tip + 0.07 * ry, 0.12 * rx, 0.03 * ry)
        img *= (1.0 - 0.2 * under * head)[..., None]
        # chin and lips stick out a little: a darker line where the jaw turns away
        jaw = _gauss(xx, yy, cx - 0.25 * rx, cy + 0.7 * ry, 0.35 * rx, 0.06 * ry)
        img *= (1.0 - 0.15 * jaw * head)[..., None]

    # mouth: lips with a dark line between them
    mouth_y = cy + 0.52 * ry
    lip_col = skin * np.array((0.95, 0.62, 0.62), np.float32)
    lips = _ellipse(xx, yy, mouth_x, mouth_y, mouth_w, 0.06 * ry, soft=1.5)
    img = _mix(img, lip_col, lips * 0.9)
    line = _ellipse(xx, yy, mouth_x, mouth_y, mouth_w * 0.95, 0.01 * ry, soft=1.0)
    img = _mix(img, skin * 0.25, line)
    chin = _gauss(xx, yy, mouth_x, mouth_y + 0.14 * ry, mouth_w * 0.8, 0.03 * ry)
    img *= (1.0 - 0.12 * chin * head)[..., None]

    # the lesion the caption describes
    face_side = -1.0 if view == "profile" else float(rng.choice([-1.0, 1.0]))
    lx, ly = cx + face_side * 0.45 * rx + turn * 0.1 * rx, cy + 0.28 * ry
    if lesion == "acne":
        for _ in range(int(rng.integers(14, 26))):
            px = lx + float(rng.normal(0, 0.14 * rx))
            py = ly + float(rng.normal(0, 0.12 * ry))
            pr = float(rng.uniform(0.012, 0.025)) * ry
            pap = _ellipse(xx, yy, px, py, pr, pr, soft=1.5) * head
            img = _mix(img, skin * np.array((1.0, 0.55, 0.55), np.float32), pap * 0.8)
            if rng.random() < 0.3:
                img = _mix(img, (0.95, 0.9, 0.75), _ellipse(xx, yy, px, py, pr * 0.4, pr * 0.4, soft=1) * head * 0.8)
    elif lesion == "malar":
        for sx in ([-1, 1] if view == "frontal" else [-1]):
            m_, _dn = _blob(rng, h, w, cx + sx * 0.42 * rx + turn * 0.1 * rx, cy + 0.2 * ry, 0.2 * rx,
                            irregular=0.3, soft=8.0, xx=xx, yy=yy)
            img = _mix(img, skin * np.array((1.0, 0.6, 0.6), np.float32), m_ * head * 0.55)
    elif lesion == "nodule":
        m_, _dn = _blob(rng, h, w, lx, ly, 0.06 * rx, irregular=0.15, soft=2.0, xx=xx, yy=yy)
        img = _mix(img, np.clip(skin * np.array((1.02, 0.86, 0.86), np.float32) + 0.05, 0, 1), m_ * head * 0.85)
    elif lesion == "pigmented":
        m_, _dn = _blob(rng, h, w, lx, ly - 0.05 * ry, 0.08 * rx, irregular=0.4, soft=3.0, xx=xx, yy=yy)
        img = _mix(img, skin * np.array((0.55, 0.42, 0.34), np.float32), m_ * head * 0.85)

    # camera noise: grain like a clinical photograph's (it also keeps the image model from taking the smooth
    # drawing for a dermoscopic field)
    img += rng.normal(0.0, FACE_GRAIN, (h, w, 1)).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), FACE_BLUR)
    return _to_image(img)


__all__ = ["FACE_LESIONS", "SKIN_TONES", "make_face"]
