"""The `mmskin` command line."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Turn dermatology textbook PDFs into an MM-Skin-style dataset.", no_args_is_help=True, add_completion=False)
eval_app = typer.Typer(help="Evaluate extraction, VQA and classification.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
console = Console(stderr=True)
out_console = Console(width=None if sys.stdout.isatty() else 160)  # logs and pipes get full-width tables


def _load_settings(config: Optional[Path]):
    from schemas import Settings

    if config is None:
        return Settings()
    try:
        return Settings.model_validate_json(config.read_text())
    except Exception as exc:
        console.print(f"[red]error:[/red] cannot read settings from {config}: {exc}")
        raise typer.Exit(2) from None


@app.command()
def build(
    books: Annotated[list[Path], typer.Argument(help="PDF files and/or directories of PDFs")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output directory (created; reused incrementally)")],
    config: Annotated[Optional[Path], typer.Option(help="settings JSON (see `mmskin settings`)")] = None,
    workers: Annotated[int, typer.Option(help="processes for OCR; 0 = all cores")] = 0,
    runner: Annotated[str, typer.Option(help="threads | processes | dask (books on a Dask cluster)")] = "threads",
    dask_address: Annotated[Optional[str], typer.Option(help="tcp://... of a Dask scheduler; default: a local cluster")] = None,
) -> None:
    """Build or update a dataset: extraction, captions, alignment, modality, demographics, filters, VQA, export."""
    settings = _load_settings(config)
    t0 = time.perf_counter()
    from flows.build import build_dataset

    from flows.build import RUNNERS

    if runner not in RUNNERS:
        console.print(f"[red]error:[/red] --runner must be one of {', '.join(RUNNERS)}")
        raise typer.Exit(2)
    result = build_dataset([str(b) for b in books], str(out), settings, workers, runner, dask_address)
    m = result.manifest
    for err in m["errors"]:
        console.print(f"[red]error:[/red] {err}")
    _print_build_summary(m, time.perf_counter() - t0)
    if m["counts"]["books_ok"] == 0:
        raise typer.Exit(1)


def _print_build_summary(m: dict, seconds: float) -> None:
    t = Table(title="mmskin build")
    for col in ("book", "pages", "records", "kept", "computed", "from cache", "status"):
        t.add_column(col, no_wrap=col == "book")
    for b in m["books"]:
        t.add_row(
            b["source_pdf"], str(b.get("n_pages") or "-"), str(b["n_records"]), str(b["n_kept"]),
            ",".join(b["computed_stages"]) or "-", str(len(b["cached_stages"])), b["status"],
        )
    out_console.print(t)
    c = m["counts"]
    out_console.print(
        f"records {c['records']}, kept {c['kept']} ({c['figures_kept']} figures), rejected {c['rejected']}, "
        f"VQA pairs {c['vqa_pairs']}, train/test records {c['train_records']}/{c['test_records']}, "
        f"modality {c['modality']}, {seconds:.1f} s"
    )
    if m["reject_reasons"]:
        out_console.print("reject reasons: " + ", ".join(f"{k} {v}" for k, v in m["reject_reasons"].items()))


@app.command()
def info(out: Annotated[Path, typer.Argument(help="a dataset directory made by `mmskin build`")]) -> None:
    """Counts, reject reasons, modality and age/gender tables of a built dataset."""
    rec_path = out / "records.jsonl"
    if not rec_path.exists():
        console.print(f"[red]error:[/red] {rec_path} not found: is {out} a dataset built by `mmskin build`?")
        raise typer.Exit(2)
    records = [json.loads(line) for line in rec_path.read_text().splitlines() if line.strip()]
    kept = [r for r in records if r["kept"]]
    out_console.print(f"{out}: {len(records)} records, {len(kept)} kept, {len(records) - len(kept)} rejected")
    reasons = Counter(x for r in records for x in r["reject_reasons"])
    _table("reject reasons", ["reason", "records"], sorted(reasons.items(), key=lambda kv: -kv[1]))
    _table("modality (kept)", ["modality", "records"], sorted(Counter(r["modality"] for r in kept).items()))
    _table("age group x gender (kept)", ["age group", "gender", "records"],
           sorted(Counter((r.get("age_group") or "unknown", r.get("gender") or "unknown") for r in kept).items()))
    per_book = Counter((r["source_pdf"], r["kept"]) for r in records)
    books = sorted({r["source_pdf"] for r in records})
    _table("books", ["book", "kept", "rejected"], [(b, per_book[(b, True)], per_book[(b, False)]) for b in books])


def _table(title: str, cols: list[str], rows) -> None:
    t = Table(title=title)
    for c in cols:
        t.add_column(c)
    for row in rows:
        if len(row) == 2 and isinstance(row[0], tuple):
            row = (*row[0], row[1])
        t.add_row(*[str(x) for x in row])
    out_console.print(t)


SCHEMA_MODELS = ("record", "book", "page", "figure", "caption", "vqapair", "manifest", "settings")


@app.command()
def schema(model: Annotated[str, typer.Argument(help="one of: " + ", ".join(SCHEMA_MODELS))] = "record") -> None:
    """Print the JSON Schema of a model (default: Record, the records.jsonl contract)."""
    import schemas

    models = {
        "record": schemas.Record, "book": schemas.Book, "page": schemas.Page, "figure": schemas.Figure,
        "caption": schemas.Caption, "vqapair": schemas.VQAPair, "manifest": schemas.DatasetManifest,
        "settings": schemas.Settings,
    }
    if model.lower() not in models:
        console.print(f"[red]error:[/red] unknown model {model!r}; choose from {', '.join(SCHEMA_MODELS)}")
        raise typer.Exit(2)
    sys.stdout.write(json.dumps(models[model.lower()].model_json_schema(), indent=2) + "\n")


@app.command()
def settings() -> None:
    """Print the default settings as JSON (edit and pass to `mmskin build --config`)."""
    from schemas import Settings

    sys.stdout.write(Settings().model_dump_json(indent=2) + "\n")


@eval_app.command("extraction")
def eval_extraction(
    truth: Annotated[Path, typer.Option(help="ground truth, format detected: a *.truth.json file or a directory of them "
                                             "(sample_pdfs, `eval wrap-images` output), a docling groundtruth JSON or "
                                             "directory of them, a JBC annotation JSON, a PubLayNet COCO JSON")],
    records: Annotated[Path, typer.Option(help="records.jsonl of a build")],
    json_out: Annotated[Optional[Path], typer.Option("--json", help="also write the scores as JSON here")] = None,
    misses: Annotated[bool, typer.Option("--misses", help="also list every unmatched figure and wrong caption")] = False,
) -> None:
    """Figure precision/recall/F1 (IoU >= 0.5), caption accuracy and pair F1 per book, and over all books."""
    from eval.extraction import evaluate, evaluate_misses, scores_table, total_score, unbuilt_books

    for p in (truth, records):
        if not p.exists():
            console.print(f"[red]error:[/red] {p} not found")
            raise typer.Exit(2)
    try:
        scores = evaluate(truth, records)
    except ValueError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    _print_scores(scores + [total_score(scores)] if len(scores) > 1 else scores)
    skipped = unbuilt_books(truth, records)
    if skipped:
        console.print(f"not scored (not inputs of this build): {len(skipped)} truth book(s): "
                      + ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""))
    if misses:
        for line in evaluate_misses(truth, records):
            out_console.print(line, markup=False, highlight=False, soft_wrap=True)
    if json_out:
        json_out.write_text(json.dumps(scores_table(scores), indent=2) + "\n")


def _print_scores(scores) -> None:
    t = Table(title="extraction")
    cols = ["book", "truth", "pred", "matched", "P", "R", "F1", "caption acc", "pair F1"]
    for c in cols:
        t.add_column(c, no_wrap=c == "book")
    for s in scores:
        t.add_row(s.book, str(s.n_truth), str(s.n_pred), str(s.matched), f"{s.precision:.3f}", f"{s.recall:.3f}",
                  f"{s.f1:.3f}", "-" if s.caption_accuracy is None else f"{s.caption_accuracy:.3f}",
                  "-" if s.pair_f1 is None else f"{s.pair_f1:.3f}")
    out_console.print(t)


@eval_app.command("wrap-images")
def eval_wrap_images(
    coco: Annotated[Path, typer.Option(help="a COCO JSON (PubLayNet) whose page images lie beside it")],
    out: Annotated[Path, typer.Option("--out", "-o", help="directory for <image stem>.pdf and .truth.json files")],
    dpi: Annotated[float, typer.Option(help="resolution the images are taken to have: page size = pixels * 72 / dpi")] = 72.0,
) -> None:
    """Wrap each page image into a one-page image-only PDF, with its figure boxes as truth (in PDF points)."""
    from eval.publaynet import wrap_images

    if not coco.exists():
        console.print(f"[red]error:[/red] {coco} not found")
        raise typer.Exit(2)
    pdfs = wrap_images(coco, out, dpi=dpi)
    out_console.print(f"wrote {len(pdfs)} PDFs and their truth files to {out}")


modality_app = typer.Typer(help="The modality classifier: fit a model, predict images.", no_args_is_help=True)
app.add_typer(modality_app, name="modality")


@modality_app.command("fit")
def modality_fit(
    labels: Annotated[Optional[Path], typer.Option(help="CSV with columns file,modality (file relative to --images)")] = None,
    images: Annotated[Optional[Path], typer.Option(help="directory the CSV's files are relative to (default: the CSV's)")] = None,
    overrides: Annotated[Optional[Path], typer.Option(help="curator corrections, JSON lines {\"image\": ..., \"modality\": ...} "
                                                          "(e.g. DIR/overrides.jsonl; see flows/modality.py)")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="model file to write")] = Path("modality.npz"),
    card: Annotated[Optional[Path], typer.Option(help="also write a markdown model card here")] = None,
    seed: Annotated[int, typer.Option(help="seed of the procedural images, the folds and the models")] = 0,
    folds: Annotated[int, typer.Option(help="cross-validation folds")] = 5,
    synthetic: Annotated[bool, typer.Option(help="add our procedural 'other' (and photo-like) images")] = True,
    other_per_kind: Annotated[int, typer.Option(help="procedural images per 'other' kind")] = 20,
    photo_per_kind: Annotated[int, typer.Option(help="procedural images per clinical/dermoscopy/pathology kind")] = 12,
    candidates: Annotated[Optional[str], typer.Option(help="comma-separated candidate names (default: all)")] = None,
    workers: Annotated[int, typer.Option(help="processes for features; 0 = all cores")] = 0,
) -> None:
    """Train the image model: features, model and C chosen by stratified k-fold CV, refit, save (npz of arrays + JSON metadata)."""
    from flows import modality as mf
    from pipeline.modality.model import candidates as all_candidates

    for p in (labels, images, overrides):
        if p is not None and not p.exists():
            console.print(f"[red]error:[/red] {p} not found")
            raise typer.Exit(2)
    if labels is None and overrides is None:
        console.print("[red]error:[/red] give --labels CSV (and --images DIR) and/or --overrides FILE")
        raise typer.Exit(2)
    only = [c.strip() for c in candidates.split(",") if c.strip()] if candidates else None
    unknown = sorted(set(only or []) - set(all_candidates()))
    if unknown:
        console.print(f"[red]error:[/red] unknown candidate(s) {unknown}; choose from {', '.join(all_candidates())}")
        raise typer.Exit(2)
    try:
        ts = mf.training_set(images, labels, overrides, seed=seed, synthetic=synthetic,
                             other_per_kind=other_per_kind, photo_per_kind=photo_per_kind)
        model, errors = mf.fit(ts, out, seed=seed, folds=folds, workers=workers, only=only,
                               log=lambda m: console.print(f"[dim]{m}[/dim]"))
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    for e in errors[:20]:
        console.print(f"[yellow]skipped:[/yellow] {e}")
    meta = model.meta
    t = Table(title=f"cross-validation ({meta['cv'][meta['model']]['folds']} folds)")
    sources = list(meta["cv"][meta["model"]]["by_source"])
    for c in ["candidate", "acc", "macro-F1"] + [f"{g} acc" for g in sources] + [f"{g} macro-F1" for g in sources]:
        t.add_column(c)
    for name, r in meta["cv"].items():
        t.add_row(name + (" *" if name == meta["model"] else ""), f"{r['all']['accuracy']:.4f}", f"{r['all']['macro_f1']:.4f}",
                  *[f"{r['by_source'][g]['accuracy']:.4f}" for g in sources],
                  *[f"{r['by_source'][g]['macro_f1']:.4f}" for g in sources])
    out_console.print(t)
    for g in sources:
        sc = meta["cv"][meta["model"]]["by_source"][g]
        _table(f"confusion, {g} (rows truth)", ["truth"] + sc["labels"],
               [(lab, *row) for lab, row in zip(sc["labels"], sc["confusion"])])
    size = out.stat().st_size
    out_console.print(f"wrote {out} ({size / 1024:.0f} KiB, {meta['model']}, {meta['n_samples']} images); use it with "
                      f"MMSKIN_MODALITY__MODEL_PATH={out} or modality.model_path in a --config file")
    if card:
        card.write_text(mf.model_card(meta, str(out), size, model.sha256 or ""))
        out_console.print(f"wrote {card}")


@modality_app.command("predict")
def modality_predict(
    images: Annotated[list[Path], typer.Argument(help="image files and/or directories of images")],
    model: Annotated[Optional[Path], typer.Option(help="model file (default: modality.model_path of the settings, "
                                                       "else the shipped model)")] = None,
    config: Annotated[Optional[Path], typer.Option(help="settings JSON (see `mmskin settings`)")] = None,
    workers: Annotated[int, typer.Option(help="processes for features; 0 = all cores")] = 0,
) -> None:
    """Print one JSON line per image: {"image", "modality", "confidence"} (or {"image", "error"})."""
    from flows.modality import expand_images, predict_files
    from pipeline.modality.model import ModelError

    path = str(model) if model else _load_settings(config).modality.model_path
    files = expand_images(images)
    if not files:
        console.print("[red]error:[/red] no images given")
        raise typer.Exit(2)
    try:
        results = predict_files(files, path, workers)
    except ModelError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    for r in results:
        sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")
    failed = sum("error" in r for r in results)
    if failed:
        console.print(f"{failed} of {len(results)} image(s) could not be read")
    if failed == len(results):
        raise typer.Exit(1)


bench_app = typer.Typer(help="Benchmarks: ratios measured in one run.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("incremental")
def bench_incremental(
    books: Annotated[list[Path], typer.Argument(help="PDF files and/or directories")],
    generate_pages: Annotated[int, typer.Option(help="also build a generated book of this many pages (temp dir)")] = 0,
) -> None:
    """A cold build, then an identical one: wall seconds (Prefect start included), ratio, stages recomputed."""
    from eval.bench import incremental, report

    result = incremental([str(b) for b in books], generate_pages=generate_pages)
    sys.stdout.write(report(result) + "\n")


def _pdf_inputs(paths: list[Path]) -> list[Path]:
    files = []
    for p in paths:
        if p.is_dir():
            files += sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() == ".pdf")
        elif p.is_file():
            files.append(p)
        else:
            console.print(f"[red]error:[/red] {p}: no such file or directory")
            raise typer.Exit(2)
    return list(dict.fromkeys(files))


@bench_app.command("extraction")
def bench_extraction(
    pdfs: Annotated[Optional[list[Path]], typer.Argument(help="PDF files and/or directories")] = None,
    generate_pages: Annotated[int, typer.Option(help="add a generated born-digital book of this many pages")] = 0,
    scanned_pages: Annotated[int, typer.Option(help="add a generated scanned (image-only) book of this many pages")] = 0,
    workers: Annotated[int, typer.Option(help="OCR processes for ours and the floor; 0 = all cores")] = 0,
    peer: Annotated[bool, typer.Option(help="run the peer (pymupdf4llm) when a Python with it is found")] = True,
    peer_python: Annotated[Optional[str], typer.Option(help="Python of the peer's environment (default: $MMSKIN_PEER_PYTHON or /tmp/mmskin-peer)")] = None,
    peer_max_pages: Annotated[int, typer.Option(help="pages per PDF the peer reads at most")] = 20,
    rss: Annotated[bool, typer.Option(help="measure peak RSS on the largest generated book (fresh process)")] = True,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="also write every number as JSON here")] = None,
) -> None:
    """Seconds per page of our extraction vs the floor (raw PyMuPDF; tesseract alone for scanned pages) and
    the peer, as ratios, measured in one run on the same PDFs; peak RSS; cost per page along a large book."""
    from eval.bench import extraction, extraction_text

    files = _pdf_inputs(pdfs or [])
    if not files and not generate_pages and not scanned_pages:
        console.print("[red]error:[/red] give PDFs and/or --generate-pages / --scanned-pages")
        raise typer.Exit(2)
    r = extraction(files, generate_pages=generate_pages, scanned_pages=scanned_pages, workers=workers,
                   peer_python=peer_python, peer=peer, peer_max_pages=peer_max_pages, rss=rss,
                   log=lambda msg: console.print(f"[dim]{msg}[/dim]"))
    t = Table(title="mmskin bench extraction (s/page; ratio = / floor)")
    cols = ["pdf", "kind", "pages", "ours", "floor", "ratio", "CPU ours/floor", "ours figs (match/truth, capt ok)"]
    if r["peer"]["installed"]:
        cols += ["peer pages", "peer", "peer ratio", "peer pics (match/found/truth)", "peer capt ok"]
    for c in cols:
        t.add_column(c, no_wrap=c == "pdf")

    def fmt(v, nd=4):
        return "-" if v is None else f"{v:.{nd}f}"

    for b in r["books"]:
        f = b.get("figures")
        row = [b["pdf"], b["kind"], str(b["pages"]), fmt(b["ours"]["s_per_page"]), fmt(b["floor"]["s_per_page"]),
               fmt(b["ratio"], 2), f"{b['ours']['cpu_util']:.0%}/{b['floor']['cpu_util']:.0%}",
               f"{f['matched']}/{f['truth']}, {f['captions_right']}" if f else "-"]
        if r["peer"]["installed"]:
            p = b.get("peer") or {}
            pf = p.get("figures")
            row += [str(p.get("pages", "-")), fmt(p.get("s_per_page")), fmt(p.get("ratio"), 2),
                    f"{pf['matched']}/{pf['pictures']}/{pf['truth']}" if pf else "-",
                    f"{pf['captions_right']}/{pf['truth']}" if pf else "-"]
        t.add_row(*row)
    out_console.print(t)
    out_console.print(extraction_text(r), highlight=False)
    if json_out:
        json_out.write_text(json.dumps(r, indent=2) + "\n")


@bench_app.command("modality")
def bench_modality(
    n: Annotated[int, typer.Option(help="number of generated images")] = 100,
    workers: Annotated[int, typer.Option(help="processes for `modality predict`; 0 = all cores")] = 0,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="also write the numbers as JSON here")] = None,
) -> None:
    """`mmskin modality predict` on N generated images (whole command: start-up, pool, model): images/s."""
    from eval.bench import modality_predict

    r = modality_predict(n, workers)
    out_console.print(
        f"modality predict: {r['n']} images ({r['mean_side_px']} px mean side) in {r['cli_wall_s']:.2f} s with "
        f"{r['workers']} worker(s): {r['images_per_s']:.1f} images/s (features alone, one core: "
        f"{r['features_ms_per_image']:.1f} ms/image); {r['predicted']} predicted, {r['errors']} errors"
    )
    if json_out:
        json_out.write_text(json.dumps(r, indent=2) + "\n")


if __name__ == "__main__":
    app()
