"""Figure/caption extraction scores against ground truth.

Per book: figure precision/recall/F1 at IoU >= 0.5 (one-to-one matching by IoU), caption accuracy among
matched figures (normalised text similarity >= 0.9, see ``caption_matches``), and pair F1 (a predicted figure
counts when its box matches AND its caption is right). Crops: the mean IoU of the matched figures, how many
have IoU >= 0.9 (tight), and how many take in a neighbour (cover a fifth or more of another truth figure on
the page, however well they match their own). Truth pictures without a caption in a format that has captions
(docling's logos and icons) are scored for detection only, apart: found when any record, kept or rejected as
not a figure, covers one at IoU >= 0.5; a prediction on one is no false positive.

Predicted figures are built from records.jsonl: records sharing a ``figure_id`` form one figure (their boxes
united); records rejected only as "not a figure" (decorations, uncaptioned vector clusters) are not
predictions. A missed truth figure that such a record covers is listed (``--misses``) with that record and its
reasons: what we saw and judged not a figure, apart from what we never saw.

Ground truth is read from four formats, told apart by their content (``truth_format``); every reader returns
``{pdf file name: [TruthFigure]}`` with boxes in PDF points, top-left origin (as PyMuPDF):

- ``sample``: our ``*.truth.json`` (sample_pdfs/README.md); also written by ``eval.publaynet.wrap_images``.
- ``docling``: a DoclingDocument (docling's regression groundtruth). Every ``pictures[i]`` is a truth figure
  (logos included): ``prov[0]`` gives page_no and a bbox whose ``coord_origin`` BOTTOMLEFT is flipped with the
  page height from ``pages``; the caption is the referenced ``texts[j].text`` joined by spaces (docling keeps
  the label: "Figure 7-26. Self-locking nuts."; a picture without captions has caption "" and is scored for
  detection only). PDF name = file stem + ".pdf".
- ``jbc``: the sciint JBC annotation (``{"PDF-00001": {"pdf-figures": {"fig1": {"bbox-loc": {p, x0, y0, x1,
  y1}, "caption-txt": ...}}}}``). Boxes are already PDF points, top-left origin, in PyMuPDF's ``page.rect``
  frame (checked on PDF-00001_roy_2014.pdf by drawing them: they sit ~13 pt outside the embedded images on
  every side, i.e. loose boxes, not another scale; the page's MediaBox offset of 9 pt is not in them).
  ``caption-txt`` has no label. The PDF is the one in the annotation's folder whose name starts with the key
  ("PDF-00001" -> "PDF-00001_roy_2014.pdf"), else key + ".pdf".
- ``coco``: PubLayNet COCO (category "figure"; bbox [x, y, w, h] in pixels of a page image), converted to
  points of the page that ``eval.publaynet.wrap_images`` makes from that image at ``dpi`` (72 by default).
  No captions: caption accuracy and pair F1 are None.

A truth path may be one file of any format or a directory: its ``*.truth.json`` files when it has any, else
every ``*.json`` in it of a known format (other JSON is ignored). When a ``manifest.json`` sits beside
records.jsonl, truth books that the build did not take as input are not scored (``unbuilt_books`` names
them), so a truth directory can be scored against a build of some of its PDFs.
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

# reasons that say "not a figure" (pipeline.figures.NOT_A_FIGURE; a test keeps the two equal, so the scorer
# need not import the pipeline)
NOT_A_FIGURE = {
    "decoration_small", "decoration_repeated", "decoration_rule", "decoration_background",
    "decoration_small_drawing", "vector_uncaptioned", "text_box",
}

IOU_MIN = 0.5
IOU_TIGHT = 0.9  # a crop this close to its truth box is tight
NEIGHBOUR_SHARE = 0.2  # a crop that covers this share of another truth figure's area takes in a neighbour
CAPTION_SIM_MIN = 0.9
COCO_DPI = 72.0  # PubLayNet page images are PMC pages rendered at about 72 dpi (612x792 px for US Letter)

# A caption label at the start of a caption: "Figure 7-26.", "FIG. 3.4A", "Fig 1:", "Example 3-10", "Plate 7", "Plate IV".
CAPTION_LABEL = re.compile(
    r"^\s*(?:fig(?:ure)?s?|plate|example|table|chart|scheme)\s?\.?\s*"
    r"(?:\d{1,3}(?:\s?[.\-–—]\s?\d{1,3}){0,3}[A-Za-z]?(?!\d)|(?-i:[IVXLC]{1,7})(?![A-Za-z\d]))\s*[.:|—–\-]?\s*",
    re.IGNORECASE,
)


@dataclass
class TruthFigure:
    page: int
    bbox: tuple[float, float, float, float]
    caption: str | None = None  # None: the format has no captions (PubLayNet)
    # a truth picture without a caption in a format that has captions (docling's logos and icons): scored for
    # detection only (any record, kept or rejected, covers it), apart from the captioned figures
    detection_only: bool = False


@dataclass
class PredFigure:
    page: int
    bbox: tuple[float, float, float, float]
    caption: str = ""
    record_ids: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # a region rejected as not a figure: why


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
    caption_ok: int | None = None  # matched figures whose caption is right (None: no caption truth)
    mean_iou: float | None = None  # of the matched figures' crops with their truth boxes
    tight: int = 0  # matched figures whose crop has IoU >= IOU_TIGHT with the truth box
    neighbour_crops: int = 0  # matched crops that take in another truth figure (NEIGHBOUR_SHARE of its area)
    detection_only: int = 0  # caption-less truth pictures, scored apart
    detection_only_found: int = 0  # ... that a record (kept or rejected) covers at IoU >= IOU_MIN

    @property
    def tight_share(self) -> float | None:
        return round(self.tight / self.matched, 4) if self.matched else None


# ---------------------------------------------------------------- text and boxes


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = re.sub(r"[^\w\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def text_similarity(a: str, b: str) -> float:
    a, b = normalise_text(a), normalise_text(b)
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def has_caption_label(text: str) -> bool:
    return bool(CAPTION_LABEL.match(text or ""))


def strip_caption_label(text: str) -> str:
    return CAPTION_LABEL.sub("", text or "", count=1)


def caption_matches(truth: str, pred: str) -> bool:
    """Whether a predicted caption is right. Our captions carry their label. A truth caption that carries one
    too (sample, docling) is compared with the whole prediction, so a wrong label counts against it; a truth
    caption without a label (JBC ``caption-txt``) is compared with the prediction's label stripped. Both are
    normalised first (NFKC, lower case, punctuation to spaces, whitespace collapsed)."""
    return caption_similarity(truth, pred) >= CAPTION_SIM_MIN


def caption_similarity(truth: str, pred: str) -> float:
    """``text_similarity`` under the label rule of ``caption_matches``."""
    return text_similarity(truth, pred if has_caption_label(truth) else strip_caption_label(pred))


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def rounded(box) -> tuple[float, float, float, float]:
    return tuple(round(float(v), 2) for v in box)


# ---------------------------------------------------------------- predictions


def read_records(records_path: Path) -> list[dict]:
    return [json.loads(line) for line in records_path.read_text().splitlines() if line.strip()]


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


def not_a_figure(records: list[dict]) -> dict[str, list[PredFigure]]:
    """Records rejected as not a figure, one per record, per source PDF: they are no predictions, but a truth
    figure that one of them covers was seen and judged a decoration (``--misses`` says so)."""
    out: dict[str, list[PredFigure]] = {}
    for r in records:
        reasons = sorted(set(r.get("reject_reasons") or []) & NOT_A_FIGURE)
        if reasons:
            fig = PredFigure(page=r["page"], bbox=tuple(r["bbox"]), record_ids=[r["id"]], reasons=reasons)
            out.setdefault(r["source_pdf"], []).append(fig)
    return out


# ---------------------------------------------------------------- scoring


def iou_matrix(truth: list[TruthFigure], pred: list[PredFigure]) -> np.ndarray:
    m = np.zeros((len(truth), len(pred)))
    for i, t in enumerate(truth):
        for j, p in enumerate(pred):
            if t.page == p.page:
                m[i, j] = iou(t.bbox, p.bbox)
    return m


def match_figures(truth: list[TruthFigure], pred: list[PredFigure]) -> list[tuple[int, int]]:
    """One-to-one (truth index, pred index) pairs with IoU >= IOU_MIN, maximising total IoU."""
    if not truth or not pred:
        return []
    m = iou_matrix(truth, pred)
    rows, cols = linear_sum_assignment(-m)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if m[i, j] >= IOU_MIN]


def f1_of(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def score_counts(book: str, n_truth: int, n_pred: int, tp: int, caption_ok: int | None) -> BookScore:
    precision = tp / n_pred if n_pred else (1.0 if not n_truth else 0.0)
    recall = tp / n_truth if n_truth else 1.0
    caption_acc = pair_f1 = None
    if caption_ok is not None:
        caption_acc = caption_ok / tp if tp else 0.0
        pair_f1 = f1_of(caption_ok / n_pred if n_pred else 0.0, caption_ok / n_truth if n_truth else 0.0)
    return BookScore(
        book=book, n_truth=n_truth, n_pred=n_pred, matched=tp, precision=round(precision, 4),
        recall=round(recall, 4), f1=round(f1_of(precision, recall), 4),
        caption_accuracy=None if caption_acc is None else round(caption_acc, 4),
        pair_f1=None if pair_f1 is None else round(pair_f1, 4), caption_ok=caption_ok,
    )


def has_caption_truth(truth: list[TruthFigure]) -> bool:
    return any(t.caption is not None for t in truth)


def covered(box, page: int, others: list[TruthFigure | PredFigure]) -> list[int]:
    """Indexes of ``others`` on ``page`` of whose area the box covers at least NEIGHBOUR_SHARE."""
    out = []
    for k, o in enumerate(others):
        if o.page != page:
            continue
        ix = max(0.0, min(box[2], o.bbox[2]) - max(box[0], o.bbox[0]))
        iy = max(0.0, min(box[3], o.bbox[3]) - max(box[1], o.bbox[1]))
        area = (o.bbox[2] - o.bbox[0]) * (o.bbox[3] - o.bbox[1])
        if area > 0 and ix * iy >= NEIGHBOUR_SHARE * area:
            out.append(k)
    return out


@dataclass
class Matching:
    """How one book's predictions meet its truth: captioned truth figures matched one to one; predictions
    matching a caption-less (detection-only) truth picture are neither hits nor false positives."""

    truth: list[TruthFigure]  # captioned (scored) truth figures
    detection_only: list[TruthFigure]
    pred: list[PredFigure]  # predictions scored against ``truth``
    pairs: list[tuple[int, int]]
    ious: np.ndarray  # truth x pred


def match_book(truth: list[TruthFigure], pred: list[PredFigure]) -> Matching:
    scored = [t for t in truth if not t.detection_only]
    detect = [t for t in truth if t.detection_only]
    pairs = match_figures(scored, pred)
    matched_p = {j for _, j in pairs}
    # an unmatched prediction on a caption-less truth picture is not a false positive: it is that picture
    extra = {j for j in range(len(pred)) if j not in matched_p and any(
        t.page == pred[j].page and iou(t.bbox, pred[j].bbox) >= IOU_MIN for t in detect)}
    keep = [j for j in range(len(pred)) if j not in extra]
    renumber = {j: k for k, j in enumerate(keep)}
    kept = [pred[j] for j in keep]
    pairs = [(i, renumber[j]) for i, j in pairs]
    return Matching(truth=scored, detection_only=detect, pred=kept, pairs=pairs, ious=iou_matrix(scored, kept))


def score_book(book: str, truth: list[TruthFigure], pred: list[PredFigure],
               rejected: list[PredFigure] | None = None) -> BookScore:
    """Scores of one book. ``rejected``: regions rejected as not a figure (``not_a_figure``): with the
    predictions, they count as covering a caption-less truth picture."""
    mt = match_book(truth, pred)
    caption_ok = None
    if has_caption_truth(mt.truth):
        caption_ok = sum(1 for i, j in mt.pairs if caption_matches(mt.truth[i].caption or "", mt.pred[j].caption))
    score = score_counts(book, len(mt.truth), len(mt.pred), len(mt.pairs), caption_ok)
    ious = [float(mt.ious[i, j]) for i, j in mt.pairs]
    score.mean_iou = round(sum(ious) / len(ious), 4) if ious else None
    score.tight = sum(v >= IOU_TIGHT for v in ious)
    score.neighbour_crops = sum(1 for i, j in mt.pairs
                                if [k for k in covered(mt.pred[j].bbox, mt.pred[j].page, mt.truth) if k != i])
    everything = pred + (rejected or [])
    score.detection_only = len(mt.detection_only)
    score.detection_only_found = sum(1 for t in mt.detection_only if any(
        p.page == t.page and iou(t.bbox, p.bbox) >= IOU_MIN for p in everything))
    return score


def total_score(scores: list[BookScore], name: str = "ALL") -> BookScore:
    """Micro-average over books: counts summed, then the ratios. Caption scores only over books that have
    caption truth (None when none has)."""
    with_captions = [s for s in scores if s.caption_ok is not None]
    caption_ok = sum(s.caption_ok for s in with_captions) if with_captions else None
    total = score_counts(name, sum(s.n_truth for s in scores), sum(s.n_pred for s in scores),
                         sum(s.matched for s in scores), None)
    if caption_ok is not None:  # caption scores over the books with caption truth only
        cap = score_counts(name, sum(s.n_truth for s in with_captions), sum(s.n_pred for s in with_captions),
                           sum(s.matched for s in with_captions), caption_ok)
        total.caption_accuracy, total.pair_f1, total.caption_ok = cap.caption_accuracy, cap.pair_f1, caption_ok
    with_iou = [s for s in scores if s.mean_iou is not None]
    if with_iou:
        total.mean_iou = round(sum(s.mean_iou * s.matched for s in with_iou) / sum(s.matched for s in with_iou), 4)
    for k in ("tight", "neighbour_crops", "detection_only", "detection_only_found"):
        setattr(total, k, sum(getattr(s, k) for s in scores))
    return total


def short(text: str | None, n: int = 70) -> str:
    if text is None:
        return "-"
    text = re.sub(r"\s+", " ", text).strip()
    return repr(text if len(text) <= n else text[: n - 1] + "…")


def box_str(box) -> str:
    return "[" + ", ".join(f"{v:.0f}" for v in box) + "]"


def best_overlap(ious: np.ndarray, boxes: list, what: str) -> str:
    """'best IoU x with <what> [box]' for one row/column of the IoU matrix, or that nothing overlaps."""
    if not len(ious) or ious.max() <= 0:
        return f"no overlapping {what}"
    return f"best IoU {ious.max():.2f} with {what} {box_str(boxes[int(ious.argmax())].bbox)}"


def rejected_as(ious: np.ndarray, rejected: list[PredFigure]) -> str:
    """'; rejected as not a figure: <reasons> (IoU x, record id)' for the rejected region that best covers a
    missed truth figure at IoU >= IOU_MIN, or ''."""
    if not len(ious) or ious.max() < IOU_MIN:
        return ""
    r = rejected[int(ious.argmax())]
    return f"; rejected as not a figure: {', '.join(r.reasons)} (IoU {ious.max():.2f}, record {r.record_ids[0]})"


def figure_misses(
    book: str, truth: list[TruthFigure], pred: list[PredFigure], rejected: list[PredFigure] | None = None
) -> list[str]:
    """One line per unmatched truth figure, unmatched predicted figure, matched figure with a wrong caption,
    and matched crop that takes in a neighbouring truth figure, each with the page, the box(es), the captions
    and the best IoU found on that page. A missed truth figure that a region in ``rejected`` (``not_a_figure``)
    covers says which, and why. Caption-less truth pictures (detection only) are listed when nothing covers them."""
    rejected = rejected or []
    everything = pred + rejected  # what may cover a caption-less truth picture
    mt = match_book(truth, pred)
    truth, pred, m = mt.truth, mt.pred, mt.ious
    r = iou_matrix(truth, rejected)
    matched_t, matched_p = {i for i, _ in mt.pairs}, {j for _, j in mt.pairs}
    lines = [
        f"{book} p{t.page}: truth figure {box_str(t.bbox)} {short(t.caption)} missed "
        f"({best_overlap(m[i], pred, 'pred')}{rejected_as(r[i], rejected)})"
        for i, t in enumerate(truth) if i not in matched_t
    ]
    lines += [
        f"{book} p{p.page}: predicted figure {box_str(p.bbox)} {short(p.caption)} is not a truth figure "
        f"({best_overlap(m[:, j], truth, 'truth')}; records {','.join(p.record_ids)})"
        for j, p in enumerate(pred) if j not in matched_p
    ]
    for i, j in mt.pairs:
        t, p = truth[i], pred[j]
        if t.caption is not None and not caption_matches(t.caption, p.caption):
            lines.append(
                f"{book} p{t.page}: caption wrong for {box_str(t.bbox)} (IoU {m[i, j]:.2f}, similarity "
                f"{caption_similarity(t.caption, p.caption):.2f}): truth {short(t.caption)} vs predicted {short(p.caption)}"
            )
        for k in covered(p.bbox, p.page, truth):
            if k != i:
                lines.append(
                    f"{book} p{t.page}: crop {box_str(p.bbox)} of truth figure {box_str(t.bbox)} (IoU {m[i, j]:.2f}) "
                    f"takes in its neighbour {box_str(truth[k].bbox)} {short(truth[k].caption, 40)}"
                )
    for t in mt.detection_only:
        if not any(p.page == t.page and iou(t.bbox, p.bbox) >= IOU_MIN for p in everything):
            ious = np.array([iou(t.bbox, p.bbox) if p.page == t.page else 0.0 for p in everything])
            lines.append(f"{book} p{t.page}: caption-less truth picture {box_str(t.bbox)} (detection only) not "
                         f"covered by any record ({best_overlap(ious, everything, 'record')})")
    return lines


# ---------------------------------------------------------------- truth readers


def read_sample_truth(doc: dict, path: Path) -> dict[str, list[TruthFigure]]:
    """Our sample truth format; a figure's ``caption`` null means the source has no caption truth."""
    figs = [TruthFigure(page=f["page"], bbox=rounded(f["bbox"]), caption=f.get("caption")) for f in doc["figures"]]
    return {doc["pdf"]: figs}


