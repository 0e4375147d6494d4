"""Figure regions on a scanned page that are drawn rather than photographed: charts, plots, diagrams, and
panel grids (photos with labels and gutters between them).

Runs after OCR, on the straightened page, in pixels. Ink that no OCR word explains and that is larger than
a line of text in both directions is graphic (axes, curves, bars, boxes, arrows). Graphic pieces and photos
close to each other form one figure, which then takes in the small things at its edge: labels, tick
values, legend entries, panel letters, markers; never one that would make it overlap another figure, and
never a photo's own blurred edge (ink within a pixel or two of a photo is the photo's). Body text stops a
figure: a line of running text or of a caption never joins one, and two pieces with such a line between
them are two figures; so are two pieces that each have their own caption, while all the pieces between a
caption and the body text beyond are one.
A drawn region with a "Table" caption, or drawn only with straight rules around words, is a table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

from schemas import OcrWord, TextBlock
from schemas.settings import ExtractSettings

Box = tuple[int, int, int, int]

LINE_GAP = 1.2  # a blank gap wider than this many word heights splits an OCR line (it runs across a gutter)
LABEL_GAP = 3.0  # ... but after a caption's label ("Table 2"), only a gap this wide
GUTTER_SPREAD = 2.0  # ... and only a gap this many times the line's median word gap (justified text spreads
# its words evenly, however wide: a gutter is the one gap far wider than the others)
BODY_DENSITY = 0.6  # words of a line of running text cover this share of its width (labels are spread out)
BLANK_GAP = 0.02  # a gap between two words with at most this share of ink is blank paper
DEFAULT_LH_FRAC = 0.012  # line height (share of the page height) on a page with too few words to measure it
SMALL_LH = 1.5  # ink no taller (or no wider) than this many line heights: letters, a marker or a rule
NOISE_LH = 0.25  # ink smaller than this many line heights (both sides) is dust or a dot
INK_BELOW_PAPER = 20  # grey levels below the paper's commonest level that count as ink
EDGE_PX = 2  # ink this close to the page edge is the scan's border, shadow or a bleed, not a figure
FRAME_HOLE_SHARE = 0.5  # an outline closing in this share of its bounding box is a frame
TAB_FRAC = 0.1  # a photo region on the page edge narrower than this share of the page is a margin tab
PHOTO_EDGE_FRAC = 0.001  # ink this close to a photo (share of the page's longer side, 2 px at least) is its edge
CAPTION_GAP_LH = 3.0  # a caption at most this many line heights above or below a figure is its own
DRAWN_WORD_LH = 3.0  # an OCR word taller than this many line heights may be drawing read as text ...
DRAWN_WORD_CONF = 80.0  # ... unless read with this confidence as a word of letters (a large heading)
OVERLAY_SHARE = 0.25  # drawing whose box is this much running text lies over the text (stamp, watermark)
MIN_SIDE_LH = 3.0  # a figure is at least this many line heights tall and wide
CORE_SHARE = 0.2  # photos and drawing must span this share of a figure's box; the rest is its labels
TINT_SHARE = 0.6  # a photo-like region filled this much with one light grey level ...
TINT_TOL = 12  # ... (within this many levels) ...
TINT_MIN_LEVEL = 128  # ... no darker than this ...
TINT_DELTA = 40  # ... with ink (this much darker than the fill) covering at least ...
TINT_MIN_DRAWN = 0.01  # ... this share of it, and thin: ...
TINT_MAX_SOLID = 0.3  # ... at most this share of the ink survives an opening; is a tinted box of text
STRAIGHT_LH = 2.0  # a straight run this many line heights long is a rule (when testing for a table)
CAPTION_START = re.compile(r"^\W{0,2}(fig(ure)?s?|table|plate|scheme|chart)\b\s?\.?\s*[\dIVX]", re.IGNORECASE)


@dataclass
class Line:
    """One OCR text line (split at a gutter); body lines (running text, captions) never join a figure."""

    box: Box
    key: tuple[int, int, int]  # tesseract block, paragraph, line
    body: bool = False
    caption: int = -1  # index of the caption this line belongs to, -1 for none


@dataclass
class Cluster:
    box: Box
    photo: bool = False
    core: int = 0  # pixel area of the photos and graphic pieces in it (their boxes)

    def add(self, other: Cluster) -> None:
        self.box = _union(self.box, other.box)
        self.photo = self.photo or other.photo
        self.core += other.core


def _area(b: Box) -> int:
    return max(0, b[2] - b[0]) * max(0, b[3] - b[1])


def _ibox(b) -> Box:
    return (int(b[0]), int(b[1]), int(round(b[2])), int(round(b[3])))


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _union_all(boxes) -> tuple:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _gap(a: Box, b: Box) -> float:
    """Distance between two boxes (0 when they overlap)."""
    dx = max(0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0, max(a[1], b[1]) - min(a[3], b[3]))
    return float(np.hypot(dx, dy))


def _overlap_x(a: Box, b: Box) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0]))


def _touch(a: Box, b: Box) -> bool:
    return _overlap_x(a, b) > 0 and min(a[3], b[3]) > max(a[1], b[1])


def _inside(inner: Box, outer: Box, frac: float = 0.5) -> bool:
    """True when at least ``frac`` of ``inner``'s area lies in ``outer``."""
    ih = max(0, min(inner[3], outer[3]) - max(inner[1], outer[1]))
    area = max(1, (inner[2] - inner[0]) * (inner[3] - inner[1]))
    return _overlap_x(inner, outer) * ih >= frac * area


