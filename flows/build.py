"""The `build_dataset` Prefect flow: PDFs in, an MM-Skin-style dataset directory out.

Per book (one Prefect task each, run in parallel): ingest -> extract -> figures -> modality -> demographics ->
filter, each stage's result cached by content (see flows/cache.py). Then across all books: duplicates ->
VQA (cached per book on its records) -> export. Scanned pages are OCRed in a process pool.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.env import configure_prefect

configure_prefect()

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner  # noqa: E402

import pipeline.demographics as demographics_mod  # noqa: E402
import pipeline.extract as extract_mod  # noqa: E402
import pipeline.figures as figures_mod  # noqa: E402
import pipeline.filters as filters_mod  # noqa: E402
import pipeline.ingest as ingest_mod  # noqa: E402
import pipeline.modality as modality_mod  # noqa: E402
import pipeline.modality.model as modality_model  # noqa: E402
import pipeline.vqa as vqa_mod  # noqa: E402
from flows import outputs  # noqa: E402
from flows import overrides as overrides_io  # noqa: E402
from flows import vqa as vqa_io  # noqa: E402
from flows.cache import StageCache, make_key  # noqa: E402
from flows.inputs import InputPlan, checked_inputs  # noqa: E402
from flows.pool import ProcessPool  # noqa: E402
from pipeline.errors import InputError  # noqa: E402
from pipeline.mupdf_log import summarize as summarize_messages  # noqa: E402
from schemas import Book, BookEntry, ExtractedBook, Item, Record, Settings, StageReport, VQAUsage  # noqa: E402
from schemas.manifest import BookWarnings, SkippedInput  # noqa: E402

MMSKIN_VERSION = "0.1.0"
STAGE_VERSIONS = {
    "ingest": ingest_mod.VERSION,
    "extract": extract_mod.VERSION,
    "figures": figures_mod.VERSION,
    "modality": modality_mod.VERSION,
    "demographics": demographics_mod.VERSION,
    "filter": filters_mod.VERSION,
    "vqa": vqa_mod.VERSION,
    "export": outputs.VERSION,
}
PER_RECORD_STAGES = ("modality", "demographics", "filter")
VQA_RUNTIME_SETTINGS = ("base_url", "timeout_s", "max_retries", "concurrency", "circuit_breaker_failures",
                        "response_format", "price_input_per_1k", "price_output_per_1k", "cache_path")


def stage_settings(settings: Settings) -> dict[str, Any]:
    """The settings each stage reads (its cache key includes exactly these)."""
    s = settings.model_dump(mode="json")
    return {
        "ingest": {k: s["extract"][k] for k in ("min_text_chars", "min_wordlike_share", "full_page_image_frac")},
        "extract": {**s["extract"], "caption_labels": s["captions"]["labels"]},
        "figures": {"captions": s["captions"], "align": s["align"]},
        # the model file's content, not its path: a retrained model recomputes the stage, a moved one does not
        "modality": {**{k: v for k, v in s["modality"].items() if k != "model_path"},
                     "model_sha256": modality_model.file_digest(settings.modality.model_path)},
        "demographics": s["demographics"],
        "filter": {k: v for k, v in s["filter"].items() if k != "phash_max_distance"},
        # how the LLM is reached (timeouts, retries, concurrency, prices, cache file) does not change the pairs
        "vqa": {k: v for k, v in s["vqa"].items() if k not in VQA_RUNTIME_SETTINGS},
    }


@dataclass
class BookResult:
    entry: BookEntry
    records: list[Record] = field(default_factory=list)
    reports: list[StageReport] = field(default_factory=list)


def _cached(cache: StageCache, entry: BookEntry, stage: str, key: str, type_: Any, compute: Callable[[], Any]):
    value = cache.get(stage, key, type_)
    if value is not None:
        entry.cached_stages.append(stage)
        return value
    value = compute()
    cache.put(stage, key, value, type_)
    entry.computed_stages.append(stage)
    return value


def book_warnings(book: Book, page_messages: list[str], max_messages: int) -> BookWarnings:
    """The manifest's account of a damaged book: MuPDF's messages at ingest and on its pages, by kind."""
    counts, messages = summarize_messages(book.mupdf_messages + page_messages, max_messages)
    return BookWarnings(repaired=book.repaired, counts=counts, messages=messages)


def process_book_impl(
    path: Path, out_dir: Path, settings: Settings, pool: ProcessPool | None, progress: outputs.BuildProgress | None = None
) -> BookResult:
    """Run the per-book stages, each from the cache when its key matches, and write the book's images."""
    entry = BookEntry(path=str(path), source_pdf=path.name)
    cache = StageCache(out_dir / ".cache")
    ss = stage_settings(settings)
    try:
        data = path.read_bytes()
        book_sha = hashlib.sha256(data).hexdigest()
        entry.book_id = book_sha
        k_ingest = make_key("ingest", STAGE_VERSIONS["ingest"], ss["ingest"], f"{book_sha}:{path.name}")
        book = _cached(cache, entry, "ingest", k_ingest, Book, lambda: ingest_mod.ingest(data, path.name, settings.extract))
        entry.n_pages = book.n_pages
        k_extract = make_key("extract", STAGE_VERSIONS["extract"], ss["extract"], k_ingest)
        k_figures = make_key("figures", STAGE_VERSIONS["figures"], ss["figures"], k_extract)
        keys = {"figures": k_figures}
        prev = k_figures
        for stage in PER_RECORD_STAGES:
            keys[stage] = prev = make_key(stage, STAGE_VERSIONS[stage], ss[stage], prev)

        memo: dict[str, Any] = {}

        def extracted_book() -> ExtractedBook:
            if "extract" not in memo:
                memo["extract"] = _cached(
                    cache, entry, "extract", k_extract, ExtractedBook,
                    lambda: extract_mod.extract_book(
                        data, book, settings.extract, mapper=pool.map if pool else map,
                        on_page=progress.pages(path.name, book.n_pages) if progress else None,
                        captions=settings.captions,
                    ),
                )
            return memo["extract"]

        def figures_result() -> tuple[list[Item], StageReport]:
            if "figures" not in memo:
                memo["figures"] = _cached(
                    cache, entry, "figures", k_figures, tuple[list[Item], StageReport],
                    lambda: figures_mod.build_records(extracted_book(), settings.captions, settings.align,
                                                      mapper=pool.map if pool else map),
                )
            return memo["figures"]

        def figure_items() -> list[Item]:
            return figures_result()[0]

        def with_pixels(records: list[Record]) -> list[Item]:
            png = {it.record.id: it.png for it in figure_items()}
            return [Item(record=r, png=png[r.id]) for r in records]

        stage_fns = {
            "modality": lambda items: modality_mod.assign_modality(items, settings.modality),
            "demographics": lambda items: demographics_mod.annotate(items, settings.demographics),
            "filter": lambda items: filters_mod.filter_items(items, settings.filter),
        }
        # the figures report goes to the manifest; stored on its own so a cached build need not load pixels
        figures_report = cache.get("figures-report", k_figures, StageReport)
        if figures_report is None:
            figures_report = figures_result()[1]
            cache.put("figures-report", k_figures, figures_report, StageReport)
        records: list[Record] | None = None
        reports: list[StageReport] = [figures_report]
        for stage in PER_RECORD_STAGES:
            hit = cache.get(stage, keys[stage], tuple[list[Record], StageReport])
            if hit is not None:
                records, report = hit
                entry.cached_stages.append(stage)
            else:
                inputs = with_pixels(records) if records is not None else figure_items()
                items, report = stage_fns[stage](inputs)
                records = [it.record for it in items]
                cache.put(stage, keys[stage], (records, report), tuple[list[Record], StageReport])
                entry.computed_stages.append(stage)
            reports.append(report)
        assert records is not None
        # what MuPDF said while reading the book; stored on its own so a cached build need not load the extraction
        page_messages = cache.get("extract-messages", k_extract, list[str])
        if page_messages is None:
            page_messages = [m for p in extracted_book().pages for m in p.mupdf_messages]
            cache.put("extract-messages", k_extract, page_messages, list[str])
        entry.warnings = book_warnings(book, page_messages, settings.warning_messages)
        records = [r.model_copy(update={"image": outputs.image_path(r)}) for r in records]
        missing = [r for r in records if not (out_dir / r.image).exists()]
        if missing:
            outputs.write_images(out_dir, with_pixels(missing))
        entry.n_records = len(records)
        return BookResult(entry=entry, records=records, reports=reports)
    except InputError as exc:
        entry.status, entry.error = "error", str(exc)
    except Exception as exc:  # one bad book never stops the others
        detail = " ".join(str(exc).split())[:300]
        entry.status, entry.error = "error", f"{path.name}: internal error ({type(exc).__name__}: {detail})"
    return BookResult(entry=entry)


