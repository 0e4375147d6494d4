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

from schemas.jsonl import json_lines

app = typer.Typer(help="Turn dermatology textbook PDFs into an MM-Skin-style dataset.", no_args_is_help=True, add_completion=False)
eval_app = typer.Typer(help="Evaluate extraction, VQA and classification.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
console = Console(stderr=True, soft_wrap=True)  # messages name paths: never folded mid-path
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
    vqa_generator: Annotated[Optional[str], typer.Option(help="template (offline, default) | openai (any "
                                                              "OpenAI-compatible server)")] = None,
    llm_model: Annotated[Optional[str], typer.Option(help="model for --vqa-generator openai (default: "
                                                          "$MMSKIN_LLM_MODEL)")] = None,
    llm_base_url: Annotated[Optional[str], typer.Option(help="server URL, e.g. http://localhost:8000/v1 (default: "
                                                             "$OPENAI_BASE_URL, else api.openai.com); key from $OPENAI_API_KEY")] = None,
    with_image: Annotated[Optional[bool], typer.Option("--with-image/--caption-only", help="also send each image "
                                                       "(base64) to the LLM, for vision models; default: caption only")] = None,
) -> None:
    """Build or update a dataset: extraction, captions, alignment, modality, demographics, filters, VQA, export."""
    from flows.inputs import plan_inputs

    t0 = time.perf_counter()
    problems = plan_inputs(books).problems  # before Prefect starts and before anything is written
    for problem in problems:
        console.print(f"[red]error:[/red] {problem}", highlight=False)
    if problems:
        raise typer.Exit(2)
    settings = _load_settings(config)
    from flows.build import RUNNERS, build_dataset

    if runner not in RUNNERS:
        console.print(f"[red]error:[/red] --runner must be one of {', '.join(RUNNERS)}")
        raise typer.Exit(2)
    settings = _vqa_options(settings, vqa_generator, llm_model, llm_base_url, with_image)
    result = build_dataset([str(b) for b in books], str(out), settings, workers, runner, dask_address)
    m = result.manifest
    for err in m["errors"]:
        console.print(f"[red]error:[/red] {err}")
    _print_build_summary(m, time.perf_counter() - t0)
    if m["counts"]["rejected"]:
        out_console.print(f"contact sheet of the rejected records: {out / 'rejects.html'}", highlight=False)
    if m["counts"]["books_ok"] == 0:
        raise typer.Exit(1)


def _vqa_options(settings, generator, model, base_url, with_image):
    """Apply the build command's VQA flags to the settings; exit 2 on a configuration that cannot work."""
    from flows import vqa as vqa_io
    from pipeline.vqa import GENERATORS

    if generator is not None and generator not in GENERATORS:
        console.print(f"[red]error:[/red] --vqa-generator must be one of {', '.join(GENERATORS)}")
        raise typer.Exit(2)
    update = {k: v for k, v in {"generator": generator, "model": model, "base_url": base_url,
                                "with_image": with_image}.items() if v is not None}
    if update:
        vqa = type(settings.vqa).model_validate({**settings.vqa.model_dump(), "api_key": settings.vqa.api_key, **update})
        settings = settings.model_copy(update={"vqa": vqa})
    settings = vqa_io.resolve_env(settings)
    problem = vqa_io.check(settings)
    if problem:
        console.print(f"[red]error:[/red] {problem}")
        raise typer.Exit(2)
    return settings


def _warnings_cell(b: dict) -> str:
    """A book's MuPDF warnings in a few words: "repaired; 75 (format 60, decode 15)", or "-"."""
    w = b.get("warnings") or {}
    counts = w.get("counts") or {}
    parts = ["repaired"] if w.get("repaired") else []
    if counts:
        parts.append(f"{sum(counts.values())} (" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")")
    return "; ".join(parts) or "-"


def _status_cell(b: dict) -> str:
    if b["status"] == "duplicate_input":
        return f"duplicate_input of {Path(b['duplicate_of']).name}"
    return b["status"]


