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


def _main_size(line: TextLine) -> float:
    sizes = [s.size for s in line.spans if s.text.strip()]
    return max(sizes) if sizes else 0.0


def caption_lines(
    block: TextBlock, start: int, following: list[TextBlock], starts_caption: Callable[[str], bool]
) -> list[TextLine]:
    """Lines of the caption that starts at ``block.lines[start]``: the rest of its block, then blocks
    directly below it (same column, small gap, same font size) that do not start a new caption."""
    lines = [block.lines[start]]
    size = _main_size(block.lines[start])
    for line in block.lines[start + 1 :]:
        if size and abs(_main_size(line) - size) > SIZE_TOLERANCE and _main_size(line):
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
        if size and nxt.lines and _main_size(nxt.lines[0]) and abs(_main_size(nxt.lines[0]) - size) > SIZE_TOLERANCE:
            break
        lines.extend(nxt.lines)
        last = nxt
    return lines