@task(name="process-book", cache_policy=NO_CACHE, task_run_name="book-{path.name}")
def process_book(
    path: Path, out_dir: Path, settings: Settings, pool: ProcessPool | None, progress: outputs.BuildProgress | None = None
) -> BookResult:
    try:
        return process_book_impl(path, out_dir, settings, pool, progress)
    finally:
        if progress:
            progress.book_done(path.name)


VQAOutcome = tuple[list[Record], StageReport]


@task(name="vqa", cache_policy=NO_CACHE)
def vqa_task(books: list[list[Record]], out_dir: Path, settings: Settings) -> tuple[list[VQAOutcome], VQAUsage]:
    """VQA for every book's records (after duplicate marking) in one call, so one client and one concurrency
    limit serve the whole build. Each book's result is cached on its records' content, unless one of its
    records failed for a reason a re-run may not meet (timeout, 429, circuit open): then only the LLM replies
    it did get are cached (flows/vqa.py), and the next build asks for the rest."""
    cache = StageCache(out_dir / ".cache")
    keys, results, todo = [], [], []
    vqa_settings = stage_settings(settings)["vqa"]
    for i, records in enumerate(books):
        upstream = hashlib.sha256(b"".join(r.model_dump_json().encode() for r in records)).hexdigest()
        keys.append(make_key("vqa", STAGE_VERSIONS["vqa"], vqa_settings, upstream))
        results.append(cache.get("vqa", keys[i], tuple[list[Record], StageReport]))
        if results[i] is None:
            todo.append(i)
    v = settings.vqa
    usage = VQAUsage(generator=v.generator, model=v.model if v.generator == "openai" else None,
                     prompt_version=vqa_mod.PROMPT_VERSION if v.generator == "openai" else None,
                     with_image=v.with_image and v.generator == "openai")
    if todo:
        flat = [rec for i in todo for rec in books[i]]
        llm_cache = vqa_io.SqliteCache(vqa_io.cache_path(out_dir, settings)) if v.generator == "openai" else None
        try:
            images = vqa_io.DatasetImages(out_dir, flat) if v.with_image else None
            res = vqa_mod.run_vqa(flat, v, cache=llm_cache, images=images)
        finally:
            if llm_cache is not None:
                llm_cache.close()
        usage = res.usage
        pos = 0
        for i in todo:
            recs = res.records[pos: pos + len(books[i])]
            pos += len(books[i])
            results[i] = (recs, vqa_mod.vqa_report(recs))
            if not any(vqa_mod.is_retryable(r) for r in recs):
                cache.put("vqa", keys[i], results[i], tuple[list[Record], StageReport])
    return results, usage


