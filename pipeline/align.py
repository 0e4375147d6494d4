"""Align captions to image regions on a page.

The separate images of a row or grid are aligned as one unit (``group_regions``: images sharing most of their
height or width, a gutter of white between them and no text; or rows a wider gutter apart under one caption;
never two images each with a caption of its own), so one caption owns all of them, wherever it stands (below,
above, beside, in the margin, at the page foot). Then two passes, both global rather than greedy:
1. a one-to-one assignment (scipy's linear_sum_assignment) gives every caption its best unit, so a caption
   between two figures cannot take its neighbour's image;
2. every unit still free joins the caption whose figure it borders, again by minimum total cost, so one
   caption can own several panels.

Cost is geometric: the vertical gap between caption and region (caption below costs less than above, beside
costs more, unless level with the figure; a caption over or under a figure that does not line up with it costs
more too), with other regions of the same stack between them not counted as gap. A pair is infeasible when
they do not overlap horizontally (nor sit side by side), when the gap is too large, or when another caption
lies between them. When the page's text lines are given, a gap larger than ``max_gap_pt`` is still accepted
when it holds nothing but white space (no text line, no other caption): a full-page plate with its caption at
the page foot, or a caption in the outer margin column beside a figure centred in the text area.
"""

from __future__ import annotations

import re

import numpy as np
from scipy.optimize import linear_sum_assignment

from pipeline.extract.graphic_groups import connected_groups
from schemas import Caption, Figure, ImageRegion, Panel, TextLine
from schemas.settings import AlignSettings

VERSION = "4"
INFEASIBLE = 1e6
ABOVE_PENALTY = 6.0  # captions sit below their figure more often than above
BESIDE_PENALTY = 18.0  # a caption beside its figure is a less common layout
WEAK_OVERLAP_PENALTY = 20.0  # caption and figure overlap horizontally only a little
WEAK_OVERLAP_GAP_FRAC = 0.35  # ... then only a small vertical gap is accepted (share of max_gap_pt)
CAPTION_INSIDE = 1.1  # a caption may overlap its figure's box by up to its own height (images with white margins)
NEXT_COLUMN_PENALTY = 60.0  # caption carried to the top of the next column: the last resort
NEXT_COLUMN_DEPTH = 0.1  # cost per point the carried caption sits below the top of the page
OFFSET_PENALTY = 20.0  # caption over/under a figure without lining up with it (neither spans the other, no edge
# nor centre shared): more likely the caption of something else
BESIDE_LEVEL_PENALTY = 6.0  # a caption beside its figure, its top, centre or foot level with the figure's: as
# sure as a caption above
ALIGN_TOL_PT, ALIGN_TOL_FRAC = 4.0, 0.05  # edges "line up" within this many points or this share of the size
ROW_ALIGN = 0.8  # images of a row share this much of their height (of a grid's column: of their width)
ROW_SIZE_RATIO = 0.5  # ... and their heights (widths) differ by at most this factor
SHARED_GUTTER = 3.0  # images under one caption may stand this many panel gaps apart (a grid's wide gutter)
SHORT_TEXT = 3  # a line of at most this many letters and digits is a panel letter "(a)" or a folio, not text

Box = tuple[float, float, float, float]


def _x_overlap(a, b) -> float:
    inter = min(a[2], b[2]) - max(a[0], b[0])
    return max(0.0, inter) / max(1e-6, min(a[2] - a[0], b[2] - b[0]))


def _y_overlap(a, b) -> float:
    inter = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, inter) / max(1e-6, min(a[3] - a[1], b[3] - b[1]))


def _between(y_top: float, y_bottom: float, box, x_ref) -> bool:
    """True when ``box`` lies vertically inside (y_top, y_bottom) and overlaps ``x_ref`` horizontally."""
    cy = (box[1] + box[3]) / 2
    return y_top < cy < y_bottom and _x_overlap(box, x_ref) > 0


