"""Benchmarks measured in one run and printed as ratios (no timed unit tests)."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from flows.pool import ProcessPool


@dataclass
class IncrementalBench:
    inputs: list[str]
    generated_pages: int
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


def incremental(inputs: list[str], out: Path | None = None, generate_pages: int = 0) -> IncrementalBench:
    """Time a cold `mmskin build` and an identical second one (whole commands, Prefect start included).
    ``generate_pages``: also build a generated book of that many pages (synth.large_book, in a temp dir)."""
    with tempfile.TemporaryDirectory(prefix="mmskin-bench-") as tmp:
        out = out or Path(tmp) / "out"
        if generate_pages:
            from synth.large_book import make_large_book

            book = Path(tmp) / f"generated_digital_{generate_pages}p.pdf"
            make_large_book(book, generate_pages)
            inputs = [*inputs, str(book)]
        first, m1 = _build(inputs, out)
        h1 = hashlib.sha256((out / "records.jsonl").read_bytes()).hexdigest()
        second, m2 = _build(inputs, out)
        h2 = hashlib.sha256((out / "records.jsonl").read_bytes()).hexdigest()
    return IncrementalBench(
        inputs=inputs,
        generated_pages=generate_pages,
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


# ================================================================ extraction speed: ours vs the floor (vs a peer)
#
# "Ours" is the extraction part of the build exactly as flows/build.py runs it (process_book_impl with an
# ProcessPool): ingest.ingest + extract.extract_book(mapper=<process pool map: spawn, one process per core,
# OMP_THREAD_LIMIT=1>) + figures.build_records. The floor is the least work any extractor must do: born-digital
# pages: open, get_text("dict"), every image xref decoded to an RGB Pixmap; scanned pages: render at the dpi
# ours reads them at (extract.scan_dpi: the scan's own, within bounds) and tesseract image_to_data, in a
# process pool of the same size. Both run in this process, one after the other, on the same PDFs; pools are
# started (and their imports done) before timing, and their start-up is reported on its own. Peak memory is
# measured in a fresh subprocess. A peer (pymupdf4llm, PyMuPDF 2.x layout mode) runs from its own Python
# environment when one is found.

DIGITAL_TARGET = 3.0  # ours / floor seconds per page, born-digital
SCANNED_TARGET = 1.5  # ours / tesseract alone, scanned
RSS_TARGET_MB = 1500.0
SMALL_BOOK_PAGES = 20  # books this small are timed REPEATS times or more (best run kept): one run is too short
REPEATS = 3
SMALL_BOOK_SECONDS = 2.0  # ... and again (up to MAX_REPEATS) until ours and the floor have run this long in all:
MAX_REPEATS = 9  # a one-page PDF takes a tenth of a second, where a stray process on a 2-core machine weighs
FLAT_WINDOW = 100  # the large book's last pages, timed where they are and moved to its front (flat cost)
PEER_MAX_PAGES = 20  # the peer is slow (about a second or more per page): it reads at most this many pages
PEER_DEFAULT_PYTHON = "/tmp/mmskin-peer/bin/python"


def _warm(modules: tuple[str, ...]) -> int:
    """Pool warm-up job: import what the timed jobs need, linger so that every worker gets one."""
    import importlib

    for m in modules:
        importlib.import_module(m)
    time.sleep(0.3)
    return os.getpid()


class BenchPool(ProcessPool):
    """The build's pool (flows.pool.ProcessPool: spawned processes, created on first use, a single job run in
    this process), which can also start its workers ahead of timing and read their CPU time."""

    def start(self, modules: tuple[str, ...]) -> float:
        """Start every worker and import ``modules`` in it; return the seconds that took."""
        t0 = time.perf_counter()
        if self.workers > 1:
            list(self._ensure().map(_warm, [modules] * self.workers))
        return time.perf_counter() - t0

    def worker_cpu(self) -> float:
        """CPU seconds of the live workers and their finished children (tesseract runs)."""
        if self._pool is None:
            return 0.0
        try:
            import psutil
        except ImportError:  # pragma: no cover - psutil comes with the requirements
            return 0.0
        total = 0.0
        for pid in list(getattr(self._pool, "_processes", {}) or {}):
            try:
                t = psutil.Process(pid).cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                pass
        return total


def _cpu_now(pools) -> float:
    import resource

    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime + sum(p.worker_cpu() for p in pools)


class _Meter:
    """Wall seconds and CPU utilisation (this process + pool workers + children) / wall / cores."""

    def __init__(self, pools, cores: int):
        self.pools, self.cores = pools, cores

    def __enter__(self):
        self.cpu0, self.t0 = _cpu_now(self.pools), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        cpu = _cpu_now(self.pools) - self.cpu0
        self.cpu_util = cpu / self.seconds / self.cores if self.seconds > 0 else 0.0
        return False


def run_ours(path: Path, settings, mapper, on_page=None):
    """The build's extraction of one PDF: read, ingest, extract_book and build_records (pages, OCR and panel
    splits through ``mapper``). Returns (items, stage seconds)."""
    from pipeline.extract import extract_book
    from pipeline.figures import build_records
    from pipeline.ingest import ingest

    t0 = time.perf_counter()
    data = path.read_bytes()
    book = ingest(data, path.name, settings.extract)
    t1 = time.perf_counter()
    extracted = extract_book(data, book, settings.extract, mapper=mapper, on_page=on_page, captions=settings.captions)
    t2 = time.perf_counter()
    items, _report = build_records(extracted, settings.captions, settings.align, mapper=mapper)
    t3 = time.perf_counter()
    return items, {"ingest": t1 - t0, "extract": t2 - t1, "figures": t3 - t2}


def floor_digital(path: Path, pages: list[int]) -> list[float]:
    """The born-digital floor: open, get_text("dict") and every image xref decoded to RGB, per page.
    Returns per-page seconds (the open is charged to the first page)."""
    import pymupdf

    from pipeline.mupdf_log import capture

    times = []
    with capture():  # a damaged book's MuPDF messages are kept off the terminal, as in a build
        t = time.perf_counter()
        doc = pymupdf.open(path)
        for n in pages:
            page = doc[n - 1]
            page.get_text("dict")
            for img in page.get_images(full=True):
                pix = pymupdf.Pixmap(doc, img[0])
                if pix.colorspace is not None and (pix.colorspace.n != 3 or pix.alpha):
                    pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
            now = time.perf_counter()
            times.append(now - t)
            t = now
        doc.close()
    return times


_FLOOR_DOCS: dict = {}


def _floor_ocr_page(job: tuple[str, int, int, int, str, int]) -> int:
    """Scanned floor, in a worker: render one page at our dpi and run tesseract image_to_data on it.

    A worker keeps the PDF open for the pages of one run (``run``: a new number each time the book is timed)
    and opens it afresh for the next: MuPDF keeps decoded images of an open document, so a repeat on the same
    document would render its scans from memory (a 600 dpi page: 0.05 s instead of 0.23 s), which no real run
    does and ours, which opens the pages anew, does not get."""
    import pymupdf
    import pytesseract
    from PIL import Image

    from pipeline.mupdf_log import capture

    path, run, number, dpi, lang, psm = job
    with capture():  # MuPDF's messages on a damaged book stay off the terminal, as in a build
        doc = _FLOOR_DOCS.get((path, run))
        if doc is None:
            for old in _FLOOR_DOCS.values():
                old.close()
            _FLOOR_DOCS.clear()
            doc = _FLOOR_DOCS[(path, run)] = pymupdf.open(path)
        pix = doc[number - 1].get_pixmap(dpi=dpi, alpha=False)
    img = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    pytesseract.image_to_data(img, lang=lang, config=f"--psm {psm}", output_type=pytesseract.Output.DICT)
    return number


_FLOOR_RUNS = itertools.count()


def floor_scanned(path: Path, pages: list[tuple[int, int]], settings, pool: BenchPool) -> None:
    """``pages``: (page number, the dpi ours reads it at)."""
    run = next(_FLOOR_RUNS)
    jobs = [(str(path), run, n, dpi, settings.extract.ocr_lang, settings.extract.ocr_psm) for n, dpi in pages]
    pool.map(_floor_ocr_page, jobs)


def page_kinds(path: Path, settings) -> tuple[list[int], list[tuple[int, int]]]:
    """(born-digital page numbers, scanned pages as (number, the dpi ours renders it at: its scan's own
    resolution within bounds)), by ingest's own text-layer test."""
    from pipeline.extract import scan_dpi
    from pipeline.ingest import ingest

    book = ingest(path.read_bytes(), path.name, settings.extract)
    digital = [p.number for p in book.pages if p.has_text_layer]
    return digital, [(p.number, scan_dpi(p, settings.extract)) for p in book.pages if not p.has_text_layer]


