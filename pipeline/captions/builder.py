"""Grow a caption's body from its first line: collect lines until a gap, a font change or a new label."""

from __future__ import annotations

import re
from collections.abc import Callable

from schemas import TextBlock, TextLine

HYPHEN_END = re.compile(r"(\w)[-‐]$")
GAP_LINES = 0.9  # a vertical gap larger than this many line heights ends the caption
SIZE_TOLERANCE = 0.6  # points: a line whose font size differs more than this is another block


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


def caption_lines(
    block: TextBlock, start: int, following: list[TextBlock], starts_caption: Callable[[str], bool],
    label_end: int = 0,
) -> list[TextLine]:
    """Lines of the caption that starts at ``block.lines[start]`` (its label ending at ``label_end`` in that
    line's text): the rest of its block, then blocks directly below it (same column, small gap) that do not
    start a new caption. The body's font size decides where the caption ends: a line of another size is
    another block. That size is the body's, not the label's: a bold 9 pt label may lead a 7.5 pt body, and a
    label on a line of its own leaves the size to the next line."""
    first = block.lines[start]
    lines = [first]
    size = dominant_size(body_spans(first, label_end))

    def other_size(line: TextLine) -> bool:
        nonlocal size
        line_size = dominant_size(line.spans)
        if not size:  # the first line held only the label: the body's size is the next line's
            size = line_size
            return False
        return bool(line_size) and abs(line_size - size) > SIZE_TOLERANCE

    for line in block.lines[start + 1 :]:
        if other_size(line):
            return lines
        if starts_caption(line.text) and lines[-1].text.rstrip().endswith((".", ":")):
            return lines
        lines.append(line)
    last = block
    for nxt in following:
        height = max(1.0, last.lines[-1].bbox[3] - last.lines[-1].bbox[1])
        gap = nxt.bbox[1] - last.bbox[3]
        same_column = nxt.bbox[0] < last.bbox[2] and nxt.bbox[2] > last.bbox[0]
        if not same_column or gap < -2 or gap > GAP_LINES * height:
            break
        if starts_caption(nxt.lines[0].text):
            break
        if nxt.lines and other_size(nxt.lines[0]):
            break
        lines.extend(nxt.lines)
        last = nxt
    return lines