def _union_length(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for a, b in intervals:
        if b <= a:
            continue
        if a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def _inside(box, outer) -> bool:
    """True when the centre of ``box`` lies in ``outer``."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]


def _alnum(text: str) -> int:
    return sum(map(str.isalnum, text))


_MARK = re.compile(r"^[(\[]?[A-Za-z0-9]{1,2}[)\]]?[.,:]?$")


def is_letters(text: str) -> bool:
    """A line that is no text: panel letters printed under panels ("(a)", "A  B  C"), a folio ("163")."""
    words = text.split()
    return _alnum(text) <= SHORT_TEXT or (bool(words) and all(_MARK.match(w) for w in words))


class PageText:
    """The page's text lines that are not part of a figure nor of a caption, split into text (what separates a
    figure from what is not its caption or panel) and letters (short lines: panel letters printed under a
    panel, folios), which separate nothing; and the page's captions."""

    def __init__(self, lines: list[TextLine], regions: list, captions: list[Caption]):
        self.text: list[Box] = []
        self.letters: list[Box] = []
        self.captions = list(captions)
        for ln in lines:
            if any(_inside(ln.bbox, r.bbox) for r in regions) or any(_inside(ln.bbox, c.bbox) for c in captions):
                continue  # a label inside a drawing, a line of a caption
            (self.letters if is_letters(ln.text) else self.text).append(tuple(ln.bbox))

    def clear(self, box: Box, but: Caption | None = None) -> bool:
        """True when no text line nor caption (other than ``but``) overlaps ``box``."""
        if box[2] - box[0] <= 0 or box[3] - box[1] <= 0:
            return True
        hits = self.text + [c.bbox for c in self.captions if c is not but]
        return not any(t[0] < box[2] - 0.5 and t[2] > box[0] + 0.5 and t[1] < box[3] - 0.5 and t[3] > box[1] + 0.5
                       for t in hits)

    def letter_height(self, box: Box) -> float:
        """How much of ``box``'s height the short lines inside it take (panel letters under a row of panels)."""
        return _union_length(sorted((max(box[1], t[1]), min(box[3], t[3])) for t in self.letters
                                    if t[0] < box[2] and t[2] > box[0] and t[1] < box[3] and t[3] > box[1]))


def _aligned(a: float, b: float, size: float) -> bool:
    return abs(a - b) <= max(ALIGN_TOL_PT, ALIGN_TOL_FRAC * size)


def _lined_up(r, c) -> bool:
    """Caption and figure line up horizontally, as a caption over or under its figure does: one spans the other,
    or they share the left edge, the centre or the right edge."""
    w = max(r[2] - r[0], c[2] - c[0])
    tol = max(ALIGN_TOL_PT, ALIGN_TOL_FRAC * w)
    if (c[0] <= r[0] + tol and c[2] >= r[2] - tol) or (r[0] <= c[0] + tol and r[2] >= c[2] - tol):
        return True
    return _aligned(r[0], c[0], w) or _aligned(r[2], c[2], w) or _aligned((r[0] + r[2]) / 2, (c[0] + c[2]) / 2, w)


