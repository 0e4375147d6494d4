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

# Prefect configures logging (logging.config.dictConfig) when prefect.main is first imported, and dictConfig closes
# every handler made before. If that first import happened inside a test's CliRunner, absl's handler (imported
# with rouge-score, holding pytest's captured stderr) saw a stream other than sys.stderr and closed pytest's
# capture file: every later test on that worker failed with "I/O operation on closed file". Import it up front.
from flows.env import configure_prefect  # noqa: E402

configure_prefect()
import prefect.main  # noqa: E402,F401


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Make `--dist loadgroup` honour `xdist_group` again: pytest-xdist 3.8 tags a grouped test by setting
    `item._nodeid`, which pytest 9 no longer reads (the node id lives in `item._id`), so grouped tests were spread
    over workers and each worker built the session fixtures (Prefect harness, sample build) again."""
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        if names and "@" not in item.nodeid and hasattr(item, "_id"):
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")


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


@pytest.fixture(scope="session")
def sample_build(prefect_harness, sample_pdfs, tmp_path_factory):
    """The sample books built once per test session (tests in xdist group "flow" share it): (out dir, BuildResult).
    Read it, or copy the directory (cache included) before building into it or changing it."""
    from flows.build import build_dataset
    from schemas import Settings

    out = tmp_path_factory.mktemp("sample-build")
    return out, build_dataset([str(sample_pdfs)], str(out), Settings(), workers=2)


@pytest.fixture(scope="session")
def tiny_llava(tmp_path_factory) -> Path:
    """The tiny random LLaVA of `mmskin dev tiny-model`, built once per test session (per xdist worker; tests that
    use it share xdist_group "tiny_llava")."""
    from typer.testing import CliRunner

    from flows.cli import app

    out = tmp_path_factory.mktemp("tiny-llava") / "model"
    res = CliRunner().invoke(app, ["dev", "tiny-model", str(out)])
    assert res.exit_code == 0, res.output
    return out