def line_height(words: list[OcrWord], page_h: int) -> float:
    """Typical text line height in pixels: the median height of real words, else a share of the page."""
    hs = [w.bbox[3] - w.bbox[1] for w in words if sum(c.isalnum() for c in w.text) >= 3 and w.conf >= 60]
    if len(hs) < 5:
        return DEFAULT_LH_FRAC * page_h
    return float(np.median(hs))


def is_text_word(w: OcrWord, lh: float) -> bool:
    """False for an OCR "word" that is a piece of drawing read as text: far taller than a line, and neither
    confident nor made of letters (a large heading is both)."""
    if w.bbox[3] - w.bbox[1] <= DRAWN_WORD_LH * lh:
        return True
    return w.conf >= DRAWN_WORD_CONF and sum(c.isalpha() for c in w.text) >= 3


def _blank(ink: np.ndarray | None, x0: float, x1: float, ws: list[OcrWord]) -> bool:
    """True when the page between x0 and x1, over the height of a line's words, is paper (a gutter), not
    words OCR could not read."""
    if ink is None:
        return True
    mid = float(np.median([(w.bbox[1] + w.bbox[3]) / 2 for w in ws]))
    half = float(np.median([w.bbox[3] - w.bbox[1] for w in ws])) / 4  # the middle half of the line
    strip = ink[int(mid - half) : int(mid + half) + 1, int(x0) + 1 : int(x1)]
    return strip.size == 0 or float(strip.mean()) <= BLANK_GAP