def pair_cost(
    region: ImageRegion, caption: Caption, regions: list[ImageRegion], captions: list[Caption], settings: AlignSettings,
    text: PageText | None = None, level: bool = True,
) -> float:
    """The cost of ``caption`` being the caption of ``region`` (INFEASIBLE when it cannot be); ``region`` and
    ``regions`` need only a ``bbox``. ``text``: the page's text lines; with them a gap of nothing but white space
    is accepted whatever its size. ``level``: a caption beside the region level with it (top, centre or foot)
    costs no more than one above it (which caption is a figure's); without, as any caption beside it (which
    figure an extra panel joins)."""
    r, c = region.bbox, caption.bbox
    overlap = _x_overlap(r, c)
    weak = 0 < overlap < settings.min_overlap_frac  # e.g. a left-aligned caption over a centred figure
    if overlap >= settings.min_overlap_frac or weak:
        if c[1] >= r[1] + 0.5 * (r[3] - r[1]):  # caption below
            top, bottom, penalty = r[3], c[1], 0.0
        else:  # caption above
            top, bottom, penalty = c[3], r[1], ABOVE_PENALTY
        # other regions stacked in between (above the caption) are part of the same figure, not empty space
        covered = sorted(
            (max(top, o.bbox[1]), min(bottom, o.bbox[3]))
            for o in regions
            if o is not region and _between(top, bottom, o.bbox, c)
        )
        gap = (bottom - top) - _union_length(covered)
        if any(o is not caption and _between(top, bottom, o.bbox, r) for o in captions):
            return INFEASIBLE
        if gap < -CAPTION_INSIDE * (c[3] - c[1]):
            return INFEASIBLE
        if gap > (WEAK_OVERLAP_GAP_FRAC if weak else 1.0) * settings.max_gap_pt:
            # only white space between (a plate with its caption at the page foot): still the same figure
            band = (min(r[0], c[0]), top, max(r[2], c[2]), bottom)
            if weak or text is None or not text.clear(band, caption):
                return INFEASIBLE
        if not weak and not _lined_up(r, c):
            penalty += OFFSET_PENALTY
        return max(gap, 0.0) + penalty + (WEAK_OVERLAP_PENALTY if weak else 0.0)
    if _y_overlap(r, c) > 0:  # caption beside the region
        gap = c[0] - r[2] if c[0] >= r[2] else r[0] - c[2]
        band = (min(r[2], c[2]), max(r[1], c[1]), max(r[0], c[0]), min(r[3], c[3]))  # between them, side by side
        if 0 <= gap <= settings.max_gap_pt or (gap > 0 and text is not None and text.clear(band, caption)):
            h = r[3] - r[1]
            aligned = (_aligned(r[1], c[1], h) or _aligned(r[3], c[3], h)
                       or _aligned((r[1] + r[3]) / 2, (c[1] + c[3]) / 2, h))
            return gap + (BESIDE_LEVEL_PENALTY if level and aligned else BESIDE_PENALTY)
    if c[0] >= r[2] - 2 and c[3] <= r[1] + 0.5 * (r[3] - r[1]):
        # caption carried over to the top of the next column: nothing of its own column may sit above it
        above = [o for o in regions if _x_overlap(o.bbox, c) > 0 and o.bbox[3] <= c[1]]
        above += [o for o in captions if o is not caption and _x_overlap(o.bbox, c) > 0 and o.bbox[3] <= c[1]]
        if not above:
            return NEXT_COLUMN_PENALTY + NEXT_COLUMN_DEPTH * c[1]
    return INFEASIBLE


def panel_gap(a: Box, b: Box, text: PageText | None, settings: AlignSettings) -> float | None:
    """The white gap between two images of one row (sharing most of their height) or of one grid column (most of
    their width), panel letters under a panel not counted; None when they are not so placed, when the gap is
    larger than ``max_panel_gap_pt`` or when text or a caption lies between them."""
    ha, hb, wa, wb = a[3] - a[1], b[3] - b[1], a[2] - a[0], b[2] - b[0]
    if _y_overlap(a, b) >= ROW_ALIGN and min(ha, hb) >= ROW_SIZE_RATIO * max(ha, hb):
        lo, hi = (a, b) if a[0] <= b[0] else (b, a)
        between = (lo[2], max(a[1], b[1]), hi[0], min(a[3], b[3]))
        gap, small = hi[0] - lo[2], min(wa, wb)
    elif _x_overlap(a, b) >= ROW_ALIGN and min(wa, wb) >= ROW_SIZE_RATIO * max(wa, wb):
        lo, hi = (a, b) if a[1] <= b[1] else (b, a)
        between = (max(a[0], b[0]), lo[3], min(a[2], b[2]), hi[1])
        gap, small = hi[1] - lo[3], min(ha, hb)
        if text is not None:
            gap -= text.letter_height(between)
    else:
        return None
    if gap > settings.max_panel_gap_pt or gap < -0.5 * small:
        return None
    if text is not None and not text.clear(between):
        return None
    return max(gap, 0.0)


def _stands_by(c: Box, a: Box, b: Box, settings: AlignSettings) -> bool:
    """Caption ``c`` stands under or over image ``a`` of a row and not under ``b``: its centre over ``a``, its
    box clear of ``b``, within ``max_gap_pt``."""
    if not a[0] <= (c[0] + c[2]) / 2 <= a[2]:
        return False
    if _x_overlap(c, b) * min(c[2] - c[0], b[2] - b[0]) > 0.25 * (b[2] - b[0]):
        return False
    gap = c[1] - a[3] if c[1] >= a[3] - 2 else a[1] - c[3]
    return -2 <= gap <= settings.max_gap_pt


