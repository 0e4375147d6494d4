"""Offline, deterministic VQA: questions from the caption's own facts, answers built only from caption text.

Facts used: the modality, the finding described (caption body without its label and panel markers), the
body site when the caption names one, and the patient's age and gender when mined from the caption.
"""

from __future__ import annotations

import re

from schemas import Record, VQAPair

MODALITY_ANSWER = {
    "clinical": "This is a clinical photograph of the skin.",
    "dermoscopy": "This is a dermoscopic image.",
    "pathology": "This is a histopathology image.",
}
BODY_SITES = [
    "scalp", "forehead", "face", "cheek", "nose", "lip", "lips", "ear", "eyelid", "neck", "chest", "breast",
    "abdomen", "trunk", "back", "flank", "shoulder", "arm", "upper arm", "forearm", "elbow", "wrist", "hand",
    "palm", "finger", "fingers", "nail", "thigh", "knee", "leg", "lower leg", "shin", "ankle", "foot", "feet",
    "sole", "toe", "toes", "buttock", "axilla", "groin", "oral mucosa", "tongue", "extremities", "limbs",
]
_SITE_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, BODY_SITES), key=len, reverse=True)) + r")\b", re.I)
_LABEL_RE = re.compile(r"^\s*(?:fig(?:ure)?s?|plate)\s*\.?\s*[\dA-Za-z.\-–]*[.:|]?\s*", re.I)
_PANEL_RE = re.compile(r"\(\s*[a-hA-H](?:\s*(?:,|and|&|-|–)\s*[a-hA-H])*\s*\)\s*")


def finding_text(rec: Record) -> str:
    """What the image shows, in the caption's own words: the subcaption, or the caption body."""
    text = rec.subcaption or _LABEL_RE.sub("", rec.caption or "")
    text = _PANEL_RE.sub("", text)
    text = re.sub(r"\s+", " ", text).strip(" .;:")
    return text


def template_pairs(rec: Record) -> list[VQAPair]:
    pairs = []
    finding = finding_text(rec)
    if finding:
        pairs.append(VQAPair(question="What does this image show?", answer=finding[0].upper() + finding[1:] + "."))
    if rec.modality in MODALITY_ANSWER:
        pairs.append(VQAPair(question="What type of image is this?", answer=MODALITY_ANSWER[rec.modality]))
    site = _SITE_RE.search(finding)
    if site:
        pairs.append(VQAPair(question="Where on the body is the finding located?", answer=f"On the {site.group(1).lower()}."))
    if rec.age is not None or rec.gender:
        who = []
        if rec.age is not None:
            who.append(_age_words(rec.age))
        if rec.gender:
            who.append(rec.gender)
        pairs.append(VQAPair(question="What are the age and gender of the patient?", answer="The patient is " + " ".join(who) + "."))
    return pairs


def _age_words(age: float) -> str:
    if age >= 2:
        return f"{age:g} years old" if age != int(age) else f"{int(age)} years old"
    months = round(age * 12)
    if months >= 1:
        return f"{months} month{'s' if months != 1 else ''} old"
    days = round(age * 365.25)
    return f"{days} day{'s' if days != 1 else ''} old"
