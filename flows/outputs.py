"""The output directory: images/, records.jsonl, MM-Skin C/O/D files, LLaVA conversations, rejects.html,
manifest.json."""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from flows.cache import atomic_write_bytes
from flows.rejects import FILE as REJECTS_FILE
from flows.rejects import rejects_html
from pipeline import export as export_mod
from schemas import BookEntry, DatasetManifest, Item, Record, Settings, StageReport, VQAUsage
from schemas.manifest import SkippedInput

VERSION = export_mod.VERSION
IMAGES = "images"


def image_path(rec: Record) -> str:
    """images/<file name>: the name (with .png, or .jpg for a source JPEG kept as it is) comes from the record."""
    return f"{IMAGES}/{Path(rec.image).name if rec.image else rec.id + '.png'}"


def write_images(out_dir: Path, items: list[Item]) -> None:
    for it in items:
        atomic_write_bytes(out_dir / image_path(it.record), it.png)


def _dump(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, ensure_ascii=False, sort_keys=False) + "\n").encode()


class BuildProgress:
    """Rich progress bars on a terminal: one for books, one per book being extracted (pages). Thread-safe.
    Silent when stderr is not a terminal."""

    def __init__(self, n_books: int):
        self.n_books = n_books
        self._bar = None
        self._books = None
        self._pages: dict[str, object] = {}

    def __enter__(self) -> "BuildProgress":
        if sys.stderr.isatty() and self.n_books:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
            )
            self._bar.__enter__()
            self._books = self._bar.add_task("[bold]books", total=self.n_books)
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def pages(self, book: str, n_pages: int):
        """A callback that advances the page bar of ``book``."""
        if self._bar is None:
            return lambda _n: None
        task = self._bar.add_task(f"  {book} pages", total=n_pages)
        self._pages[book] = task
        return lambda _n: self._bar.update(task, advance=1)

    def book_done(self, book: str) -> None:
        if self._bar is not None:
            if book in self._pages:
                self._bar.remove_task(self._pages.pop(book))
            self._bar.update(self._books, advance=1)


def merge_reports(reports: list[StageReport]) -> list[StageReport]:
    merged: dict[str, StageReport] = {}
    for rep in reports:
        merged[rep.stage] = merged[rep.stage].merge(rep) if rep.stage in merged else rep
    return list(merged.values())


class DuplicateRecordIds(ValueError):
    """Two records of one dataset share an id: the dataset would be ambiguous, so nothing is written."""


def assert_unique_ids(records: list[Record]) -> None:
    repeated = [rid for rid, n in Counter(r.id for r in records).items() if n > 1]
    if repeated:
        raise DuplicateRecordIds(f"{len(repeated)} record ids occur more than once (e.g. {repeated[0]}); "
                                 "nothing was exported")


def export_dataset(
    out_dir: Path,
    records: list[Record],
    books: list[BookEntry],
    skipped: list[SkippedInput],
    stage_reports: list[StageReport],
    settings: Settings,
    versions: dict[str, str],
    timings: dict[str, float] | None = None,
    vqa: VQAUsage | None = None,
) -> dict:
    """Write every output file; remove images no record points to. Returns the manifest as a dict."""
    assert_unique_ids(records)
    records = sorted(records, key=lambda r: (r.source_pdf, r.book_id, r.page, r.bbox[1], r.bbox[0], r.id))
    records = export_mod.assign_splits(records, settings.export)
    files: dict[str, bytes] = {}
    files["records.jsonl"] = "".join(r.model_dump_json() + "\n" for r in records).encode()
    for name, rows in export_mod.mmskin_views(records).items():
        files[name] = _dump(rows)
    for split in ("train", "test"):
        files[f"llava_{split}.json"] = _dump(export_mod.llava_conversations(records, split))
    files[REJECTS_FILE] = rejects_html(records)  # contact sheet of the rejected records
    for name, data in files.items():
        path = out_dir / name
        if not path.exists() or path.read_bytes() != data:
            atomic_write_bytes(path, data)
    wanted = {r.image for r in records}
    img_dir = out_dir / IMAGES
    if img_dir.exists():
        for p in img_dir.iterdir():
            if f"{IMAGES}/{p.name}" not in wanted:
                p.unlink()
    reasons = Counter(reason for r in records for reason in r.reject_reasons)
    kept = [r for r in records if r.kept]
    counts = {
        "books": len(books),
        "books_ok": sum(b.status == "ok" for b in books),
        "duplicate_inputs": sum(b.status == "duplicate_input" for b in books),
        "skipped_files": len(skipped),
        "records": len(records),
        "kept": len(kept),
        "rejected": len(records) - len(kept),
        "figures_kept": len({r.figure_id for r in kept}),
        "needs_review": sum(r.needs_review for r in kept),
        "notes": dict(sorted(Counter(n for r in records for n in r.notes).items())),
        "vqa_pairs": sum(len(r.vqa) for r in kept),
        "vqa_failed": sum(not r.vqa for r in kept),
        "vqa_pairs_rejected": sum(len(r.vqa_rejected) for r in kept),
        "train_records": sum(r.split == "train" for r in kept),
        "test_records": sum(r.split == "test" for r in kept),
        "modality": dict(sorted(Counter(r.modality for r in kept).items())),
        "gender": dict(sorted(Counter(r.gender or "unknown" for r in kept).items())),
        "age_group": dict(sorted(Counter(r.age_group or "unknown" for r in kept).items())),
    }
    manifest = DatasetManifest(
        mmskin_version=versions.get("mmskin", "?"),
        stage_versions={k: v for k, v in versions.items() if k != "mmskin"},
        settings=settings.model_dump(mode="json"),
        books=books,
        errors=[b.error for b in books if b.error],
        skipped=skipped,
        stages=merge_reports(stage_reports),
        counts=counts,
        reject_reasons=dict(sorted(reasons.items())),
        files={name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        timings=timings or {},
        vqa=vqa,
    )
    data = manifest.model_dump(mode="json")
    atomic_write_bytes(out_dir / "manifest.json", _dump(data))
    return data