def _beside_only(c: Box, a: Box, b: Box, settings: AlignSettings) -> bool:
    """Caption ``c`` stands beside image ``a`` of a column (left or right, within ``max_gap_pt``, its lines
    within ``a``'s height, give or take ``beside_slack_pt``) and beside nothing of ``b``: a caption set beside
    its figure, or in the margin."""
    slack = settings.beside_slack_pt
    if not (c[1] >= a[1] - slack and c[3] <= a[3] + slack) or _y_overlap(c, b) > 0:
        return False
    gap = c[0] - a[2] if c[0] >= a[2] - 2 else a[0] - c[2]
    return -2 <= gap <= settings.max_gap_pt


def _own_captions(a: Box, b: Box, captions: list[Caption], settings: AlignSettings) -> bool:
    """Two images each with a caption of its own: in a row, a caption under (or over) each; in a column, one over
    (or beside: ``_beside_only``) the upper image and another under (or beside) the lower, those over and under
    nearer their image than the images are to each other. Two figures, not one."""
    if _y_overlap(a, b) >= ROW_ALIGN:
        ca = [c for c in captions if _stands_by(c.bbox, a, b, settings)]
        cb = [c for c in captions if _stands_by(c.bbox, b, a, settings)]
        return _each_its_own(ca, cb)
    up, down = (a, b) if a[1] <= b[1] else (b, a)
    between = down[1] - up[3]

    def over(c: Box) -> bool:
        return _x_overlap(c, up) > 0 and _lined_up(up, c) and -2 <= up[1] - c[3] < between

    def under(c: Box) -> bool:
        return _x_overlap(c, down) > 0 and _lined_up(down, c) and -2 <= c[1] - down[3] < between

    upper = [c for c in captions if over(c.bbox) or _beside_only(c.bbox, up, down, settings)]
    lower = [c for c in captions if under(c.bbox) or _beside_only(c.bbox, down, up, settings)]
    return _each_its_own(upper, lower)


def _each_its_own(first: list[Caption], second: list[Caption]) -> bool:
    """Each image has a caption, and none of them is the other's."""
    return bool(first) and bool(second) and not set(map(id, first)) & set(map(id, second))


def group_regions(
    boxes: list[Box], text: PageText | None = None, settings: AlignSettings | None = None,
    captions: list[Caption] = (), kinds: list[str] | None = None,
) -> list[list[int]]:
    """Indices of ``boxes`` grouped into rows and grids (``panel_gap`` links two images of one ``kinds``,
    transitively, unless each has a caption of its own), each group in reading order, groups ordered by their
    first box (top to bottom, then left to right)."""
    settings = settings or AlignSettings()

    def linked(i: int, k: int) -> bool:
        if kinds is not None and kinds[i] != kinds[k]:
            return False  # a photograph and a drawing are two figures
        if panel_gap(boxes[i], boxes[k], text, settings) is None:
            return False
        return not (captions and _own_captions(boxes[i], boxes[k], captions, settings))

    merged = connected_groups(list(range(len(boxes))), linked)
    joined = bool(captions)
    while joined:  # rows of the grouping a wider gutter apart, under (or over) one caption: one figure
        joined = False
        for x in range(len(merged)):
            for y in range(x + 1, len(merged)):
                if kinds is not None and {kinds[i] for i in merged[x]} != {kinds[i] for i in merged[y]}:
                    continue
                if _shared_caption(_union([boxes[i] for i in merged[x]]), _union([boxes[i] for i in merged[y]]),
                                   captions, text, settings, boxes):
                    merged[x] = merged[x] + merged.pop(y)
                    joined = True
                    break
            if joined:
                break
    out = [sorted(g, key=lambda i: (boxes[i][1], boxes[i][0])) for g in merged]
    return sorted(out, key=lambda g: (min(boxes[i][1] for i in g), min(boxes[i][0] for i in g)))


