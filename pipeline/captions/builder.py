"""Grow a caption's body from its first line: collect lines until a gap, a font change or a new label."""

from __future__ import annotations

import re
from collections.abc import Callable

from pipeline.lines import MAX_PHRASE_GAP, MAX_WORD_GAP, SAME_LINE_OVERLAP, SPACE_GAP, is_phrase
from schemas import TextBlock, TextLine

HYPHEN_END = re.compile(r"(\w)[-‐]$")
GAP_LINES = 0.9  # a vertical gap larger than this many line heights ends the caption
OVERLAP_LINES = 0.5  # a block under a caption line may reach up into it by this many line heights (the taller
# of the two: OCR boxes take in the next line's ascenders and this one's descenders)
SIZE_TOLERANCE = 0.6  # points: a line whose font size differs more than this is another block

# Credit lines: a caption often ends with where its picture comes from, printed under the legend in a smaller
# (often italic) size. A line directly under the caption that starts with one of these cues belongs to the
# caption in any smaller size: "Courtesy of Dr A. Marsh.", "Reprinted with permission from ...", "Reproduced
# with permission from ...", "(credit: ...)", "Source: ...", "Adapted from ...", "Photograph courtesy of ...",
# "© 2004 ...", "Redrawn from ...", "Data source: ...". ("(c)" is left out: it is a panel marker.)
CREDIT_CUES = (
    r"courtesy\s*(?:of\b|[:,]|(?-i:[A-Z]))", r"reprinted\b", r"reproduced\b", r"(?:used\s+)?with\s+permission\b",
    r"credits?\s*:", r"sources?\s*:", r"sources?\s+of\s+\w+\s*:", r"(?:data|illustration|image)\s+source\s*:",
    r"adapted\b", r"modified\s+from\b", r"redrawn\b", r"drawing\s*:", r"drawn\s+by\b",
    r"photo(?:graph)?s?\s*(?::|by\b|courtesy\b|from\b)", r"©", r"copyright\b", r"cultures\s+supplied\b",
)
CREDIT_START = re.compile(r"^\s*[(\[]?\s*(?:" + "|".join(CREDIT_CUES) + ")", re.IGNORECASE)

# A key (legend of the letters or numbers drawn on a figure): "a, sweat-coil; b, duct; c, hair follicle." or
# "1 = epidermis; 2 = dermis". Each part (between semicolons) is a short mark (1-2 letters or digits, optionally
# bracketed), a comma, "=", ":" or dash, and a short term that starts with a letter (not "0, 20": chart ticks);
# a line's last part may be cut by the line end ("b,").
KEY_PART = re.compile(r"^\s*\(?[A-Za-z0-9]{1,2}\)?\s*(?:,|=|:|–|—)\s*(?P<term>[^\W\d_].*|)$")
KEY_TERM_WORDS = 5  # a key's term is a name, not a sentence


def is_credit(text: str) -> bool:
    """The line starts a credit: a source, a permission, a photographer (``CREDIT_CUES``)."""
    return bool(CREDIT_START.match(text))


def is_key(text: str) -> bool:
    """The line reads as a key: "a, sweat-coil; b, duct" (a lone part, "c, dermis.", too)."""
    parts = text.split(";")
    for i, part in enumerate(parts):
        if not part.strip() and i == len(parts) - 1:  # ends with ";": the key goes on on the next line
            continue
        m = KEY_PART.match(part)
        if not m or len(m.group("term").split()) > KEY_TERM_WORDS:
            return False
        if not m.group("term").strip() and i != len(parts) - 1:
            return False
    return True


def is_trailer(text: str) -> bool:
    """A line that closes a caption in a size of its own: a credit line or a key."""
    return is_credit(text) or is_key(text)


def join_lines(lines: list[str]) -> str:
    """Join caption lines into one string: de-hyphenate line breaks, collapse whitespace."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if out and HYPHEN_END.search(out) and line[:1].islower():
            out = out[:-1] + line
        elif out:
            out += " " + line
        else:
            out = line
    return re.sub(r"\s+", " ", out).strip()


def dominant_size(spans) -> float:
    """The font size that most of the spans' characters are set in (0 when none has a size)."""
    chars: dict[float, int] = {}
    for sp in spans:
        n = len(sp.text.strip())
        if n and sp.size:
            chars[round(sp.size, 1)] = chars.get(round(sp.size, 1), 0) + n
    return max(chars, key=lambda k: (chars[k], k)) if chars else 0.0