def ocr_lines(
    words: list[OcrWord], lh: float, settings: ExtractSettings, ink: np.ndarray | None = None
) -> tuple[list[Line], list[str]]:
    """OCR words as lines, split where a blank gap shows a line runs across a gutter. A line is body text
    when it is long and wordy, or starts a caption ("Fig. 3", "Table 2"); the lines that continue a body
    line's paragraph below it (a caption's short last line) are body text too. Also the kind of each
    caption, by index: "figure" or "table"."""
    groups: dict[tuple[int, int, int], list[OcrWord]] = {}
    for w in words:
        groups.setdefault((w.block, w.par, w.line), []).append(w)
    lines: list[Line] = []
    n_captions = 0
    kinds: list[str] = []
    for key, ws in sorted(groups.items()):
        ws = sorted(ws, key=lambda w: w.bbox[0])
        height = max(1.0, float(np.median([w.bbox[3] - w.bbox[1] for w in ws])))
        gaps = [b.bbox[0] - a.bbox[2] for a, b in zip(ws, ws[1:])]
        usual = float(np.median(gaps)) if len(gaps) >= 3 else 0.0
        segs = [[ws[0]]]
        for w in ws[1:]:
            prev, gap = segs[-1][-1], w.bbox[0] - segs[-1][-1].bbox[2]
            # a caption's label keeps the text set off after it ("Table 2-2   Comparison of ...")
            label = len(segs[-1]) <= 3 and CAPTION_START.match(" ".join(x.text for x in segs[-1]))
            limit = max((LABEL_GAP if label else LINE_GAP) * height, GUTTER_SPREAD * usual)
            if gap > limit and _blank(ink, prev.bbox[2], w.bbox[0], ws):
                segs.append([w])
            else:
                segs[-1].append(w)
        for seg in segs:
            box = _ibox(_union_all([w.bbox for w in seg]))
            text = " ".join(w.text for w in seg)
            n_words = sum(1 for t in text.split() if sum(c.isalpha() for c in t) >= 2)
            line = Line(box=box, key=key)
            width = max(1, box[2] - box[0])
            dense = sum(w.bbox[2] - w.bbox[0] for w in seg) >= BODY_DENSITY * width  # no spread-out labels
            wide = width >= settings.scan_body_min_width_lh * lh
            line.body = n_words >= settings.scan_body_min_words and wide and dense
            start = CAPTION_START.match(text)
            if start and len(text.split()) >= 2:
                line.body, line.caption = True, n_captions
                kinds.append("table" if start.group(1).lower().startswith("table") else "figure")
                n_captions += 1
            lines.append(line)
    # a paragraph goes on below its body line: next line of the same paragraph, close below, aligned left
    by_key = {}
    for ln in lines:
        by_key.setdefault(ln.key, []).append(ln)
    for ln in lines:  # in reading order, so a paragraph's lines pass body on one to the next
        if not ln.body:
            continue
        block, par, num = ln.key
        for nxt in by_key.get((block, par, num + 1), []):
            below = 0 <= nxt.box[1] - ln.box[3] <= lh
            aligned = abs(nxt.box[0] - ln.box[0]) <= 2 * lh
            if below and aligned:
                nxt.body = True
                nxt.caption = ln.caption if nxt.caption < 0 else nxt.caption
    return lines, kinds


def words_from_blocks(blocks: list[TextBlock], scale: float) -> list[OcrWord]:
    """A text layer's lines as word-like boxes in pixels (``scale``: points per pixel), one per line."""
    out = []
    for bi, block in enumerate(blocks):
        for li, line in enumerate(block.lines):
            box = tuple(round(v / scale, 2) for v in line.bbox)
            out.append(OcrWord(bbox=box, text=line.text, conf=100.0, block=bi, line=li))
    return out


def paper_level(gray: np.ndarray) -> int:
    """The paper's grey level: the commonest light level of the page."""
    hist = np.bincount(gray.ravel(), minlength=256)
    return 128 + int(np.argmax(hist[128:]))


def ink_mask(img: np.ndarray, settings: ExtractSettings) -> np.ndarray:
    """Ink: pixels darker than the white level and clearly darker than the paper itself (a scan's paper is
    off-white and shaded towards the edges)."""
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    return (gray < min(settings.scan_white_level, paper_level(gray) - INK_BELOW_PAPER)).astype(np.uint8)


def on_edge(box: Box, w: int, h: int) -> bool:
    """The box reaches the page image's edge (within EDGE_PX)."""
    x0, y0, x1, y1 = box
    return x0 < EDGE_PX or y0 < EDGE_PX or x1 > w - EDGE_PX or y1 > h - EDGE_PX