def _union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _shared_caption(
    a: Box, b: Box, captions: list[Caption], text: PageText | None, settings: AlignSettings, boxes: list[Box],
) -> bool:
    """``a`` and ``b`` stand side by side as one row (most of their height shared, a gutter of at most
    ``SHARED_GUTTER`` panel gaps, no text between) and one caption spans both right under or over them, no
    text between, and nearer to them than to any other image on its far side (not the caption of the figure
    above or below): the images of one figure, a gutter wider than a panel gap apart."""
    ha, hb = a[3] - a[1], b[3] - b[1]
    if _y_overlap(a, b) < ROW_ALIGN or min(ha, hb) < ROW_SIZE_RATIO * max(ha, hb):
        return False
    lo, hi = (a, b) if a[0] <= b[0] else (b, a)
    if not 0 <= hi[0] - lo[2] <= SHARED_GUTTER * settings.max_panel_gap_pt:
        return False
    if text is not None and not text.clear((lo[2], max(a[1], b[1]), hi[0], min(a[3], b[3]))):
        return False
    row = _union([a, b])
    for c in captions:
        cb = c.bbox
        if _x_overlap(cb, a) < 0.5 or _x_overlap(cb, b) < 0.5:
            continue
        if cb[1] >= row[3] - 2:
            band = (row[0], row[3], row[2], cb[1])
            beyond = [o[1] - cb[3] for o in boxes if o[1] >= cb[3] - 2 and _x_overlap(o, cb) > 0]
        elif cb[3] <= row[1] + 2:
            band = (row[0], cb[3], row[2], row[1])
            beyond = [cb[1] - o[3] for o in boxes if o[3] <= cb[1] + 2 and _x_overlap(o, cb) > 0]
        else:
            continue
        gap = band[3] - band[1]
        if gap <= settings.max_gap_pt and all(gap < g for g in beyond) and (text is None or text.clear(band, c)):
            return True
    return False


class _Unit:
    """A row or grid of images (or one image) as alignment sees it: one box."""

    def __init__(self, members: list[int], regions: list[ImageRegion]):
        self.members = members
        self.bbox = _union([regions[i].bbox for i in members])


def align_page(
    regions: list[ImageRegion], captions: list[Caption], page: int, settings: AlignSettings | None = None,
    lines: list[TextLine] | None = None,
) -> list[Figure]:
    """Figures of one page: each caption with the regions it owns, and each unclaimed region on its own.

    ``regions`` are the page's candidate figure regions (decorations already removed); a Panel's
    ``region_index`` points into this list. ``lines``: the page's text lines, which tell white space (a gap of
    any size between a plate and its caption) from text (which no figure spans, nor a row or grid); without
    them only the geometric limits apply.

    The images of a row or grid (``group_regions``) are aligned as one: a caption owns all of them or none.
    """
    if not regions:  # nothing to align (captions own only regions)
        return []
    settings = settings or AlignSettings()
    text = PageText(lines, regions, captions) if lines is not None else None
    units = [_Unit(g, regions) for g in group_regions([r.bbox for r in regions], text, settings, captions,
                                                        [r.kind for r in regions])]
    n, m = len(units), len(captions)
    owner: dict[int, int] = {}  # unit -> caption
    if n and m:
        cost = np.array([[pair_cost(u, c, units, captions, settings, text) for c in captions] for u in units])
        rows, cols = linear_sum_assignment(cost)
        for i, j in zip(rows, cols):
            if cost[i, j] < INFEASIBLE:
                owner[i] = j
        # second pass: free units join a caption that already owns one, cheapest first (a caption level with one
        # unit beside it is that unit's caption, no nearer to the others)
        size = {j: sum(len(units[i].members) for i, o in owner.items() if o == j) for j in set(owner.values())}
        free = [i for i in range(n) if i not in owner]
        plain = {(i, j): pair_cost(units[i], captions[j], units, captions, settings, text, level=False)
                 for i in free for j in set(owner.values())}
        options = sorted((c, i, j) for (i, j), c in plain.items() if c < INFEASIBLE)
        for _c, i, j in options:
            if i in owner or size[j] + len(units[i].members) > settings.max_regions_per_caption:
                continue
            owner[i] = j
            size[j] += len(units[i].members)
    figures = []
    for j, caption in enumerate(captions):
        idx = [k for i, o in owner.items() if o == j for k in units[i].members]
        if idx:
            figures.append(
                Figure(page=page, caption=caption, panels=[Panel(region_index=i, bbox=regions[i].bbox) for i in idx])
            )
    owned = {k for i in owner for k in units[i].members}
    for i in range(len(regions)):
        if i not in owned:
            figures.append(Figure(page=page, caption=None, panels=[Panel(region_index=i, bbox=regions[i].bbox)]))
    return figures
