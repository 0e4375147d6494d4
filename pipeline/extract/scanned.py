"""Figure regions on a scanned page image: photos (large, dense areas of ink that are not text) and drawn
figures (charts, plots, diagrams, panel grids; see ``layout_regions``).

Photos are found first, from the pixels alone; the page is then OCRed with them painted white, so OCR never
reads texture inside a photo as words and never skips the caption lines beside it. Drawn figures need the
words (what is text and what is drawing), so they are found after OCR, in the same single OCR pass; the
words inside a figure (its labels) are then left out of the page's text blocks.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.extract.deskew import estimate_skew, rotate, unrotate_box
from pipeline.extract.images import make_region, png_to_numpy
from pipeline.extract.layout_regions import (
    EDGE_PX,
    INK_BELOW_PAPER,
    find_figures,
    on_edge,
    paper_level,
    tint_fill,
    words_from_blocks,
)
from pipeline.extract.ocr import ocr_words, words_to_blocks
from pipeline.extract.ocr_labels import repair_labels
from pipeline.panel_split import runs
from schemas import ImageRegion, Page, TextBlock
from schemas.settings import CaptionSettings, ExtractSettings

OPEN_FRAC = 0.004  # opening kernel (fraction of the longer side): wider than a text stroke, so text vanishes
CLOSE_FRAC = 0.006  # closing kernel: joins a photo's pieces across light patches
PAPER_DIFF = 12  # a pixel this many levels darker than the paper's colour in some channel is not paper
EDGE_SHARE = 0.5  # a row or column next to a photo region that is this much not paper is the photo's
TEXT_ROW_INK = 0.1  # a row of a region with less ink than this is the paper between two lines of text ...
TEXT_BAND_FRAC = 0.02  # ... when every band of ink between such rows is at most this share of the page tall
RING_FRAC = 0.03  # the paper's colour is measured in a ring this wide (share of the longer side) around a region
PAPER_SAMPLES = 40_000  # ... on about this many pixels of it, evenly spread

Box = tuple[int, int, int, int]


def find_regions(img: np.ndarray, settings: ExtractSettings) -> list[Box]:
    """Boxes (pixels, x0,y0,x1,y1) of photo-like regions on an RGB page image.

    Text is thin strokes on paper; photos and micrographs are solid areas of ink. An opening with a kernel
    a little wider than a text stroke removes text; what stays, closed, large and dense, is a figure. A region
    on the page's edge that is hardly darker than the paper is the scan's shading (a gutter or corner shadow,
    uneven light), not a photo. Each region's box is then the photo's own extent (``photo_extent``): the
    opening, the white level and a light photo's pale edges leave it short of the picture's border.
    """
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    paper = None  # measured only when a region reaches the edge
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
        if text_lines(ink[y : y + bh, x : x + bw], h):
            continue
        box = (int(x), int(y), int(x + bw), int(y + bh))
        if on_edge(box, w, h):
            paper = paper_level(gray) if paper is None else paper
            if (gray[y : y + bh, x : x + bw] < paper - INK_BELOW_PAPER).mean() < settings.scan_shadow_max_ink_frac:
                continue
        boxes.append(box)
    return photo_extents(img, boxes)


def text_lines(ink: np.ndarray, page_h: int) -> bool:
    """True when a region's ink lies in bands no taller than a line of text with paper rows between them: lines
    of text on paper a little darker than the white level (uneven light, a tinted stock), blurred by the scan
    so much that the opening leaves them. A photograph is one tall band (panels stacked with a gutter: tall
    bands)."""
    bands = [b - a for a, b in runs(ink.mean(axis=1) >= TEXT_ROW_INK)]
    return len(bands) >= 2 and max(bands) <= TEXT_BAND_FRAC * page_h


def photo_extents(img: np.ndarray, boxes: list[Box]) -> list[Box]:
    """Each photo region's box grown to the photo's own extent: the rows and columns next to it that are mostly
    not paper (by colour as well as by grey level: a pale pink photo is as light as the paper, not as white)
    are the photo's, up to the paper gap around it. A region never grows into another: two photos with a paper
    gap between them stay two boxes that do not overlap, however they were found. A region away from the page's
    edge stops short of it (the scan's border and shading are no photo).

    The paper is the page's commonest colour at first; then, a scan being unevenly lit, the paper's colour
    around the grown box (outside the photo now, however deep inside it the region was found), and the region
    is grown again from where it was found."""
    if not boxes:
        return []
    h, w = img.shape[:2]
    ring = max(4, int(RING_FRAC * max(h, w)))
    page_paper = paper_colour(img, (0, 0, 0, 0), max(h, w))
    out: list[Box] = []
    boxes = sorted(boxes, key=lambda b: -_area(b))  # the largest first: a small one never pushes it back
    for k, box in enumerate(boxes):
        others = out + boxes[k + 1 :]
        first = photo_extent(img, box, page_paper, others)
        out.append(photo_extent(img, box, paper_colour(img, first, ring), others))
    return sorted(out, key=lambda b: (b[1], b[0]))


def paper_colour(img: np.ndarray, box: Box, ring: int) -> np.ndarray:
    """The paper's colour around a region: in a ring of pixels around it, the commonest grey level (paper is one
    level, give or take its grain; a photo's pale edge, text and pictures spread over many), and the median
    colour of the pixels at that level."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = box
    X0, Y0, X1, Y1 = max(0, x0 - ring), max(0, y0 - ring), min(w, x1 + ring), min(h, y1 + ring)
    step = max(1, int(np.sqrt((X1 - X0) * (Y1 - Y0) / PAPER_SAMPLES)))  # a sample of pixels is plenty
    window = np.ascontiguousarray(img[Y0:Y1:step, X0:X1:step])
    outside = np.ones(window.shape[:2], bool)
    sub = lambda v: -(-v // step)  # noqa: E731 - the first sampled pixel at or after v
    outside[sub(y0 - Y0) : sub(y1 - Y0), sub(x0 - X0) : sub(x1 - X0)] = False
    lum = cv2.cvtColor(window, cv2.COLOR_RGB2GRAY)[outside]
    if len(lum) < 16:  # a region filling the page: white paper
        return np.array((255, 255, 255), np.int16)
    level = int(np.argmax(np.bincount(lum, minlength=256)))
    near = window[outside][np.abs(lum.astype(np.int16) - level) <= 2]
    return np.median(near, axis=0).astype(np.int16)


def photo_extent(img: np.ndarray, box: Box, paper: np.ndarray, others: list[Box]) -> Box:
    """``box`` grown side by side, one row or column at a time, while the next one is at least EDGE_SHARE not
    paper (``PAPER_DIFF`` levels darker than ``paper`` in some channel: printed ink only darkens the paper, so
    what is lighter, such as the white corners a deskew adds, is not a photo) and runs into none of ``others``."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = box
    # a region found away from the page's edge does not grow onto it: that is the scan's shading or border
    lo_x, lo_y = (0, 0) if on_edge(box, w, h) else (EDGE_PX, EDGE_PX)
    hi_x, hi_y = (w, h) if on_edge(box, w, h) else (w - EDGE_PX, h - EDGE_PX)

    def photo_strip(sx0: int, sy0: int, sx1: int, sy1: int) -> bool:
        if sx0 < lo_x or sy0 < lo_y or sx1 > hi_x or sy1 > hi_y or sx1 <= sx0 or sy1 <= sy0:
            return False
        strip = (sx0, sy0, sx1, sy1)
        if any(_common(strip, o) for o in others):
            return False
        diff = (paper - img[sy0:sy1, sx0:sx1].astype(np.int16)).max(axis=-1)  # ink only darkens the paper
        return float((diff > PAPER_DIFF).mean()) >= EDGE_SHARE

    grown = True
    while grown:
        grown = False
        if photo_strip(x0, y0 - 1, x1, y0):
            y0, grown = y0 - 1, True
        if photo_strip(x0, y1, x1, y1 + 1):
            y1, grown = y1 + 1, True
        if photo_strip(x0 - 1, y0, x0, y1):
            x0, grown = x0 - 1, True
        if photo_strip(x1, y0, x1 + 1, y1):
            x1, grown = x1 + 1, True
    return (x0, y0, x1, y1)


def _area(b: Box) -> int:
    return max(0, b[2] - b[0]) * max(0, b[3] - b[1])


def _common(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def process_scanned_page(
    image: np.ndarray | bytes,
    number: int,
    width_pt: float,
    height_pt: float,
    settings: ExtractSettings,
    text_blocks: list[TextBlock] | None = None,
    regions: list[ImageRegion] | None = None,
    label_words: tuple[str, ...] | None = None,
) -> Page:
    """Find a rendered page's photos, OCR the rest of the page, then find its drawn figures (which take in
    the photos next to them: panel grids). Runs in a worker process. ``image``: the rendered page, as RGB pixels
    or an encoded image.

    A true scan is straightened first (deskew); regions and words are found on the straight page, their
    crops taken from it, and their boxes reported on the page as it is (axis-aligned hulls).
    ``text_blocks``: a usable text layer the page already has (a searchable scan): no OCR then; its lines
    tell text from drawing (on a page that needed no straightening).
    ``regions``: figure regions already known (embedded images of an image-only page): no region finding.
    ``label_words``: the caption label words (default: the caption settings'), whose misreads OCR reads again
    (``ocr_labels``).
    """
    img = png_to_numpy(image) if isinstance(image, bytes) else image
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
    photos: list[tuple[int, int, int, int]] = []
    tints: list[tuple[tuple[int, int, int, int], int]] = []  # tinted boxes of text: not photos, OCR reads them
    if regions is None:
        photos = find_regions(img, settings)
        if settings.scan_drawn_figures:
            gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
            stroke = max(3, int(OPEN_FRAC * max(img.shape[:2])))
            fills = [tint_fill(gray[y0:y1, x0:x1], stroke) for x0, y0, x1, y1 in photos]
            tints = [(b, f) for b, f in zip(photos, fills) if f is not None]
            photos = [b for b, f in zip(photos, fills) if f is None]
        for x0, y0, x1, y1 in photos:
            text_img[y0:y1, x0:x1] = 255
    else:
        for r in regions:
            x0, y0, x1, y1 = (int(round(v / scale)) for v in r.bbox)
            text_img[max(0, y0) : y1, max(0, x0) : x1] = 255
    errors, words, pixel_words = [], [], []
    if text_blocks is None:
        try:
            pixel_words = ocr_words(text_img, 1.0, settings)  # pixel boxes on the straight page
            pixel_words = repair_labels(pixel_words, tuple(label_words or CaptionSettings().labels))
        except Exception as exc:
            errors = [f"page {number}: OCR failed ({exc})"]
    boxes = photos
    if regions is None:
        # without words (OCR failed) every letter would look like drawing: photos only then
        page_words = pixel_words if text_blocks is None else words_from_blocks(text_blocks, scale)
        usable = not errors and (text_blocks is None or angle == 0.0)
        if settings.scan_drawn_figures and usable:
            boxes = find_figures(img, page_words, photos, settings, tints)
        max_px = settings.max_image_px
        regions = [make_region(img[b[1] : b[3], b[0] : b[2]], to_page(b), "scan_region", max_px) for b in boxes]
    if text_blocks is None:
        words = [w.model_copy(update={"bbox": to_page(w.bbox)}) for w in pixel_words]
        # words inside a figure (axis labels, legends, panel letters) are the figure's, not the page's text
        outside = [w for w, pw in zip(words, pixel_words) if not any(_centre_in(pw.bbox, b) for b in boxes)]
        text_blocks = words_to_blocks(outside)
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


def _centre_in(box, region) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] <= cx <= region[2] and region[1] <= cy <= region[3]
