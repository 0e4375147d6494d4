"""Panel-level scores of compound-figure splitting: ``python -m eval.panels --truth T --records OUT/records.jsonl``.

Truth: ``eval/truth/case_reports_panels.json`` (schema ``mmskin-panel-truth/1``: ``figures[]`` with ``pdf``,
``page``, ``label`` and ``panels[]`` of ``panel`` letter and ``bbox`` in PDF points, top-left origin; a figure
with ``panels: []`` is a single picture), or a sample book's ``*.truth.json`` (sample_pdfs: ``pdf`` at the top,
``figures[].panels[]`` the same way), or a directory of either.

Predictions are the records that carry a panel letter (``panel`` set: the pieces of a split raster, or the
regions of a figure made of several images), kept or rejected by later filters alike: the split is what is
scored. Per page, truth panels and predicted panels are matched one to one (highest IoU first) at IoU >= 0.5
in page coordinates. A compound figure left whole has no panel records, so its panels count as missed; a
predicted panel that matches no truth panel (a photograph cut in two, a wrong cut) is a false positive. PDFs
the truth does not cover are not scored. Per PDF and over all: truth panels, predicted panels, matched,
precision, recall, F1 (None where there is nothing to score: no truth panel and no predicted panel), and the
share of matched panels whose letter is the truth's.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from eval.extraction import iou

IOU_MIN = 0.5


@dataclass
class TruthPanel:
    pdf: str
    page: int
    bbox: tuple[float, float, float, float]
    panel: str | None
    figure: str  # the figure's label


@dataclass
class PanelScore:
    pdf: str
    figures: int  # truth figures of the PDF
    compound: int  # ... of them with panels
    truth: int
    pred: int
    matched: int
    precision: float | None
    recall: float | None
    f1: float | None
    letters_ok: int
    unsplit: list[str]  # labels of compound figures none of whose panels was found
    spurious: list[str]  # "p<page> (x0, y0, x1, y1) <letter>" of unmatched predictions


# ---------------------------------------------------------------- truth


def read_truth(path: Path) -> tuple[dict[str, list[TruthPanel]], dict[str, list[dict]]]:
    """Truth panels and truth figures per PDF file name, from one file or a directory of them."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    panels: dict[str, list[TruthPanel]] = {}
    figures: dict[str, list[dict]] = {}
    for f in files:
        doc = json.loads(f.read_text())
        if not isinstance(doc, dict) or not isinstance(doc.get("figures"), list):
            continue
        for fig in doc["figures"]:
            pdf = fig.get("pdf") or doc.get("pdf")
            if not pdf or "panels" not in fig:
                continue
            figures.setdefault(pdf, []).append(fig)
            panels.setdefault(pdf, [])
            for p in fig["panels"]:
                panels[pdf].append(TruthPanel(pdf, int(fig["page"]), tuple(float(v) for v in p["bbox"]),
                                              (p.get("panel") or None), fig.get("label") or ""))
    return panels, figures


# ---------------------------------------------------------------- predictions


def as_record(r) -> dict:
    """A records.jsonl dict, an Item, a Record or a dict with a "record" (an Item dumped) -> the record dict."""
    if hasattr(r, "record"):
        r = r.record
    if hasattr(r, "model_dump"):
        r = r.model_dump()
    if isinstance(r, dict) and "record" in r and isinstance(r["record"], dict):
        r = r["record"]
    return r


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def predicted_panels(records) -> dict[str, list[dict]]:
    """Records with a panel letter, per source PDF (file name)."""
    out: dict[str, list[dict]] = {}
    for r in map(as_record, records):
        if r.get("panel"):
            out.setdefault(Path(r["source_pdf"]).name, []).append(r)
    return out


# ---------------------------------------------------------------- scoring


def match(truth: list[TruthPanel], pred: list[dict]) -> list[tuple[int, int]]:
    """One-to-one matches (truth index, pred index) on the same page at IoU >= IOU_MIN, highest IoU first."""
    pairs = sorted(
        ((iou(t.bbox, p["bbox"]), i, j) for i, t in enumerate(truth) for j, p in enumerate(pred)
         if t.page == p["page"]),
        reverse=True,
    )
    used_t, used_p, out = set(), set(), []
    for v, i, j in pairs:
        if v < IOU_MIN:
            break
        if i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
            out.append((i, j))
    return out