def _ink(text: str) -> int:
    return sum(not c.isspace() for c in text)


def body_spans(line: TextLine, label_end: int) -> list:
    """The spans of a caption's first line after its label, which ends at ``label_end`` in the line's text (the
    label is often set apart: bold, larger or smaller than the body). Spans are walked by their non-space
    characters, since the line's text has its spaces collapsed."""
    skip = _ink(line.text[:label_end])
    out = []
    for sp in line.spans:
        n = _ink(sp.text)
        if n > skip:
            keep, tail = n - skip, sp.text
            while _ink(tail) > keep:
                tail = tail[1:]
            if tail.strip(" .:;,-–—|\t"):
                out.append(sp.model_copy(update={"text": tail}))
        skip = max(0, skip - n)
    return out


# Lines of one visual line that text extraction left apart (``pipeline.extract.visual_lines`` measures the gap
# to a row from a piece's left edge only, so a piece just LEFT of a row, such as a smaller label set on the
# body's baseline, which sorts after the body by its centre, stays a row of its own at the block's end).
# (``pipeline.lines``: the measures ``visual_lines`` uses; ``MAX_WORD_GAP`` also bounds a gap that other lines of
# the block print across)


def _row_gap(a: TextLine, b: TextLine) -> float | None:
    """The horizontal gap between two rows on one visual line (a left of b), or None when they are not."""
    ha, hb = max(1.0, a.bbox[3] - a.bbox[1]), max(1.0, b.bbox[3] - b.bbox[1])
    inter = min(a.bbox[3], b.bbox[3]) - max(a.bbox[1], b.bbox[1])
    if inter <= SAME_LINE_OVERLAP * min(ha, hb):
        return None
    gap = b.bbox[0] - a.bbox[2]
    return gap if gap >= -1.0 else None


def _printed_across(lines: list[TextLine], a: TextLine, b: TextLine) -> bool:
    """The row next to the pair ``a`` ``b`` (the one under it, or over it on a block's last row) prints across
    the gap between them: a word space stretched by justification. A gutter between columns is blank there."""
    top, bottom = min(a.bbox[1], b.bbox[1]), max(a.bbox[3], b.bbox[3])
    reach = 1.5 * (bottom - top)
    near = [ln for ln in lines if ln is not a and ln is not b and ln.bbox[2] > a.bbox[0] and ln.bbox[0] < b.bbox[2]]
    under = [ln for ln in near if bottom - 1.0 <= ln.bbox[1] <= bottom + reach]
    over = [ln for ln in near if top - reach <= ln.bbox[3] <= top + 1.0]
    nxt = min(under, key=lambda ln: ln.bbox[1], default=None) or max(over, key=lambda ln: ln.bbox[3], default=None)
    return nxt is not None and nxt.bbox[0] <= a.bbox[2] and nxt.bbox[2] >= b.bbox[0]


def _rows_overlap(lines: list[TextLine]) -> bool:
    """True when some two rows overlap vertically at all: rows that do not can never be one visual line
    (``_row_gap`` asks for an overlap of half a height, and heights count as at least 1)."""
    reach = None  # the lowest bottom of the rows above, in order of their tops
    for top, bottom in sorted((ln.bbox[1], ln.bbox[3]) for ln in lines):
        if reach is not None and top < reach and top < bottom:
            return True
        reach = bottom if reach is None else max(reach, bottom)
    return False


