"""A caption cut by the foot of its column and continued at the top of the next column of the same page.

A caption set in a column may not fit above the column's foot: its first lines end the column and the rest
opens the next column, above that column's running text. The continuation is taken when all of these hold:

- the caption is set apart from the page's running text (another size or font: ``style.set_apart``), so a
  block in the caption's style is caption text, not a body paragraph;
- the caption's last line ends its column: no text (other than page furniture) and no figure below it there;
- the next column to the right (its left edge: where most lines start, near the caption's right) opens,
  flush with that edge and with nothing but page furniture and no figure above it, with a line in the
  caption's style (same font, size within ``SIZE_TOLERANCE``) that starts no label of its own ("Fig. 3",
  "Table 2");
- the caption is unfinished: its last line does not end a sentence, or the next column's line goes on in
  lower case.

Page furniture is a running head or foot (``margin_bands``: the page's first or last one or two rows, set off
from the text area by a gap of a line or more) or a page number.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pipeline.captions.style import Style, dominant_style, same_style, set_apart
from schemas import ImageRegion, TextBlock, TextLine

SENTENCE_END = re.compile(r"[.!?][)\]\"'’”]*\s*$")
PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?(?:\d{1,4}|[ivxlcdm]{1,7})\s*$", re.IGNORECASE)
# a label of another kind opens a new item: "Table 2.1 Drugs", "Box 3:", "Chart IV." (not "A 2-year-old", "In 2010,")
NEW_ITEM = re.compile(r"^\s*[A-Z][A-Za-z]{2,11}\.?\s*(?:\d{1,3}(?:[.\-–]\d{1,3})*[A-Za-z]?|[IVXLC]{1,7})"
                      r"(?=\s*$|[.:\-–—]|\s+[A-Z(])")
EDGE = 1.5  # points: lines flush with a column's left edge start within this of each other


def _overlap(a0: float, a1: float, b0: float, b1: float) -> bool:
    return min(a1, b1) - max(a0, b0) > 1.0


BAND_ROWS = 2.5  # a running head or foot is at most two rows (a title and a page number, a rule's caption) ...
BAND_GAP = 1.0  # ... set off from the text area by a gap of at least this many of its line heights


def _band(lines: list[TextLine], down: bool) -> set[int]:
    """Ids of the lines of the page's running head (``down``: from the top) or foot (from the bottom)."""
    order = sorted(lines, key=lambda ln: ln.bbox[1] if down else -ln.bbox[3])
    if len(order) < 2:
        return set()
    band = [order[0]]
    edge = order[0].bbox[3] if down else order[0].bbox[1]
    for ln in order[1:]:
        height = max(max(1.0, b.bbox[3] - b.bbox[1]) for b in band)
        gap = ln.bbox[1] - edge if down else edge - ln.bbox[3]
        if gap > BAND_GAP * height:
            top, bottom = min(b.bbox[1] for b in band), max(b.bbox[3] for b in band)
            return {id(b) for b in band} if bottom - top <= BAND_ROWS * height else set()
        band.append(ln)
        edge = max(edge, ln.bbox[3]) if down else min(edge, ln.bbox[1])
    return set()  # no gap: the whole page is one band of text


def margin_bands(lines: list[TextLine]) -> set[int]:
    """Ids of the lines of the page's running head and foot."""
    return _band(lines, True) | _band(lines, False)


def continuation(
    blocks: list[TextBlock],
    images: list[ImageRegion],
    part: list[TextLine],
    taken: set[int],
    starts_caption: Callable[[str], bool],
    body: Style | None,
) -> tuple[TextBlock, int] | None:
    """Where the caption whose lines in its current column are ``part`` goes on at the top of the next column:
    (block, index of its first line), or None. ``taken``: ids of lines already inside a caption; ``body``: the
    page's running-text style."""
    last = part[-1]
    cap = dominant_style(last.spans)
    if not set_apart(cap, body):
        return None
    own = {id(ln) for ln in part}
    bands = margin_bands([ln for b in blocks for ln in b.lines])

    def furniture(line: TextLine) -> bool:
        return id(line) in bands or bool(PAGE_NUMBER.match(line.text))

    figures = [im for im in images if not im.reject_reasons]
    x0, x1 = min(ln.bbox[0] for ln in part), max(ln.bbox[2] for ln in part)
    foot = last.bbox[3] - 1.0
    lines = [(b, i, ln) for b in blocks for i, ln in enumerate(b.lines) if id(ln) not in own]
    # the caption ends its column: nothing but furniture (and no figure) below it there
    if any(ln.bbox[1] >= foot and _overlap(ln.bbox[0], ln.bbox[2], x0, x1) and not furniture(ln) for _, _, ln in lines):
        return None
    if any(im.bbox[1] >= foot and _overlap(im.bbox[0], im.bbox[2], x0, x1) for im in figures):
        return None
    # the next column: the left edge most lines start at, of the text that starts within one column measure of
    # the nearest text right of the caption (not a table cell or an indented line that happens to start nearer)
    right = [(b, i, ln) for b, i, ln in lines if ln.bbox[0] >= x1 - 1.0 and not furniture(ln)]
    if not right:
        return None
    nearest = min(ln.bbox[0] for _, _, ln in right)
    edges: dict[float, int] = {}
    for _, _, ln in right:
        if ln.bbox[0] < nearest + (x1 - x0):
            edges[round(ln.bbox[0])] = edges.get(round(ln.bbox[0]), 0) + 1
    edge = max(edges, key=lambda e: (edges[e], -e))
    col0 = min(ln.bbox[0] for _, _, ln in right if abs(ln.bbox[0] - edge) <= EDGE)
    col1 = col0 + (x1 - x0)  # at most the next column's measure (columns of a page are as wide as each other)
    column = [(b, i, ln) for b, i, ln in right if _overlap(ln.bbox[0], ln.bbox[2], col0, col1)]
    block, index, first = min(column, key=lambda t: (t[2].bbox[1], t[2].bbox[0]))
    if first.bbox[0] > col0 + EDGE or id(first) in taken:
        return None
    if any(ln.bbox[3] <= first.bbox[1] + 1.0 and _overlap(ln.bbox[0], ln.bbox[2], col0, col1) and not furniture(ln)
           for _, _, ln in lines):  # text reaching into the column from the left (a heading across columns)
        return None
    if any(im.bbox[3] <= first.bbox[1] + 1.0 and _overlap(im.bbox[0], im.bbox[2], col0, col1) for im in figures):
        return None
    text = first.text.strip()
    if not same_style(dominant_style(first.spans), cap) or starts_caption(text) or NEW_ITEM.match(text):
        return None
    if SENTENCE_END.search(last.text) and not text[:1].islower():
        return None
    return block, index