@dataclass
class BuildResult:
    manifest: dict
    records: list[Record]
    seconds: float


RUNNERS = ("threads", "processes", "dask")


def task_runner(runner: str, workers: int, dask_address: str | None = None):
    """threads: books in threads, OCR pages in a shared process pool. processes / dask: one book per worker
    process (its pages in that process), on a local process pool or a Dask cluster (prefect-dask)."""
    if runner == "threads":
        return ThreadPoolTaskRunner(max_workers=workers)
    if runner == "processes":
        return ProcessPoolTaskRunner(max_workers=workers)
    if runner == "dask":
        from prefect_dask import DaskTaskRunner

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
    raise ValueError(f"unknown runner {runner!r}: choose one of {', '.join(RUNNERS)}")


def build_dataset(
    inputs: list[str],
    out_dir: str,
    settings: Settings | None = None,
    workers: int = 0,
    runner: str = "threads",
    dask_address: str | None = None,
) -> BuildResult:
    """Build (or update) a dataset directory from PDF files and directories of PDFs (runs the Prefect flow).
    Raises InputsError, before the flow starts and before anything is written, when an input path does not exist
    or a directory holds no PDF."""
    plan = checked_inputs([Path(p) for p in inputs])
    settings = vqa_io.resolve_env(settings or Settings())
    problem = vqa_io.check(settings)
    if problem:
        raise ValueError(problem)
    n_workers = workers or settings.workers or os.cpu_count() or 1
    flow_fn = build_dataset_flow.with_options(task_runner=task_runner(runner, n_workers, dask_address))
    return flow_fn([str(f) for f in plan.files], out_dir, settings, n_workers, runner,
                   duplicates=[(str(d), str(o)) for d, o in plan.duplicates.items()], skipped=plan.skipped)


