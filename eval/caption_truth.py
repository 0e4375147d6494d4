"""Caption truth of a whole book (``eval/truth/*.truth.json``, schema ``mmskin-caption-truth/1``) and its scores.

The truth lists every printed figure caption of one PDF: page, label, caption text (credit line included), the
credit line on its own, the figure region (placeholder box, photo or drawing) and its kind. See
``eval/truth/README.md`` for the format and how the truth was made.

Predictions are a build's ``records.jsonl`` (``schemas.records.Record``: ``page``, ``figure_label``, ``caption``,
``bbox``, ``kept``, ``reject_reasons``) or plain ``(page, label, caption)`` tuples. Scores:

- caption recall: truth captions found, by label (a prediction on the same page with the same label number, kept
  or rejected) or else by text (a prediction on the same page whose caption, labels stripped, is similar enough);
- precision: predicted captions that carry a label and are real captions of the truth (same page and label);
- text accuracy over the found captions: ``eval.extraction.caption_matches`` against the full truth caption, the
  same against the caption without its credit line, and the exact rate after ``normalise_text`` (also with all
  spaces dropped, so that hyphenation choices do not count);
- per kind (placeholder, photo, drawing): how many figures have a record over their region (IoU >= 0.5 with the
  figure box or a panel box, or the record lies inside the figure box), whether such a record was kept or
  rejected and why, and whether it carries the right caption (non-empty caption and the right label).

``python -m eval.caption_truth --truth eval/truth/military_dermatology_1994.truth.json --records OUT/records.jsonl``
prints the report; ``--json`` writes it as JSON, ``--misses`` lists each miss, wrong text and false label.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eval.extraction import (
    CAPTION_SIM_MIN,
    IOU_MIN,
    caption_matches,
    caption_similarity,
    iou,
    normalise_text,
    strip_caption_label,
    text_similarity,
)

SCHEMA = "mmskin-caption-truth/1"
KINDS = ("placeholder", "photo", "drawing")

# the label's number at the start of a caption or in a figure_label: "Fig. 14-11", "Fig.14-11.", "Figure 5.3A"
LABEL_NUMBER = re.compile(
    r"^\s*(?:fig(?:ure)?s?|plate|example|chart|scheme)\s?\.?\s*"
    r"(\d{1,3}(?:\s?[.\-‐–—]\s?\d{1,3}){0,3}[a-z]?)(?![\d])",
    re.IGNORECASE,
)


# ---------------------------------------------------------------- truth


@dataclass
class TruthCaption:
    id: str
    page: int
    label: str
    caption: str
    credit: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    kind: str = "placeholder"
    checked_by_eye: bool = False
    regions: list[tuple[float, float, float, float]] = field(default_factory=list)

    @property
    def key(self) -> str | None:
        return label_key(self.label)

    @property
    def caption_without_credit(self) -> str:
        if self.credit and self.caption.endswith(self.credit):
            return self.caption[: -len(self.credit)].rstrip()
        return self.caption


@dataclass
class CaptionTruth:
    pdf: str
    sha256: str | None
    page_count: int | None
    figures: list[TruthCaption]
    notes: list[str] = field(default_factory=list)


def label_key(label: str | None) -> str | None:
    """The label's number, separators unified: "Fig. 14-11" / "Fig.14–11." / "FIG 14-11" -> "14-11"; None
    for a text without a figure label."""
    m = LABEL_NUMBER.match(label or "")
    if not m:
        return None
    return re.sub(r"\s?[.\-‐–—]\s?", "-", m.group(1)).lower()


def parse_truth(doc: dict) -> CaptionTruth:
    figs = []
    for f in doc["figures"]:
        regions = [tuple(r["bbox"]) for r in f.get("regions") or [] if r.get("bbox")]
        figs.append(TruthCaption(
            id=f["id"], page=int(f["page"]), label=f["label"], caption=f["caption"], credit=f.get("credit"),
            bbox=tuple(f["bbox"]) if f.get("bbox") else None, kind=f.get("kind") or "placeholder",
            checked_by_eye=bool(f.get("checked_by_eye")), regions=regions,
        ))
    return CaptionTruth(pdf=doc["pdf"], sha256=doc.get("sha256"), page_count=doc.get("page_count"), figures=figs,
                        notes=list(doc.get("notes") or []))


def load_truth(path: Path) -> CaptionTruth:
    return parse_truth(json.loads(Path(path).read_text()))


def truth_problems(doc: dict) -> list[str]:
    """What is wrong with a caption truth document (empty when nothing): schema, unique ids and labels, pages
    within the book, figures sorted by page, captions that start with their label and end with their credit,
    boxes with x0 < x1 and y0 < y1."""
    out = []
    if doc.get("schema") != SCHEMA:
        out.append(f"schema is {doc.get('schema')!r}, not {SCHEMA!r}")
    figs = doc.get("figures") or []
    pages = doc.get("page_count")
    for what in ("id", "label"):
        dup = [k for k, n in Counter(f.get(what) for f in figs).items() if n > 1]
        if dup:
            out.append(f"duplicate {what}s: {dup[:5]}")
    last = 0
    for f in figs:
        name = f.get("id", "?")
        page = f.get("page")
        if not isinstance(page, int) or page < 1 or (pages and page > pages):
            out.append(f"{name}: page {page!r} outside 1..{pages}")
            continue
        if page < last:
            out.append(f"{name}: not sorted by page ({page} after {last})")
        last = page
        key = label_key(f.get("label"))
        if key is None:
            out.append(f"{name}: label {f.get('label')!r} has no figure number")
        elif label_key(f.get("caption")) != key:
            out.append(f"{name}: caption does not start with its label {f.get('label')!r}")
        credit = f.get("credit")
        if credit and not (f.get("caption") or "").endswith(credit):
            out.append(f"{name}: caption does not end with its credit")
        for box in [f.get("bbox")] + [r.get("bbox") for r in f.get("regions") or []]:
            if box is not None and not (len(box) == 4 and box[0] < box[2] and box[1] < box[3]):
                out.append(f"{name}: bad box {box}")
    return out


# ---------------------------------------------------------------- predictions


@dataclass
class PredCaption:
    page: int
    label: str | None
    caption: str
    bbox: tuple[float, float, float, float] | None = None
    kept: bool | None = None  # None: not a record
    reasons: list[str] = field(default_factory=list)
    record_id: str | None = None

    @property
    def key(self) -> str | None:
        return label_key(self.label) or label_key(self.caption)


def predictions_from_records(records: Iterable[dict], pdf: str | None = None) -> list[PredCaption]:
    """One prediction per record of ``pdf`` (all records when None): its page, figure_label, caption, box, fate."""
    out = []
    for r in records:
        if pdf is not None and Path(r.get("source_pdf") or "").name != pdf:
            continue
        out.append(PredCaption(
            page=int(r["page"]), label=r.get("figure_label"), caption=r.get("caption") or "",
            bbox=tuple(r["bbox"]) if r.get("bbox") else None, kept=bool(r.get("kept", True)),
            reasons=list(r.get("reject_reasons") or []), record_id=r.get("id"),
        ))
    return out


def predictions_from_tuples(items: Iterable[tuple]) -> list[PredCaption]:
    """``(page, label, caption)`` tuples (label may be None: then the caption's own label counts)."""
    return [PredCaption(page=int(p), label=lab, caption=cap or "") for p, lab, cap in items]


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


# ---------------------------------------------------------------- matching and scores


def compact(text: str) -> str:
    return normalise_text(text).replace(" ", "")


def text_found(t: TruthCaption, p: PredCaption) -> bool:
    """A prediction on the truth's page whose caption text (labels stripped) is the truth's, with or without
    the credit line."""
    if p.page != t.page or not p.caption.strip():
        return False
    pred = strip_caption_label(p.caption)
    return any(text_similarity(strip_caption_label(ref), pred) >= CAPTION_SIM_MIN
               for ref in (t.caption, t.caption_without_credit))


def find(t: TruthCaption, preds: list[PredCaption]) -> tuple[str | None, list[PredCaption]]:
    """('label' | 'text' | None, the predictions that found it)."""
    by_label = [p for p in preds if p.page == t.page and p.key is not None and p.key == t.key]
    if by_label:
        return "label", by_label
    by_text = [p for p in preds if text_found(t, p)]
    return ("text", by_text) if by_text else (None, [])


def best_text(t: TruthCaption, preds: list[PredCaption]) -> PredCaption | None:
    """The prediction whose caption is most like the truth's (empty captions last)."""
    with_text = [p for p in preds if p.caption.strip()]
    if not with_text:
        return None
    return max(with_text, key=lambda p: caption_similarity(t.caption, p.caption))


def region_records(t: TruthCaption, preds: list[PredCaption]) -> list[PredCaption]:
    """Records over the figure's region: IoU >= IOU_MIN with the figure box or one of its panel boxes, or lying
    (mostly) inside the figure box."""
    if t.bbox is None:
        return []
    boxes = [t.bbox] + list(t.regions)
    out = []
    for p in preds:
        if p.kept is None or p.bbox is None or p.page != t.page:
            continue
        if any(iou(b, p.bbox) >= IOU_MIN for b in boxes) or inside_share(p.bbox, t.bbox) >= 0.8:
            out.append(p)
    return out


def inside_share(inner, outer) -> float:
    """Share of ``inner``'s area inside ``outer``."""
    ix = max(0.0, min(inner[2], outer[2]) - max(inner[0], outer[0]))
    iy = max(0.0, min(inner[3], outer[3]) - max(inner[1], outer[1]))
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return ix * iy / area if area > 0 else 0.0


@dataclass
class KindScore:
    kind: str
    n: int = 0
    caption_found: int = 0
    with_region_record: int = 0  # figures with at least one record over their region
    kept: int = 0  # ... of which at least one record kept
    rejected: int = 0  # ... of which all records rejected
    reject_reasons: dict[str, int] = field(default_factory=dict)  # figures whose region records carry each reason
    caption_attached: int = 0  # a region record has a non-empty caption and the right label
    attached_text_ok: int = 0  # ... and that caption matches the truth (caption_matches)


@dataclass
class CaptionScore:
    pdf: str
    n_truth: int
    n_pred_labelled: int  # distinct (page, label) among the predictions
    found: int
    found_by_label: int
    found_by_text: int
    recall: float
    precision: float
    real_labelled: int
    text_ok: int
    text_ok_without_credit: int
    text_ok_either: int
    exact: int
    exact_compact: int
    text_accuracy: float
    text_accuracy_without_credit: float
    text_accuracy_either: float
    exact_rate: float
    exact_compact_rate: float
    credit_lost: int  # found captions matching only without their credit line (truth has one)
    kinds: dict[str, KindScore] = field(default_factory=dict)


def ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def score(truth: CaptionTruth, preds: list[PredCaption]) -> CaptionScore:
    truth_keys = {(t.page, t.key) for t in truth.figures}
    found = by_label = by_text = 0
    text_ok = ok_wo = ok_either = exact = exact_c = credit_lost = 0
    kinds: dict[str, KindScore] = {}
    for t in truth.figures:
        how, hits = find(t, preds)
        ks = kinds.setdefault(t.kind, KindScore(kind=t.kind))
        ks.n += 1
        if how:
            found += 1
            ks.caption_found += 1
            by_label += how == "label"
            by_text += how == "text"
            best = best_text(t, hits)
            pred = best.caption if best else ""
            full = caption_matches(t.caption, pred)
            wo = caption_matches(t.caption_without_credit, pred)
            text_ok += full
            ok_wo += wo
            ok_either += full or wo
            credit_lost += bool(t.credit) and wo and not full
            exact += normalise_text(t.caption) == normalise_text(pred)
            exact_c += compact(t.caption) == compact(pred)
        regs = region_records(t, preds)
        if regs:
            ks.with_region_record += 1
            if any(p.kept for p in regs):
                ks.kept += 1
            else:
                ks.rejected += 1
            for reason in sorted({r for p in regs for r in p.reasons}):
                ks.reject_reasons[reason] = ks.reject_reasons.get(reason, 0) + 1
            attached = [p for p in regs if p.caption.strip() and label_key(p.label) == t.key]
            if attached:
                ks.caption_attached += 1
                ks.attached_text_ok += any(caption_matches(t.caption, p.caption) for p in attached)
    labelled = {(p.page, p.key) for p in preds if p.key is not None}
    real = len(labelled & truth_keys)
    return CaptionScore(
        pdf=truth.pdf, n_truth=len(truth.figures), n_pred_labelled=len(labelled), found=found,
        found_by_label=by_label, found_by_text=by_text, recall=ratio(found, len(truth.figures)),
        precision=ratio(real, len(labelled)) if labelled else (1.0 if not truth.figures else 0.0),
        real_labelled=real, text_ok=text_ok, text_ok_without_credit=ok_wo, text_ok_either=ok_either, exact=exact,
        exact_compact=exact_c, text_accuracy=ratio(text_ok, found),
        text_accuracy_without_credit=ratio(ok_wo, found), text_accuracy_either=ratio(ok_either, found),
        exact_rate=ratio(exact, found), exact_compact_rate=ratio(exact_c, found), credit_lost=credit_lost,
        kinds={k: kinds[k] for k in sorted(kinds, key=lambda k: (KINDS.index(k) if k in KINDS else 99, k))},
    )


def misses(truth: CaptionTruth, preds: list[PredCaption], width: int = 90) -> list[str]:
    """One line per truth caption not found, found caption whose text is wrong (truth vs predicted, with the
    similarity), and labelled prediction that is no caption of the truth."""
    lines = []
    for t in truth.figures:
        how, hits = find(t, preds)
        if not how:
            regs = region_records(t, preds)
            fate = (f"; region records: {', '.join(sorted({r for p in regs for r in p.reasons}) or ['kept'])}"
                    if regs else "; no record over its region")
            lines.append(f"p{t.page} {t.label} [{t.kind}] caption not found{fate}")
            continue
        best = best_text(t, hits)
        pred = best.caption if best else ""
        if not caption_matches(t.caption, pred):
            lines.append(f"p{t.page} {t.label} [{t.kind}] text wrong (similarity "
                         f"{caption_similarity(t.caption, pred):.2f}, without credit "
                         f"{caption_similarity(t.caption_without_credit, pred):.2f}): truth {cut(t.caption, width)!r} "
                         f"vs predicted {cut(pred, width)!r}")
    truth_keys = {(t.page, t.key) for t in truth.figures}
    seen = set()
    for p in preds:
        k = (p.page, p.key)
        if p.key is not None and k not in truth_keys and k not in seen:
            seen.add(k)
            lines.append(f"p{p.page} predicted label {p.label or p.key!r} is no caption of the truth: "
                         f"{cut(p.caption, width)!r}")
    return lines


def cut(text: str, n: int) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= n else text[: n // 2 - 1] + " … " + text[-(n // 2 - 1):]


# ---------------------------------------------------------------- report


def report_lines(s: CaptionScore) -> list[str]:
    lines = [
        f"{s.pdf}: {s.n_truth} truth captions",
        f"caption recall    {s.recall:.3f}  ({s.found} found: {s.found_by_label} by label, {s.found_by_text} by text)",
        f"precision         {s.precision:.3f}  ({s.real_labelled} of {s.n_pred_labelled} labelled predictions are "
        f"captions of the truth)",
        f"text accuracy     {s.text_accuracy:.3f}  ({s.text_ok}/{s.found} match the caption with its credit line; "
        f"{s.text_accuracy_without_credit:.3f} without it, {s.text_accuracy_either:.3f} either; credit line lost: "
        f"{s.credit_lost})",
        f"exact (normalised) {s.exact_rate:.3f}  ({s.exact}/{s.found}; ignoring spaces {s.exact_compact_rate:.3f})",
        "per kind: n, caption found, figures with a record over the region (kept / all rejected), caption attached "
        "(right label; text ok), reject reasons",
    ]
    for k in s.kinds.values():
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(k.reject_reasons.items(), key=lambda x: -x[1])) or "-"
        lines.append(f"  {k.kind:<11} {k.n:>4}  found {k.caption_found:>4}  region records {k.with_region_record:>4} "
                     f"({k.kept} kept / {k.rejected} rejected)  attached {k.caption_attached} ({k.attached_text_ok} ok)"
                     f"  reasons: {reasons}")
    return lines


def to_json(s: CaptionScore) -> dict:
    return asdict(s)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.caption_truth", description=__doc__.split("\n")[0])
    ap.add_argument("--truth", type=Path, required=True, help="a *.truth.json of schema mmskin-caption-truth/1")
    ap.add_argument("--records", type=Path, required=True, help="a build's records.jsonl")
    ap.add_argument("--json", type=Path, help="also write the scores here")
    ap.add_argument("--misses", action="store_true", help="list misses, wrong texts and false labels")
    args = ap.parse_args(argv)
    truth = load_truth(args.truth)
    records = read_records(args.records)
    preds = predictions_from_records(records, truth.pdf)
    if records and not preds:
        print(f"warning: no record of {truth.pdf} in {args.records}", file=sys.stderr)
    s = score(truth, preds)
    print("\n".join(report_lines(s)))
    if args.misses:
        print("\n".join(misses(truth, preds)))
    if args.json:
        args.json.write_text(json.dumps(to_json(s), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