def truth_for(path: Path, generated: dict[str, dict]):
    """Truth figures of a PDF: from the generator, or a sample ``<stem>.truth.json`` beside it."""
    from eval.extraction import read_sample_truth

    doc = generated.get(str(path))
    tp = path.with_name(path.stem + ".truth.json")
    if doc is None and tp.exists():
        doc = json.loads(tp.read_text())
    if doc is None:
        return None
    return next(iter(read_sample_truth(doc, tp).values()))


def score_ours(items, truth) -> dict:
    from eval.extraction import predicted_figures, score_book

    records = [it.record.model_dump(mode="json") for it in items]
    preds = [f for figs in predicted_figures(records).values() for f in figs]
    s = score_book("", truth, preds)
    return {"truth": s.n_truth, "found": s.n_pred, "matched": s.matched, "captions_right": s.caption_ok,
            "recall": s.recall, "precision": s.precision}


def score_peer(book: dict, truth) -> dict:
    """Peer pictures matched to truth figures (IoU >= 0.5, one to one) and truth captions found among its
    caption boxes on the same page. Only the pages the peer read count."""
    from eval.extraction import PredFigure, caption_matches, match_figures

    pages = set(book["pages"])
    truth = [t for t in truth if t.page in pages]
    preds = [PredFigure(page=p, bbox=tuple(b)) for p, b in book["pictures"]]
    caps: dict[int, list[str]] = {}
    for p, _b, text in book["captions"]:
        caps.setdefault(p, []).append(text)
    right = sum(1 for t in truth if any(caption_matches(t.caption or "", c) for c in caps.get(t.page, [])))
    return {"truth": len(truth), "pictures": len(preds), "matched": len(match_figures(truth, preds)),
            "captions": len(book["captions"]), "captions_right": right}


