"""MuPDF's warnings and errors about a damaged file, kept with the book instead of printed.

MuPDF reports what it meets in a damaged but openable PDF ("format error: object is not a stream", a broken
xref it rebuilt, a truncated image stream, a bad ICC profile) through process-wide callbacks, and PyMuPDF
prints the errors among them to stderr. ``capture()`` routes every message raised by the current thread while
its block runs into a list, so each book (and each page, in a worker process) carries its own messages, and
the terminal stays clean. ``summarize`` turns them into counts by kind and the first few messages.

The callbacks are installed once per process, on first use. Outside any ``capture()`` block, messages go to
PyMuPDF's own handlers, as if this module did not exist.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pymupdf

_local = threading.local()
_install_lock = threading.Lock()
_installed = False

REPEATED = re.compile(r"^\.\.\. repeated (\d+) times?\.\.\.$")

# kinds of message, first match wins: (kind, pattern)
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("repair", re.compile(r"repair|rebuil|broken xref|startxref|xref", re.I)),
    ("icc", re.compile(r"\bicc\b|lcms|colou?r ?(space|profile)|profile", re.I)),
    ("decode", re.compile(r"flate|zlib|jpeg|jpx|jbig2|ccitt|lzw|dct|decod|premature end|truncated|image", re.I)),
    ("font", re.compile(r"font|glyph|cmap", re.I)),
    ("format", re.compile(r"format error|syntax error|not a stream|endobj|content stream|page tree|expected|"
                          r"object|token|length", re.I)),
)


def kind_of(message: str) -> str:
    """The kind of one MuPDF message: repair, icc, decode, font, format or other."""
    return next((kind for kind, pattern in KINDS if pattern.search(message)), "other")


def _sink_or_default(text: str, default) -> None:
    sink = getattr(_local, "sink", None)
    if sink is None:
        default(text)
        return
    m = REPEATED.match(text.strip())
    if m:  # MuPDF folds repeats of the last message; another thread's repeats are not this thread's
        if sink:
            sink.extend([sink[-1]] * int(m.group(1)))
        return
    sink.append(" ".join(text.split()))


def _on_warning(text: str) -> None:
    _sink_or_default(text, pymupdf.JM_mupdf_warning)


def _on_error(text: str) -> None:
    _sink_or_default(text, pymupdf.JM_mupdf_error)


def _install() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            pymupdf.mupdf.fz_set_warning_callback(_on_warning)
            pymupdf.mupdf.fz_set_error_callback(_on_error)
            _installed = True


@contextmanager
def capture() -> Iterator[list[str]]:
    """Collect the MuPDF messages this thread raises inside the block (whitespace collapsed, repeats expanded)."""
    _install()
    outer = getattr(_local, "sink", None)
    sink: list[str] = []
    _local.sink = sink
    try:
        yield sink
    finally:
        pymupdf.mupdf.fz_flush_warnings()  # a pending "... repeated N times" belongs to this block
        _local.sink = outer


def summarize(messages: list[str], max_messages: int) -> tuple[dict[str, int], list[str]]:
    """Counts by kind (sorted by kind) and the first ``max_messages`` distinct messages, in order of arrival."""
    counts = Counter(kind_of(m) for m in messages)
    return dict(sorted(counts.items())), list(dict.fromkeys(messages))[:max_messages]