def load_sample_truth(path: Path) -> tuple[str, list[TruthFigure]]:
    """Our sample_pdfs truth format (``*.truth.json``)."""
    ((pdf, figs),) = read_sample_truth(json.loads(path.read_text()), path).items()
    return pdf, figs


def docling_ref(doc: dict, ref: str):
    """The item a DoclingDocument JSON pointer such as ``#/texts/12`` names."""
    node = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def docling_caption(doc: dict, picture: dict) -> str:
    texts = [docling_ref(doc, c["$ref"]).get("text", "") for c in picture.get("captions") or []]
    return " ".join(t.strip() for t in texts if t.strip())


def docling_bbox_topleft(bbox: dict, page_height: float) -> tuple[float, float, float, float]:
    """A docling bbox {l, t, r, b, coord_origin} as [x0, y0, x1, y1] with the origin at the top left."""
    if str(bbox.get("coord_origin", "TOPLEFT")).upper().endswith("BOTTOMLEFT"):
        y0, y1 = page_height - bbox["t"], page_height - bbox["b"]
    else:
        y0, y1 = bbox["t"], bbox["b"]
    return rounded((bbox["l"], min(y0, y1), bbox["r"], max(y0, y1)))


def docling_page_height(doc: dict, page_no: int) -> float:
    return float(doc["pages"][str(page_no)]["size"]["height"])


