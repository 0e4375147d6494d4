"""Figure regions on a scanned page image: large, dense non-text regions separated by white space."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.extract.images import make_region, png_to_numpy
from pipeline.extract.ocr import ocr_words, words_to_blocks
from schemas import ImageRegion, OcrWord, Page
from schemas.settings import ExtractSettings

CLOSE_FRAC = 0.012  # closing kernel as a fraction of the page's longer side: joins a photo's pieces
WORD_MAX_HEIGHT_FRAC = 0.04  # words taller than this fraction of the page are not body text (OCR noise in photos)


def find_regions(img: np.ndarray, words_px: list[tuple[int, int, int, int]], settings: ExtractSettings):
    """Boxes (pixels, x0,y0,x1,y1) of figure-like regions on an RGB page image, text words masked out."""
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    ink = (gray < settings.scan_white_level).astype(np.uint8)
    h, w = ink.shape
    masked = ink.copy()
    pad = settings.scan_text_pad_px
    for x0, y0, x1, y1 in words_px:
        if (y1 - y0) <= WORD_MAX_HEIGHT_FRAC * h:
            masked[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad] = 0
    k = max(3, int(CLOSE_FRAC * max(h, w)))
    closed = cv2.morphologyEx(masked, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    boxes = []
    for i in range(1, n):
        x, y, bw, bh, _area = stats[i]
        if bw * bh < settings.scan_min_region_frac * h * w:
            continue
        density = ink[y : y + bh, x : x + bw].mean()
        if density < settings.scan_min_nonwhite_frac:
            continue
        boxes.append((int(x), int(y), int(x + bw), int(y + bh)))
    return sorted(boxes, key=lambda b: (b[1], b[0]))


def process_scanned_page(png: bytes, number: int, width_pt: float, height_pt: float, settings: ExtractSettings) -> Page:
    """OCR a rendered page and find its figure regions. Runs in a worker process (picklable arguments)."""
    img = png_to_numpy(png)
    scale = width_pt / img.shape[1]  # pixels -> points
    errors = []
    try:
        words = ocr_words(img, scale, settings)
    except Exception as exc:
        words, errors = [], [f"page {number}: OCR failed ({exc})"]
    words_px = [tuple(int(round(v / scale)) for v in wd.bbox) for wd in words]
    regions = []
    for x0, y0, x1, y1 in find_regions(img, words_px, settings):
        crop = img[y0:y1, x0:x1]
        box = (x0 * scale, y0 * scale, x1 * scale, y1 * scale)
        regions.append(make_region(crop, box, "scan_region", settings.max_image_px))
    text_words = [wd for wd in words if not _inside_any(wd, regions)]
    return Page(
        number=number,
        width=width_pt,
        height=height_pt,
        scanned=True,
        text_blocks=words_to_blocks(text_words),
        images=regions,
        ocr_words=words,
        errors=errors,
    )


def _inside_any(word: OcrWord, regions: list[ImageRegion]) -> bool:
    cx = (word.bbox[0] + word.bbox[2]) / 2
    cy = (word.bbox[1] + word.bbox[3]) / 2
    return any(r.bbox[0] <= cx <= r.bbox[2] and r.bbox[1] <= cy <= r.bbox[3] for r in regions)