def _print_build_summary(m: dict, seconds: float) -> None:
    t = Table(title="mmskin build")
    for col in ("book", "pages", "records", "kept", "computed", "from cache", "warnings", "status"):
        t.add_column(col, no_wrap=col == "book")
    for b in m["books"]:
        t.add_row(
            b["source_pdf"], str(b.get("n_pages") or "-"), str(b["n_records"]), str(b["n_kept"]),
            ",".join(b["computed_stages"]) or "-", str(len(b["cached_stages"])), _warnings_cell(b), _status_cell(b),
        )
    out_console.print(t)
    for sk in m.get("skipped") or []:
        out_console.print(f"skipped {sk['path']}: {sk['reason']}", highlight=False)
    c = m["counts"]
    out_console.print(
        f"records {c['records']}, kept {c['kept']} ({c['figures_kept']} figures), rejected {c['rejected']}, "
        f"VQA pairs {c['vqa_pairs']}, train/test records {c['train_records']}/{c['test_records']}, "
        f"modality {c['modality']}, {seconds:.1f} s"
    )
    if m["reject_reasons"]:
        out_console.print("reject reasons: " + ", ".join(f"{k} {v}" for k, v in m["reject_reasons"].items()))
    if c.get("notes"):
        out_console.print("notes (records kept): " + ", ".join(f"{k} {v}" for k, v in c["notes"].items()))
    v = m.get("vqa") or {}
    if v.get("generator") == "openai":
        out_console.print(
            f"VQA: {v['model']} (prompt {v['prompt_version']}): {v['calls']} calls ({v['http_requests']} HTTP requests), "
            f"{v['cache_hits']} from cache, {v['failed']} failed, tokens {v['prompt_tokens']} in / "
            f"{v['completion_tokens']} out, estimated cost {v['estimated_cost']:.4f}"
        )


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
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    _print_input_notes(manifest)


def _print_input_notes(m: dict) -> None:
    """What manifest.json says about the inputs beyond their records: MuPDF's warnings on damaged books, inputs
    that repeat another, and files skipped in the input directories."""
    damaged = [b for b in m.get("books", []) if _warnings_cell(b) != "-"]
    if damaged:
        t = Table(title="MuPDF warnings (damaged books, built as far as they could be read)")
        for col in ("book", "warnings", "first messages"):
            t.add_column(col)
        for b in damaged:
            t.add_row(b["source_pdf"], _warnings_cell(b), "\n".join(b["warnings"]["messages"][:5]))
        out_console.print(t)
    for b in m.get("books", []):
        if b["status"] == "duplicate_input":
            out_console.print(f"{b['source_pdf']}: {_status_cell(b)} (same bytes; not built again)", highlight=False)
    for sk in m.get("skipped") or []:
        out_console.print(f"skipped {sk['path']}: {sk['reason']}", highlight=False)


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


def _demographics_line(item_id, text: str, st) -> str:
    from pipeline.demographics import mine_demographics

    d = mine_demographics(text, st)
    return json.dumps({"id": item_id, "age": d.age, "age_group": d.age_group, "gender": d.gender,
                       "evidence": d.evidence}, ensure_ascii=False)


@app.command()
def demographics(
    text: Annotated[Optional[str], typer.Argument(help="a caption or text; without it, JSON lines {\"id\", \"text\"} "
                                                       "are read from stdin")] = None,
    config: Annotated[Optional[Path], typer.Option(help="settings JSON (its `demographics` part is used)")] = None,
) -> None:
    """Mine the depicted patient's age, age group and gender: one JSON line {"id", "age", "age_group", "gender",
    "evidence"} per text (id null for TEXT). A bad input line gets a JSON error line on stderr and the rest goes on."""
    st = _load_settings(config).demographics
    if text is not None:
        sys.stdout.write(_demographics_line(None, text, st) + "\n")
        return
    ok = bad = 0
    for n, obj, not_json in json_lines(sys.stdin):
        item_id, error = None, None
        if not_json:
            error = f"not JSON: {not_json}"
        else:
            if not isinstance(obj, dict):
                error = "expected a JSON object {\"id\", \"text\"}"
            else:
                item_id = obj.get("id")
                if not isinstance(obj.get("text"), str):
                    error = "missing or non-string \"text\""
        if error:
            bad += 1
            sys.stderr.write(json.dumps({"id": item_id, "line": n, "error": error}, ensure_ascii=False) + "\n")
            continue
        sys.stdout.write(_demographics_line(item_id, obj["text"], st) + "\n")
        sys.stdout.flush()
        ok += 1
    if bad and not ok:
        raise typer.Exit(1)