def read_docling_truth(doc: dict, path: Path) -> dict[str, list[TruthFigure]]:
    figs = []
    for pic in doc.get("pictures") or []:
        if not pic.get("prov"):
            continue
        prov = pic["prov"][0]
        page = int(prov["page_no"])
        bbox = docling_bbox_topleft(prov["bbox"], docling_page_height(doc, page))
        caption = docling_caption(doc, pic)
        figs.append(TruthFigure(page=page, bbox=bbox, caption=caption, detection_only=not caption))
    return {path.stem + ".pdf": figs}


def jbc_pdf_name(key: str, folder: Path) -> str:
    """The PDF beside the annotation whose name starts with ``key`` (not followed by a digit), else key.pdf."""
    pattern = re.compile(rf"^{re.escape(key)}(?!\d).*\.pdf$", re.IGNORECASE)
    names = sorted(p.name for p in folder.glob("*") if pattern.match(p.name)) if folder.is_dir() else []
    return names[0] if names else key + ".pdf"


def jbc_figure(fig: dict) -> TruthFigure:
    loc = fig["bbox-loc"]
    box = rounded((loc["x0"], loc["y0"], loc["x1"], loc["y1"]))
    return TruthFigure(page=int(loc["p"]), bbox=box, caption=fig.get("caption-txt") or "")


