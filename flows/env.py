"""Quiet, offline Prefect defaults, applied before Prefect is imported (the user's own settings win)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_SERVER_LEVEL": "WARNING",
    "PREFECT_UI_ENABLED": "false",
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_TASKS_REFRESH_CACHE": "false",
}


def configure_prefect() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    default_home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mmskin" / "prefect"
    home = Path(os.environ.setdefault("PREFECT_HOME", str(default_home))).expanduser()
    home.mkdir(parents=True, exist_ok=True)  # Prefect does not create missing parents
    # tesseract in worker processes: one thread each, parallelism comes from processes
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
