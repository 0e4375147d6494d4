"""Deskew a scanned page: find the rotation that makes text lines horizontal (projection profiles)."""

from __future__ import annotations

import cv2
import numpy as np

WORK_SIDE = 800  # the angle is searched on a copy downscaled to this longer side
COARSE_STEP = 0.5  # degrees
FINE_STEP = 0.1  # degrees


def _score(ink: np.ndarray, angle: float) -> float:
    h, w = ink.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    rotated = cv2.warpAffine(ink, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    profile = rotated.sum(axis=1, dtype=np.float64)
    return float(np.var(np.diff(profile)))  # sharp line/gap transitions when lines are level


def estimate_skew(img: np.ndarray, max_angle: float, white_level: int = 200) -> float:
    """Rotation in degrees (counter-clockwise positive, as OpenCV) that levels the page's text lines."""
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    h, w = gray.shape
    scale = min(1.0, WORK_SIDE / max(h, w))
    small = cv2.resize(gray, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    ink = (small < white_level).astype(np.uint8)
    if ink.mean() < 0.002:
        return 0.0
    coarse = np.arange(-max_angle, max_angle + 1e-9, COARSE_STEP)
    best = max(coarse, key=lambda a: _score(ink, a))
    fine = np.arange(best - COARSE_STEP, best + COARSE_STEP + 1e-9, FINE_STEP)
    best = max(fine, key=lambda a: _score(ink, a))
    return round(float(best), 2)


def rotate(img: np.ndarray, angle: float) -> np.ndarray:
    """Rotate about the centre, same size, paper-white border."""
    if abs(angle) < 1e-6:
        return img
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))


def unrotate_box(box: tuple[float, float, float, float], angle: float, size: tuple[int, int]):
    """The axis-aligned box, in the original image, of a box found in the image rotated by ``angle``."""
    if abs(angle) < 1e-6:
        return box
    w, h = size
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)
    x0, y0, x1, y1 = box
    pts = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], dtype=np.float64) @ m.T
    return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))