def read_jbc_truth(doc: dict, path: Path) -> dict[str, list[TruthFigure]]:
    out = {}
    for key, entry in doc.items():
        figs = [jbc_figure(f) for f in entry["pdf-figures"].values() if isinstance(f, dict) and "bbox-loc" in f]
        out[jbc_pdf_name(key, path.parent)] = figs
    return out


def coco_figure_category(doc: dict) -> int:
    ids = [c["id"] for c in doc.get("categories") or [] if str(c.get("name", "")).lower() == "figure"]
    return ids[0] if ids else 5


def coco_box_points(bbox, dpi: float) -> tuple[float, float, float, float]:
    """A COCO [x, y, w, h] pixel box as [x0, y0, x1, y1] in points of the page made at ``dpi``."""
    x, y, w, h = (float(v) * 72.0 / dpi for v in bbox)
    return rounded((x, y, x + w, y + h))


def coco_pdf_name(file_name: str) -> str:
    return Path(file_name).stem + ".pdf"


def read_coco_truth(doc: dict, path: Path, dpi: float = COCO_DPI) -> dict[str, list[TruthFigure]]:
    figure = coco_figure_category(doc)
    names = {img["id"]: coco_pdf_name(img["file_name"]) for img in doc["images"]}
    out: dict[str, list[TruthFigure]] = {name: [] for name in names.values()}
    for a in doc["annotations"]:
        if a["category_id"] == figure and a["image_id"] in names:
            out[names[a["image_id"]]].append(TruthFigure(page=1, bbox=coco_box_points(a["bbox"], dpi), caption=None))
    return out


