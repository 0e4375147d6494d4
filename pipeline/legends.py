"""Split captions: the label centred above the figure, the legend (and a key line) below it.

Some books print "FIG. 6." (or "PLATE 2-3", or a label with a title: "FIG. 6.—A Sweat Gland.") over the figure
and the legend under it, unlabelled: "A normal sweat-gland, highly magnified." and maybe a key "a, sweat-coil;
b, duct". Caption detection finds the label alone (the legend has no label), alignment gives it the figure; this
joins the legend: caption text = label + " " + legend, the caption's box covers both.

Which captions: one that is its label alone (nothing but the label and punctuation), or one line centred over
its figure holding the label and a short title (``TITLE_CHARS``); standing above its figure. A caption whose
legend caption detection already joined is neither, and is left as it is.

The legend is the block of lines that starts directly under the figure, grown as a caption body is grown: on a
born-digital page with ``pipeline.captions.builder.caption_lines`` (the rest of its block and blocks right below
it, same size, no new label); on an OCR page, whose blocks and lines are less reliable, row by row (the pieces of
one printed line joined left to right) while the gap to the next row is at most ``GAP_LINES`` line heights. It is
joined only when it is not running text:

- its first line sits no farther under the figure than the label sits over it (+ ``GAP_SLACK``; running text
  resumes after a float's larger gap) and within ``MAX_GAP_LINES`` of its line height;
- it is no caption (no label) and not part of one, and holds at most ``MAX_LINES`` lines;
- it is set apart from the page's running text: another font size or face, or centred under the figure and no
  wider than it, or followed by white space (a gap of more than ``END_GAP_LINES`` line heights) before the text
  below it (running text that reaches the foot of the page does not count as set apart).
"""

from __future__ import annotations

import re
from collections import Counter

from pipeline.align import _inside, _x_overlap, is_letters
from pipeline.captions.builder import GAP_LINES, caption_lines, dominant_size, join_lines
from pipeline.captions.labels import label_regex, match_label
from schemas import Caption, Figure, ImageRegion, Page, TextLine
from schemas.settings import CaptionSettings

GAP_SLACK = 3.0  # points the legend's gap under the figure may exceed the label's gap over it
MAX_GAP_LINES = 1.5  # ... and never more than this many of its own line heights
MAX_LINES = 12  # a legend is a short block
END_GAP_LINES = 1.2  # white space after the legend (line heights) that ends it before running text
CENTRE_TOL = 0.06  # a centred line's centre lies within this share of the figure's width of the figure's centre
TITLE_CHARS = 60  # a label's title ("—A Sweat Gland.") is short
ROW_OVERLAP = 0.5  # OCR pieces overlapping vertically by this share of the smaller height are one printed line
ROW_JOIN_LINES = 2.0  # ... when the gap between them is at most this many line heights
SET_APART_SIZE = 0.3  # points: a legend set this much smaller (or larger) than the running text is not running text
PUNCT = " .:;,-–—|\t"


def _label_end(caption: Caption, pattern: re.Pattern[str]) -> int | None:
    m = match_label(caption.text, pattern)
    return m.end if m else None


def is_label_only(caption: Caption, pattern: re.Pattern[str]) -> bool:
    """The caption's text is its label and punctuation, nothing else."""
    end = _label_end(caption, pattern)
    return end is not None and not caption.text[end:].strip(PUNCT)


def _is_title_line(caption: Caption, fig_box, pattern: re.Pattern[str], lines: list[TextLine]) -> bool:
    """A label with a short title set as one line centred over the figure ("FIG. 18-3—The Epidermis.")."""
    end = _label_end(caption, pattern)
    if end is None or len(caption.text[end:].strip(PUNCT)) > TITLE_CHARS:
        return False
    own = [ln for ln in lines if _inside(ln.bbox, caption.bbox)]
    return len(own) == 1 and _centred(caption.bbox[0], caption.bbox[2], fig_box)


