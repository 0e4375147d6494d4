"""Caption words that name an image's modality."""

from __future__ import annotations

import re

CUES: dict[str, list[str]] = {
    "dermoscopy": [
        r"dermo?scop\w*", r"dermatoscop\w*", r"epiluminescen\w*", r"pigment network", r"polari[sz]ed light",
    ],
    "pathology": [
        r"h\s?&\s?e\b", r"haematoxylin", r"hematoxylin", r"eosin", r"histopatholog\w*", r"histolog\w*", r"biops\w*",
        r"\bstain(?:ed|ing)?\b", r"immunohistochem\w*", r"photomicrograph", r"micrograph", r"magnification",
        r"[x×]\s?\d{2,4}\b", r"\b\d{2,4}\s?[x×]\b", r"original magnification", r"\bpas\b", r"epidermis shows",
    ],
    "clinical": [r"clinical (?:photo\w*|image|picture|appearance)", r"photograph"],
    "other": [r"\bdiagram\b", r"\bschemati\w*", r"\bchart\b", r"\bgraph\b", r"\billustration\b", r"\bflow ?chart\b", r"\bdrawing\b"],
}
_COMPILED = {m: [re.compile(p, re.IGNORECASE) for p in pats] for m, pats in CUES.items()}


def caption_cues(text: str) -> dict[str, list[str]]:
    """Modality -> the cue words found in ``text`` (empty dict when none)."""
    out: dict[str, list[str]] = {}
    for modality, patterns in _COMPILED.items():
        hits = [m.group(0) for p in patterns for m in p.finditer(text or "")]
        if hits:
            out[modality] = hits
    return out
