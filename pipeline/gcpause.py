"""Python's cycle collector paused while a stage builds many small objects.

A born-digital page is hundreds of small models (spans, lines, blocks), a book hundreds of thousands, and none
of them is part of a reference cycle; yet each collection walks the objects that survived the ones before, so
the collector walked the growing pile again and again: a fifth of a born-digital book's extraction time, and
more than a second of a 600-page book's in the process that gathers its pages. While paused, reference
counting frees everything as before. At the end, what the pause made and kept is moved to the oldest
generation without being walked (``gc.freeze`` then ``gc.unfreeze``): the first young collection after the
pause would otherwise walk all of it once more (a fifth of a second for that book). Cycles made meanwhile are
freed by the next full collection. The pause is process-wide (the collector is): it ends by restoring the
state it found, so in nested pauses the outermost turns the collector back on; objects that something else
froze stay frozen (no move then).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if not gc.get_freeze_count():
                gc.freeze()  # every tracked object into the permanent generation ...
                gc.unfreeze()  # ... and back into the oldest: the young generation is empty, nothing walked
            gc.enable()
