"""Annotations drawn on an image: text (OCR words inside the image) and pen marks (arrows, circles) in pure,
saturated colours."""

from __future__ import annotations

import cv2
import numpy as np
import pytesseract
from PIL import Image

from schemas.settings import FilterSettings

OCR_SIDE = 1024  # longest side for overlay OCR
OCR_MIN_CONF = 70.0  # words below this confidence are texture, not text
MARK_SAT = 0.75  # saturation of pen-mark colours (0-1)
MARK_VAL = 0.55  # brightness of pen-mark colours (0-1)
MARK_MIN_FRAC = 0.002  # pen-mark pixels must cover this fraction of the image ...
MARK_MAX_FRAC = 0.08  # ... and no more (a saturated photo is not a mark)
MARK_FILL_MAX = 0.45  # a mark is thin: its pixels fill at most this fraction of its bounding box


def ocr_overlay_words(img: np.ndarray) -> list[str]:
    h, w = img.shape[:2]
    scale = min(1.0, OCR_SIDE / max(h, w))
    if scale < 1:
        img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    data = pytesseract.image_to_data(Image.fromarray(img), config="--psm 11", output_type=pytesseract.Output.DICT)
    return [
        t.strip()
        for t, c in zip(data["text"], data["conf"])
        if t and t.strip() and float(c) >= OCR_MIN_CONF and any(ch.isalnum() for ch in t)
    ]


def pen_mark_score(img: np.ndarray) -> float:
    """Fraction of the image covered by thin components of pure saturated colour (arrows, circles)."""
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    sat, val = hsv[..., 1] / 255.0, hsv[..., 2] / 255.0
    mask = ((sat >= MARK_SAT) & (val >= MARK_VAL)).astype(np.uint8)
    n, _lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    total = img.shape[0] * img.shape[1]
    thin = 0
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        if area >= 30 and area / max(1, w * h) <= MARK_FILL_MAX:
            thin += area
    frac = thin / total
    return frac if MARK_MIN_FRAC <= frac <= MARK_MAX_FRAC else 0.0


def overlay_check(img: np.ndarray, settings: FilterSettings) -> tuple[str, float] | None:
    score = 0.0
    if pen_mark_score(img) > 0:
        score += 0.6
    if settings.ocr_overlay:
        words = [w for w in ocr_overlay_words(img) if len(w) >= 1]
        if len(words) >= settings.overlay_min_ocr_words:
            score += 0.6
    return ("annotated_overlay", score) if score >= settings.overlay_min_score else None