def is_jbc(doc: dict) -> bool:
    return bool(doc) and all(isinstance(v, dict) and "pdf-figures" in v for v in doc.values())


def truth_format(doc) -> str | None:
    """'sample', 'docling', 'coco', 'jbc' or None for a parsed truth JSON."""
    if not isinstance(doc, dict):
        return None
    if str(doc.get("schema", "")).startswith("mmskin-sample-truth") or {"pdf", "figures"} <= doc.keys():
        return "sample"
    if doc.get("schema_name") == "DoclingDocument" or {"pictures", "texts", "pages"} <= doc.keys():
        return "docling"
    if {"images", "annotations", "categories"} <= doc.keys():
        return "coco"
    if is_jbc(doc):
        return "jbc"
    return None


READERS = {"sample": read_sample_truth, "docling": read_docling_truth, "jbc": read_jbc_truth, "coco": read_coco_truth}


def read_truth_file(path: Path, strict: bool = True) -> dict[str, list[TruthFigure]]:
    """The truth books in one file of any known format; an unknown format raises (strict) or gives {}."""
    try:
        doc = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError):
        doc = None
    fmt = truth_format(doc)
    if fmt is None:
        if strict:
            raise ValueError(f"{path}: not a truth file of a known format (sample, docling, JBC, COCO)")
        return {}
    return READERS[fmt](doc, path)


