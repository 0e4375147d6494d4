"""The style a line is set in (font size and font) and the page's running-text style."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.captions.builder import SIZE_TOLERANCE
from schemas import TextLine

Style = tuple[float, str]  # (font size, font name) that most characters are set in

# Two styles are told apart at a finer size step than a caption's lines are held together: sizes in a PDF are
# exact (a 8.5 pt caption under 9 pt running text is set apart), while one caption's lines may differ by
# rounding or a label's scaling (``SIZE_TOLERANCE``)
APART_SIZE = 0.2


def dominant_style(spans) -> Style | None:
    """The (size, font) most of the spans' characters are set in; None when no span has a size."""
    chars: dict[Style, int] = {}
    for sp in spans:
        n = len(sp.text.strip())
        if n and sp.size:
            key = (round(sp.size, 1), sp.font)
            chars[key] = chars.get(key, 0) + n
    return max(chars, key=lambda k: (chars[k], k)) if chars else None


def same_style(a: Style | None, b: Style | None) -> bool:
    """The same font at (nearly) the same size: lines of one caption."""
    return a is not None and b is not None and a[1] == b[1] and abs(a[0] - b[0]) <= SIZE_TOLERANCE


def set_apart(a: Style | None, running: Style | None) -> bool:
    """Style ``a`` is not the running text's: another font or another size."""
    return a is not None and running is not None and (a[1] != running[1] or abs(a[0] - running[0]) > APART_SIZE)


def running_style(lines: Iterable[TextLine]) -> Style | None:
    """The style most characters of ``lines`` are set in (the page's lines outside its captions: its running
    text)."""
    return dominant_style([sp for ln in lines for sp in ln.spans])
