"""Caption words that name an image's modality, each with a strength.

``STRONG`` cues name the imaging technique itself ("dermoscopy", "H&E", "x400", "photomicrograph", "clinical
photograph", "schematic"); ``WEAK`` cues only make it likelier ("biopsy" is often said of a clinical photo,
"pigment network" of a dermoscopic one, "on the forearm" of a clinical one). :func:`cue_scores` sums the
strengths of the distinct cues found per modality, capped at ``CAP``; the stage turns these into log-odds
(see ``pipeline.modality``).
"""

from __future__ import annotations

import re

STRONG = 2.0
WEAK = 1.0
CAP = 4.0  # most cue strength one modality can collect from one caption

_SITES = (r"face|cheeks?|forehead|nose|chin|lips?|ears?|eyelids?|scalp|neck|chest|back|trunk|abdomen|flanks?|"
          r"buttocks?|groin|thighs?|legs?|shins?|knees?|ankles?|feet|foot|soles?|toes?|arms?|forearms?|elbows?|"
          r"hands?|palms?|fingers?|wrists?|shoulders?|axillae?|breasts?")
_MAG = r"(?:10|20|25|40|50|60|100|200|250|400|500|600|1000)"

CUES: dict[str, list[tuple[str, float]]] = {
    "dermoscopy": [
        (r"\bdermo?scop\w*", STRONG), (r"\bdermatoscop\w*", STRONG), (r"\bepiluminescen\w*", STRONG),
        (r"\btrichoscop\w*", STRONG), (r"\bonychoscop\w*", STRONG), (r"\bvideodermoscop\w*", STRONG),
        (r"\bpigment network", WEAK), (r"\bpolari[sz]ed (?:light|view|mode)", WEAK), (r"\bblue-?white veil", WEAK),
        (r"\b(?:dotted|arborizing|arborising|glomerular|hairpin) vessels", WEAK), (r"\bstreaks\b", WEAK),
        (r"\b(?:globules|pseudopods|regression structures)\b", WEAK),
    ],
    "pathology": [
        (r"\bh\s?&\s?e\b", STRONG), (r"\bhaematoxylin", STRONG), (r"\bhematoxylin", STRONG),
        (r"\beosin\b", STRONG), (r"\bhistopatholog\w*", STRONG), (r"\bhistolog\w*", STRONG),
        (r"\bimmunohistochem\w*", STRONG), (r"\bimmunostain\w*", STRONG), (r"\bphotomicrograph\w*", STRONG),
        (r"\bmicrograph\w*", STRONG), (r"\b(?:original )?magnification\b", STRONG),
        (r"(?<!\d\s)(?<![\d.a-z])[x×]\s?" + _MAG + r"\b(?!\s?(?:mm|cm|µm|um|m|px)\b)(?!\s?[x×]\s?\d)", STRONG),
        (r"(?<![x×]\s)(?<![x×])\b" + _MAG + r"\s?[x×](?!\s?\d)", STRONG),
        (r"\b(?:pas|giemsa|gram|ziehl|grocott|gomori|masson|van gieson|alcian|toluidine|congo red|"
         r"fontana|perls)\b[^.]{0,20}\bstain", STRONG),
        (r"\bstain(?:ed|ing)\b", WEAK), (r"\bbiops(?:y|ies)\b", WEAK), (r"(?<![-\w])sections?\b", WEAK),
        (r"\b(?:epidermis|dermis) (?:shows|showing|contains)\b", WEAK), (r"\binfiltrates?\b", WEAK),
        (r"\b(?:acanthosis|parakeratosis|hyperkeratosis|spongiosis|hypergranulosis|rete ridges)\b", WEAK),
    ],
    "clinical": [
        (r"\bclinical (?:photo\w*|image|picture|appearance|view|presentation|aspect)", STRONG),
        (r"\bphotograph\w*", WEAK), (r"\b(?:on|of|over) the (?:\w+ ){0,3}(?:" + _SITES + r")\b", WEAK),
    ],
    "other": [
        (r"\bdiagram\w*", STRONG), (r"\bschemati\w*", STRONG), (r"\b(?:bar |pie |line )?chart\b", STRONG),
        (r"\bgraph\b", STRONG), (r"\billustrat\w*", STRONG), (r"\bflow ?chart\b", STRONG),
        (r"\balgorithm\b", STRONG), (r"\bcartoon\b", STRONG), (r"\bdrawing\b", WEAK), (r"\bdrawn\b", WEAK),
        (r"\bplot\b", WEAK), (r"\bhistogram\b", STRONG), (r"\b(?:age |sex |size )?distribution of\b", WEAK),
        (r"\b(?:prevalence|incidence|proportion|percentage)\b", WEAK), (r"\bnumber of (?:patients|cases)\b", WEAK),
        (r"\bclassification\b", WEAK), (r"\boverview\b", WEAK),
    ],
}
_COMPILED = {m: [(re.compile(p, re.IGNORECASE), s) for p, s in pats] for m, pats in CUES.items()}


def caption_cues(text: str) -> dict[str, list[str]]:
    """Modality -> the cue words found in ``text`` (empty dict when none)."""
    out: dict[str, list[str]] = {}
    for modality, patterns in _COMPILED.items():
        hits = [m.group(0) for p, _s in patterns for m in p.finditer(text or "")]
        if hits:
            out[modality] = hits
    return out


def cue_scores(text: str) -> tuple[dict[str, float], dict[str, list[str]]]:
    """(modality -> summed strength of the distinct cue patterns found, capped at CAP; modality -> the words
    found). Modalities without a cue are absent."""
    scores: dict[str, float] = {}
    words: dict[str, list[str]] = {}
    for modality, patterns in _COMPILED.items():
        total, found = 0.0, []
        for p, strength in patterns:
            hits = [m.group(0) for m in p.finditer(text or "")]
            if hits:
                total += strength
                found.append(hits[0].strip().lower())
        if found:
            scores[modality] = min(CAP, total)
            words[modality] = found
    return scores, words