def mend_lines(block: TextBlock) -> TextBlock:
    """The block with rows that sit on one visual line joined, left to right, where the earlier of them stood.
    Two rows join when the gap between them is a word space: small (``MAX_PHRASE_GAP`` line heights between two
    rows of several words, ``MAX_WORD_GAP`` with a one-word row, as ``visual_lines`` measures it), or up to
    ``MAX_WORD_GAP`` where the next row of the block prints across it (a justified line's stretched space; the
    gutter between two columns or two captions side by side is blank there)."""
    if not _rows_overlap(block.lines):  # no two rows share a visual line: nothing to join (most blocks)
        return block
    lines = list(block.lines)
    changed = False
    merged = True
    while merged:
        merged = False
        for i in range(len(lines)):
            for j in range(len(lines)):
                if i == j:
                    continue
                a, b = lines[i], lines[j]
                gap = _row_gap(a, b)
                if gap is None:
                    continue
                height = max(1.0, min(a.bbox[3] - a.bbox[1], b.bbox[3] - b.bbox[1]))
                limit = MAX_PHRASE_GAP if is_phrase(a) and is_phrase(b) else MAX_WORD_GAP
                if gap > limit * height and not (gap <= MAX_WORD_GAP * height and _printed_across(lines, a, b)):
                    continue
                sep = " " if gap > SPACE_GAP * height else ""
                text = a.text.rstrip() + sep + b.text.lstrip()
                box = (min(a.bbox[0], b.bbox[0]), min(a.bbox[1], b.bbox[1]), max(a.bbox[2], b.bbox[2]),
                       max(a.bbox[3], b.bbox[3]))
                joined = TextLine.model_construct(bbox=box, text=text, spans=list(a.spans) + list(b.spans))
                keep, drop = min(i, j), max(i, j)
                lines[keep] = joined
                del lines[drop]
                merged = changed = True
                break
            if merged:
                break
    return block.model_copy(update={"lines": lines}) if changed else block


def caption_lines(
    block: TextBlock, start: int, following: list[TextBlock], starts_caption: Callable[[str], bool],
    label_end: int = 0,
) -> list[TextLine]:
    """Lines of the caption that starts at ``block.lines[start]`` (its label ending at ``label_end`` in that
    line's text): the rest of its block, then blocks directly below it (same column, small gap) that do not
    start a new caption. The body's font size decides where the caption ends: a line of another size is
    another block. That size is the body's, not the label's: a bold 9 pt label may lead a 7.5 pt body, and a
    label on a line of its own leaves the size to the next line. A credit line or a key directly under the body
    (``is_trailer``) belongs to the caption in any smaller size (a larger line is running text or a heading);
    lines after it go on in its size (a credit that wraps)."""
    first = block.lines[start]
    lines = [first]
    size = dominant_size(body_spans(first, label_end))

    def ends_here(line: TextLine) -> bool:
        """The line is set in another size than the caption's so far (and is no credit or key line)."""
        nonlocal size
        line_size = dominant_size(line.spans)
        if not size:  # the first line held only the label: the body's size is the next line's
            size = line_size
            return False
        if not line_size or abs(line_size - size) <= SIZE_TOLERANCE:
            return False
        if line_size < size and is_trailer(line.text):  # set small, as credits and keys are (running text is not)
            size = line_size
            return False
        return True

    def stops(line: TextLine) -> bool:
        """The caption ends before ``line``: another size, or a new label after a finished sentence."""
        return ends_here(line) or (starts_caption(line.text) and lines[-1].text.rstrip().endswith((".", ":")))

    for line in block.lines[start + 1 :]:
        if stops(line):
            return lines
        lines.append(line)
    rest = list(following)
    while True:
        # the nearest block under the caption's last line, in its column (not merely the next block in reading
        # order: OCR may run the caption's first line into the paragraph above it, a block of another column)
        end = lines[-1].bbox
        height = max(1.0, end[3] - end[1])
        under = [b for b in rest if b.bbox[0] < end[2] and b.bbox[2] > end[0]
                 and -OVERLAP_LINES * max(height, b.lines[0].bbox[3] - b.lines[0].bbox[1]) <= b.bbox[1] - end[3]
                 <= GAP_LINES * height]
        if not under:
            return lines
        nxt = min(under, key=lambda b: b.bbox[1])
        rest.remove(nxt)
        if starts_caption(nxt.lines[0].text):
            return lines
        for line in nxt.lines:  # (its first line starts no caption: checked above)
            if stops(line):
                return lines
            lines.append(line)
