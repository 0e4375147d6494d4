"""How well the face and overlay filters work, measured in one run (``mmskin eval filters``).

Two measurements:

- **Recall on sample books** (``sample_recall``): truth figures marked ``"face": true`` or ``"overlay": true`` in
  ``*.truth.json`` (sample_pdfs) are matched to the figures of a build's ``records.jsonl`` (IoU >= 0.5 on the
  same page, as ``eval.extraction`` matches them). A face figure counts as found when a record of its matched
  figure carries the reason ``identifiable_face``; an overlay figure when one carries ``annotated_overlay``.
  This scores the whole road (extraction, then the filter as the build ran it); a truth figure the build did
  not extract counts as missed. The same reasons on unmarked photographs (truth modality clinical, dermoscopy
  or pathology; labelled diagrams and charts are not photographs and are rejected anyway) are reported as
  false positives.
- **False positives on a folder of images** (``scan_folder``): every image under a folder (for example
  ../shared/data/images/dev, which holds no faces and no annotations) goes through the same checks the build
  runs (``pipeline.filters.faces.face_check``, ``pipeline.filters.overlays.overlay_check``) with the given
  settings; the share flagged is the false-positive rate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eval.extraction import TruthFigure, match_figures, predicted_figures, read_records, rounded, truth_files
from schemas.settings import FilterSettings

FACE = "identifiable_face"
OVERLAY = "annotated_overlay"
KINDS = {"face": FACE, "overlay": OVERLAY}  # truth flag -> reason code of the build
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


# ---------------------------------------------------------------- recall on truth-marked sample figures


@dataclass
class KindRecall:
    kind: str  # "face" | "overlay"
    reason: str
    n_truth: int  # truth figures marked with the flag
    found: int  # ... whose matched build figure carries the reason
    missed: list[str] = field(default_factory=list)  # truth ids not found (with why)
    n_unmarked: int = 0  # truth photographs (modality not "other") without the flag that the build extracted
    false_positives: list[str] = field(default_factory=list)  # ... that carry the reason anyway

    @property
    def recall(self) -> float | None:
        return self.found / self.n_truth if self.n_truth else None

    @property
    def fp_rate(self) -> float | None:
        return len(self.false_positives) / self.n_unmarked if self.n_unmarked else None


def _sample_truth(path: Path) -> dict | None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc if isinstance(doc, dict) and str(doc.get("schema", "")).startswith("mmskin-sample-truth") else None


def sample_recall(truth: Path, records_path: Path) -> list[KindRecall]:
    """Face and overlay recall (and false positives on unmarked figures) of a build against sample truth."""
    records = read_records(records_path)
    by_id = {r["id"]: r for r in records}
    preds = predicted_figures(records)
    docs = [d for d in (_sample_truth(p) for p in truth_files(truth)) if d is not None]
    if not docs:
        raise ValueError(f"{truth}: no sample truth files (*.truth.json with schema mmskin-sample-truth)")
    built = {r["source_pdf"] for r in records}
    out = {kind: KindRecall(kind=kind, reason=reason, n_truth=0, found=0) for kind, reason in KINDS.items()}
    for doc in docs:
        if doc["pdf"] not in built:
            continue
        figs = doc["figures"]
        tf = [TruthFigure(page=f["page"], bbox=rounded(f["bbox"]), caption=f.get("caption")) for f in figs]
        pf = preds.get(doc["pdf"], [])
        matched = dict(match_figures(tf, pf))
        for i, f in enumerate(figs):
            reasons: set[str] = set()
            if i in matched:
                for rid in pf[matched[i]].record_ids:
                    reasons |= set(by_id[rid].get("reject_reasons") or [])
            for kind, reason in KINDS.items():
                s = out[kind]
                if f.get(kind):
                    s.n_truth += 1
                    if reason in reasons:
                        s.found += 1
                    else:
                        why = "not extracted" if i not in matched else f"reasons {sorted(reasons) or 'none'}"
                        s.missed.append(f"{f['id']} ({f['label']}): {why}")
                elif i in matched and f.get("modality") != "other":
                    s.n_unmarked += 1
                    if reason in reasons:
                        s.false_positives.append(f"{f['id']} ({f['label']})")
    return list(out.values())


# ---------------------------------------------------------------- false positives on a folder of images


@dataclass
class ImageResult:
    image: str
    face: float | None = None  # face score (faces found) when flagged
    overlay: float | None = None  # overlay score when flagged
    error: str | None = None


@dataclass
class FolderScore:
    folder: str
    n: int  # images read
    face_flagged: list[str]
    overlay_flagged: list[str]
    errors: list[str]

    @property
    def face_fp_rate(self) -> float | None:
        return len(self.face_flagged) / self.n if self.n else None

    @property
    def overlay_fp_rate(self) -> float | None:
        return len(self.overlay_flagged) / self.n if self.n else None


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def check_image(job: tuple[str, str, dict]) -> ImageResult:
    """Run the face and overlay checks on one image file (a top-level function: process pools pickle it)."""
    path, name, settings_json = job
    import numpy as np
    from PIL import Image

    from pipeline.filters.faces import face_check
    from pipeline.filters.overlays import overlay_check

    settings = FilterSettings.model_validate(settings_json)
    try:
        with Image.open(path) as im:
            img = np.asarray(im.convert("RGB"))
    except Exception as exc:  # a bad file is reported and the rest goes on
        return ImageResult(image=name, error=f"{name}: cannot read image ({type(exc).__name__}: {exc})")
    face = face_check(img, settings)
    overlay = overlay_check(img, settings)
    return ImageResult(image=name, face=face[1] if face else None, overlay=overlay[1] if overlay else None)


def scan_folder(folder: Path, settings: FilterSettings | None = None, mapper: Callable = map) -> FolderScore:
    """Face and overlay checks on every image under ``folder`` (recursively); ``mapper`` may be a pool's map."""
    settings = settings or FilterSettings()
    files = image_files(folder)
    jobs = [(str(p), p.relative_to(folder).as_posix(), settings.model_dump(mode="json")) for p in files]
    results: Iterable[ImageResult] = mapper(check_image, jobs)
    faces, overlays, errors, n = [], [], [], 0
    for r in results:
        if r.error:
            errors.append(r.error)
            continue
        n += 1
        if r.face is not None:
            faces.append(r.image)
        if r.overlay is not None:
            overlays.append(r.image)
    return FolderScore(folder=str(folder), n=n, face_flagged=faces, overlay_flagged=overlays, errors=errors)


def as_json(recalls: list[KindRecall], folder: FolderScore | None) -> dict:
    out: dict = {}
    for s in recalls:
        out[s.kind] = {**asdict(s), "recall": s.recall, "fp_rate_on_unmarked": s.fp_rate}
    if folder is not None:
        out["folder"] = {**asdict(folder), "face_fp_rate": folder.face_fp_rate,
                         "overlay_fp_rate": folder.overlay_fp_rate}
    return out
