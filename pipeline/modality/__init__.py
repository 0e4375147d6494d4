"""Modality stage: clinical, dermoscopy, pathology or other, from a trained image model and caption cues.

Image: ``features.image_features`` (colour, stain, texture, dermoscopy and drawing cues) -> the trained
scikit-learn pipeline of ``model.py`` (file: ``ModalitySettings.model_path``, default the shipped
``models/modality/default.skops``; loaded once per process) -> p_img, a probability per class.

Caption: ``cues.cue_scores`` gives each modality the summed strength s_c of the distinct cue words in the
record's text (the panel's own subcaption when it has one, else the figure caption): strong cues (the name of
the technique: "dermoscopy", "H&E", "x400", "clinical photograph", "schematic") count 2, weak ones ("biopsy",
"pigment network", "on the forearm") 1, at most 4 per modality.

Rule (a product of experts): p(c) ∝ max(p_img(c), FLOOR) · exp(caption_weight · s_c). With the default
``caption_weight`` 1, a strong cue multiplies the odds of its class by e² ≈ 7.4 and a weak one by e ≈ 2.7: a
doubtful image follows its caption, a confident image keeps its class against a weak or passing mention
("... confirmed by biopsy" under a clinical photo), and a confident image against a strong cue lands near
50/50, below ``review_threshold``. The record keeps the winning class, its probability as confidence and
the evidence (image probability, cue words per class with their score, and what decided). Records whose
confidence is below ``review_threshold`` are marked ``needs_review`` (kept, not rejected).
"""

from __future__ import annotations

import math

import numpy as np

from pipeline.modality.cues import cue_scores
from pipeline.modality.features import FEATURE_VERSION, decode_image, image_features
from pipeline.modality.model import CLASSES, ModalityModel, ModelError, load_cached
from schemas import Item, StageReport
from schemas.settings import ModalitySettings

VERSION = "2"
FLOOR = 0.01  # least image probability a class keeps, so that a caption can always speak

__all__ = ["CLASSES", "FEATURE_VERSION", "VERSION", "ModelError", "assign_modality", "classify", "combine",
           "image_probs"]


def image_probs(img: np.ndarray, model: ModalityModel) -> dict[str, float]:
    """Class -> probability from the pixels alone."""
    p = model.predict_proba(image_features(img)[None, :])[0]
    return dict(zip(CLASSES, (float(v) for v in p)))


def combine(probs: dict[str, float], text: str, caption_weight: float) -> tuple[str, float, list[str]]:
    """Image probabilities + caption cues -> (modality, confidence, evidence), by the rule in the module doc."""
    img_best = max(CLASSES, key=lambda c: probs[c])
    evidence = [f"image:{img_best}={probs[img_best]:.2f}"]
    scores, words = cue_scores(text)
    if not scores or caption_weight <= 0:
        final = dict(probs)
    else:
        logit = {c: math.log(max(probs[c], FLOOR)) + caption_weight * scores.get(c, 0.0) for c in CLASSES}
        top = max(logit.values())
        z = {c: math.exp(v - top) for c, v in logit.items()}
        s = sum(z.values())
        final = {c: z[c] / s for c in CLASSES}
        evidence += [f"caption:{m}+{scores[m]:g}:{','.join(words[m])}" for m in CLASSES if m in scores]
    best = max(CLASSES, key=lambda c: final[c])
    if not scores or caption_weight <= 0:
        decided = "image"
    elif best != img_best:
        decided = "caption"
    elif best == max(scores, key=scores.get) and scores[best] > max([v for k, v in scores.items() if k != best] or [0]):
        decided = "image+caption"
    else:
        decided = "image"  # the image kept its class against the caption
    evidence.append(f"decided:{decided}")
    return best, round(float(final[best]), 4), evidence


def classify(img: np.ndarray, text: str, settings: ModalitySettings, model: ModalityModel | None = None
             ) -> tuple[str, float, list[str]]:
    model = model or load_cached(settings.model_path)
    return combine(image_probs(img, model), text, settings.caption_weight)


def assign_modality(items: list[Item], settings: ModalitySettings | None = None,
                    model: ModalityModel | None = None) -> tuple[list[Item], StageReport]:
    """Set modality, confidence, evidence and needs_review on every record. An image that cannot be read
    rejects its record (``modality_error``); a missing or incompatible model raises :class:`ModelError`
    (the whole stage cannot run)."""
    settings = settings or ModalitySettings()
    report = StageReport(stage="modality")
    out = []
    if items and model is None:
        model = load_cached(settings.model_path)
    for it in items:
        rec = it.record.model_copy(deep=True)
        was_kept = rec.kept
        report.seen += 1
        try:
            img = decode_image(it.png)
            text = rec.subcaption or rec.caption  # a panel's own words beat the whole figure's
            rec.modality, rec.modality_confidence, rec.modality_evidence = classify(img, text, settings, model)
            rec.needs_review = rec.modality_confidence < settings.review_threshold
            if rec.needs_review:
                report.drop("needs_review")  # counted, not dropped: the record stays kept
        except ModelError:
            raise
        except Exception as exc:
            rec.reject("modality_error")
            rec.modality_evidence = [f"error:{type(exc).__name__}"]
            report.drop("modality_error")
        report.kept += rec.kept
        report.dropped += was_kept and not rec.kept
        out.append(Item(record=rec, png=it.png))
    return out, report