def _mean(xs) -> float | None:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else None


def _ratio(a, b) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _time_digital_pages(path: Path, settings, pages: list[int]) -> list[float]:
    """Seconds per born-digital page for ``pages`` extracted in this process, in one run (as a worker does)."""
    from pipeline.extract import _digital_job
    from pipeline.ingest import ingest

    data = path.read_bytes()
    info = {p.number: p for p in ingest(data, path.name, settings.extract).pages}
    t = time.perf_counter()
    _digital_job((data, path.name, [(n, 0.0, 0.0, info[n].placements if info[n].n_images else None) for n in pages]),
                 settings.extract, settings.captions)
    return [(time.perf_counter() - t) / len(pages)] * len(pages)


FLAT_REPEATS = 3  # the flat-cost windows are timed this many times, alternating, best kept


def flat_cost(path: Path, settings, window: int) -> dict:
    """Does a page cost more late in a long book? The last ``window`` pages are timed where they are, and again
    at the front of a copy of the book with those pages moved first: the same pages (the same figures), so the
    ratio shows the cost of their place in the book alone, not of what is on them (windows of a generated
    book hold different figures: comparing pages 1-100 with 501-600 measured their content). Timed on one
    core (extract_book spreads pages over the pool in chunks), for ours and the floor alike, alternating,
    best of FLAT_REPEATS."""
    import pymupdf

    doc = pymupdf.open(path)
    n = doc.page_count
    last = list(range(n - window + 1, n + 1))
    doc.select([p - 1 for p in last] + list(range(n - window)))  # the same pages, moved to the front
    with tempfile.TemporaryDirectory(prefix="mmskin-flat-") as tmp:
        front = Path(tmp) / path.name
        doc.save(front, garbage=0)
        doc.close()
        first = list(range(1, window + 1))
        ours_end, ours_front, floor_end, floor_front = [], [], [], []
        for _ in range(FLAT_REPEATS):
            ours_end.append(_mean(_time_digital_pages(path, settings, last)))
            ours_front.append(_mean(_time_digital_pages(front, settings, first)))
            floor_end.append(sum(floor_digital(path, last)[1:]) / (window - 1))  # the first page carries the open
            floor_front.append(sum(floor_digital(front, first)[1:]) / (window - 1))
    out = {
        "window": window, "pages_timed": f"{last[0]}-{last[-1]}",
        "ours_s_per_page_front": _r(min(ours_front), 5), "ours_s_per_page_end": _r(min(ours_end), 5),
        "floor_s_per_page_front": _r(min(floor_front), 5), "floor_s_per_page_end": _r(min(floor_end), 5),
    }
    out["ours_end_over_front"] = _ratio(min(ours_end), min(ours_front))
    out["floor_end_over_front"] = _ratio(min(floor_end), min(floor_front))
    return out


