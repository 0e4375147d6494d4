"""Shared fixtures. Flow tests share one Prefect test harness (one server start per test session)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_pdfs"
SHARED = Path(os.environ.get("MMSKIN_SHARED", REPO.parent / "shared"))
SHARED_DATA = SHARED / "data"

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="mmskin-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("OMP_THREAD_LIMIT", "1")


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data; skips the test with a clear message when it is absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} not found: the real-data tests need ../shared/data beside the checkout (or MMSKIN_SHARED)")
    return p


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def sample_pdfs() -> Path:
    pdfs = sorted(SAMPLES.glob("*.pdf"))
    assert pdfs, "sample_pdfs/ has no PDFs: run `make samples`"
    return SAMPLES