def ink_pieces(
    ink: np.ndarray, words: list[OcrWord], photos: list[Box], lh: float, settings: ExtractSettings
) -> tuple[np.ndarray, list[Box], list[Box], list[Box], np.ndarray]:
    """The page's ink (0/1 mask) that no word or photo explains, and its connected pieces: graphic ones
    (larger than a text line in both directions), frames (closed outlines: a plot's box, or a border around
    a figure and its caption, a text box) and small ones (letters OCR missed, markers, rules); and a mask of
    what is drawn (graphic pieces, frames, photos). Dust and anything touching the page edge (scan borders,
    shadows) are left out."""
    residual = ink.copy()
    pad = settings.scan_text_pad_px
    for wd in words:
        x0, y0, x1, y1 = _ibox(wd.bbox)
        residual[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad] = 0
    h, w = residual.shape
    # a photo's edge, spread by the scan's blur a pixel or two past its box, is the photo's: left as pieces, it
    # would be a "label" that the figure beside it takes in, across the gap, and with it part of the photo
    edge = max(2, int(round(PHOTO_EDGE_FRAC * max(h, w))))
    for x0, y0, x1, y1 in photos:
        residual[max(0, y0 - edge) : y1 + edge, max(0, x0 - edge) : x1 + edge] = 0
    n, lab, stats, _ = cv2.connectedComponentsWithStats(residual, connectivity=8)
    small_max = SMALL_LH * lh
    graphics: list[Box] = []
    frames: list[Box] = []
    pieces: list[Box] = []
    is_drawn = np.zeros(n, np.uint8)
    for i in range(1, n):
        x, y, bw, bh, _area = (int(v) for v in stats[i])
        if max(bw, bh) < max(3.0, NOISE_LH * lh):
            continue
        box = (x, y, x + bw, y + bh)
        if on_edge(box, w, h):
            continue
        if min(bw, bh) <= small_max:
            pieces.append(box)
        else:
            (frames if _frame(lab, i, box) else graphics).append(box)
            is_drawn[i] = 1
    drawn = is_drawn[lab]
    for x0, y0, x1, y1 in photos:
        drawn[y0:y1, x0:x1] = 1
    return residual, graphics, frames, pieces, drawn


def _frame(lab: np.ndarray, i: int, box: Box) -> bool:
    """True for a frame: a closed outline (upright or not) enclosing most of its bounding box."""
    x0, y0, x1, y1 = box
    inside = np.pad((lab[y0:y1, x0:x1] != i).astype(np.uint8), 1, constant_values=1)
    _n, outer, _st, _c = cv2.connectedComponentsWithStats(inside, connectivity=4)
    hole = int(((outer != outer[0, 0]) & (inside > 0)).sum())  # paper the outline closes in
    return hole >= FRAME_HOLE_SHARE * (x1 - x0) * (y1 - y0)


def _margin_tab(box: Box, w: int, h: int) -> bool:
    """A photo-like region on the page edge and narrow across it: a coloured margin tab or a bleed bar."""
    x0, y0, x1, y1 = box
    on_side = (x0 < EDGE_PX or x1 > w - EDGE_PX) and x1 - x0 < TAB_FRAC * w
    on_end = (y0 < EDGE_PX or y1 > h - EDGE_PX) and y1 - y0 < TAB_FRAC * h
    return on_side or on_end


def tint_fill(gray: np.ndarray, stroke_px: int) -> int | None:
    """The fill level of a tinted box (a shaded table head, a sidebar, a plot's grey background), else None:
    one light grey level fills most of the region, and what is drawn darker on it is thin strokes (text,
    lines) that an opening a little wider than a stroke removes, not the solid shapes of a photo."""
    hist = np.bincount(gray.ravel(), minlength=256)
    window = np.convolve(hist, np.ones(2 * TINT_TOL + 1, np.int64), mode="same")
    fill = int(np.argmax(window))
    if fill < TINT_MIN_LEVEL or window[fill] < TINT_SHARE * gray.size:
        return None
    drawn = (gray < fill - TINT_DELTA).astype(np.uint8)
    n_drawn = int(drawn.sum())
    if n_drawn < TINT_MIN_DRAWN * gray.size:
        return None  # nothing on it: a pale photo, not a box of text
    solid = cv2.morphologyEx(drawn, cv2.MORPH_OPEN, np.ones((stroke_px, stroke_px), np.uint8))
    return fill if int(solid.sum()) <= TINT_MAX_SOLID * n_drawn else None