def _centred(x0: float, x1: float, fig_box) -> bool:
    fw = fig_box[2] - fig_box[0]
    return x1 - x0 <= fw + 2 and abs((x0 + x1) / 2 - (fig_box[0] + fig_box[2]) / 2) <= CENTRE_TOL * fw


def _font(lines: list[TextLine]) -> str:
    chars: Counter[str] = Counter()
    for ln in lines:
        for sp in ln.spans:
            if sp.font:
                chars[sp.font] += len(sp.text.strip())
    return chars.most_common(1)[0][0] if chars else ""


def _height(ln: TextLine) -> float:
    return max(1.0, ln.bbox[3] - ln.bbox[1])


def _set_apart(legend: list[TextLine], others: list[TextLine], fig_box) -> bool:
    """The legend is not running text: another typography than the page's other text, or centred under the
    figure and no wider, or white space after it before the text below."""
    size = dominant_size([sp for ln in legend for sp in ln.spans])
    body_size = dominant_size([sp for ln in others for sp in ln.spans])
    if size and body_size and abs(size - body_size) >= SET_APART_SIZE:
        return True
    font, body_font = _font(legend), _font(others)
    if font and body_font and font != body_font:
        return True
    x0, x1 = min(ln.bbox[0] for ln in legend), max(ln.bbox[2] for ln in legend)
    if _centred(x0, x1, fig_box):
        return True
    bottom = max(ln.bbox[3] for ln in legend)
    after = [ln for ln in others if ln.bbox[1] >= bottom - 1 and _x_overlap(ln.bbox, (x0, 0, x1, 0)) > 0]
    if not after:
        return False  # running text may simply end at the foot of the page
    return min(ln.bbox[1] for ln in after) - bottom > END_GAP_LINES * _height(legend[-1])


def _rows(lines: list[TextLine]) -> list[list[TextLine]]:
    """OCR pieces grouped into printed lines (top to bottom), each left to right."""
    rows: list[list[TextLine]] = []
    for ln in sorted(lines, key=lambda ln: (ln.bbox[1], ln.bbox[0])):
        for row in rows:
            ref = row[0]
            inter = min(ref.bbox[3], ln.bbox[3]) - max(ref.bbox[1], ln.bbox[1])
            if inter >= ROW_OVERLAP * min(_height(ref), _height(ln)):
                row.append(ln)
                break
        else:
            rows.append([ln])
    return [sorted(r, key=lambda ln: ln.bbox[0]) for r in rows]


def _chain(row: list[TextLine], x0: float, x1: float) -> list[TextLine]:
    """The pieces of ``row`` that reach into (x0, x1), with the pieces joined to them by word-sized gaps."""
    keep = [ln for ln in row if ln.bbox[2] > x0 and ln.bbox[0] < x1]
    if not keep:
        return []
    grown = True
    while grown:
        grown = False
        lo, hi = min(ln.bbox[0] for ln in keep), max(ln.bbox[2] for ln in keep)
        for ln in row:
            if any(ln is k for k in keep):
                continue
            gap = ln.bbox[0] - hi if ln.bbox[0] >= hi else lo - ln.bbox[2]
            if gap <= ROW_JOIN_LINES * _height(ln):
                keep.append(ln)
                grown = True
    return sorted(keep, key=lambda ln: ln.bbox[0])


def _ocr_legend(under: list[TextLine], fig_box, pattern: re.Pattern[str]) -> list[TextLine]:
    """The legend's pieces under the figure on an OCR page, row by row from the first."""
    rows = _rows(under)
    out: list[TextLine] = []
    x0, x1 = fig_box[0], fig_box[2]
    prev = None
    for row in rows:
        piece = _chain(row, x0, x1)
        if not piece:
            continue
        if prev is not None:
            gap = min(ln.bbox[1] for ln in piece) - max(ln.bbox[3] for ln in prev)
            if gap > GAP_LINES * max(_height(ln) for ln in prev) or match_label(piece[0].text, pattern):
                break
        out += piece
        x0, x1 = min(x0, *(ln.bbox[0] for ln in piece)), max(x1, *(ln.bbox[2] for ln in piece))
        prev = piece
    return out