def truth_files(truth: Path) -> list[Path]:
    if not truth.is_dir():
        return [truth]
    return sorted(truth.glob("*.truth.json")) or sorted(truth.glob("*.json"))


def load_truth(truth: Path) -> dict[str, list[TruthFigure]]:
    """{pdf name: truth figures} from a truth file or directory (see the module docstring). The first file
    that names a PDF wins."""
    books: dict[str, list[TruthFigure]] = {}
    strict = not truth.is_dir()
    for path in truth_files(truth):
        for pdf, figs in read_truth_file(path, strict=strict).items():
            books.setdefault(pdf, figs)
    if truth.is_dir() and not books:
        raise ValueError(f"{truth}: no truth files of a known format in this directory")
    return books


# ---------------------------------------------------------------- evaluation


def built_books(records_path: Path) -> set[str] | None:
    """The source PDFs the build took as input (from manifest.json beside records.jsonl), None without one."""
    manifest = records_path.parent / "manifest.json"
    if not manifest.exists():
        return None
    return {b["source_pdf"] for b in json.loads(manifest.read_text()).get("books") or []}


def scored_truth(truth: Path, records_path: Path) -> dict[str, list[TruthFigure]]:
    books = load_truth(truth)
    built = built_books(records_path)
    return books if built is None else {pdf: figs for pdf, figs in books.items() if pdf in built}


def unbuilt_books(truth: Path, records_path: Path) -> list[str]:
    """Truth books that are not scored because the build did not take them as input."""
    built = built_books(records_path)
    return [] if built is None else [pdf for pdf in load_truth(truth) if pdf not in built]


def evaluate(truth: Path, records_path: Path) -> list[BookScore]:
    records = read_records(records_path)
    preds, rejected = predicted_figures(records), not_a_figure(records)
    return [score_book(pdf, figs, preds.get(pdf, []), rejected.get(pdf, []))
            for pdf, figs in scored_truth(truth, records_path).items()]


def evaluate_misses(truth: Path, records_path: Path) -> list[str]:
    records = read_records(records_path)
    preds, rejected = predicted_figures(records), not_a_figure(records)
    lines = []
    for pdf, figs in scored_truth(truth, records_path).items():
        lines += figure_misses(pdf, figs, preds.get(pdf, []), rejected.get(pdf, []))
    return lines


def scores_table(scores: list[BookScore]) -> list[dict]:
    return [{**asdict(s), "tight_share": s.tight_share} for s in scores]
