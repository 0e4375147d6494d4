"""The layout-variation benchmark: pair F1, crop IoU and panel accuracy per variation class.

    mmskin bench layouts --seed 1 --books 40 [--json FILE] [--workers W] [--force placement=split] [--out DIR]

Books come from ``synth.layouts`` (a grammar of the variations publishers use: label words and numbers,
label and caption typography, caption placement, split captions, page furniture, panels, vector figures,
scans; see its module notes). Each book is generated and run through the pure extraction pipeline exactly
as ``mmskin bench extraction`` runs it (``pipeline.ingest.ingest`` -> ``pipeline.extract.extract_book`` ->
``pipeline.figures.build_records``; no Prefect), one book per job in ``flows.pool.ProcessPool`` (each job
uses the built-in ``map`` inside its worker), then scored against the book's truth:

- predicted figures are built from the records as ``eval extraction`` builds them
  (``eval.extraction.predicted_figures``: records grouped by figure_id, "not a figure" rejects left out) and
  matched one to one to the truth figures at IoU >= 0.5 (``eval.extraction.match_figures``);
- a **pair** is a matched truth figure whose predicted caption ``caption_matches`` the truth caption;
- every truth figure counts in each of its classes (``classes`` of the truth figure: figure, page and book
  axes); a prediction counts in the classes of the truth figure it matches; an unmatched prediction is a
  false positive of its page's classes (book and page axes) and of "overall";
- per class: ``n`` truth figures, ``pred`` predictions, ``matched`` (IoU >= 0.5), ``pairs``,
  ``precision`` = pairs / pred, ``recall`` = pairs / n, ``f1`` (pair F1), ``detect_recall`` = matched / n,
  ``caption_acc`` = pairs / matched, ``mean_iou`` of the matched crops, ``tight`` = share of matched crops
  with IoU >= 0.9, ``panels`` truth panels (of figures with 2+) and ``panel_acc`` = share of them covered at
  IoU >= 0.5 by a record of the matched prediction that has the right panel letter (one to one);
  ``fp`` unmatched predictions counted there.

Rows are sorted by F1 (then n) ascending; ``failures`` lists every miss, wrong caption, false positive and
wrong panel with book, page, boxes and captions, and ``examples(result, class)`` picks some for a class.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable, Dict, Optional

ROW_KEYS = ("class", "axis", "value", "n", "pred", "matched", "pairs", "fp", "precision", "recall", "f1",
            "detect_recall", "caption_acc", "mean_iou", "tight", "panels", "panel_acc")
OVERALL = "overall"


# ---------------------------------------------------------------- one book (runs in a pool worker)

def book_job(job: tuple) -> dict:
    """Generate book ``index`` of ``seed`` and run the extraction on it: {name, truth, records, seconds}.
    ``job`` = (seed, index, force, out_dir or None)."""
    from pipeline.extract import extract_book
    from pipeline.figures import build_records
    from pipeline.ingest import ingest
    from schemas import Settings
    from synth.layouts import make_book

    seed, index, force, out_dir = job
    t0 = time.perf_counter()
    pdf, truth = make_book(seed, index, force)
    t1 = time.perf_counter()
    name = truth["pdf"]
    if out_dir:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(pdf)
        (out / (Path(name).stem + ".truth.json")).write_text(json.dumps(truth, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    settings = Settings()
    error = None
    records: list[dict] = []
    try:
        book = ingest(pdf, name, settings.extract)
        extracted = extract_book(pdf, book, settings.extract, mapper=map, captions=settings.captions)
        items, _report = build_records(extracted, settings.captions, settings.align, mapper=map)
        records = [it.record.model_dump(mode="json", include={"id", "source_pdf", "page", "bbox", "figure_id", "panel",
                                                                "caption", "subcaption", "figure_label",
                                                                "reject_reasons"}) for it in items]
    except Exception as exc:  # a pipeline crash is a result too: every figure of the book is missed
        error = f"{type(exc).__name__}: {exc}"
    t2 = time.perf_counter()
    return {"name": name, "truth": truth, "records": records, "error": error, "pages": truth["page_count"],
            "scanned": truth["scanned"], "gen_s": round(t1 - t0, 3), "run_s": round(t2 - t1, 3)}


# ---------------------------------------------------------------- scoring

class _Acc:
    __slots__ = ("n", "pred", "matched", "pairs", "fp", "iou_sum", "tight", "panels", "panels_ok")

    def __init__(self):
        self.n = self.pred = self.matched = self.pairs = self.fp = 0
        self.iou_sum = 0.0
        self.tight = self.panels = self.panels_ok = 0

    def row(self, name: str) -> dict:
        from eval.extraction import f1_of

        axis, _, value = name.partition("=")
        p = self.pairs / self.pred if self.pred else (1.0 if not self.n else 0.0)
        r = self.pairs / self.n if self.n else 1.0

        def rd(v):
            return None if v is None else round(v, 4)

        return {"class": name, "axis": axis if value else name, "value": value or None, "n": self.n,
                "pred": self.pred, "matched": self.matched, "pairs": self.pairs, "fp": self.fp,
                "precision": rd(p), "recall": rd(r), "f1": rd(f1_of(p, r)),
                "detect_recall": rd(self.matched / self.n) if self.n else None,
                "caption_acc": rd(self.pairs / self.matched) if self.matched else None,
                "mean_iou": rd(self.iou_sum / self.matched) if self.matched else None,
                "tight": rd(self.tight / self.matched) if self.matched else None,
                "panels": self.panels, "panel_acc": rd(self.panels_ok / self.panels) if self.panels else None}


def _panel_hits(truth_fig: dict, pred_records: list[dict]) -> int:
    """Truth panels covered (IoU >= 0.5, one to one) by a record of the prediction with the right letter."""
    from eval.extraction import PredFigure, TruthFigure, match_figures

    tp = [TruthFigure(page=1, bbox=tuple(p["bbox"])) for p in truth_fig["panels"]]
    pp = [PredFigure(page=1, bbox=tuple(r["bbox"])) for r in pred_records]
    return sum(1 for i, j in match_figures(tp, pp)
               if (pred_records[j].get("panel") or "").lower() == truth_fig["panels"][i]["panel"].lower())


def score_book(truth: dict, records: list[dict]) -> tuple[dict[str, _Acc], list[dict]]:
    """Per-class counts of one book and its failures."""
    from eval.extraction import TruthFigure, caption_matches, caption_similarity, iou, match_figures, predicted_figures

    name = truth["pdf"]
    tfigs = truth["figures"]
    truth_list = [TruthFigure(page=f["page"], bbox=tuple(f["bbox"]), caption=f["caption"]) for f in tfigs]
    preds = predicted_figures([r for r in records if r.get("source_pdf", name) == name]).get(name, [])
    by_id = {r["id"]: r for r in records}
    pairs = match_figures(truth_list, preds)
    matched_of = {i: j for i, j in pairs}
    matched_preds = {j for _, j in pairs}
    page_classes = {p["page"]: p["classes"] for p in truth.get("pages", [])}
    acc: dict[str, _Acc] = {}
    failures: list[dict] = []

    def classes_of(c: dict) -> list[str]:
        return [OVERALL] + [f"{k}={v}" for k, v in sorted(c.items())]

    def get(k: str) -> _Acc:
        a = acc.get(k)
        if a is None:
            a = acc[k] = _Acc()
        return a

    for i, f in enumerate(tfigs):
        names = classes_of(f["classes"])
        j = matched_of.get(i)
        pred = preds[j] if j is not None else None
        v = iou(f["bbox"], pred.bbox) if pred else 0.0
        ok = bool(pred) and caption_matches(f["caption"], pred.caption)
        recs = [by_id[r] for r in pred.record_ids if r in by_id] if pred else []
        n_panels = len(f["panels"]) if len(f["panels"]) >= 2 else 0
        hits = _panel_hits(f, recs) if (n_panels and pred) else 0
        for k in names:
            a = get(k)
            a.n += 1
            if pred:
                a.pred += 1
                a.matched += 1
                a.iou_sum += v
                a.tight += v >= 0.9
                a.pairs += ok
            a.panels += n_panels
            a.panels_ok += hits
        base = {"book": name, "page": f["page"], "figure": f["id"], "label": f["label"], "truth_caption": f["caption"],
                "truth_bbox": f["bbox"], "classes": f["classes"]}
        if pred is None:
            # the best-overlapping prediction on the page, if any, says what was found instead
            same = [(iou(f["bbox"], p.bbox), p) for p in preds if p.page == f["page"]]
            best = max(same, key=lambda t: t[0], default=(0.0, None))
            failures.append({**base, "kind": "missed", "pred_caption": best[1].caption if best[1] else None,
                             "pred_bbox": list(best[1].bbox) if best[1] else None, "iou": round(best[0], 3)})
        else:
            if not ok:
                failures.append({**base, "kind": "caption", "pred_caption": pred.caption, "pred_bbox": list(pred.bbox),
                                 "iou": round(v, 3), "similarity": round(caption_similarity(f["caption"], pred.caption), 3)})
            if n_panels and hits < n_panels:
                failures.append({**base, "kind": "panels", "pred_caption": pred.caption, "pred_bbox": list(pred.bbox),
                                 "iou": round(v, 3), "panels_ok": hits, "panels": n_panels,
                                 "pred_panels": [[r.get("panel"), r["bbox"]] for r in recs],
                                 "truth_panels": [[p["panel"], p["bbox"]] for p in f["panels"]]})
    for j, p in enumerate(preds):
        if j in matched_preds:
            continue
        pc = page_classes.get(p.page, {})
        for k in classes_of(pc):
            a = get(k)
            a.pred += 1
            a.fp += 1
        same = [(iou(t.bbox, p.bbox), t) for t in truth_list if t.page == p.page]
        best = max(same, key=lambda t: t[0], default=(0.0, None))
        failures.append({"book": name, "page": p.page, "kind": "false_positive", "pred_caption": p.caption,
                         "pred_bbox": list(p.bbox), "truth_caption": best[1].caption if best[1] else None,
                         "truth_bbox": list(best[1].bbox) if best[1] else None, "iou": round(best[0], 3),
                         "classes": pc})
    return acc, failures


def score(books: list[dict]) -> dict:
    """Rows per class (sorted by F1 ascending), the overall row and every failure, from ``book_job`` results."""
    total: dict[str, _Acc] = {}
    failures: list[dict] = []
    for b in books:
        acc, fails = score_book(b["truth"], b["records"])
        for k, a in acc.items():
            t = total.setdefault(k, _Acc())
            for s in _Acc.__slots__:
                setattr(t, s, getattr(t, s) + getattr(a, s))
        if b.get("error"):
            for f in fails:
                f["error"] = b["error"]
        failures += fails
    rows = [total[k].row(k) for k in total if k != OVERALL]
    rows.sort(key=lambda r: (r["f1"], r["n"] == 0, -r["n"], r["class"]))
    overall = (total.get(OVERALL) or _Acc()).row(OVERALL)
    return {"overall": overall, "classes": rows, "failures": failures}


def coverage(rows: list[dict]) -> list[str]:
    """Axis values of the grammar that no truth figure of the run has (a run too small to show them)."""
    from synth.layouts import AXES

    seen = {r["class"] for r in rows if r["n"]}
    return [f"{a}={v}" for a, vals in AXES.items() for v in vals if f"{a}={v}" not in seen]


# ---------------------------------------------------------------- the run

def layouts(seed: int = 1, books: int = 40, workers: int = 0, force: Optional[Dict[str, str]] = None,
            out_dir: Optional[Path] = None, log: Optional[Callable[[str], None]] = None) -> dict:
    """Generate ``books`` variation books of ``seed``, extract, score per class. See the module notes."""
    from flows.pool import ProcessPool
    from synth.layouts import VERSION, check_force

    log = log or (lambda _m: None)
    force = check_force(force)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # as the build and the extraction benchmark
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = max(1, min(workers or cores, books or 1))
    jobs = [(seed, i, force, str(out_dir) if out_dir else None) for i in range(books)]
    t0 = time.perf_counter()
    pool = ProcessPool(workers)
    try:
        log(f"{books} books (seed {seed}) on {workers} worker(s)")
        results = pool.map(book_job, jobs)
    finally:
        pool.close()
    wall = time.perf_counter() - t0
    scored = score(results)
    return {
        "seed": seed, "books": books, "force": force, "generator_version": VERSION, "workers": workers,
        "wall_s": round(wall, 2),
        "pages": sum(b["pages"] for b in results),
        "scanned_books": sum(1 for b in results if b["scanned"]),
        "gen_s": round(sum(b["gen_s"] for b in results), 2),
        "run_s": round(sum(b["run_s"] for b in results), 2),
        "errors": [{"book": b["name"], "error": b["error"]} for b in results if b["error"]],
        "per_book": [{"book": b["name"], "pages": b["pages"], "scanned": b["scanned"], "figures": len(b["truth"]["figures"]),
                      "gen_s": b["gen_s"], "run_s": b["run_s"]} for b in results],
        "overall": scored["overall"],
        "classes": scored["classes"],
        "missing_classes": coverage(scored["classes"]),
        "failures": scored["failures"],
    }


def _key(f: dict) -> tuple:
    return (f["book"], f["page"], f["kind"], f.get("figure"), tuple(f.get("pred_bbox") or ()))


PANEL_AXES = ("figure", "panel_letters", "panel_ref")


def examples(result: dict, cls: str, k: int = 2, avoid: Optional[set] = None) -> list[dict]:
    """Up to ``k`` failures of class ``cls`` ("axis=value") on different figures, the class's most frequent kind
    of failure first; failures not in ``avoid`` (keys already shown) first, and (for an axis that is not about
    panels or scans) figures of one image before compound ones and born-digital books before scans, which fail
    for reasons of their own."""
    from collections import Counter

    axis, _, value = cls.partition("=")
    avoid = avoid or set()
    fails = [f for f in result["failures"] if (f.get("classes") or {}).get(axis) == value]
    freq = Counter(f["kind"] for f in fails)

    def compound(f: dict) -> bool:
        return axis not in PANEL_AXES and (f.get("classes") or {}).get("figure") in ("row", "grid", "raster_gutter",
                                                                                   "raster_lines", "raster_touching")

    def scanned(f: dict) -> bool:  # scans lose captions for reasons of their own
        return axis not in ("scan", "scan_dpi", "skew") and (f.get("classes") or {}).get("scan") != "digital"

    fails.sort(key=lambda f: (_key(f) in avoid, -freq[f["kind"]], f["kind"], compound(f), scanned(f)))  # stable
    out: list[dict] = []
    figures: set = set()
    books: set = set()
    for other_books in (False, True):
        for f in fails:
            fig = (f["book"], f["page"], f.get("figure") or tuple(f.get("pred_bbox") or ()))
            if len(out) < k and fig not in figures and (other_books or f["book"] not in books):
                figures.add(fig)
                books.add(f["book"])
                out.append(f)
    return out


def _fmt(v, nd: int = 3) -> str:
    return "-" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def _short(text: Optional[str], n: int = 110) -> str:
    if text is None:
        return "-"
    t = " ".join(text.split())
    return repr(t if len(t) <= n else t[: n - 1] + "\u2026")


def _box(b) -> str:
    return "-" if not b else "[" + ", ".join(f"{v:.0f}" for v in b) + "]"


def failure_line(f: dict) -> str:
    head = f"{f['book']} p{f['page']}"
    if f["kind"] == "missed":
        return (f"{head}: MISSED truth {_box(f['truth_bbox'])} {_short(f['truth_caption'])}; best prediction on the page "
                f"{_box(f['pred_bbox'])} IoU {f['iou']:.2f} caption {_short(f['pred_caption'], 80)}"
                + (f" (pipeline error: {f['error']})" if f.get("error") else ""))
    if f["kind"] == "caption":
        return (f"{head}: CAPTION (sim {f['similarity']:.2f}, IoU {f['iou']:.2f}) truth {_short(f['truth_caption'])} vs "
                f"predicted {_short(f['pred_caption'])}")
    if f["kind"] == "panels":
        pp = ", ".join(f"{p or '-'}{_box(b)}" for p, b in f["pred_panels"])
        tp = ", ".join(f"{p}{_box(b)}" for p, b in f["truth_panels"])
        return f"{head}: PANELS {f['panels_ok']}/{f['panels']} right: truth {tp} vs predicted {pp}"
    return (f"{head}: FALSE POSITIVE {_box(f['pred_bbox'])} caption {_short(f['pred_caption'], 80)}; nearest truth "
            f"{_box(f['truth_bbox'])} IoU {f['iou']:.2f} {_short(f['truth_caption'], 60)}")


def report(result: dict, worst: int = 5, per_class: int = 2) -> str:
    """The per-class table (F1 ascending, overall last) and example failures of the ``worst`` classes."""
    cols = ("class", "n", "pred", "match", "pairs", "fp", "P", "R", "F1", "det R", "capt", "IoU", ">=.9", "panels", "pan acc")
    rows = [(r["class"], r["n"], r["pred"], r["matched"], r["pairs"], r["fp"], _fmt(r["precision"]), _fmt(r["recall"]),
             _fmt(r["f1"]), _fmt(r["detect_recall"]), _fmt(r["caption_acc"]), _fmt(r["mean_iou"]), _fmt(r["tight"]),
             r["panels"], _fmt(r["panel_acc"])) for r in result["classes"] + [result["overall"]]]
    widths = [max(len(str(c)), *(len(str(row[k])) for row in rows)) for k, c in enumerate(cols)]
    lines = ["  ".join(str(c).ljust(widths[k]) if k == 0 else str(c).rjust(widths[k]) for k, c in enumerate(cols))]
    lines.append("  ".join("-" * w for w in widths))
    for n_row, row in enumerate(rows):
        if n_row == len(rows) - 1:
            lines.append("  ".join("-" * w for w in widths))
        lines.append("  ".join(str(c).ljust(widths[k]) if k == 0 else str(c).rjust(widths[k]) for k, c in enumerate(row)))
    o = result["overall"]
    lines.append("")
    lines.append(f"{result['books']} books (seed {result['seed']}{', forced ' + str(result['force']) if result['force'] else ''}), "
                 f"{result['pages']} pages ({result['scanned_books']} scanned books), {o['n']} truth figures; "
                 f"{result['workers']} worker(s), {result['wall_s']} s wall (generation {result['gen_s']} s, pipeline "
                 f"{result['run_s']} s, summed over books)")
    if result["errors"]:
        lines.append(f"pipeline errors: {len(result['errors'])}: " + "; ".join(f"{e['book']}: {e['error']}" for e in result["errors"][:5]))
    if result["missing_classes"]:
        lines.append("grammar values without a figure in this run: " + ", ".join(result["missing_classes"]))
    worst_rows = [r for r in result["classes"] if r["n"] and r["f1"] is not None][:worst]
    if worst_rows and per_class:
        lines.append("")
        lines.append(f"examples of the {len(worst_rows)} worst classes:")
        shown: set = set()
        for r in worst_rows:
            lines.append(f"{r['class']} (F1 {_fmt(r['f1'])}, n {r['n']}):")
            for f in examples(result, r["class"], per_class, shown):
                shown.add(_key(f))
                lines.append("  " + failure_line(f))
    return "\n".join(lines)