def find_figures(
    img: np.ndarray,
    words: list[OcrWord],
    photos: list[Box],
    settings: ExtractSettings,
    tints: list[tuple[Box, int]] = (),
) -> list[Box]:
    """Figure boxes (pixels) on a page image from its OCR words (pixel boxes) and its photo regions.
    ``tints``: tinted boxes (box, fill level, see ``tint_fill``); their fill is paper, not ink."""
    h, w = img.shape[:2]
    lh = line_height(words, h)
    words = [wd for wd in words if is_text_word(wd, lh)]
    ink = ink_mask(img, settings)
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    for (x0, y0, x1, y1), fill in tints:
        ink[y0:y1, x0:x1] = gray[y0:y1, x0:x1] < fill - TINT_DELTA
    photos = [b for b in photos if not _margin_tab(b, w, h)]
    residual, graphics, frames, pieces, drawn = ink_pieces(ink, words, photos, lh, settings)
    # a gap in a line is blank unless letters fill it: drawing in it does not join a label to the text beyond
    lines, caption_kinds = ocr_lines(words, lh, settings, ink & (1 - drawn))
    body = [ln.box for ln in lines if ln.body]
    labels = [ln.box for ln in lines if not ln.body]
    captions: dict[int, Box] = {}
    for ln in lines:
        if ln.caption >= 0:
            captions[ln.caption] = _union(captions.get(ln.caption, ln.box), ln.box)
    # a frame around a caption or a text box says nothing of what it holds; a plot's box or a window does
    boxed: list[Box] = []  # frames around a figure and its caption
    for f in frames:
        if any(_inside(c, f) for c in captions.values()):
            boxed.append(f)
        elif _text_share(f, body) < OVERLAY_SHARE:
            graphics.append(f)
    # drawing over running text is a stamp, a watermark or a bracket, not a figure
    graphics = [g for g in graphics if not _crosses_text(g, body, lh)]

    def blocked(a: Box, b: Box) -> bool:
        """Body text between two boxes (inside their union, touching neither) keeps them apart."""
        u = _union(a, b)
        return any(_inside(bb, u) and not _touch(bb, a) and not _touch(bb, b) for bb in body)

    def own_caption(a: Box) -> int | None:
        """The nearest caption just above or below a box, lying mostly over it; else the nearest just beside
        it, level with it."""
        best, best_gap = None, CAPTION_GAP_LH * lh
        for i, c in captions.items():
            gap = c[1] - a[3] if c[1] >= a[3] else a[1] - c[3]
            if 0 <= gap <= best_gap and _overlap_x(c, a) >= 0.5 * (c[2] - c[0]):
                best, best_gap = i, gap
        if best is not None:
            return best
        best_gap = CAPTION_GAP_LH * lh
        for i, c in captions.items():
            gap = c[0] - a[2] if c[0] >= a[2] else a[0] - c[2]
            level = min(c[3], a[3]) - max(c[1], a[1]) >= 0.5 * min(c[3] - c[1], a[3] - a[1])
            if 0 <= gap <= best_gap and level:
                best, best_gap = i, gap
        return best

    def two_captions(a: Box, b: Box) -> bool:
        ca, cb = own_caption(a), own_caption(b)
        return ca is not None and cb is not None and ca != cb

    def apart(a: Box, b: Box) -> bool:
        """Body text between them, or each its own caption: two figures."""
        return blocked(a, b) or two_captions(a, b)

    d_merge = settings.scan_figure_gap_lh * lh

    vetoed: set[tuple[Box, Box]] = set()

    def merge_all(cl: list[Cluster]) -> list[Cluster]:
        """Join clusters closest first (so a figure's own pieces join before a neighbour's), while the
        closest joinable pair is at most ``d_merge`` apart."""
        cl = list(cl)
        while len(cl) > 1:
            b = np.array([c.box for c in cl], dtype=np.float64)
            dx = np.maximum(0, np.maximum(b[:, None, 0], b[None, :, 0]) - np.minimum(b[:, None, 2], b[None, :, 2]))
            dy = np.maximum(0, np.maximum(b[:, None, 1], b[None, :, 1]) - np.minimum(b[:, None, 3], b[None, :, 3]))
            gaps = np.hypot(dx, dy)
            gaps[np.tril_indices(len(cl))] = np.inf
            order = np.argsort(gaps, axis=None)
            done = False
            for flat in order:
                i, j = divmod(int(flat), len(cl))
                if gaps[i, j] > d_merge:
                    break
                key = (cl[i].box, cl[j].box)
                if key in vetoed:
                    continue
                if apart(cl[i].box, cl[j].box):
                    vetoed.add(key)
                    continue
                cl[i].add(cl[j])
                del cl[j]
                done = True
                break
            if not done:
                break
        return cl

    seeds = [Cluster(box=b, photo=True, core=_area(b)) for b in photos]
    clusters = merge_all(seeds + [Cluster(box=b, core=_area(b)) for b in graphics])
    clusters = merge_all(_join_by_caption(clusters, captions, body, lh, own_caption))
    # each figure takes in the small things at its edge: labels, tick values, legend entries, rules, markers
    d_absorb = settings.scan_label_gap_lh * lh
    small = labels + [b for b in pieces if _text_share(b, body) < OVERLAY_SHARE]  # not marks over running text

    def near(b: Box, a: Box) -> bool:
        """Close to a figure: just above or below it, or beside it (row labels, legends) within a gutter."""
        if _gap(b, a) <= d_absorb:
            return True
        beside = min(b[3], a[3]) - max(b[1], a[1]) >= 0.5 * (b[3] - b[1])
        return beside and _gap(b, a) <= d_merge

    def runs_into_another(c: Cluster, b: Box) -> bool:
        """Taking ``b`` in would make ``c`` overlap another figure (its labels are not ``c``'s)."""
        grown = _union(c.box, b)
        return any(o is not c and _touch(grown, o.box) and not _touch(c.box, o.box) for o in clusters)

    def runs_into_text(c: Cluster, b: Box) -> bool:
        """Taking ``b`` in would make ``c`` reach over a line of body text (a caption's label beside a figure,
        whose words would then be the figure's)"""
        grown = _union(c.box, b)
        return any(_touch(grown, t) and not _touch(c.box, t) for t in body)

    for c in clusters:
        grown = True
        while grown:
            grown = False
            for b in small:
                if not near(b, c.box) or _inside(b, c.box, 0.99) or blocked(c.box, b) or runs_into_another(c, b):
                    continue
                if runs_into_text(c, b):
                    continue
                c.box = _union(c.box, b)
                grown = True
    clusters = merge_all(clusters)
    for f in boxed:
        _fill_frame(f, clusters, lines)

    out = []
    for c in clusters:
        x0, y0, x1, y1 = c.box
        if (x1 - x0) * (y1 - y0) < settings.scan_min_region_frac * h * w:
            continue
        if min(x1 - x0, y1 - y0) < MIN_SIDE_LH * lh:  # a bar, a banner or a rule, not a figure
            continue
        if c.core < CORE_SHARE * _area(c.box):  # a small mark amid text it took in: a logo in a header
            continue
        if _text_share(c.box, body) >= OVERLAY_SHARE:
            continue
        if not c.photo and _is_table(c.box, residual, words, lh, settings):
            continue
        own = own_caption(c.box)
        if not c.photo and own is not None and caption_kinds[own] == "table":
            continue
        out.append(c.box)
    return sorted(out, key=lambda b: (b[1], b[0]))


