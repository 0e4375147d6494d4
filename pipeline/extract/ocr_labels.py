"""Caption labels as OCR misreads them, read again.

A caption's label is often set apart from its body: small capitals, bold, a colour, a larger size. That is
what OCR reads worst. Small capitals come out as lower case with their own look-alikes ("FIG" as "Fic",
"FIGURE" as "Ficure", "PLATE" as "Pvate" or "Puare"); a bold or 1-bit label loses or swaps a letter ("FG",
"VIG", "Hig"); and the number after it mixes letters into digits ("1l-1", "PLATE Il"). Nothing downstream then
knows the line starts a caption, and the whole figure goes uncaptioned.

A line's first word is read as a label word when it is one OCR edit from it, counting a swap of look-alike
glyphs as half an edit, and the word after it reads as a figure number once look-alike glyphs in it are read as
digits (or as a Roman numeral). Both words are then rewritten as the label as printed would read. Nothing else
on a page is touched: a label word alone, or one before something that is no number, stays as OCR read it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from schemas import OcrWord

# glyph pairs OCR swaps (either way), in small capitals above all: a small-capital G reads as c, L as u or v
LOOKALIKES = frozenset(
    frozenset(p)
    for p in ("cg", "gq", "il", "i1", "l1", "i|", "l|", "lt", "ft", "uv", "lu", "lv", "ei", "rt", "fe", "o0", "hf")
)
MAX_COST = 1.0  # at most one edit (two look-alike swaps) between a label word as printed and as read
SWAP_COST = 0.5
TRAIL = re.compile(r"[.,:;]+$")  # a label's full stop, which OCR also reads as a comma or colon
DIGITISH = str.maketrans({"l": "1", "I": "1", "|": "1", "i": "1", "O": "0", "o": "0"})
ARABIC = re.compile(r"^\d{1,3}(?:[.\-–—]\d{1,3}){0,3}[A-Za-z]?$")
ROMAN_READ = re.compile(r"^[IVXLClI|]{1,7}$")  # "II" read as "Il", "Ill", "|l"
PUNCT_END = re.compile(r"[.,:;—–-]+$")
# a dash and the caption's first word, read as one with the number (an em or en dash, or either read as a
# hyphen before a capital: "21.5B-Tinea"; a hyphen before a digit is the number's own, "5-3")
GLUED = re.compile(r"[.,:;]*(?:[—–]\D|-(?=[A-Z])).*$")


def _cost(a: str, b: str) -> float:
    """Edit distance from ``a`` to ``b`` (lower case), a look-alike swap costing SWAP_COST."""
    prev = [float(j) for j in range(len(b) + 1)]
    for i, ca in enumerate(a, 1):
        cur = [float(i)]
        for j, cb in enumerate(b, 1):
            sub = 0.0 if ca == cb else (SWAP_COST if frozenset((ca, cb)) in LOOKALIKES else 1.0)
            cur.append(min(prev[j] + 1.0, cur[j - 1] + 1.0, prev[j - 1] + sub))
        prev = cur
    return prev[-1]


@lru_cache(maxsize=4096)
def label_word(token: str, words: tuple[str, ...]) -> str | None:
    """The label word (as in ``words``) that OCR read as ``token``, or None. The first letter must agree up to
    a look-alike, and the word must not be one already (that needs no repair)."""
    core = TRAIL.sub("", token).lower()
    if len(core) < 2 or not core.isalpha() and not re.fullmatch(r"[a-z|1]+", core):
        return None
    best, best_cost = None, MAX_COST + 1e-9
    for w in words:
        lw = w.lower()
        if core == lw:
            return None
        first_ok = core[0] == lw[0] or frozenset((core[0], lw[0])) in LOOKALIKES
        if abs(len(core) - len(lw)) > 1 or not first_ok and len(lw) <= 3:
            continue
        c = _cost(core, lw)
        if c < best_cost:
            best, best_cost = w, c
    return best


def figure_number(token: str) -> str | None:
    """``token`` as a figure number ("5", "5.3", "12-4A", "IV"), look-alike glyphs read as digits or as
    Roman ones; None when it is no number. Trailing punctuation is kept."""
    glued = GLUED.search(token)
    m = glued if glued and glued.start() > 0 else PUNCT_END.search(token)
    core, tail = (token[: m.start()], token[m.start():]) if m else (token, "")
    if not core:
        return None
    if ROMAN_READ.fullmatch(core) and not core.isdigit():
        roman = core.replace("l", "I").replace("|", "I")
        return roman + tail if re.fullmatch(r"[IVXLC]{1,7}", roman) else None
    if not any(ch.isdigit() for ch in core):
        return None
    # look-alikes inside the number are digits; a last letter after a digit is a panel letter ("12.4A")
    body, last = (core[:-1], core[-1]) if len(core) > 1 and core[-1].isalpha() and core[-2].isdigit() else (core, "")
    fixed = body.translate(DIGITISH) + last
    return fixed + tail if ARABIC.fullmatch(fixed) else None


def _case_like(word: str, token: str) -> str:
    """The label word in the case OCR read it in: "FIG" for "FIc" or "FG", "Fig" for "Fic"."""
    letters = [ch for ch in token if ch.isalpha()]
    if len(letters) >= 2 and letters[1].isupper():
        return word.upper()
    return word[0].upper() + word[1:].lower()


def repair_labels(words: list[OcrWord], label_words: tuple[str, ...]) -> list[OcrWord]:
    """OCR words with each line's misread caption label (word and number) read again; see the module note."""
    words = list(words)
    lines: dict[tuple[int, int, int], list[int]] = {}
    for i, w in enumerate(words):
        lines.setdefault((w.block, w.par, w.line), []).append(i)
    for idx in lines.values():
        if len(idx) < 2:
            continue
        idx.sort(key=lambda i: words[i].bbox[0])
        first, second = words[idx[0]], words[idx[1]]
        number = figure_number(second.text)
        if number is None:
            continue
        head = first.text
        word = label_word(head, label_words)
        if word is not None:
            trail = TRAIL.search(head)
            head = _case_like(word, head) + (trail.group() if trail else "")
        elif not _is_label(head, label_words):
            continue
        if head != first.text:
            words[idx[0]] = first.model_copy(update={"text": head})
        if number != second.text:
            words[idx[1]] = second.model_copy(update={"text": number})
    return words


def _is_label(token: str, label_words: tuple[str, ...]) -> bool:
    core = TRAIL.sub("", token).lower()
    return any(core in (w.lower(), w.lower() + "s") for w in label_words)
