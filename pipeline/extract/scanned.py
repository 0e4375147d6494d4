"""Figure regions on a scanned page image: large, dense areas of ink that are not text.

Regions are found first, from the pixels alone; the page is then OCRed with those regions painted white, so
OCR never reads texture inside a photo as words and never skips the caption lines beside it.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.extract.deskew import estimate_skew, rotate, unrotate_box
from pipeline.extract.images import make_region, png_to_numpy
from pipeline.extract.ocr import ocr_words, words_to_blocks
from schemas import ImageRegion, Page, TextBlock
from schemas.settings import ExtractSettings

OPEN_FRAC = 0.004  # opening kernel (fraction of the longer side): wider than a text stroke, so text vanishes
CLOSE_FRAC = 0.006  # closing kernel: joins a photo's pieces across light patches


def find_regions(img: np.ndarray, settings: ExtractSettings) -> list[tuple[int, int, int, int]]:
    """Boxes (pixels, x0,y0,x1,y1) of photo-like regions on an RGB page image.

    Text is thin strokes on paper; photos and micrographs are solid areas of ink. An opening with a kernel
    a little wider than a text stroke removes text; what stays, closed, large and dense, is a figure.
    """
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    ink = (gray < settings.scan_white_level).astype(np.uint8)
    h, w = ink.shape
    k_open = max(3, int(OPEN_FRAC * max(h, w)))
    k_close = max(3, int(CLOSE_FRAC * max(h, w)))
    solid = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((k_open, k_open), np.uint8))
    solid = cv2.morphologyEx(solid, cv2.MORPH_CLOSE, np.ones((k_close, k_close), np.uint8))
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    boxes = []
    for i in range(1, n):
        x, y, bw, bh, _area = stats[i]
        if bw * bh < settings.scan_min_region_frac * h * w:
            continue
        if ink[y : y + bh, x : x + bw].mean() < settings.scan_min_nonwhite_frac:
            continue
        boxes.append((int(x), int(y), int(x + bw), int(y + bh)))
    return sorted(boxes, key=lambda b: (b[1], b[0]))


def process_scanned_page(
    png: bytes,
    number: int,
    width_pt: float,
    height_pt: float,
    settings: ExtractSettings,
    text_blocks: list[TextBlock] | None = None,
    regions: list[ImageRegion] | None = None,
) -> Page:
    """Find a rendered page's figure regions, then OCR the rest of the page. Runs in a worker process.

    A true scan is straightened first (deskew); regions and words are found on the straight page, their
    crops taken from it, and their boxes reported on the page as it is (axis-aligned hulls).
    ``text_blocks``: a usable text layer the page already has (a searchable scan): no OCR then.
    ``regions``: figure regions already known (embedded images of an image-only page): no region finding.
    """
    img = png_to_numpy(png)
    size = (img.shape[1], img.shape[0])
    scale = width_pt / img.shape[1]  # pixels -> points
    angle = 0.0
    if regions is None and settings.deskew_max_deg > 0:
        angle = estimate_skew(img, settings.deskew_max_deg)
        img = rotate(img, angle)

    def to_page(box) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = unrotate_box(box, angle, size)
        return (max(0.0, x0 * scale), max(0.0, y0 * scale), min(width_pt, x1 * scale), min(height_pt, y1 * scale))

    text_img = img.copy()
    if regions is None:
        regions = []
        for x0, y0, x1, y1 in find_regions(img, settings):
            regions.append(make_region(img[y0:y1, x0:x1], to_page((x0, y0, x1, y1)), "scan_region", settings.max_image_px))
            text_img[y0:y1, x0:x1] = 255
    else:
        for r in regions:
            x0, y0, x1, y1 = (int(round(v / scale)) for v in r.bbox)
            text_img[max(0, y0) : y1, max(0, x0) : x1] = 255
    errors, words = [], []
    if text_blocks is None:
        try:
            words = ocr_words(text_img, 1.0, settings)  # pixel boxes on the straight page
        except Exception as exc:
            errors = [f"page {number}: OCR failed ({exc})"]
        words = [w.model_copy(update={"bbox": to_page(w.bbox)}) for w in words]
        text_blocks = words_to_blocks(words)
    return Page(
        number=number,
        width=width_pt,
        height=height_pt,
        scanned=True,
        text_blocks=text_blocks,
        images=regions,
        ocr_words=words,
        errors=errors,
    )