@eval_app.command("demographics")
def eval_demographics(
    data: Annotated[Path, typer.Option(help="JSON lines {\"id\", \"text\", \"age\", \"age_group\", \"gender\", "
                                            "\"source\"} (e.g. ../shared/data/captions/demographics_dev.jsonl)")],
    config: Annotated[Optional[Path], typer.Option(help="settings JSON (its `demographics` part is used)")] = None,
    wrong: Annotated[bool, typer.Option("--wrong", help="also list every row with a wrong value")] = False,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="also write the scores as JSON here")] = None,
) -> None:
    """Age exact (|error| < 0.5 y), invented ages, gender and age-group accuracy of the rule-based miner, per
    category (the data set a text came from) and over all rows."""
    from eval.demographics import read_rows, score
    from pipeline.demographics import mine_demographics

    if not data.exists():
        console.print(f"[red]error:[/red] {data} not found")
        raise typer.Exit(2)
    st = _load_settings(config).demographics
    rows, errors = read_rows(data)
    for e in errors:
        console.print(f"[yellow]skipped:[/yellow] {e}")
    if not rows:
        console.print(f"[red]error:[/red] {data}: no labelled rows")
        raise typer.Exit(2)
    preds = {}
    for r in rows:
        d = mine_demographics(r["text"], st)
        preds[str(r["id"])] = {"age": d.age, "age_group": d.age_group, "gender": d.gender, "evidence": d.evidence}
    scores, wrong_rows = score(rows, preds)

    def frac(a: int, b: int) -> str:
        return f"{a}/{b} = {a / b:.3f}" if b else "-"

    t = Table(title=f"demographics ({data.name})")
    for c in ("category", "texts", "age exact", "invented age", "gender (all)", "gender (labelled)", "age group"):
        t.add_column(c, no_wrap=True)
    for s in scores:
        t.add_row(s.category, str(s.n), frac(s.age_ok, s.aged), frac(s.invented, s.unaged), frac(s.gender_ok, s.n),
                  frac(s.gendered_ok, s.gendered), frac(s.group_ok, s.n))
    out_console.print(t)
    if wrong:
        for line in wrong_rows:
            out_console.print(line, markup=False, highlight=False, soft_wrap=True)
    if json_out:
        json_out.write_text(json.dumps([s.as_dict() for s in scores], indent=2) + "\n")


