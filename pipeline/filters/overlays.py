"""Annotations drawn on an image: text (OCR words inside the image) and pen marks (arrows, circles) in pure,
saturated colours.

Text is read twice: on the image itself (dark labels), and on the mask of drawn colours (pure white or pen
hues) rendered black on white, which is how white or coloured labels burned into a photograph read best.
Pen marks are grouped before they are measured: pieces of one pen colour closer than ``MARK_JOIN_FRAC`` of
the shorter side make one mark (the dashes of a dashed outline, a thin line that JPEG broke up).
"""

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
MARK_JOIN_FRAC = 0.05  # pen-colour pieces closer than this fraction of the shorter side are one mark
RING_PX = 2  # width of the ring around a white mark that is compared with it
WHITE_RING_P25_MAX = 130.0  # a white mark's ring must have a quarter of its pixels at most this bright (0-255)
OCR_MASK_MIN_FRAC = 0.0005  # OCR the drawn-colour mask only when it covers at least this fraction ...
OCR_MASK_MAX_FRAC = 0.25  # ... and at most this (a white page or slide background is not a label)


def _ocr(img: np.ndarray) -> dict:
    return pytesseract.image_to_data(Image.fromarray(img), config="--psm 11", output_type=pytesseract.Output.DICT)


def ocr_overlay_words(img: np.ndarray) -> list[str]:
    h, w = img.shape[:2]
    scale = min(1.0, OCR_SIDE / max(h, w))
    if scale < 1:
        img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    drawn = drawn_mask(img)
    words = []
    data = _ocr(img)
    for i, (t, c) in enumerate(zip(data["text"], data["conf"])):
        t, c = (t or "").strip(), float(c)
        letters = sum(ch.isalpha() for ch in t)
        if letters >= 3 and c >= OCR_WORD_CONF:
            words.append(t)
        elif len(t) == 1 and t.isupper() and c >= OCR_LETTER_CONF:
            # a lone letter must be drawn (pure white or pen colour), not read into skin texture
            x, y, bw, bh = (data[k][i] for k in ("left", "top", "width", "height"))
            if drawn[y : y + bh, x : x + bw].mean() >= LETTER_DRAWN_FRAC:
                words.append(t)
    if OCR_MASK_MIN_FRAC <= drawn.mean() <= OCR_MASK_MAX_FRAC:
        # white or coloured labels: the drawn pixels alone, black on white
        data = _ocr(np.where(drawn, 0, 255).astype(np.uint8))
        for t, c in zip(data["text"], data["conf"]):
            t, c = (t or "").strip(), float(c)
            if sum(ch.isalpha() for ch in t) >= 3 and c >= OCR_WORD_CONF:
                words.append(t)
    return words


def _pen_mask(img: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    hue = hsv[..., 0].astype(np.int32) * 2
    sat, val = hsv[..., 1] / 255.0, hsv[..., 2] / 255.0
    return (sat >= MARK_SAT) & (val >= MARK_VAL) & (hue >= PEN_HUE_MIN) & (hue <= PEN_HUE_MAX)


def _white_mask(img: np.ndarray) -> np.ndarray:
    spread = img.max(axis=2).astype(np.int16) - img.min(axis=2)
    return (img.min(axis=2) >= PURE_WHITE) & (spread <= WHITE_SPREAD)


def drawn_mask(img: np.ndarray) -> np.ndarray:
    """Pixels in colours that annotation tools draw with: pure white, or saturated hues that skin, stains
    and dermoscopy do not have (yellow, green, cyan, blue). Red is left out (erythema), black too (hairs)."""
    return _pen_mask(img) | _white_mask(img)


def _thin_marks(mask: np.ndarray, groups: np.ndarray, surround_of: np.ndarray | None = None) -> int:
    """Pixels of ``mask`` in groups (connected components of ``groups``) shaped like marks: long enough, thin,
    not touching the border. With ``surround_of`` (the RGB image), a group counts only when the ring around it
    is dark enough (``WHITE_RING_P25_MAX``)."""
    H, W = mask.shape
    n, lab = cv2.connectedComponents(groups.astype(np.uint8), connectivity=8)
    ys, xs = np.nonzero(mask)
    if not len(ys) or n <= 1:
        return 0
    labels = lab[ys, xs]
    order = np.argsort(labels, kind="stable")
    labels, ys, xs = labels[order], ys[order], xs[order]
    cuts = np.flatnonzero(np.diff(labels)) + 1
    ring_k = np.ones((2 * RING_PX + 1, 2 * RING_PX + 1), np.uint8)
    thin = 0
    for gy, gx in zip(np.split(ys, cuts), np.split(xs, cuts)):
        area = len(gy)
        x0, x1, y0, y1 = int(gx.min()), int(gx.max()) + 1, int(gy.min()), int(gy.max()) + 1
        w, h = x1 - x0, y1 - y0
        touches_border = x0 == 0 or y0 == 0 or x1 == W or y1 == H  # vignettes, frames, backgrounds
        long_enough = max(w, h) >= MARK_MIN_LENGTH * min(H, W)  # an arrow or circle, not a speck of texture
        if area < 30 or not long_enough or touches_border or area / max(1, w * h) > MARK_FILL_MAX:
            continue
        if surround_of is not None:
            # the ring of pixels around the mark, inside a margin around its box
            bx0, by0 = max(0, x0 - RING_PX), max(0, y0 - RING_PX)
            bx1, by1 = min(W, x1 + RING_PX), min(H, y1 + RING_PX)
            own = np.zeros((by1 - by0, bx1 - bx0), np.uint8)
            own[gy - by0, gx - bx0] = 1
            ring = cv2.dilate(own, ring_k).astype(bool) & ~own.astype(bool) & ~mask[by0:by1, bx0:bx1]
            lum = surround_of[by0:by1, bx0:bx1].astype(np.float32).mean(axis=2)
            if not ring.any() or np.percentile(lum[ring], 25) > WHITE_RING_P25_MAX:
                continue
        thin += area
    return thin


def pen_mark_score(img: np.ndarray) -> float:
    """Fraction of the image covered by thin marks (arrows, circles, dashed outlines) of pure pen colour, or of
    pure white standing out from a darker surround.

    Pen colours and white are grouped separately: white gaps in tissue must not swallow a blue arrow beside
    them. A white mark counts only when the ring around it is dark in places (its 25th-percentile luminance at
    most ``WHITE_RING_P25_MAX``): a drawn white arrow or letter lies on skin or inside the black outline that
    annotation tools draw, while the white lumens and tears of an H&E section lie in pale stain."""
    H, W = img.shape[:2]
    pen, white = _pen_mask(img), _white_mask(img)
    k = max(1, round(MARK_JOIN_FRAC * min(H, W)))
    joined = cv2.dilate(pen.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) if k > 1 else pen
    thin = _thin_marks(pen, joined.astype(bool)) + _thin_marks(white, white, img)
    frac = thin / (H * W)
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
