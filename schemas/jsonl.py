"""JSON lines, the format of records.jsonl, overrides.jsonl and the evaluation inputs: one reader for all."""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator


def json_lines(lines: Iterable[str]) -> Iterator[tuple[int, Any, str | None]]:
    """``(line number, object, error)`` for each non-blank line, numbered from 1. A line that is not JSON gives
    object None and the decoder's message as error; callers decide whether that stops them or is reported."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield n, None, exc.msg
