"""A dataset's ``overrides.jsonl``: reading it (the build and ``mmskin review``) and appending to it (the review
server). Append-only: a line is never rewritten; each append is one ``write`` under an exclusive ``flock`` (so
two servers, or a server and a build, never interleave), fsynced, with a timestamp later than the last line's."""

from __future__ import annotations

import fcntl
import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pydantic import ValidationError

from pipeline.overrides import apply_overrides
from schemas import Override, OverrideChange, Record, StageReport
from schemas.jsonl import json_lines

OVERRIDES = "overrides.jsonl"
_TAIL_BYTES = 65536  # enough to hold the last line (captions are capped well below this)
_thread_lock = threading.Lock()


def read_overrides(path: Path) -> tuple[list[Override], StageReport]:
    """The valid lines of an overrides file, in order, and a report counting the lines skipped and why
    (``bad_json``: not a JSON object; ``invalid_override``: fails the schema). A missing file has no lines."""
    report = StageReport(stage="overrides")
    out: list[Override] = []
    if not path.exists():
        return out, report
    with open(path, "rb") as f:  # a shared lock: never half of a line being appended
        fcntl.flock(f.fileno(), fcntl.LOCK_SH)
        try:
            text = f.read().decode("utf-8", errors="replace")
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    for _n, obj, _bad in json_lines(text.splitlines()):
        reason = "bad_json" if not isinstance(obj, dict) else None
        if reason is None:
            try:
                out.append(Override.model_validate(obj))
            except ValidationError:
                reason = "invalid_override"
        if reason:  # the valid lines are counted by apply_overrides
            report.seen += 1
            report.dropped += 1
            report.drop(reason)
    return out, report


def apply_file(out_dir: Path, records: list[Record]) -> tuple[list[Record], StageReport | None]:
    """The build's overrides step: ``out_dir/overrides.jsonl`` applied to the records (no file: unchanged, None)."""
    path = out_dir / OVERRIDES
    if not path.exists():
        return records, None
    overrides, bad = read_overrides(path)
    records, report = apply_overrides(records, overrides)
    return records, report.merge(bad)


def _last_ts(fd: int) -> tuple[datetime | None, bool]:
    """The timestamp of the file's last valid line, and whether the file ends with a newline."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None, True
    start = max(0, size - _TAIL_BYTES)
    tail = os.pread(fd, size - start, start)
    for line in reversed(tail.splitlines()):
        try:
            return Override.model_validate_json(line).ts, tail.endswith(b"\n")
        except (ValidationError, ValueError):
            continue
    return None, tail.endswith(b"\n")


def append_override(path: Path, change: OverrideChange, image: str) -> Override:
    """Append one line for ``change`` (of the record whose image is ``image``) with a server-side UTC timestamp,
    strictly later than the last line's. Returns the line as written."""
    fields = change.model_dump(include=change.model_fields_set)
    with _thread_lock:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)  # the umask decides
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            rfd = os.open(path, os.O_RDONLY)
            try:
                last, ends_nl = _last_ts(rfd)
            finally:
                os.close(rfd)
            ts = datetime.now(timezone.utc)
            if last is not None and ts <= last:
                ts = last + timedelta(microseconds=1)
            line = Override(ts=ts, image=image, **fields)
            data = line.model_dump_json(exclude_unset=True).encode() + b"\n"
            if not ends_nl:
                data = b"\n" + data  # a torn last line (crash mid-write) stays a line of its own
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
    return line
