"""`mmskin eval vqa`: answer the questions of a LLaVA test file (or MM-Skin's CSV) with a model, or read
existing answers, and score them (eval.vqa_metrics) overall, per modality and per kind (caption / vqa)."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Callable

from eval import vqa_metrics as vm
from eval.report import write_report
from schemas.jsonl import json_lines
from training.data import DataError, load_samples
from training.template import IMAGE_PLACEHOLDER

METRIC_LABELS = {"bleu1": "BLEU-1", "bleu2": "BLEU-2", "bleu3": "BLEU-3", "bleu4": "BLEU-4", "rougeL": "ROUGE-L",
                 "token_recall": "token recall"}


def _question(text: str) -> str:
    return text.replace(IMAGE_PLACEHOLDER, "").strip()


def load_items(data: Path, image_folder: Path | None = None) -> tuple[list[dict], list[str]]:
    """Questions with references: every (human, gpt) turn of a LLaVA JSON file becomes one single-turn question
    on the record's image (id ``<record id>#<turn>``), or every row of a CSV with columns image, question, answer
    (and optionally id, modality), as MM-Skin's VQA test file. Returns (items, error lines)."""
    data = Path(data)
    if data.suffix.lower() == ".csv":
        return _csv_items(data, image_folder)
    samples, errors = load_samples(data, image_folder)
    items = []
    for s in samples:
        kind = "caption" if s.id.endswith("-cap") else "vqa"
        for k, (q, a) in enumerate(s.turns, start=1):
            items.append({"id": f"{s.id}#{k}", "image": s.image, "question": _question(q), "reference": a,
                          "modality": s.modality or "unknown", "kind": kind})
    return items, errors


def _csv_items(path: Path, image_folder: Path | None) -> tuple[list[dict], list[str]]:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    root = Path(image_folder) if image_folder else path.parent
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"image", "question", "answer"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))} (need image, question, answer)")
        rows = list(reader)
    items, errors = [], []
    for i, r in enumerate(rows):
        rid = r.get("id") or f"row{i + 1}"
        name = f"{path} row {i + 1} (id {rid!r})"
        if not (r.get("question") or "").strip() or not (r.get("answer") or "").strip():
            errors.append(f"{name}: empty question or answer")
            continue
        img = (root / r["image"]).resolve() if r.get("image") else None
        if img is not None and not img.is_file():
            errors.append(f"{name}: image {r['image']!r} not found (looked for {img})")
            continue
        items.append({"id": rid, "image": img, "question": _question(r["question"]), "reference": r["answer"],
                      "modality": r.get("modality") or "unknown", "kind": "vqa"})
    return items, errors


def read_predictions(path: Path) -> tuple[dict[str, str], list[str]]:
    """JSON lines {"id", "prediction"} ("answer" or "text" are read too). Returns (id -> text, error lines)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    preds, errors = {}, []
    for n, obj, bad in json_lines(path.read_text(encoding="utf-8").splitlines()):
        if bad:
            errors.append(f"{path} line {n}: not valid JSON ({bad})")
            continue
        text = next((obj.get(k) for k in ("prediction", "answer", "text") if isinstance(obj, dict) and k in obj), None)
        if not isinstance(obj, dict) or "id" not in obj or not isinstance(text, str):
            errors.append(f"{path} line {n}: expected {{\"id\": ..., \"prediction\": \"...\"}}")
            continue
        preds[str(obj["id"])] = text
    return preds, errors


def score_items(items: list[dict], bleu_weights) -> dict:
    return {
        "by_modality": vm.score_groups(items, "modality", bleu_weights),
        "by_kind": {k: v for k, v in vm.score_groups(items, "kind", bleu_weights).items() if k != "overall"},
    }


def run(data: Path, out: Path, settings, model: Path | None = None, predictions: Path | None = None,
        image_folder: Path | None = None, template: str | None = None,
        log: Callable[[str], None] = lambda m: None) -> dict:
    """Generate (model) or read (predictions) the answers, score, write the report; returns the report dict."""
    if (model is None) == (predictions is None):
        raise ValueError("give either a model or a predictions file")
    t0 = time.perf_counter()
    items, errors = load_items(data, image_folder)
    for e in errors:
        log(f"bad record: {e}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    gen_seconds = None
    source: dict = {}
    if model is not None:
        from eval.generate import generate, load_for_inference

        loaded = load_for_inference(model, template)
        log(f"{len(items)} questions, template {loaded.template.name}, device {loaded.device}")
        tg = time.perf_counter()
        answers = generate(loaded, [(it["question"], it["image"]) for it in items], settings.max_new_tokens,
                           settings.temperature, settings.seed, settings.batch_size,
                           on_error=lambda i, m: errors.append(f"{items[i]['id']}: {m}"))
        gen_seconds = time.perf_counter() - tg
        kept = []
        for it, a in zip(items, answers):
            if a is not None:
                it["prediction"] = a
                kept.append(it)
        items = kept
        with (out / "predictions.jsonl").open("w", encoding="utf-8") as f:
            for it in items:
                f.write(json.dumps({"id": it["id"], "prediction": it["prediction"]}, ensure_ascii=False) + "\n")
        source = {"model": str(model), "template": loaded.template.name, "device": loaded.device,
                  "decoding": "greedy" if settings.temperature == 0 else f"sampling, temperature {settings.temperature}",
                  "seed": settings.seed, "max_new_tokens": settings.max_new_tokens}
    else:
        preds, perr = read_predictions(predictions)
        errors += perr
        missing = [it["id"] for it in items if it["id"] not in preds]
        unmatched = sorted(set(preds) - {it["id"] for it in items})
        for it in items:
            it["prediction"] = preds.get(it["id"], "")
        source = {"predictions": str(predictions), "missing_predictions": len(missing),
                  "unmatched_predictions": len(unmatched), "missing_ids": missing[:50]}
        if missing:
            log(f"{len(missing)} question(s) have no prediction: scored as empty answers")
    scores = score_items(items, settings.compat_bleu_weights)
    report = {"data": str(data), "n_questions": len(items), **source, "errors": errors,
              "seconds": time.perf_counter() - t0, "generation_seconds": gen_seconds,
              "units": "percent", **scores}
    _write(out, report)
    return report


def _write(out: Path, report: dict) -> None:
    header = ["group", "n", "scheme"] + list(METRIC_LABELS.values())
    rows, panels = [], {s: {} for s in vm.SCHEMES}
    groups = {**report["by_modality"], **{f"kind: {k}": v for k, v in report["by_kind"].items()}}
    for g, sc in groups.items():
        for scheme in vm.SCHEMES:
            rows.append([g, sc["n"], scheme] + [sc[scheme][m] for m in METRIC_LABELS])
    for g, sc in report["by_modality"].items():
        for scheme in vm.SCHEMES:
            panels[scheme][g] = {METRIC_LABELS[m]: sc[scheme][m] for m in METRIC_LABELS}
    notes = ["scores in percent; mmskin-compat = MM-Skin's VQA_test.py (nltk corpus_bleu on whitespace tokens, no "
             "smoothing; ROUGE-L F of the `rouge` package); normalized = lower case, punctuation stripped, "
             "sacrebleu + rouge-score"]
    if report.get("errors"):
        notes.append(f"{len(report['errors'])} record(s) left out: see report.json 'errors'")
    if report.get("missing_predictions"):
        notes.append(f"{report['missing_predictions']} question(s) had no prediction and were scored as empty")
    write_report(out, report, f"VQA: {Path(report['data']).name}", header, rows, panels, notes=notes)
