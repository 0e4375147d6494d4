"""What a record's VQA may use: the caption text of its image, its modality and its patient's age and gender.

Both generators and the guard read the record through these functions, so "what the LLM was told" and "what an
answer may say" are the same text (``source_text``).
"""

from __future__ import annotations

import re

from schemas import Record

_LABEL_RE = re.compile(r"^\s*(?:fig(?:ure)?s?|plate)\s*\.?\s*[\dA-Za-z.\-–]*[.:|]?\s*", re.I)
# a panel marker: "(a)", "(A, B)", "(c and d)"; also "a:" / "A." at a clause start
_PANEL_RE = re.compile(r"\(\s*[a-hA-H](?:\s*(?:,|and|&|-|–)\s*[a-hA-H])*\s*\)\s*")

MODALITY_PHRASE = {
    "clinical": "clinical photograph of the skin",
    "dermoscopy": "dermoscopic image",
    "pathology": "histopathology image",
}


def _clean(text: str) -> str:
    text = _PANEL_RE.sub("", text)
    return re.sub(r"\s+", " ", text).strip(" .;:,")


def caption_text(rec: Record) -> str:
    """The caption as it applies to this record's image, without its label ("Fig. 1.3") and panel markers.

    A panel of a multi-panel figure gets the caption's shared part (the text before the first panel marker)
    plus its own subcaption, never the other panels' subcaptions (they describe other images).
    """
    body = _LABEL_RE.sub("", rec.caption or "")
    if rec.subcaption:
        m = _PANEL_RE.search(body)
        shared = _clean(body[: m.start()]) if m else ""
        sub = _clean(rec.subcaption)
        if shared and sub and sub.lower() not in shared.lower():
            return f"{shared}. {sub[0].upper()}{sub[1:]}"
        return sub or shared
    return _clean(body)


def modality_phrase(rec: Record) -> str | None:
    return MODALITY_PHRASE.get(rec.modality)


def age_words(age: float) -> str:
    if age >= 2:
        return f"{age:g} years old" if age != int(age) else f"{int(age)} years old"
    months = round(age * 12)
    if months >= 1:
        return f"{months} month{'s' if months != 1 else ''} old"
    weeks = round(age * 52.1775)
    if weeks >= 1:
        return f"{weeks} week{'s' if weeks != 1 else ''} old"
    days = round(age * 365.25)
    return f"{days} day{'s' if days != 1 else ''} old"


def patient_phrase(rec: Record) -> str | None:
    """'45 years old, female' (or only one of them), None when neither is known."""
    parts = []
    if rec.age is not None:
        parts.append(age_words(rec.age))
    if rec.gender:
        parts.append(rec.gender)
    return ", ".join(parts) or None


def source_text(rec: Record) -> str:
    """Everything an answer may rest on: caption text, modality phrase, patient phrase."""
    return "\n".join(x for x in (caption_text(rec), modality_phrase(rec), patient_phrase(rec)) if x)
