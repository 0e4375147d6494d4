"""Decorations: logos, icons, rules, tiny images, small drawings, images repeated on many pages and page
backgrounds (images with running text printed over them) are not figures.

They stay in the output as rejected regions with a reason code.
"""

from __future__ import annotations

from collections import defaultdict

from pipeline.extract.placeholders import KIND as PLACEHOLDER
from schemas import Page
from schemas.settings import ExtractSettings

SMALL = "decoration_small"
REPEATED = "decoration_repeated"
RULE = "decoration_rule"
BACKGROUND = "decoration_background"
# a cluster of drawings too small to be a figure (a vector logo, icon or symbol): set where drawings are
# clustered (``graphic_groups.plan_groups``), kept here with the other reasons
SMALL_DRAWING = "decoration_small_drawing"
REASONS = (SMALL, REPEATED, RULE, BACKGROUND, SMALL_DRAWING)
RULE_ASPECT = 12.0  # a box this many times longer than high (or the reverse) is a rule or a bar, not a figure
POSITION_GRID_PT = 6.0  # vector regions at the same place (to this grid) on many pages are watermarks/furniture


def _position_key(bbox) -> tuple[int, ...]:
    return tuple(round(v / POSITION_GRID_PT) for v in bbox)


def words_on(bbox, page: Page) -> int:
    """Words of the page's text lines that lie on ``bbox`` (centre inside): running text printed over an image
    makes it a background; a figure's own labels are few. (Drawn diagrams are not judged so: a syntax diagram
    or a flow chart is mostly text.)"""
    x0, y0, x1, y1 = bbox
    n = 0
    for block in page.text_blocks:
        for line in block.lines:
            cx, cy = (line.bbox[0] + line.bbox[2]) / 2, (line.bbox[1] + line.bbox[3]) / 2
            if x0 <= cx <= x1 and y0 <= cy <= y1:
                n += len(line.text.split())
    return n


def mark_decorations(pages: list[Page], settings: ExtractSettings) -> list[Page]:
    """Return pages whose decoration images carry reject reasons. Works on a whole book (repeats)."""
    pages_by_digest: dict[str, set[int]] = defaultdict(set)
    pages_by_position: dict[tuple[int, ...], set[int]] = defaultdict(set)
    for page in pages:
        for region in page.images:
            pages_by_digest[region.digest].add(page.number)
            if region.kind == "vector":
                pages_by_position[_position_key(region.bbox)].add(page.number)
    out = []
    for page in pages:
        regions = []
        for region in page.images:
            x0, y0, x1, y1 = region.bbox
            w, h = x1 - x0, y1 - y0
            reasons = []
            if min(w, h) < settings.min_image_pt:
                reasons.append(SMALL)
            if max(w, h) / max(min(w, h), 1e-6) >= RULE_ASPECT:
                reasons.append(RULE)
            # a placeholder stands for its own figure, however alike the boxes look ("OK to put on the Web")
            repeats = len(pages_by_digest[region.digest]) if region.kind != PLACEHOLDER else 0
            if region.kind == "vector":
                repeats = max(repeats, len(pages_by_position[_position_key(region.bbox)]))
            if repeats >= settings.repeated_image_pages:
                reasons.append(REPEATED)
            if region.kind == "embedded" and words_on(region.bbox, page) >= settings.background_min_words:
                reasons.append(BACKGROUND)
            reasons = sorted(set(region.reject_reasons) | set(reasons))
            regions.append(region.model_copy(update={"reject_reasons": reasons}))
        out.append(page.model_copy(update={"images": regions}))
    return out