def _join_by_caption(
    clusters: list[Cluster], captions: dict[int, Box], body: list[Box], lh: float, own_caption
) -> list[Cluster]:
    """Everything drawn between a caption and the body text beyond its figure is that one figure: pieces in
    the caption's columns, on the side of the caption where a piece sits right next to it, up to the first
    line of body text (or the page's end) are joined, however much white lies between them; not a piece
    right next to another caption (its own figure)."""
    gap = CAPTION_GAP_LH * lh
    for key, cap in captions.items():
        def over_x(b: Box) -> bool:
            return _overlap_x(b, cap) >= 0.5 * min(b[2] - b[0], cap[2] - cap[0])

        def over(b: Box) -> bool:
            own = own_caption(b)
            return over_x(b) and (own is None or own == key)

        above = [c for c in clusters if over(c.box) and 0 <= cap[1] - c.box[3] <= gap]
        below = [c for c in clusters if over(c.box) and 0 <= c.box[1] - cap[3] <= gap]
        if above:
            stops = [b[3] for b in body if over_x(b) and b[3] <= cap[1] and not _inside(b, cap)]
            limit = max([s for s in stops if s <= min(c.box[1] for c in above)], default=0)
            zone = [c for c in clusters if over(c.box) and c.box[1] >= limit and c.box[3] <= cap[1]]
        elif below:
            stops = [b[1] for b in body if over_x(b) and b[1] >= cap[3] and not _inside(b, cap)]
            limit = min([s for s in stops if s >= max(c.box[3] for c in below)], default=1 << 30)
            zone = [c for c in clusters if over(c.box) and c.box[1] >= cap[3] and c.box[3] <= limit]
        else:
            continue
        if len(zone) > 1:
            first = zone[0]
            for c in zone[1:]:
                first.add(c)
            clusters = [c for c in clusters if c is first or all(c is not z for z in zone)]
    return clusters


