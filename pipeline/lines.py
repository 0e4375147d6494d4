"""When two pieces of text sit on one visual line: the measures shared by the text layer's line building
(``pipeline.extract.visual_lines``) and the captions' mending of rows it left apart (``pipeline.captions.builder
.mend_lines``)."""

from __future__ import annotations

from schemas import TextLine

SAME_LINE_OVERLAP = 0.5  # pieces overlapping vertically by this share of the smaller height share a line ...
MAX_PHRASE_GAP = 1.0  # ... when the gap between two pieces of several words is at most this many line heights
MAX_WORD_GAP = 3.0  # ... or, with a piece of one word, this many (further apart: different columns)
SPACE_GAP = 0.15  # a horizontal gap wider than this many line heights between pieces is a space


def is_phrase(piece: TextLine) -> bool:
    """A piece of several words (a line MuPDF already cut at a gap wider than a word space)."""
    return len(piece.text.split()) > 1