def _r(v, nd=4):
    return None if v is None else round(v, nd)


def measure_book(path: Path, settings, ours_pool: BenchPool, floor_pool: BenchPool, cores: int,
                 truth=None, flat_window: int = 0) -> dict:
    """Ours and the floor on one PDF (small ones REPEATS times, best kept), alternating."""
    digital, scanned = page_kinds(path, settings)
    n = len(digital) + len(scanned)
    kind = "scanned" if not digital else "digital" if not scanned else "mixed"
    small = n <= SMALL_BOOK_PAGES
    best_ours = best_floor = None
    repeats, spent = 0, 0.0
    while repeats < 1 or (small and (repeats < REPEATS or (spent < SMALL_BOOK_SECONDS and repeats < MAX_REPEATS))):
        repeats += 1
        with _Meter([floor_pool], cores) as mf:
            t0 = time.perf_counter()
            if digital:
                floor_digital(path, digital)
            t1 = time.perf_counter()
            if scanned:
                floor_scanned(path, scanned, settings, floor_pool)
            split = (t1 - t0, time.perf_counter() - t1)  # the floor's born-digital and scanned parts
        if best_floor is None or mf.seconds < best_floor.seconds:
            best_floor, floor_split = mf, split
        with _Meter([ours_pool], cores) as mo:
            items, stages = run_ours(path, settings, ours_pool.map)
        if best_ours is None or mo.seconds < best_ours[0].seconds:
            best_ours = (mo, stages, items)
        spent += mf.seconds + mo.seconds
    mo, stages, items = best_ours
    mf = best_floor
    out = {
        "pdf": path.name, "kind": kind, "pages": n, "digital_pages": len(digital), "scanned_pages": len(scanned),
        "repeats": repeats,
        "ours": {"seconds": _r(mo.seconds), "s_per_page": _r(mo.seconds / n), "cpu_util": _r(mo.cpu_util, 3),
                 "stages": {k: _r(v) for k, v in stages.items()}},
        "floor": {"seconds": _r(mf.seconds), "s_per_page": _r(mf.seconds / n), "cpu_util": _r(mf.cpu_util, 3),
                  "digital_s": _r(floor_split[0]), "scanned_s": _r(floor_split[1])},
        "ratio": _ratio(mo.seconds, mf.seconds),
        "figures": score_ours(items, truth) if truth is not None else None,
    }
    if flat_window and kind == "digital" and n >= 2 * flat_window:
        out["flat"] = flat_cost(path, settings, flat_window)
    return out


# ---------------------------------------------------------------- peak memory in a fresh process

