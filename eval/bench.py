"""Benchmarks measured in one run and printed as ratios (no timed unit tests)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class IncrementalBench:
    inputs: list[str]
    first_s: float
    second_s: float
    ratio: float
    first_flow_s: float
    second_flow_s: float
    second_computed_stages: int
    records_identical: bool


def _build(inputs: list[str], out: Path) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "flows.cli", "build", *inputs, "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"build failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, json.loads((out / "manifest.json").read_text())


def incremental(inputs: list[str], out: Path | None = None) -> IncrementalBench:
    """Time a cold `mmskin build` and an identical second one (whole commands, Prefect start included)."""
    with tempfile.TemporaryDirectory(prefix="mmskin-bench-") as tmp:
        out = out or Path(tmp) / "out"
        first, m1 = _build(inputs, out)
        h1 = hashlib.sha256((out / "records.jsonl").read_bytes()).hexdigest()
        second, m2 = _build(inputs, out)
        h2 = hashlib.sha256((out / "records.jsonl").read_bytes()).hexdigest()
    return IncrementalBench(
        inputs=inputs,
        first_s=round(first, 2),
        second_s=round(second, 2),
        ratio=round(second / first, 4),
        first_flow_s=round(m1["timings"]["flow_seconds"], 2),
        second_flow_s=round(m2["timings"]["flow_seconds"], 2),
        second_computed_stages=sum(len(b["computed_stages"]) for b in m2["books"]),
        records_identical=h1 == h2,
    )


def report(result) -> str:
    return json.dumps(asdict(result), indent=2)
