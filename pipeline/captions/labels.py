"""Figure label patterns: Fig./Figure/FIG./FIGURE/Figs./Plate with numbers like 5, 5.3, 5-3, 12.4A or IV."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Arabic numbers with parts and a panel letter (5, 5.3, 5-3, 5–3, 12.4A), or upper-case Roman ones (Plate IV)
NUMBER = (r"(?P<num>\d{1,3}(?:\s?[.\-–—]\s?\d{1,3}){0,3}[A-Za-z]?(?![\d])"
          r"|(?-i:[IVXLC]{1,7})(?![A-Za-z\d]))")


def label_regex(words: list[str]) -> re.Pattern[str]:
    """A pattern that matches a caption label at the start of a text, e.g. "Fig. 5.3" or "PLATE 7"."""
    alts = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
    return re.compile(rf"^\s*(?P<word>(?:{alts})s?)(?P<dot>\s?\.)?\s*{NUMBER}", re.IGNORECASE)


# What may follow a caption's label. In-text sentences go on with a lower-case word ("Figure 3 shows ...") or
# with the punctuation of a clause ("Fig. 5), which ...", "Fig. 5's"); a caption goes on with anything else:
# a full stop, colon or dash, a capital, a digit, a symbol or markup ("<b>", "*"), a panel marker ("a)", "(a)"),
# or nothing. A comma goes on as prose only before a lower-case word ("Fig. 5, which ..."): before a capitalised
# word it is a caption's full stop as OCR reads it ("FIGURE 9.3A, Seborrhoeic keratosis ..."). "and 2.2" / "to 5" name more figures ("Figs. 2.1 and 2.2").
NEXT_WORD = re.compile(r"^\s+(?P<word>[^\W\d_]+)")
CLAUSE_PUNCT = re.compile(r"^(?:\s*[;)\]}]|\s*,(?!\s*[A-Z][a-z])|['’]s\b)")
MORE_FIGURES = re.compile(r"^\s*(?:and|&|,|to)\s*\d")


def continues_as_sentence(rest: str) -> bool:
    """The text after a label reads as running prose: a clause's punctuation, or a lower-case word longer than a
    panel letter."""
    if MORE_FIGURES.match(rest):
        return False
    if CLAUSE_PUNCT.match(rest):
        return True
    m = NEXT_WORD.match(rest)
    return bool(m) and len(m.group("word")) >= 2 and m.group("word").islower()


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
    if continues_as_sentence(text[m.end() :]):
        return None
    number = re.sub(r"\s+", "", m.group("num"))
    label = m.group("word") + (m.group("dot") or "").strip() + " " + number
    return LabelMatch(label=label, number=number, end=m.end())
