"""Figure/caption extraction scores against ground truth.

Per book: figure precision/recall/F1 at IoU >= 0.5 (one-to-one matching by IoU), caption accuracy among
matched figures (normalised text similarity >= 0.9), and pair F1 (a predicted figure counts when its box
matches AND its caption is right).

Predicted figures are built from records.jsonl: records sharing a ``figure_id`` form one figure (their boxes
united); records rejected only as "not a figure" (decorations, uncaptioned vector clusters) are not
predictions.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

NOT_A_FIGURE = {"decoration_small", "decoration_repeated", "decoration_rule", "vector_uncaptioned"}
IOU_MIN = 0.5
CAPTION_SIM_MIN = 0.9


@dataclass
class TruthFigure:
    page: int
    bbox: tuple[float, float, float, float]
    caption: str | None = None  # None: the format has no captions (PubLayNet)


@dataclass
class PredFigure:
    page: int
    bbox: tuple[float, float, float, float]
    caption: str = ""
    record_ids: list[str] = field(default_factory=list)


@dataclass
class BookScore:
    book: str
    n_truth: int
    n_pred: int
    matched: int
    precision: float
    recall: float
    f1: float
    caption_accuracy: float | None
    pair_f1: float | None


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = re.sub(r"[^\w\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def text_similarity(a: str, b: str) -> float:
    a, b = normalise_text(a), normalise_text(b)
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def predicted_figures(records: list[dict]) -> dict[str, list[PredFigure]]:
    """Group records into predicted figures per source PDF."""
    groups: dict[tuple[str, str], PredFigure] = {}
    for r in records:
        if set(r.get("reject_reasons") or []) & NOT_A_FIGURE:
            continue
        key = (r["source_pdf"], r.get("figure_id") or r["id"])
        b = r["bbox"]
        if key in groups:
            g = groups[key]
            g.bbox = (min(g.bbox[0], b[0]), min(g.bbox[1], b[1]), max(g.bbox[2], b[2]), max(g.bbox[3], b[3]))
            g.record_ids.append(r["id"])
        else:
            groups[key] = PredFigure(page=r["page"], bbox=tuple(b), caption=r.get("caption") or "", record_ids=[r["id"]])
    out: dict[str, list[PredFigure]] = {}
    for (pdf, _fid), fig in groups.items():
        out.setdefault(pdf, []).append(fig)
    return out


def score_book(book: str, truth: list[TruthFigure], pred: list[PredFigure]) -> BookScore:
    matches: list[tuple[int, int]] = []
    if truth and pred:
        m = np.zeros((len(truth), len(pred)))
        for i, t in enumerate(truth):
            for j, p in enumerate(pred):
                if t.page == p.page:
                    m[i, j] = iou(t.bbox, p.bbox)
        rows, cols = linear_sum_assignment(-m)
        matches = [(i, j) for i, j in zip(rows, cols) if m[i, j] >= IOU_MIN]
    tp = len(matches)
    precision = tp / len(pred) if pred else (1.0 if not truth else 0.0)
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    has_captions = any(t.caption is not None for t in truth)
    caption_acc = pair_f1 = None
    if has_captions:
        good = sum(1 for i, j in matches if text_similarity(truth[i].caption or "", pred[j].caption) >= CAPTION_SIM_MIN)
        caption_acc = good / tp if tp else 0.0
        pp = good / len(pred) if pred else 0.0
        pr = good / len(truth) if truth else 0.0
        pair_f1 = 2 * pp * pr / (pp + pr) if pp + pr else 0.0
    return BookScore(
        book=book, n_truth=len(truth), n_pred=len(pred), matched=tp, precision=round(precision, 4),
        recall=round(recall, 4), f1=round(f1, 4),
        caption_accuracy=None if caption_acc is None else round(caption_acc, 4),
        pair_f1=None if pair_f1 is None else round(pair_f1, 4),
    )


def load_sample_truth(path: Path) -> tuple[str, list[TruthFigure]]:
    """Our sample_pdfs truth format (``*.truth.json``)."""
    d = json.loads(path.read_text())
    figs = [TruthFigure(page=f["page"], bbox=tuple(f["bbox"]), caption=f.get("caption") or "") for f in d["figures"]]
    return d["pdf"], figs


def truth_files(truth: Path) -> list[Path]:
    return sorted(truth.glob("*.truth.json")) if truth.is_dir() else [truth]


def evaluate(truth: Path, records_path: Path) -> list[BookScore]:
    records = [json.loads(line) for line in records_path.read_text().splitlines() if line.strip()]
    preds = predicted_figures(records)
    scores = []
    for tf in truth_files(truth):
        pdf, figs = load_sample_truth(tf)
        scores.append(score_book(pdf, figs, preds.get(pdf, [])))
    return scores


def scores_table(scores: list[BookScore]) -> list[dict]:
    return [asdict(s) for s in scores]
