"""Figure label patterns: Fig./Figure/FIG./FIGURE/Figs./Plate with numbers like 5, 5.3, 5-3, 12.4A."""

from __future__ import annotations

import re
from dataclasses import dataclass

NUMBER = r"(?P<num>\d{1,3}(?:\s?[.\-–—]\s?\d{1,3}){0,3}[A-Za-z]?)(?![\d])"


def label_regex(words: list[str]) -> re.Pattern[str]:
    """A pattern that matches a caption label at the start of a text, e.g. "Fig. 5.3" or "PLATE 7"."""
    alts = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
    return re.compile(rf"^\s*(?P<word>(?:{alts})s?)(?P<dot>\s?\.)?\s*{NUMBER}", re.IGNORECASE)


# What may follow a caption's label. In-text sentences ("Figure 3 shows ...") continue with a lower-case
# word; captions continue with punctuation, a capital, a panel marker or nothing.
AFTER_LABEL = re.compile(r"^(?:\s*$|\s*(?:and|&|,|to)\s*\d|\s*[.:|—–\-]|\s+[A-Z(\[\"'‘“0-9]|\s*\(|\s+[a-z]\W|\s+[a-z]$)")


@dataclass(frozen=True)
class LabelMatch:
    label: str  # as printed, spacing normalised: "Fig. 5.3"
    number: str  # "5.3"
    end: int  # where the label ends in the text


def match_label(text: str, pattern: re.Pattern[str]) -> LabelMatch | None:
    """The caption label at the start of ``text``, or None when the text does not start a caption."""
    m = pattern.match(text)
    if not m:
        return None
    rest = text[m.end() :]
    if not AFTER_LABEL.match(rest):
        return None
    number = re.sub(r"\s+", "", m.group("num"))
    label = m.group("word") + (m.group("dot") or "").strip() + " " + number
    return LabelMatch(label=label, number=number, end=m.end())
