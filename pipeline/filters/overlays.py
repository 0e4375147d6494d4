"""Annotations drawn on an image: text (OCR words inside the image) and pen marks (arrows, circles) in pure,
saturated colours."""

from __future__ import annotations

import cv2
import numpy as np
import pytesseract
from PIL import Image

from schemas.settings import FilterSettings

OCR_SIDE = 1024  # longest side for overlay OCR
OCR_LETTER_CONF = 55.0  # a lone capital letter (panel/arrow label) counts from this confidence
OCR_WORD_CONF = 75.0  # a word of 3+ letters counts from this confidence; anything else is texture
MARK_SAT = 0.75  # saturation of pen-mark colours (0-1)
MARK_VAL = 0.55  # brightness of pen-mark colours (0-1)
MARK_MIN_FRAC = 0.002  # pen-mark pixels must cover this fraction of the image ...
MARK_MAX_FRAC = 0.08  # ... and no more (a saturated photo is not a mark)
PEN_HUE_MIN, PEN_HUE_MAX = 45, 260  # degrees: yellow through blue
LETTER_DRAWN_FRAC = 0.05  # a lone OCR letter counts when this share of its box is drawn colour
PURE_WHITE = 230  # every channel at or above this (after JPEG): drawn white arrows and letters
WHITE_SPREAD = 20  # ... and neutral: channels within this of each other
MARK_MIN_LENGTH = 0.12  # a mark's bounding box spans at least this fraction of the image's shorter side
MARK_FILL_MAX = 0.45  # a mark is thin: its pixels fill at most this fraction of its bounding box


def ocr_overlay_words(img: np.ndarray) -> list[str]:
    h, w = img.shape[:2]
    scale = min(1.0, OCR_SIDE / max(h, w))
    if scale < 1:
        img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    data = pytesseract.image_to_data(Image.fromarray(img), config="--psm 11", output_type=pytesseract.Output.DICT)
    drawn = drawn_mask(img)
    words = []
    for i, (t, c) in enumerate(zip(data["text"], data["conf"])):
        t, c = (t or "").strip(), float(c)
        letters = sum(ch.isalpha() for ch in t)
        if letters >= 3 and c >= OCR_WORD_CONF:
            words.append(t)
        elif len(t) == 1 and t.isupper() and c >= OCR_LETTER_CONF:
            # a lone letter must be drawn (pure white or pen colour), not read into skin texture
            x, y, w, h = (data[k][i] for k in ("left", "top", "width", "height"))
            if drawn[y : y + h, x : x + w].mean() >= LETTER_DRAWN_FRAC:
                words.append(t)
    return words


def drawn_mask(img: np.ndarray) -> np.ndarray:
    """Pixels in colours that annotation tools draw with: pure white, or saturated hues that skin, stains
    and dermoscopy do not have (yellow, green, cyan, blue). Red is left out (erythema), black too (hairs)."""
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    hue = hsv[..., 0].astype(np.int32) * 2
    sat, val = hsv[..., 1] / 255.0, hsv[..., 2] / 255.0
    pen = (sat >= MARK_SAT) & (val >= MARK_VAL) & (hue >= PEN_HUE_MIN) & (hue <= PEN_HUE_MAX)
    spread = img.max(axis=2).astype(np.int16) - img.min(axis=2)
    return pen | ((img.min(axis=2) >= PURE_WHITE) & (spread <= WHITE_SPREAD))


def pen_mark_score(img: np.ndarray) -> float:
    """Fraction of the image covered by thin components of pure saturated colour (arrows, circles)."""
    mask = drawn_mask(img).astype(np.uint8)
    n, _lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    H, W = img.shape[:2]
    total = H * W
    thin = 0
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        touches_border = x == 0 or y == 0 or x + w == W or y + h == H  # vignettes, frames, backgrounds
        long_enough = max(w, h) >= MARK_MIN_LENGTH * min(H, W)  # an arrow or circle, not a speck of texture
        if area >= 30 and long_enough and not touches_border and area / max(1, w * h) <= MARK_FILL_MAX:
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