def prf(n_truth: int, n_pred: int, tp: int) -> tuple[float | None, float | None, float | None]:
    if not n_truth and not n_pred:
        return None, None, None
    p = tp / n_pred if n_pred else (1.0 if not n_truth else 0.0)
    r = tp / n_truth if n_truth else (1.0 if not n_pred else 0.0)
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score_pdf(pdf: str, truth: list[TruthPanel], figures: list[dict], pred: list[dict]) -> PanelScore:
    pairs = match(truth, pred)
    matched_t = {i for i, _ in pairs}
    matched_p = {j for _, j in pairs}
    unsplit = []
    for fig in figures:
        mine = [i for i, t in enumerate(truth) if t.page == fig["page"] and t.figure == (fig.get("label") or "")]
        if mine and not matched_t & set(mine):
            unsplit.append(f"p{fig['page']} {fig.get('label')}")
    spurious = [
        f"p{p['page']} ({', '.join(f'{v:.0f}' for v in p['bbox'])}) {p.get('panel')}"
        for j, p in enumerate(pred) if j not in matched_p
    ]
    letters_ok = sum(1 for i, j in pairs if truth[i].panel and truth[i].panel == (pred[j].get("panel") or "").lower())
    p, r, f = prf(len(truth), len(pred), len(pairs))
    return PanelScore(pdf, len(figures), sum(1 for fig in figures if fig["panels"]), len(truth), len(pred),
                      len(pairs), p, r, f, letters_ok, unsplit, spurious)


def evaluate(truth_path: Path, records) -> list[PanelScore]:
    """Scores per truth PDF (sorted by name) and a last row "ALL". ``records``: a records.jsonl path, or an
    iterable of record dicts / Records / Items."""
    truth, figures = read_truth(Path(truth_path))
    if isinstance(records, (str, Path)):
        records = read_records(Path(records))
    pred = predicted_panels(records)
    rows = [score_pdf(pdf, truth[pdf], figures[pdf], pred.get(pdf, [])) for pdf in sorted(truth)]
    n_t, n_p, tp = sum(s.truth for s in rows), sum(s.pred for s in rows), sum(s.matched for s in rows)
    p, r, f = prf(n_t, n_p, tp)
    rows.append(PanelScore("ALL", sum(s.figures for s in rows), sum(s.compound for s in rows), n_t, n_p, tp, p, r,
                           f, sum(s.letters_ok for s in rows), [u for s in rows for u in s.unsplit],
                           [x for s in rows for x in s.spurious]))
    return rows


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def table(rows: list[PanelScore]) -> str:
    head = (f"{'pdf':<60} {'figs':>4} {'cmpd':>4} {'truth':>5} {'pred':>4} {'match':>5} {'P':>6} {'R':>6} {'F1':>6} "
            f"{'letters':>7}")
    lines = [head, "-" * len(head)]
    for s in rows:
        lines.append(f"{s.pdf[:60]:<60} {s.figures:>4} {s.compound:>4} {s.truth:>5} {s.pred:>4} {s.matched:>5} "
                     f"{_fmt(s.precision):>6} {_fmt(s.recall):>6} {_fmt(s.f1):>6} {s.letters_ok:>3}/{s.matched:<3}")
    total = rows[-1]
    if total.unsplit:
        lines.append("compound figures with no panel found: " + "; ".join(total.unsplit))
    if total.spurious:
        lines.append("predicted panels matching no truth panel: " + "; ".join(total.spurious))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.panels", description=__doc__.split("\n\n")[0])
    ap.add_argument("--truth", required=True, type=Path, help="panel truth JSON (or a directory of truth JSON)")
    ap.add_argument("--records", required=True, type=Path, help="records.jsonl of a build")
    ap.add_argument("--json", type=Path, help="also write the scores here")
    args = ap.parse_args(argv)
    rows = evaluate(args.truth, args.records)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(s) for s in rows], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
