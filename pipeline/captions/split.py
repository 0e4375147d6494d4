"""A split caption: the label (and perhaps a title) set as a head above the figure, the legend under it.

Some books print "PLATE 12." or "Fig. 3 — The Epidermis." on its own line above a figure and the legend
under the figure, without a label of its own. The head alone is found as the caption; its legend is taken when:

- the head is one line (label, perhaps a short title), centred over a figure directly under it (a gap of at
  most ``HEAD_GAP`` of its line heights; the figure: that image and the panels beside it (``PANEL_GAP``) and
  under it (``LEGEND_GAP``)); a line of running text that ends with a label ("... as in / Figure 3.") is set
  flush with its column, not centred;
- directly under the figure (past a row of panel letters printed under the panels) a text line opens, within
  ``LEGEND_GAP`` of its line heights, over the figure's extent, starting no label of its own;
- that line is not running text: it is set in another size or font than the page's running text
  (``style.set_apart``); on a page read by OCR, which has no sizes or fonts, the head must be a bare label
  ("Figure 17.2", at most ``BARE_HEAD_WORDS`` words): a label with nothing after it names a figure whose
  legend is elsewhere, and the text under the figure is where it goes on.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pipeline.captions.columns import _overlap
from pipeline.captions.style import Style, dominant_style, set_apart
from schemas import ImageRegion, TextBlock, TextLine

HEAD_GAP = 3.0  # line heights between a head and the figure under it
LEGEND_GAP = 2.0  # line heights between the figure (or its panel letters) and the legend, or two rows of panels
PANEL_GAP = 1.0  # line heights between panels side by side (a column's gutter is wider)
MARK = r"\(?[A-Za-z0-9]{1,2}\)?[.,]?"
PANEL_MARKS = re.compile(rf"^\s*{MARK}(?:\s+{MARK})*\s*$")  # "(A)", "B", "(a) (b)": panel letters under panels
MAX_HEAD_WORDS = 12  # a head is a label and a short title, not a legend
BARE_HEAD_WORDS = 3  # "Figure 17.2", "FIG. 3 —": a label alone
CENTRED = 0.1  # a head's centre is this share of its figure's width (or a line height) from the figure's centre


def figure_under(head: TextLine, images: list[ImageRegion]) -> tuple[float, float, float, float] | None:
    """The box of the figure directly under a head line, or None."""
    height = max(1.0, head.bbox[3] - head.bbox[1])
    centre = (head.bbox[0] + head.bbox[2]) / 2
    figures = [im.bbox for im in images if not im.reject_reasons]
    top = [b for b in figures if head.bbox[3] - 2.0 <= b[1] <= head.bbox[3] + HEAD_GAP * height]
    if not top:
        return None
    first = min(top, key=lambda b: b[1])
    box = list(first)
    grown = True
    while grown:  # the images of one figure: side by side in its rows, and rows under it, a gutter apart
        grown = False
        for b in figures:
            if b[0] >= box[0] and b[1] >= box[1] and b[2] <= box[2] and b[3] <= box[3]:
                continue
            beside = _overlap(b[1], b[3], box[1], box[3]) and (b[0] - box[2] <= PANEL_GAP * height
                                                               and box[0] - b[2] <= PANEL_GAP * height)
            below = _overlap(b[0], b[2], box[0], box[2]) and box[3] - 2.0 <= b[1] <= box[3] + LEGEND_GAP * height
            if beside or below:
                box = [min(box[0], b[0]), min(box[1], b[1]), max(box[2], b[2]), max(box[3], b[3])]
                grown = True
    if abs(centre - (box[0] + box[2]) / 2) > max(height, CENTRED * (box[2] - box[0])):  # over its middle
        return None
    return tuple(box)


def legend(
    blocks: list[TextBlock],
    images: list[ImageRegion],
    head: list[TextLine],
    taken: set[int],
    starts_caption: Callable[[str], bool],
    body: Style | None,
) -> tuple[TextBlock, int] | None:
    """Where the legend of the split caption whose head is ``head`` (its lines) starts: (block, index of its
    first line), or None when the head is a caption of its own. ``body``: the page's running-text style."""
    if len(head) != 1 or len(head[0].text.split()) > MAX_HEAD_WORDS:
        return None
    fig = figure_under(head[0], images)
    if fig is None:
        return None
    under = sorted(((b, i, ln) for b in blocks for i, ln in enumerate(b.lines)
                    if ln.bbox[1] >= fig[3] - 2.0 and _overlap(ln.bbox[0], ln.bbox[2], fig[0], fig[2])),
                   key=lambda t: t[2].bbox[1])
    bottom = fig[3]
    for block, index, line in under:
        height = max(1.0, line.bbox[3] - line.bbox[1])
        if line.bbox[1] > bottom + LEGEND_GAP * height:
            return None
        if PANEL_MARKS.match(line.text):
            bottom = max(bottom, line.bbox[3])
            continue
        if id(line) in taken or starts_caption(line.text):
            return None
        style = dominant_style(line.spans)
        if style is None and body is None:  # OCR: no style to tell a legend from running text
            return (block, index) if len(head[0].text.split()) <= BARE_HEAD_WORDS else None
        if not set_apart(style, body):
            return None
        return block, index
    return None
