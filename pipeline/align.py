"""Align captions to image regions on a page.

Two passes, both global rather than greedy:
1. a one-to-one assignment (scipy's linear_sum_assignment) gives every caption its best region, so a caption
   between two figures cannot take its neighbour's image;
2. every region still free joins the caption whose figure it borders, again by minimum total cost, so one
   caption can own several panels.

Cost is geometric: the vertical gap between caption and region (caption below costs less than above, beside
costs more), with other regions of the same stack between them not counted as gap. A pair is infeasible when
they do not overlap horizontally (nor sit side by side), when the gap is too large, or when another caption
lies between them.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from schemas import Caption, Figure, ImageRegion, Panel
from schemas.settings import AlignSettings

VERSION = "2"
INFEASIBLE = 1e6
ABOVE_PENALTY = 6.0  # captions sit below their figure more often than above
BESIDE_PENALTY = 18.0  # a caption beside its figure is a less common layout
WEAK_OVERLAP_PENALTY = 20.0  # caption and figure overlap horizontally only a little
WEAK_OVERLAP_GAP_FRAC = 0.35  # ... then only a small vertical gap is accepted (share of max_gap_pt)
CAPTION_INSIDE = 1.1  # a caption may overlap its figure's box by up to its own height (images with white margins)
NEXT_COLUMN_PENALTY = 60.0  # caption carried to the top of the next column: the last resort
NEXT_COLUMN_DEPTH = 0.1  # cost per point the carried caption sits below the top of the page


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


def pair_cost(
    region: ImageRegion, caption: Caption, regions: list[ImageRegion], captions: list[Caption], settings: AlignSettings
) -> float:
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
        if gap > (WEAK_OVERLAP_GAP_FRAC if weak else 1.0) * settings.max_gap_pt or gap < -CAPTION_INSIDE * (c[3] - c[1]):
            return INFEASIBLE
        return max(gap, 0.0) + penalty + (WEAK_OVERLAP_PENALTY if weak else 0.0)
    if _y_overlap(r, c) > 0:  # caption beside the region
        gap = c[0] - r[2] if c[0] >= r[2] else r[0] - c[2]
        if 0 <= gap <= settings.max_gap_pt:
            return gap + BESIDE_PENALTY
    if c[0] >= r[2] - 2 and c[3] <= r[1] + 0.5 * (r[3] - r[1]):
        # caption carried over to the top of the next column: nothing of its own column may sit above it
        above = [o for o in regions if _x_overlap(o.bbox, c) > 0 and o.bbox[3] <= c[1]]
        above += [o for o in captions if o is not caption and _x_overlap(o.bbox, c) > 0 and o.bbox[3] <= c[1]]
        if not above:
            return NEXT_COLUMN_PENALTY + NEXT_COLUMN_DEPTH * c[1]
    return INFEASIBLE


def align_page(regions: list[ImageRegion], captions: list[Caption], page: int, settings: AlignSettings | None = None) -> list[Figure]:
    """Figures of one page: each caption with the regions it owns, and each unclaimed region on its own.

    ``regions`` are the page's candidate figure regions (decorations already removed); a Panel's
    ``region_index`` points into this list.
    """
    settings = settings or AlignSettings()
    n, m = len(regions), len(captions)
    owner: dict[int, int] = {}
    if n and m:
        cost = np.array([[pair_cost(r, c, regions, captions, settings) for c in captions] for r in regions])
        rows, cols = linear_sum_assignment(cost)
        for i, j in zip(rows, cols):
            if cost[i, j] < INFEASIBLE:
                owner[i] = j
        # second pass: free regions join a caption that already owns a region, cheapest first
        free = [i for i in range(n) if i not in owner]
        options = sorted(
            (cost[i, j], i, j) for i in free for j in range(m) if cost[i, j] < INFEASIBLE and j in owner.values()
        )
        for _c, i, j in options:
            if i in owner or sum(1 for v in owner.values() if v == j) >= settings.max_regions_per_caption:
                continue
            owner[i] = j
    figures = []
    for j, caption in enumerate(captions):
        idx = [i for i, o in owner.items() if o == j]
        if idx:
            figures.append(
                Figure(page=page, caption=caption, panels=[Panel(region_index=i, bbox=regions[i].bbox) for i in idx])
            )
    for i in range(n):
        if i not in owner:
            figures.append(Figure(page=page, caption=None, panels=[Panel(region_index=i, bbox=regions[i].bbox)]))
    return figures
