"""Modality stage: clinical, dermoscopy, pathology or other, from image colour/texture and caption cues.

Rule: image evidence gives a probability per class (softmax of rule scores); caption cues give a probability
(cue counts); when both speak they are mixed with ``caption_weight``. Records whose final confidence is below
``review_threshold`` are marked ``needs_review`` (kept, not rejected). The evidence that decided is stored.
"""

from __future__ import annotations

import numpy as np

from pipeline.extract.images import png_to_numpy
from pipeline.modality.cues import caption_cues
from pipeline.modality.features import image_features, rule_scores
from schemas import Item, StageReport
from schemas.settings import ModalitySettings

VERSION = "1"
CLASSES = ("clinical", "dermoscopy", "pathology", "other")
TEMPERATURE = 0.35  # softmax temperature on rule scores


def image_probs(img: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
    f = image_features(img)
    s = rule_scores(f)
    z = np.array([s[c] for c in CLASSES]) / TEMPERATURE
    p = np.exp(z - z.max())
    p /= p.sum()
    return dict(zip(CLASSES, p.tolist())), f


def classify(img: np.ndarray, text: str, settings: ModalitySettings) -> tuple[str, float, list[str]]:
    probs, _f = image_probs(img)
    evidence = [f"image:{max(probs, key=probs.get)}={max(probs.values()):.2f}"]
    cues = caption_cues(text)
    if cues:
        total = sum(len(v) for v in cues.values())
        cue_p = {c: len(cues.get(c, [])) / total for c in CLASSES}
        w = settings.caption_weight
        probs = {c: (1 - w) * probs[c] + w * cue_p[c] for c in CLASSES}
        evidence += [f"caption:{m}:{','.join(sorted(set(h.lower() for h in hits)))}" for m, hits in sorted(cues.items())]
    best = max(CLASSES, key=lambda c: probs[c])
    return best, round(float(probs[best]), 4), evidence


def assign_modality(items: list[Item], settings: ModalitySettings | None = None) -> tuple[list[Item], StageReport]:
    settings = settings or ModalitySettings()
    report = StageReport(stage="modality")
    out = []
    for it in items:
        rec = it.record.model_copy(deep=True)
        was_kept = rec.kept
        report.seen += 1
        try:
            img = png_to_numpy(it.png)
            text = rec.subcaption or rec.caption  # a panel's own words beat the whole figure's
            rec.modality, rec.modality_confidence, rec.modality_evidence = classify(img, text, settings)
            rec.needs_review = rec.modality_confidence < settings.review_threshold
            if rec.needs_review:
                report.drop("needs_review")  # counted, not dropped: the record stays kept
        except Exception as exc:
            rec.reject("modality_error")
            rec.modality_evidence = [f"error:{type(exc).__name__}"]
            report.drop("modality_error")
        report.kept += rec.kept
        report.dropped += was_kept and not rec.kept
        out.append(Item(record=rec, png=it.png))
    return out, report