def _fill_frame(frame: Box, clusters: list[Cluster], lines: list[Line]) -> None:
    """A frame around one figure and its caption (and no other text) bounds that figure: the figure is the
    frame's box up to its caption."""
    inside = [c for c in clusters if _inside(c.box, frame, 0.9)]
    held = [ln for ln in lines if ln.body and _inside(ln.box, frame)]
    if len(inside) != 1 or not any(ln.caption >= 0 for ln in held):
        return
    c, (fx0, fy0, fx1, fy1) = inside[0], frame
    cap = _union_all([ln.box for ln in held])
    if cap[1] >= c.box[3] - 1:  # all the text is below the figure: its caption
        c.box = (fx0, fy0, fx1, max(c.box[3], cap[1] - 1))
    elif cap[3] <= c.box[1] + 1:  # all of it above
        c.box = (fx0, min(c.box[1], cap[3] + 1), fx1, fy1)


def _crosses_text(box: Box, body: list[Box], lh: float) -> bool:
    """True when a line of running text runs through a box: over a stretch of at least two line heights,
    and on out of it (text inside a drawing, as in a screenshot, is the drawing's)."""
    for b in body:
        ov_y = min(b[3], box[3]) - max(b[1], box[1])
        out = b[0] < box[0] - lh or b[2] > box[2] + lh
        if ov_y >= 0.5 * (b[3] - b[1]) and _overlap_x(b, box) >= 2 * lh and out:
            return True
    return False


def _text_share(box: Box, body: list[Box]) -> float:
    """The share of a box covered by body text lines."""
    covered = 0
    for b in body:
        covered += _overlap_x(b, box) * max(0, min(b[3], box[3]) - max(b[1], box[1]))
    return covered / max(1, _area(box))


def _is_table(box: Box, residual: np.ndarray, words: list[OcrWord], lh: float, settings: ExtractSettings) -> bool:
    """A region drawn with nothing but straight rules, holding words, is a table (or a framed text box): a
    chart has curves, markers, bars or at least letters OCR could not read."""
    x0, y0, x1, y1 = box
    area = max(1, (x1 - x0) * (y1 - y0))
    covered = 0
    for wd in words:
        b = _ibox(wd.bbox)
        if _inside(b, box):
            covered += _overlap_x(b, box) * max(0, min(y1, b[3]) - max(y0, b[1]))
    crop = residual[y0:y1, x0:x1]
    k = max(5, int(STRAIGHT_LH * lh))
    straight = cv2.morphologyEx(crop, cv2.MORPH_OPEN, np.ones((1, k), np.uint8)) | cv2.morphologyEx(
        crop, cv2.MORPH_OPEN, np.ones((k, 1), np.uint8)
    )
    straight = cv2.dilate(straight, np.ones((3, 3), np.uint8))
    drawn = int((crop & (1 - straight)).sum())
    return covered / area >= settings.scan_table_text_frac and drawn < settings.scan_min_drawn_frac * area
