"""The VQA stage's I/O: the on-disk LLM response cache, the images sent with ``--with-image``, and the LLM
settings taken from the environment.

The response cache is one SQLite file in WAL mode (default ``OUT/.llm-cache.sqlite``, or ``vqa.cache_path`` to
share it between builds): one row per reply, key = sha256 of model, prompt version, messages and the with-image
flag (``pipeline.vqa.llm.cache_key``), written in its own transaction the moment the reply arrives. A killed run
therefore keeps every reply it received, and a re-run or a new book never pays for the same prompt twice.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from schemas import Record, Settings

CACHE_FILE = ".llm-cache.sqlite"
ENV_BASE_URL = "OPENAI_BASE_URL"
ENV_API_KEY = "OPENAI_API_KEY"
ENV_MODEL = "MMSKIN_LLM_MODEL"


class SqliteCache:
    """``pipeline.vqa.ResponseCache`` on SQLite (WAL): safe for threads and for several processes."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")  # with WAL: a committed row survives a killed process
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
        )

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM replies WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str) -> None:
        with self._lock:  # autocommit: one atomic transaction per reply
            self._conn.execute("INSERT OR REPLACE INTO replies (key, value, created) VALUES (?, ?, ?)",
                               (key, value, time.time()))

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "SqliteCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def cache_path(out_dir: Path, settings: Settings) -> Path:
    return Path(settings.vqa.cache_path) if settings.vqa.cache_path else Path(out_dir) / CACHE_FILE


class DatasetImages(Mapping[str, bytes]):
    """record id -> the bytes of its exported image, read when asked for (only with ``vqa.with_image``)."""

    def __init__(self, out_dir: Path, records: list[Record]):
        self._paths = {r.id: Path(out_dir) / r.image for r in records}

    def __getitem__(self, key: str) -> bytes:
        return self._paths[key].read_bytes()

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


def resolve_env(settings: Settings) -> Settings:
    """Fill vqa.base_url / api_key / model from OPENAI_BASE_URL / OPENAI_API_KEY / MMSKIN_LLM_MODEL where unset."""
    v = settings.vqa
    update = {}
    if not v.base_url and os.environ.get(ENV_BASE_URL):
        update["base_url"] = os.environ[ENV_BASE_URL]
    if v.api_key is None and os.environ.get(ENV_API_KEY):
        update["api_key"] = os.environ[ENV_API_KEY]
    if not v.model and os.environ.get(ENV_MODEL):
        update["model"] = os.environ[ENV_MODEL]
    if not update:
        return settings
    vqa = type(v).model_validate({**v.model_dump(), "api_key": v.api_key, **update})
    return settings.model_copy(update={"vqa": vqa})


def check(settings: Settings) -> str | None:
    """A configuration error that would fail every record, or None."""
    if settings.vqa.generator == "openai" and not settings.vqa.model:
        return f"--vqa-generator openai needs a model: --llm-model NAME, {ENV_MODEL} or vqa.model in --config"
    return None