def join_split_legends(
    figures: list[Figure], captions: list[Caption], page: Page, regions: list[ImageRegion],
    settings: CaptionSettings | None = None,
) -> list[Figure]:
    """``figures`` with each label-only (or label-and-title) caption above its figure joined with the legend
    under the figure (see the module notes)."""
    if not any(f.caption is not None and (f.caption.bbox[1] + f.caption.bbox[3]) / 2 < f.bbox[1] for f in figures):
        return list(figures)  # no label above its figure (most pages): nothing to join
    settings = settings or CaptionSettings()
    pattern = label_regex(settings.labels)
    blocks = sorted(page.text_blocks, key=lambda b: (round(b.bbox[0] / 50), b.bbox[1]))  # as find_captions reads
    all_lines = [ln for b in blocks for ln in b.lines]
    free = [ln for ln in all_lines
            if not any(_inside(ln.bbox, c.bbox) for c in captions)
            and not any(_inside(ln.bbox, r.bbox) for r in regions)]
    ocr = page.scanned or any(b.source == "ocr" for b in blocks)
    taken: set[int] = set()
    out = []
    for fig in figures:
        cap = fig.caption
        fb = fig.bbox
        if (cap is None or (cap.bbox[1] + cap.bbox[3]) / 2 >= fb[1]  # no label above the figure
                or not (is_label_only(cap, pattern) or _is_title_line(cap, fb, pattern, all_lines))):
            out.append(fig)
            continue
        label_gap = max(0.0, fb[1] - cap.bbox[3])
        # panel letters printed under the panels belong to the figure: the legend starts below them
        letters = [ln for ln in free if is_letters(ln.text) and fb[3] - 2 <= ln.bbox[1] <= fb[3] + _height(ln)
                   and _x_overlap(ln.bbox, fb) > 0]
        foot = max([fb[3]] + [ln.bbox[3] for ln in letters])
        under = [ln for ln in free if id(ln) not in taken and ln.bbox[1] >= foot - 2 and not is_letters(ln.text)]
        near = [ln for ln in under if _x_overlap(ln.bbox, fb) >= 0.5]
        if not near:
            out.append(fig)
            continue
        first = min(near, key=lambda ln: ln.bbox[1])
        gap = first.bbox[1] - foot
        if gap > label_gap + GAP_SLACK or gap > MAX_GAP_LINES * _height(first) or match_label(first.text, pattern):
            out.append(fig)
            continue
        if ocr:
            legend = _ocr_legend([ln for ln in under if ln.bbox[1] >= first.bbox[1] - 1], fb, pattern)
        else:
            bi = next(k for k, b in enumerate(blocks) if any(ln is first for ln in b.lines))
            li = next(k for k, ln in enumerate(blocks[bi].lines) if ln is first)
            legend = caption_lines(blocks[bi], li, blocks[bi + 1:], lambda t: match_label(t, pattern) is not None)
            legend = [ln for ln in legend if any(ln is f for f in free) and id(ln) not in taken]
        if not legend or len(legend) > MAX_LINES:
            out.append(fig)
            continue
        ids = {id(ln) for ln in legend}
        if not _set_apart(legend, [ln for ln in free if id(ln) not in ids], fb):
            out.append(fig)
            continue
        taken |= ids
        text = join_lines([cap.text] + [ln.text for ln in legend])[: settings.max_caption_chars]
        boxes = [cap.bbox] + [ln.bbox for ln in legend]
        box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        out.append(fig.model_copy(update={"caption": cap.model_copy(update={"text": text, "bbox": box})}))
    return out