def _vmhwm_kb(pid: str | int = "self") -> int | None:
    """Peak RSS (VmHWM) of a live process. Unlike ru_maxrss it restarts at exec: a subprocess forked from a
    big benchmark process would otherwise report its parent's peak."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class _TreeSampler:
    """Sum of RSS over this process and all its descendants (pool workers, tesseract runs), sampled."""

    def __init__(self, every: float = 0.05):
        import threading

        self.every, self.peak_kb = every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_kb = max(self.peak_kb, total // 1024)
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


def _rss_child(path: str, workers: int, which: str) -> None:
    """Run in a fresh interpreter: ours (or the floor) on one PDF; print peak memory as JSON on the last line."""
    import resource

    from schemas import Settings

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    settings = Settings()
    pool = BenchPool(workers)
    worker_kb: dict[int, int] = {}
    t0 = time.perf_counter()
    with _TreeSampler() as tree:
        try:
            if which == "ours":
                items, _ = run_ours(Path(path), settings, pool.map)
                n_items = len(items)
            else:
                digital, scanned = page_kinds(Path(path), settings)
                floor_digital(Path(path), digital)
                floor_scanned(Path(path), scanned, settings, pool)
                n_items = 0
            if pool._pool is not None:
                for pid in list(pool._pool._processes or {}):
                    worker_kb[pid] = _vmhwm_kb(pid) or 0
        finally:
            pool.close()
    seconds = time.perf_counter() - t0
    self_kb = _vmhwm_kb() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"self_kb": self_kb, "workers_kb": sum(worker_kb.values()), "tree_peak_kb": tree.peak_kb,
                      "seconds": seconds, "items": n_items}))


def peak_rss(path: Path, workers: int, which: str = "ours") -> dict:
    """Peak memory of ours (or the floor) on one PDF, in a fresh subprocess: ``self_mb`` the process's own
    peak RSS (VmHWM); ``workers_mb`` the pool workers' peaks added up; ``tree_peak_mb`` the largest sum of RSS
    over the process and all its descendants (tesseract runs included), sampled every 50 ms; ``total_mb`` the
    larger of self + workers and the sampled tree peak."""
    code = f"from eval.bench import _rss_child; _rss_child({str(path)!r}, {workers}, {which!r})"
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo)
    if proc.returncode != 0:
        raise RuntimeError(f"peak-RSS run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    self_mb, workers_mb, tree_mb = r["self_kb"] / 1024, r["workers_kb"] / 1024, r["tree_peak_kb"] / 1024
    return {"pdf": path.name, "which": which, "self_mb": round(self_mb, 1), "workers_mb": round(workers_mb, 1),
            "tree_peak_mb": round(tree_mb, 1), "total_mb": round(max(self_mb + workers_mb, tree_mb), 1),
            "seconds": round(r["seconds"], 2)}


# ---------------------------------------------------------------- the peer: pymupdf4llm in its own environment

PEER_SCRIPT = r"""
import json, os, resource, sys, time
import pymupdf, pymupdf4llm
jobs = json.loads(sys.argv[1])
out = {"version": getattr(pymupdf4llm, "__version__", "?"), "pymupdf": pymupdf.__version__, "books": []}
def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
doc = pymupdf.open(jobs[0]["path"]); pymupdf4llm.to_json(doc, pages=[0]); doc.close()  # model load, untimed
for job in jobs:
    c0, t0 = cpu(), time.perf_counter()
    doc = pymupdf.open(job["path"])
    pages = job["pages"] or list(range(doc.page_count))
    d = json.loads(pymupdf4llm.to_json(doc, pages=pages))
    secs, c1 = time.perf_counter() - t0, cpu()
    pics, caps = [], []
    for p in d["pages"]:
        for b in p.get("boxes") or []:
            box = [b["x0"], b["y0"], b["x1"], b["y1"]]
            if b.get("boxclass") == "picture":
                pics.append([p["page_number"], box])
            elif b.get("boxclass") == "caption":
                text = " ".join(s["text"] for ln in (b.get("textlines") or []) for s in ln.get("spans") or [])
                caps.append([p["page_number"], box, " ".join(text.split())])
    out["books"].append({"path": job["path"], "pages": [n + 1 for n in pages], "seconds": secs,
                         "cpu_s": c1 - c0, "pictures": pics, "captions": caps})
with open(sys.argv[2], "w") as f:
    json.dump(out, f)