def duplicate_entries(duplicates: list[tuple[str, str]], built: list[BookEntry]) -> list[BookEntry]:
    """A manifest entry, without records, for each input whose bytes repeat an earlier input."""
    by_path = {b.path: b for b in built}
    return [
        BookEntry(path=dup, source_pdf=Path(dup).name, book_id=by_path[first].book_id, n_pages=by_path[first].n_pages,
                  status="duplicate_input", duplicate_of=first)
        for dup, first in duplicates
    ]


@flow(name="build_dataset", log_prints=False)
def build_dataset_flow(
    inputs: list[str], out_dir: str, settings: Settings, n_workers: int, runner: str = "threads",
    duplicates: list[tuple[str, str]] | None = None, skipped: list[SkippedInput] | None = None,
) -> BuildResult:
    """``inputs``: the PDF files (checked by ``checked_inputs``); ``duplicates``: (input, earlier input with the same
    bytes) pairs, reported and not built; ``skipped``: what the input directories held that is not a PDF."""
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = [Path(f) for f in inputs]
    in_threads = runner == "threads"
    pool = ProcessPool(n_workers) if in_threads else None  # other runners spread books over processes already
    try:
        with outputs.BuildProgress(len(files) if in_threads else 0) as progress:
            futures = [process_book.submit(f, out, settings, pool, progress if in_threads else None) for f in files]
            results = [fut.result() for fut in futures]
    finally:
        if pool:
            pool.close()
    ok = [r for r in results if r.entry.status == "ok"]
    all_records = [rec for r in ok for rec in r.records]
    deduped, dup_report = filters_mod.mark_duplicates(all_records, settings.filter.phash_max_distance)
    # curator corrections (`mmskin review`, DIR/overrides.jsonl): after duplicates, before VQA (an edited caption
    # gets fresh VQA); the per-book stages above stay cached
    deduped, overrides_report = overrides_io.apply_file(out, deduped)
    by_book: dict[str, list[Record]] = {}
    for rec in deduped:
        by_book.setdefault(rec.book_id, []).append(rec)
    vqa_outcomes, vqa_usage = vqa_task([by_book.get(r.entry.book_id, []) for r in ok], out, settings)
    final: list[Record] = []
    vqa_reports: list[StageReport] = []
    for r, (recs, rep) in zip(ok, vqa_outcomes):
        final += recs
        vqa_reports.append(rep)
        r.entry.n_records = len(recs)
        r.entry.n_kept = sum(x.kept for x in recs)
    manifest = outputs.export_dataset(
        out,
        final,
        books=[r.entry for r in results] + duplicate_entries(duplicates or [], [r.entry for r in results]),
        skipped=skipped or [],
        stage_reports=[rep for r in ok for rep in r.reports] + [dup_report]
        + ([overrides_report] if overrides_report else []) + vqa_reports,
        settings=settings,
        versions={"mmskin": MMSKIN_VERSION, **STAGE_VERSIONS,
                  "modality_model_sha256": modality_model.file_digest(settings.modality.model_path)},
        timings={"flow_seconds": round(time.perf_counter() - t0, 3)},
        vqa=vqa_usage,
    )
    return BuildResult(manifest=manifest, records=final, seconds=time.perf_counter() - t0)


def clear_cache(out_dir: Path) -> None:
    shutil.rmtree(out_dir / ".cache", ignore_errors=True)