@eval_app.command("filters")
def eval_filters(
    truth: Annotated[Optional[Path], typer.Option(help="sample truth (*.truth.json or a directory of them, e.g. "
                                                       "sample_pdfs): figures marked face / overlay")] = None,
    records: Annotated[Optional[Path], typer.Option(help="records.jsonl of a build of those books")] = None,
    images: Annotated[Optional[Path], typer.Option(help="a folder of images with no faces and no annotations "
                                                        "(e.g. ../shared/data/images/dev): false-positive rates")] = None,
    config: Annotated[Optional[Path], typer.Option(help="settings JSON (its `filter` part is used for --images)")] = None,
    workers: Annotated[int, typer.Option(help="processes for --images; 0 = all cores")] = 0,
    listing: Annotated[bool, typer.Option("--list", help="also list misses and flagged images")] = False,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="also write the numbers as JSON here")] = None,
) -> None:
    """Face and overlay filters: recall on the truth-marked figures of a build (reasons identifiable_face,
    annotated_overlay), and false-positive rates of the same checks on a folder of clean images."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    from eval.filters import as_json, sample_recall, scan_folder

    if truth is None and images is None:
        console.print("[red]error:[/red] give --truth and --records, and/or --images")
        raise typer.Exit(2)
    if (truth is None) != (records is None):
        console.print("[red]error:[/red] --truth and --records go together")
        raise typer.Exit(2)
    for p in (truth, records, images):
        if p is not None and not p.exists():
            console.print(f"[red]error:[/red] {p} not found")
            raise typer.Exit(2)
    recalls, folder = [], None
    if truth is not None:
        try:
            recalls = sample_recall(truth, records)
        except ValueError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        t = Table(title=f"filter recall on truth-marked figures ({records})")
        for c in ("filter", "reason", "recall", "false positives (unmarked photos)"):
            t.add_column(c, no_wrap=True)
        for s in recalls:
            t.add_row(s.kind, s.reason, f"{s.found}/{s.n_truth}" + (f" = {s.recall:.3f}" if s.n_truth else ""),
                      f"{len(s.false_positives)}/{s.n_unmarked}" + (f" = {s.fp_rate:.3f}" if s.n_unmarked else ""))
        out_console.print(t)
        if listing:
            for s in recalls:
                for m in s.missed:
                    out_console.print(f"{s.kind} missed: {m}", markup=False, highlight=False)
                for m in s.false_positives:
                    out_console.print(f"{s.kind} false positive: {m}", markup=False, highlight=False)
    if images is not None:
        fs = _load_settings(config).filter
        n = workers or os.cpu_count() or 1
        if n > 1:
            with ProcessPoolExecutor(n) as pool:
                folder = scan_folder(images, fs, mapper=pool.map)
        else:
            folder = scan_folder(images, fs)
        for e in folder.errors:
            console.print(f"[yellow]skipped:[/yellow] {e}")
        if not folder.n:
            console.print(f"[red]error:[/red] {images}: no readable images")
            raise typer.Exit(2)
        t = Table(title=f"false positives on {images} ({folder.n} images)")
        for c in ("filter", "flagged", "false-positive rate"):
            t.add_column(c, no_wrap=True)
        t.add_row("face", str(len(folder.face_flagged)), f"{folder.face_fp_rate:.3f}")
        t.add_row("overlay", str(len(folder.overlay_flagged)), f"{folder.overlay_fp_rate:.3f}")
        out_console.print(t)
        if listing:
            for f in folder.face_flagged:
                out_console.print(f"face flagged: {f}", markup=False, highlight=False)
            for f in folder.overlay_flagged:
                out_console.print(f"overlay flagged: {f}", markup=False, highlight=False)
    if json_out:
        json_out.write_text(json.dumps(as_json(recalls, folder), indent=2) + "\n")


@eval_app.command("extraction")
def eval_extraction(
    truth: Annotated[Path, typer.Option(help="ground truth, format detected: a *.truth.json file or a directory of them "
                                             "(sample_pdfs, `eval wrap-images` output), a docling groundtruth JSON or "
                                             "directory of them, a JBC annotation JSON, a PubLayNet COCO JSON")],
    records: Annotated[Path, typer.Option(help="records.jsonl of a build")],
    json_out: Annotated[Optional[Path], typer.Option("--json", help="also write the scores as JSON here")] = None,
    misses: Annotated[bool, typer.Option("--misses", help="also list every unmatched figure (a missed one with the rejected "
                                                            "record that covers it, if any) and wrong caption")] = False,
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
    t = Table(title="extraction (captioned truth figures; crops of the matched ones; caption-less pictures apart)")
    cols = ["book", "truth", "pred", "matched", "P", "R", "F1", "caption acc", "pair F1", "mean IoU", "IoU>=0.9",
            "takes in neighbour", "caption-less found"]
    for c in cols:
        t.add_column(c, no_wrap=c == "book")
    for s in scores:
        t.add_row(s.book, str(s.n_truth), str(s.n_pred), str(s.matched), f"{s.precision:.3f}", f"{s.recall:.3f}",
                  f"{s.f1:.3f}", "-" if s.caption_accuracy is None else f"{s.caption_accuracy:.3f}",
                  "-" if s.pair_f1 is None else f"{s.pair_f1:.3f}",
                  "-" if s.mean_iou is None else f"{s.mean_iou:.3f}",
                  "-" if s.tight_share is None else f"{s.tight_share:.3f} ({s.tight})", str(s.neighbour_crops),
                  f"{s.detection_only_found}/{s.detection_only}" if s.detection_only else "-")
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


@app.command()
def review(
    dataset: Annotated[Path, typer.Argument(help="a dataset directory made by `mmskin build`")],
    host: Annotated[Optional[str], typer.Option(help="address to serve on (default review.host: 127.0.0.1, this "
                                                     "machine only); anything else is reachable from the network")] = None,
    port: Annotated[Optional[int], typer.Option(help="port (default review.port; 0 = any free port)")] = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="do not open a browser")] = False,
    config: Annotated[Optional[Path], typer.Option(help="settings JSON (see `mmskin settings`)")] = None,
) -> None:
    """A local web page to check and correct records (modality, age, gender, accept/reject, caption). Corrections
    are appended to DATASET/overrides.jsonl; the next `mmskin build` applies them from the stage cache."""
    from flows.review import DatasetError, is_loopback, serve

    st = _load_settings(config).review
    host, port = host or st.host, st.port if port is None else port
    if not 0 <= port <= 65535:
        console.print(f"[red]error:[/red] --port {port} is not a port number")
        raise typer.Exit(2)
    if not is_loopback(host):
        console.print(f"[yellow]warning:[/yellow] serving on {host}: anyone who can reach this machine can read the "
                      "dataset and write overrides (there is no login); the default 127.0.0.1 keeps it local")
    try:
        serve(dataset, host, port, not no_browser, st,
              on_ready=lambda url: console.print(f"mmskin review: {url} (Ctrl+C stops; ? on the page lists the keys)"))
    except DatasetError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except OSError as exc:
        console.print(f"[red]error:[/red] cannot serve on {host}:{port}: {exc}")
        raise typer.Exit(1) from None


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


@bench_app.command("vqa")
def bench_vqa(
    n: Annotated[int, typer.Option(help="number of generated captions")] = 500,
    concurrency: Annotated[int, typer.Option(help="requests in flight")] = 16,
    latency_ms: Annotated[float, typer.Option(help="the fake server's time per answer")] = 200.0,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="also write the numbers as JSON here")] = None,
) -> None:
    """The openai VQA generator against a local fake chat-completions server (loopback): seconds, calls/s, then a
    cached re-run (0 HTTP calls expected). Replies go through the on-disk SQLite cache of `mmskin build`."""
    import tempfile

    from eval.bench_vqa import report, vqa
    from flows.vqa import SqliteCache

    with tempfile.TemporaryDirectory(prefix="mmskin-bench-vqa-") as tmp:
        r = vqa(n, concurrency, latency_ms / 1000, cache_factory=lambda: SqliteCache(Path(tmp) / "llm.sqlite"))
    out_console.print(report(r), highlight=False)
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


@bench_app.command("layouts")
def bench_layouts(
    seed: Annotated[int, typer.Option(help="seed of the generated books (book i is seeded by (seed, i))")] = 1,
    books: Annotated[int, typer.Option(help="number of generated books (4-10 pages each)")] = 40,
    workers: Annotated[int, typer.Option(help="processes (one book per job); 0 = all cores")] = 0,
    force: Annotated[Optional[list[str]], typer.Option(help="pin an axis of the grammar: AXIS=VALUE (repeatable), e.g. placement=split")] = None,
    out: Annotated[Optional[Path], typer.Option(help="also write the generated PDFs and their truth JSON here")] = None,
    worst: Annotated[int, typer.Option(help="show example failures of this many worst classes")] = 5,
    examples: Annotated[int, typer.Option(help="example failures shown per class")] = 2,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="also write every number and failure as JSON here")] = None,
) -> None:
    """Layout variations: generated textbooks (label words, numbering, typography, caption placement, split
    captions, panels, vector figures, scans) through the extraction pipeline; pair F1, crop IoU and panel
    accuracy per variation class, F1 ascending, overall last."""
    from eval.bench_layouts import layouts, report

    pinned = {}
    for item in force or []:
        axis, sep, value = item.partition("=")
        if not sep:
            console.print(f"[red]error:[/red] --force wants AXIS=VALUE, got {item!r}")
            raise typer.Exit(2)
        pinned[axis.strip()] = value.strip()
    if books < 1:
        console.print("[red]error:[/red] --books must be at least 1")
        raise typer.Exit(2)
    try:
        r = layouts(seed=seed, books=books, workers=workers, force=pinned, out_dir=out,
                    log=lambda msg: console.print(f"[dim]{msg}[/dim]"))
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    sys.stdout.write(report(r, worst=worst, per_class=examples) + "\n")
    if json_out:
        json_out.write_text(json.dumps(r, indent=2, ensure_ascii=False) + "\n")


# ---- SkinVL training and evaluation (training/, eval/vqa*, eval/classify) -------------------------------------

def _training_error(exc: Exception) -> None:
    """One unwrapped error line (paths stay whole; brackets in messages are not markup)."""
    from rich.markup import escape

    console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True, highlight=False)


def _training_errors():
    from training.config import ConfigError
    from training.data import DataError
    from training.template import TemplateError
    from training.train import ModelError

    return (ConfigError, DataError, ModelError, TemplateError)


@app.command()
def train(
    config: Annotated[Path, typer.Option("--config", help="training YAML (see training/configs/skinvl_mmskin.yaml)")],
) -> None:
    """LoRA fine-tuning of a local LLaVA model on LLaVA conversations (MM-Skin's recipe); checkpoints and resume."""
    from training.config import load_config
    from training.train import train as run_train

    try:
        cfg = load_config(config)
        summary = run_train(cfg, log=lambda m: console.print(f"[dim]{m}[/dim]", highlight=False))
    except _training_errors() as exc:
        _training_error(exc)
        raise typer.Exit(2) from None
    losses = summary["losses"]
    out_console.print(
        f"trained {summary['steps']} steps on {summary['samples']} conversations ({summary['bad_records']} left out), "
        f"{summary['precision']}, loss {losses[0]:.4f} -> {losses[-1]:.4f}, {summary['seconds']:.1f} s; adapter in "
        f"{summary['output_dir']}" if losses else f"trained {summary['steps']} steps; adapter in {summary['output_dir']}")


@app.command()
def merge(
    base: Annotated[Path, typer.Option(help="the base LLaVA model the adapter was trained on")],
    adapter: Annotated[Path, typer.Option(help="output_dir of `mmskin train` (or one of its checkpoint-N)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="directory for the merged model")],
    precision: Annotated[str, typer.Option(help="auto (bf16 on GPU, fp32 on CPU) | bf16 | fp16 | fp32")] = "auto",
) -> None:
    """Merge a LoRA adapter (and its trained projector) into the base model; save model and processor."""
    from training.merge import merge as run_merge

    if precision not in ("auto", "bf16", "fp16", "fp32"):
        console.print("[red]error:[/red] --precision must be auto, bf16, fp16 or fp32")
        raise typer.Exit(2)
    try:
        path = run_merge(base, adapter, out, precision)
    except _training_errors() as exc:
        _training_error(exc)
        raise typer.Exit(2) from None
    out_console.print(f"merged model written to {path}")


dev_app = typer.Typer(help="Developer tools.", no_args_is_help=True)
app.add_typer(dev_app, name="dev")


@dev_app.command("tiny-model")
def dev_tiny_model(
    out: Annotated[Path, typer.Argument(help="directory to write the model and processor to")],
    seed: Annotated[int, typer.Option(help="seed of the random weights")] = 0,
    corpus: Annotated[Optional[list[Path]], typer.Option(help="LLaVA JSON files whose text the tokenizer also "
                                                               "learns from")] = None,
) -> None:
    """A tiny random LlavaForConditionalGeneration with a locally trained tokenizer and a CLIP image processor
    (offline, seconds on a CPU), for tests and dry runs of train / merge / eval."""
    from training.tiny import build_tiny

    for p in corpus or []:
        if not p.is_file():
            console.print(f"[red]error:[/red] {p}: no such file")
            raise typer.Exit(2)
    path = build_tiny(out, seed=seed, corpus_files=corpus)
    out_console.print(f"tiny LLaVA written to {path}")


@eval_app.command("vqa")
def eval_vqa(
    data: Annotated[Path, typer.Option(help="llava_test.json of a build, or a CSV image,question,answer[,modality] "
                                            "(MM-Skin's VQA test file)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="report directory: report.json, report.md, report.png "
                                                          "(and predictions.jsonl with --model)")],
    model: Annotated[Optional[Path], typer.Option(help="merged model, base model or `mmskin train` output")] = None,
    predictions: Annotated[Optional[Path], typer.Option(help="score these answers instead: JSON lines "
                                                             "{\"id\", \"prediction\"}")] = None,
    images: Annotated[Optional[Path], typer.Option(help="image folder (default: the data file's directory)")] = None,
    template: Annotated[Optional[str], typer.Option(help="conversation template (default: the model's, else "
                                                         "vicuna_v1)")] = None,
    config: Annotated[Optional[Path], typer.Option(help="settings JSON (the 'evaluation' section)")] = None,
) -> None:
    """BLEU-1..4, ROUGE-L and token recall, mmskin-compat (MM-Skin's VQA_test.py) and normalized, overall and per
    modality; greedy decoding with a fixed seed."""
    from eval.vqa import METRIC_LABELS, run

    if (model is None) == (predictions is None):
        console.print("[red]error:[/red] give --model or --predictions (one of them)")
        raise typer.Exit(2)
    settings = _load_settings(config).evaluation
    try:
        rep = run(data, out, settings, model=model, predictions=predictions, image_folder=images, template=template,
                  log=lambda m: console.print(f"[dim]{m}[/dim]", highlight=False))
    except _training_errors() as exc:
        _training_error(exc)
        raise typer.Exit(2) from None
    t = Table(title=f"eval vqa: {data.name} ({rep['n_questions']} questions, percent)")
    for c in ["group", "n", "scheme"] + list(METRIC_LABELS.values()):
        t.add_column(c)
    for g, sc in rep["by_modality"].items():
        for scheme in ("mmskin-compat", "normalized"):
            t.add_row(g, str(sc["n"]), scheme, *["-" if sc[scheme][m] is None else f"{sc[scheme][m]:.2f}"
                                                 for m in METRIC_LABELS])
    out_console.print(t)
    if rep["errors"]:
        console.print(f"{len(rep['errors'])} record(s) left out (see {out / 'report.json'})")
    out_console.print(f"report: {out}/report.json, report.md, report.png ({rep['seconds']:.1f} s)")


@eval_app.command("classify")
def eval_classify(
    mode: Annotated[str, typer.Option(help="sft (linear probe on vision features) | zeroshot (ask the model)")],
    model: Annotated[Path, typer.Option(help="merged model, base model or `mmskin train` output")],
    test: Annotated[Path, typer.Option(help="CSV image,label (or MM-Skin's image,atributes,categories)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="report directory")],
    train: Annotated[Optional[Path], typer.Option("--train", help="CSV the probe is fitted on (--mode sft)")] = None,
    images: Annotated[Optional[Path], typer.Option(help="image folder (default: each CSV's directory)")] = None,
    template: Annotated[Optional[str], typer.Option(help="conversation template for zeroshot")] = None,
    config: Annotated[Optional[Path], typer.Option(help="settings JSON (the 'evaluation' section)")] = None,
) -> None:
    """Accuracy, macro-F1, balanced accuracy and AUROC (sft) of MM-Skin's classification benchmarks."""
    from eval.classify import METRIC_LABELS, METRICS, run

    if mode not in ("sft", "zeroshot"):
        console.print("[red]error:[/red] --mode must be sft or zeroshot")
        raise typer.Exit(2)
    if mode == "sft" and train is None:
        console.print("[red]error:[/red] --mode sft needs --train CSV")
        raise typer.Exit(2)
    settings = _load_settings(config).evaluation
    try:
        rep = run(mode, model, test, out, settings, train=train, images=images, template=template,
                  log=lambda m: console.print(f"[dim]{m}[/dim]", highlight=False))
    except _training_errors() as exc:
        _training_error(exc)
        raise typer.Exit(2) from None
    sc = rep["scores"]
    out_console.print(f"classify {mode}: {rep['n_test']} test images, {len(rep['classes'])} classes: " + ", ".join(
        f"{METRIC_LABELS[m]} {'-' if sc[m] is None else f'{sc[m]:.2f}'}" for m in METRICS))
    if rep["errors"]:
        console.print(f"{len(rep['errors'])} row(s) left out (see {out / 'report.json'})")
    out_console.print(f"report: {out}/report.json, report.md, report.png")


@bench_app.command("train-step")
def bench_train_step(
    shape: Annotated[str, typer.Option(help="7b (LLaVA-Med v1.5 shape; needs a CUDA GPU) | tiny")] = "7b",
    random: Annotated[bool, typer.Option("--random", help="randomly initialised weights (the only mode: nothing "
                                                          "is downloaded)")] = True,
    batch_size: Annotated[int, typer.Option(help="sequences per step")] = 4,
    seq_len: Annotated[int, typer.Option(help="tokens per sequence, image tokens included")] = 1024,
    steps: Annotated[int, typer.Option(help="optimizer steps (the first is not timed)")] = 3,
    no_checkpointing: Annotated[bool, typer.Option("--no-checkpointing", help="without gradient checkpointing")] = False,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="also write the numbers as JSON here")] = None,
) -> None:
    """One LoRA step (r 128, projector trained, bf16 on GPU) on a random LLaVA: peak memory and tokens/s."""
    from training.bench import SHAPES, train_step

    if shape not in SHAPES:
        console.print(f"[red]error:[/red] --shape must be one of {', '.join(SHAPES)}")
        raise typer.Exit(2)
    try:
        r = train_step(shape, batch_size=batch_size, seq_len=seq_len, steps=steps,
                       gradient_checkpointing=not no_checkpointing)
    except (RuntimeError, ValueError) as exc:
        _training_error(exc)
        raise typer.Exit(2) from None
    mem = (f"peak GPU memory {r['peak_gpu_mem_gib']:.1f} GiB allocated / {r['peak_gpu_reserved_gib']:.1f} GiB "
           f"reserved" if "peak_gpu_mem_gib" in r else f"peak RSS {r['peak_rss_mib']:.0f} MiB")
    out_console.print(
        f"train-step {r['shape']} on {r['device']} ({r['dtype']}, checkpointing {r['gradient_checkpointing']}): "
        f"{r['total_params']:,} parameters, {r['trainable_params']:,} trainable; batch {r['batch_size']} x "
        f"{r['seq_len']} tokens: {r['step_s']:.3f} s/step, {r['tokens_per_s']:.0f} tokens/s; {mem}")
    if json_out:
        json_out.write_text(json.dumps(r, indent=2) + "\n")


if __name__ == "__main__":
    app()