"""


def find_peer(python: str | None = None) -> str | None:
    """A Python that imports pymupdf4llm: ``python``, $MMSKIN_PEER_PYTHON, or /tmp/mmskin-peer; else None."""
    for cand in (python, os.environ.get("MMSKIN_PEER_PYTHON"), PEER_DEFAULT_PYTHON):
        if cand and Path(cand).exists():
            ok = subprocess.run([cand, "-c", "import pymupdf4llm"], capture_output=True).returncode == 0
            if ok:
                return cand
    return None


def run_peer(python: str, pdfs: list[Path], max_pages: int) -> dict:
    import pymupdf

    jobs = []
    for p in pdfs:
        with pymupdf.open(p) as doc:
            n = doc.page_count
        jobs.append({"path": str(p), "pages": list(range(min(n, max_pages))) if n > max_pages else None})
    with tempfile.TemporaryDirectory(prefix="mmskin-peer-") as tmp:
        out = Path(tmp) / "peer.json"
        proc = subprocess.run([python, "-c", PEER_SCRIPT, json.dumps(jobs), str(out)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"peer failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return json.loads(out.read_text())


# ---------------------------------------------------------------- the whole benchmark

def generate_books(tmp: Path, generate_pages: int, scanned_pages: int, seed: int = 0) -> list[dict]:
    """Generated inputs (synth.large_book) written under tmp: [{path, pages, scanned, seconds, truth}]."""
    from synth.large_book import make_large_book

    out = []
    for n, scanned in ((generate_pages, False), (scanned_pages, True)):
        if n:
            path = tmp / f"generated_{'scanned' if scanned else 'digital'}_{n}p.pdf"
            t0 = time.perf_counter()
            truth = make_large_book(path, n, seed=seed + (1 if scanned else 0), scanned=scanned)
            out.append({"path": path, "pages": n, "scanned": scanned, "seconds": round(time.perf_counter() - t0, 2),
                        "truth": truth})
    return out


def _sum_kind(books: list[dict], kind: str, target: float | None) -> dict | None:
    """Pages, seconds per page and ratio of one kind of book, against ``target`` (None: a mixed book's, from the
    time its floor spent on born-digital and on scanned pages)."""
    sel = [b for b in books if b["kind"] == kind]
    if not sel:
        return None
    pages = sum(b["pages"] for b in sel)
    ours = sum(b["ours"]["seconds"] for b in sel)
    floor = sum(b["floor"]["seconds"] for b in sel)
    ratio = _ratio(ours, floor)
    if target is None:  # mixed books: each part of the floor allowed its own kind's ratio, weighted by its time
        fd = sum(b["floor"].get("digital_s", 0.0) for b in sel)
        fs = sum(b["floor"].get("scanned_s", 0.0) for b in sel)
        target = round((DIGITAL_TARGET * fd + SCANNED_TARGET * fs) / (fd + fs), 2) if fd + fs > 0 else SCANNED_TARGET
    return {
        "books": len(sel), "pages": pages, "ours_s_per_page": _r(ours / pages), "floor_s_per_page": _r(floor / pages),
        "ratio": ratio, "target": target, "met": ratio is not None and ratio <= target,
        "ours_cpu_util": _r(sum(b["ours"]["cpu_util"] * b["ours"]["seconds"] for b in sel) / ours, 3),
        "floor_cpu_util": _r(sum(b["floor"]["cpu_util"] * b["floor"]["seconds"] for b in sel) / floor, 3),
    }


def extraction(pdfs: list[Path], generate_pages: int = 0, scanned_pages: int = 0, workers: int = 0,
               peer_python: str | None = None, peer: bool = True, peer_max_pages: int = PEER_MAX_PAGES,
               rss: bool = True, flat_window: int = FLAT_WINDOW, log=None) -> dict:
    """Seconds per page of ours and the floor (and the peer) on the same PDFs, as ratios; peak RSS on the
    largest generated book; cost per page at the start vs the end of a large book. See the module notes."""
    from schemas import Settings

    log = log or (lambda _msg: None)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # as flows.env.configure_prefect does for the build
    settings = Settings()
    cores = os.cpu_count() or 1
    workers = workers or settings.workers or cores
    result: dict = {
        "setup": {"cores": cores, "workers": workers, "render_dpi": settings.extract.render_dpi,
                  "scan_max_dpi": settings.extract.scan_max_dpi,
                  "omp_thread_limit": os.environ.get("OMP_THREAD_LIMIT"), "repeats_small_books": REPEATS,
                  "small_book_seconds": SMALL_BOOK_SECONDS, "max_repeats_small_books": MAX_REPEATS,
                  "small_book_pages": SMALL_BOOK_PAGES},
    }
    with tempfile.TemporaryDirectory(prefix="mmskin-bench-") as tmp:
        log(f"generating books: {generate_pages} born-digital pages, {scanned_pages} scanned pages")
        gen = generate_books(Path(tmp), generate_pages, scanned_pages)
        result["generated"] = [{"pdf": g["path"].name, "pages": g["pages"], "scanned": g["scanned"],
                                "seconds": g["seconds"], "figures": len(g["truth"]["figures"])} for g in gen]
        generated_truth = {str(g["path"]): g["truth"] for g in gen}
        inputs = [Path(p) for p in pdfs] + [g["path"] for g in gen]
        ours_pool, floor_pool = BenchPool(workers), BenchPool(workers)
        try:
            result["pool_start_s"] = {
                "ours": round(ours_pool.start(("pipeline.extract", "pipeline.extract.scanned")), 2),
                "floor": round(floor_pool.start(("pymupdf", "pytesseract", "PIL.Image")), 2),
            }
            books = []
            for path in inputs:
                log(f"timing {path.name}")
                books.append(measure_book(path, settings, ours_pool, floor_pool, cores,
                                          truth=truth_for(path, generated_truth), flat_window=flat_window))
        finally:
            ours_pool.close()
            floor_pool.close()
        result["books"] = books
        result["summary"] = {"digital": _sum_kind(books, "digital", DIGITAL_TARGET),
                             "scanned": _sum_kind(books, "scanned", SCANNED_TARGET),
                             "mixed": _sum_kind(books, "mixed", None)}
        result["flat"] = next(({"pdf": b["pdf"], "pages": b["pages"], **b["flat"]} for b in books if "flat" in b), None)
        big = max((g for g in gen if not g["scanned"]), key=lambda g: g["pages"], default=None)
        if big is None and inputs:
            big = {"path": max(inputs, key=lambda p: p.stat().st_size)}
        result["peak_rss"] = None
        if rss and big is not None:
            log(f"peak RSS on {big['path'].name} (fresh processes)")
            ours_rss = peak_rss(big["path"], workers, "ours")
            floor_rss = peak_rss(big["path"], workers, "floor")
            result["peak_rss"] = {**ours_rss, "floor_total_mb": floor_rss["total_mb"], "target_mb": RSS_TARGET_MB,
                                  "met": ours_rss["total_mb"] < RSS_TARGET_MB}
        result["peer"] = {"installed": False}
        py = find_peer(peer_python) if peer else None
        if py:
            log(f"peer pymupdf4llm ({py}), at most {peer_max_pages} pages per PDF")
            pr = run_peer(py, inputs, peer_max_pages)
            by_path = {b["path"]: b for b in pr["books"]}
            result["peer"] = {"installed": True, "python": py, "version": pr["version"], "pymupdf": pr["pymupdf"],
                              "max_pages": peer_max_pages}
            for b, path in zip(books, inputs):
                pb = by_path[str(path)]
                n = len(pb["pages"])
                floor_spp = b["floor"]["s_per_page"]
                truth = truth_for(path, generated_truth)
                b["peer"] = {"pages": n, "seconds": _r(pb["seconds"]), "s_per_page": _r(pb["seconds"] / n),
                             "cpu_util": _r(pb["cpu_s"] / pb["seconds"] / cores, 3) if pb["seconds"] else None,
                             "ratio": _ratio(pb["seconds"] / n, floor_spp),
                             "figures": score_peer(pb, truth) if truth is not None else None}
        elif peer:
            result["peer"]["reason"] = "no Python with pymupdf4llm (give --peer-python or MMSKIN_PEER_PYTHON)"
    return result


def _fmt(v, nd=3) -> str:
    if v is None:
        return "-"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def extraction_text(r: dict) -> str:
    """A plain-text summary of ``extraction``'s result (the CLI prints a table and this)."""
    lines = []
    s = r["setup"]
    lines.append(f"cores {s['cores']}, workers {s['workers']}, render dpi {s['render_dpi']} "
                 f"(scans at their own up to {s.get('scan_max_dpi', s['render_dpi'])}), "
                 f"OMP_THREAD_LIMIT={s['omp_thread_limit']}; pool start (not in the per-page numbers): "
                 f"ours {r['pool_start_s']['ours']} s, floor {r['pool_start_s']['floor']} s")
    for g in r["generated"]:
        lines.append(f"generated {g['pdf']}: {g['pages']} pages, {g['figures']} figures, {g['seconds']} s")
    for kind, label, what in (("digital", "born-digital", "floor (PyMuPDF text+images)"),
                              ("scanned", "scanned", "tesseract alone"), ("mixed", "mixed", "floor")):
        k = r["summary"].get(kind)
        if not k:
            continue
        lines.append(
            f"{label}: {k['pages']} pages in {k['books']} PDFs: ours {k['ours_s_per_page']:.4f} s/page, "
            f"{what} {k['floor_s_per_page']:.4f} s/page, ratio {k['ratio']} (target <= {k['target']}: "
            f"{'met' if k['met'] else 'NOT met'}); CPU use ours {k['ours_cpu_util']:.0%}, floor {k['floor_cpu_util']:.0%}")
    f = r.get("flat")
    if f:
        lines.append(
            f"flat cost ({f['pdf']}): pages {f['pages_timed']} on one core, s/page, at the end of the book "
            f"{f['ours_s_per_page_end']:.4f} vs moved to its front {f['ours_s_per_page_front']:.4f} "
            f"(x{f['ours_end_over_front']}); floor {f['floor_s_per_page_end']:.4f} vs {f['floor_s_per_page_front']:.4f} "
            f"(x{f['floor_end_over_front']})")
    m = r.get("peak_rss")
    if m:
        lines.append(
            f"peak RSS ({m['pdf']}, fresh process): ours {m['total_mb']} MB (process {m['self_mb']} MB, pool "
            f"workers {m['workers_mb']} MB, sampled process tree {m['tree_peak_mb']} MB; target < "
            f"{m['target_mb']:.0f} MB: {'met' if m['met'] else 'NOT met'}); floor {m['floor_total_mb']} MB; ours "
            f"took {m['seconds']} s there")
    p = r["peer"]
    if p["installed"]:
        lines.append(f"peer: pymupdf4llm {p['version']} (PyMuPDF {p['pymupdf']}, layout mode), {p['python']}, "
                     f"at most {p['max_pages']} pages per PDF")
    else:
        lines.append("peer: not installed")
    return "\n".join(lines)


