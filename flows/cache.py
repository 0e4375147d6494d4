"""Content-addressed stage cache under ``OUT/.cache``.

A stage result is stored under a key made of: the stage name and version, the settings section the stage
reads, and the key of its input (the previous stage's key, or the book's sha256). So a second identical run
finds everything; a new book finds nothing for itself only; a changed setting misses from that stage on.
Writes are atomic (temp file + rename), so a killed run never leaves a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter

T = TypeVar("T")


def stable_json(obj: Any) -> str:
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def make_key(stage: str, version: str, settings: Any, upstream: str) -> str:
    payload = stable_json({"stage": stage, "version": version, "settings": settings, "upstream": upstream})
    return hashlib.sha256(payload.encode()).hexdigest()


def _create_temp(directory: Path, name: str) -> tuple[int, Path]:
    """A new file beside ``name``, created with mode 0o666 so that the kernel applies the user's umask (as for
    any file the user makes; ``tempfile.mkstemp`` would make it 0600, unreadable to colleagues)."""
    for _ in range(100):
        tmp = directory / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {directory / name}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path.parent, path.name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class StageCache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, stage: str, key: str) -> Path:
        return self.root / stage / f"{key}.json"

    def get(self, stage: str, key: str, type_: Any) -> Any | None:
        p = self.path(stage, key)
        if not p.exists():
            return None
        try:
            return TypeAdapter(type_).validate_json(p.read_bytes())
        except Exception:
            p.unlink(missing_ok=True)  # stale format or damaged entry: recompute
            return None

    def put(self, stage: str, key: str, value: Any, type_: Any) -> None:
        atomic_write_bytes(self.path(stage, key), TypeAdapter(type_).dump_json(value))