# ================================================================ modality predict speed
def modality_predict(n: int = 100, workers: int = 0, seed: int = 7) -> dict:
    """Write ``n`` generated images (a mix of procedural photos and figures, JPEG and PNG, ~300-700 px) to a
    temp dir, run ``mmskin modality predict`` on them as a subprocess (whole command timed: interpreter
    start, imports, process pool, model load, features, prediction) and time the features alone on one core."""
    import numpy as np

    from pipeline.modality.features import features_from_bytes
    from synth.other_figures import KIND_MODALITY, training_image

    kinds = sorted(KIND_MODALITY)
    with tempfile.TemporaryDirectory(prefix="mmskin-bench-mod-") as tmp:
        paths, sides = [], []
        for i in range(n):
            img = training_image(kinds[i % len(kinds)], seed * 100_003 + i, degrade_strength=0.0)
            p = Path(tmp) / f"img{i:04d}.{'jpg' if i % 2 else 'png'}"
            img.save(p, quality=90) if i % 2 else img.save(p)
            paths.append(str(p))
            sides.append(max(img.size))
        cmd = [sys.executable, "-m", "flows.cli", "modality", "predict", *paths, "--workers", str(workers)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"modality predict failed ({proc.returncode}): {proc.stderr[-2000:]}")
        lines = [json.loads(x) for x in proc.stdout.splitlines() if x.strip()]
        t1 = time.perf_counter()
        for p in paths[: min(20, n)]:
            features_from_bytes(Path(p).read_bytes())
        per = (time.perf_counter() - t1) / min(20, n)
    used = workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    return {
        "n": n,
        "workers": min(used, n),
        "mean_side_px": int(np.mean(sides)) if sides else 0,
        "cli_wall_s": round(wall, 3),
        "images_per_s": round(n / wall, 2),
        "features_ms_per_image": round(per * 1000, 2),
        "predicted": sum("modality" in x for x in lines),
        "errors": sum("error" in x for x in lines),
    }
