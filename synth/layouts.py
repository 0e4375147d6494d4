"""Variation books: small textbooks drawn from a grammar of the layouts publishers use, with exact truth.

    spec = sample_book(seed=1, index=0)          # the grammar: axis values per book, page and figure (cheap)
    pdf, truth = render_book(spec)                # PDF bytes and truth (sample truth format + classes)
    pdf, truth = make_book(1, 0, force={"placement": "split"})

Every figure (or the book or page it sits on) takes one value of each axis below, drawn independently from a
numpy Generator seeded by (seed, book index); ``force`` pins axes to one value (for reproducing a class).

Figure axes (``FIGURE_AXES``):
  label_word   Fig. | Fig | FIG. | Figure | FIGURE | Plate | PLATE
  numbering    plain "5" | dotted "5.3" | hyphen "5-3" | en_dash "5–3" | letter_suffix "12.4A" | roman "IV"
  after_label  period | colon | em_dash ("5.3—Text") | en_dash ("5.3 – Text") | space | line_break (label alone)
  label_style  bold | italic | small_caps (upper case, the letters after the first smaller) | regular
  label_colour black | coloured
  label_size   larger than the caption body (+1.5 pt) | same | smaller (-1 pt)
  caption_font sans (helv/hebo/heit) | serif (tiro/tibo/tiit) | mono (cour/cobo/coit)
  body_style   roman | italic                           align  ragged | justified
  hyphenation  none | hyphenated (words of 7+ letters split at line ends, "hyper-" / "keratosis")
  ligatures    none | fi_fl (the caption's "fi"/"fl" written as U+FB01/U+FB02)
  paragraphs   one | several                           credit none | inside (run-in) | under (own line)
  placement    below | above | beside_left (caption left of the figure) | beside_right | margin (caption in
               the outer margin column) | plate_foot (full-page plate, caption at the foot) | column_break
               (caption continued at the top of the next column) | facing_page (plate on a verso, caption on
               the facing recto) | split (label centred above the figure, legend below)
  figure       single | row (separate images side by side) | grid (2x2 separate images) | raster_gutter /
               raster_lines / raster_touching (one raster holding the panels, split by white gutters, thin dark
               lines or nothing) | vector_schematic | vector_chart (PyMuPDF drawings) | continued (the figure
               goes on at the top of the next page: "Fig. 5.3 (continued)")
  panel_letters (multi-panel figures) none | in_white | in_black | in_boxed (burned into the panel's corner) |
               outside (printed under each panel as text)
  panel_ref    (multi-panel figures) paren_lower "(a)" | paren_upper "(A)" | upper_comma "A, ..."
  key_line     (single-image and vector figures) no | yes ("a, sweat-coil; b, duct; ..." under the legend)
Book axes (``BOOK_AXES``): columns 1 | 2 | 3; page_size a4 | letter | royal; furniture head_rule | head_foot |
  foot_only; scan digital | jpeg | 1bit_halftone; scan_dpi 150 | 200 | 300 | 400 (jpeg scans; 1-bit scans are
  300 dpi); skew none | under_1deg | 1_to_2deg (scans).
Page axes (``PAGE_AXES``, every page but full-page plates): margin_notes no | yes (books with a margin column);
  sidebar no | yes (tinted box with an icon); table no | yes ("Table" caption: a non-figure caption);
  text_refs inline ("(Figure 3)") | line_start (a body line starts "Fig. 5.3 shows ...").

A few combinations are not drawn and are re-drawn from the allowed values: roman numbers go with Plate/PLATE,
column_break needs 2+ columns, a continued figure has its caption below or above, royal pages have at most 2
columns. An axis that does not apply (panel letters of a single image) is left out of the figure's classes.

Truth (sample truth format "mmskin-sample-truth/1", see sample_pdfs/README.md) adds per figure ``classes``
({axis: value}, book and page axes included), ``caption_page`` (the page the caption starts on: the facing
page for facing_page) and ``caption_position`` = the placement; per page ``pages[i].classes``. Decisions:

- a figure's bbox is what is drawn for it: its images (panels united) or vector drawing, never its caption nor
  letters printed outside the panels. Raster boxes equal ``page.get_image_info()`` boxes (born-digital).
- the truth caption is the caption as a reader reads it: label and text joined by single spaces (a line break
  after the label, paragraph breaks and line ends are spaces; an em dash after the label joins without
  spaces), words split by hyphenation are whole again, ligature characters kept as the text layer holds them
  (U+FB01/U+FB02; ``eval.extraction.caption_matches`` normalises with NFKC, so "fi" matches too). Credit
  lines (inside or under), the split caption's label/title above and the key line below belong to the caption;
  a figure's ``credit`` holds the credit text alone (for a scorer that lets a caption leave it out).
- the caption of a continuation is what is printed there: "Fig. 5.3 (continued)"; both parts are figures.
- scanned books: each page becomes one full-page image (jpeg: colour, tint, blur, grain, JPEG 70-85; 1-bit:
  300 dpi, photographs as a 45-degree clustered-dot halftone, text thresholded); a skewed page's truth boxes
  are the axis-aligned boxes of the rotated rectangles, clipped to the page. There is no text layer.

Books have 4-10 pages; a born-digital book takes well under a second. Same seed, same bytes (on one machine:
OpenCV/numpy SIMD paths may round pixels differently on another CPU). Everything (text and pixels) is ours.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pymupdf
from PIL import Image, ImageDraw, ImageFont

from synth import images as simg
from synth.books import (
    FIXED_DATE,
    SCHEMA,
    _CONDS,
    _DFEAT,
    _HFEAT,
    _MORPH,
    _SITES,
    _TREAT,
    _cap,
    draw_skin_schematic,
    encode_image,
    filler_paragraph,
    truth_modality,
)
from synth.large_book import _caption, _demographics

VERSION = "1"
MIN_PAGES, MAX_PAGES = 4, 10

# ------------------------------------------------------------------------------------------------- grammar
FIGURE_AXES: Dict[str, Tuple[str, ...]] = {
    "label_word": ("Fig.", "Fig", "FIG.", "Figure", "FIGURE", "Plate", "PLATE"),
    "numbering": ("plain", "dotted", "hyphen", "en_dash", "letter_suffix", "roman"),
    "after_label": ("period", "colon", "em_dash", "en_dash", "space", "line_break"),
    "label_style": ("bold", "italic", "small_caps", "regular"),
    "label_colour": ("black", "coloured"),
    "label_size": ("larger", "same", "smaller"),
    "caption_font": ("sans", "serif", "mono"),
    "body_style": ("roman", "italic"),
    "align": ("ragged", "justified"),
    "hyphenation": ("none", "hyphenated"),
    "ligatures": ("none", "fi_fl"),
    "paragraphs": ("one", "several"),
    "credit": ("none", "inside", "under"),
    "placement": ("below", "above", "beside_left", "beside_right", "margin", "plate_foot", "column_break",
                  "facing_page", "split"),
    "figure": ("single", "row", "grid", "raster_gutter", "raster_lines", "raster_touching", "vector_schematic",
               "vector_chart", "continued"),
    "panel_letters": ("none", "in_white", "in_black", "in_boxed", "outside"),
    "panel_ref": ("paren_lower", "paren_upper", "upper_comma"),
    "key_line": ("no", "yes"),
}
BOOK_AXES: Dict[str, Tuple[str, ...]] = {
    "columns": ("1", "2", "3"),
    "page_size": ("a4", "letter", "royal"),
    "furniture": ("head_rule", "head_foot", "foot_only"),
    "scan": ("digital", "jpeg", "1bit_halftone"),
    "scan_dpi": ("150", "200", "300", "400"),
    "skew": ("none", "under_1deg", "1_to_2deg"),
}
PAGE_AXES: Dict[str, Tuple[str, ...]] = {
    "margin_notes": ("no", "yes"),
    "sidebar": ("no", "yes"),
    "table": ("no", "yes"),
    "text_refs": ("inline", "line_start"),
}
AXES: Dict[str, Tuple[str, ...]] = {**BOOK_AXES, **PAGE_AXES, **FIGURE_AXES}
WEIGHTS: Dict[str, Sequence[float]] = {  # uniform unless listed
    "scan": (0.5, 0.25, 0.25),
    "placement": (0.16, 0.12, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.12),
    "sidebar": (0.7, 0.3),
    "table": (0.75, 0.25),
    "margin_notes": (0.5, 0.5),
}
MULTI_PANEL = ("row", "grid", "raster_gutter", "raster_lines", "raster_touching")
KEYED = ("single", "vector_schematic", "vector_chart")
PAGE_SIZES = {"a4": (595.0, 842.0), "letter": (612.0, 792.0), "royal": (441.0, 666.0)}
FAMILIES = {"sans": ("helv", "hebo", "heit", "hebi"), "serif": ("tiro", "tibo", "tiit", "tibi"),
            "mono": ("cour", "cobo", "coit", "cobi")}
COLOURS = ((0.1, 0.3, 0.62), (0.62, 0.1, 0.14), (0.05, 0.45, 0.3))
EM, EN = "\u2014", "\u2013"


def book_stem(seed: int, index: int) -> str:
    return f"layouts_s{seed}_b{index:03d}"


@dataclass
class FigureSpec:
    index: int  # 0-based, in the order the figures are numbered
    classes: Dict[str, str]  # the figure axes that apply to it


@dataclass
class BookSpec:
    seed: int
    index: int
    stem: str
    book: Dict[str, str]  # book axes that apply (scan_dpi and skew only for scans)
    margin_column: bool
    figures: List[FigureSpec]
    pages: List[Dict[str, str]]  # page axes for pages 1..MAX_PAGES (margin_notes only with a margin column)
    force: Dict[str, str] = field(default_factory=dict)


def check_force(force: Optional[Dict[str, str]]) -> Dict[str, str]:
    force = dict(force or {})
    for axis, value in force.items():
        if axis not in AXES:
            raise ValueError(f"unknown axis {axis!r}; known: {', '.join(AXES)}")
        if value not in AXES[axis]:
            raise ValueError(f"unknown value {value!r} of {axis}; known: {', '.join(AXES[axis])}")
    return force


def _draw(rng: np.random.Generator, axis: str, force: Dict[str, str], allowed: Optional[Sequence[str]] = None) -> str:
    """One value of ``axis``: the forced one, else drawn among ``allowed`` (default all) with the axis weights."""
    if axis in force:
        return force[axis]
    values = AXES[axis]
    w = np.asarray(WEIGHTS.get(axis, [1.0] * len(values)), float)
    if allowed is not None:
        w = w * np.array([v in allowed for v in values], float)
    return values[int(rng.choice(len(values), p=w / w.sum()))]


def sample_book(seed: int, index: int, force: Optional[Dict[str, str]] = None) -> BookSpec:
    """The axis values of book ``index`` of ``seed`` (no drawing: cheap)."""
    force = check_force(force)
    rng = np.random.default_rng([int(seed), int(index), 0])
    book: Dict[str, str] = {}
    book["page_size"] = _draw(rng, "page_size", force)
    cols = ("1", "2") if book["page_size"] == "royal" else ("1", "2", "3")
    if force.get("placement") == "column_break":
        cols = tuple(c for c in cols if c != "1")
    book["columns"] = _draw(rng, "columns", force, cols)
    book["furniture"] = _draw(rng, "furniture", force)
    book["scan"] = _draw(rng, "scan", force)
    if book["scan"] != "digital":
        book["scan_dpi"] = "300" if book["scan"] == "1bit_halftone" else _draw(rng, "scan_dpi", force)
        book["skew"] = _draw(rng, "skew", force)
    figures = []
    for i in range(int(rng.integers(4, 9))):
        c: Dict[str, str] = {}
        placements = [p for p in AXES["placement"] if not (p == "column_break" and book["columns"] == "1")]
        if force.get("figure") == "continued":
            placements = ["below", "above"]
        c["placement"] = _draw(rng, "placement", force, placements)
        kinds = list(AXES["figure"])
        if c["placement"] not in ("below", "above"):
            kinds.remove("continued")
        if "panel_letters" in force or "panel_ref" in force:
            kinds = [k for k in kinds if k in MULTI_PANEL]
        elif "key_line" in force:
            kinds = [k for k in kinds if k in KEYED]
        c["figure"] = _draw(rng, "figure", force, kinds)
        words = AXES["label_word"] if force.get("numbering") != "roman" else ("Plate", "PLATE")
        c["label_word"] = _draw(rng, "label_word", force, words)
        nums = [n for n in AXES["numbering"] if n != "roman" or c["label_word"] in ("Plate", "PLATE")]
        c["numbering"] = _draw(rng, "numbering", force, nums)
        for axis in ("after_label", "label_style", "label_colour", "label_size", "caption_font", "body_style", "align",
                     "hyphenation", "ligatures", "paragraphs", "credit"):
            c[axis] = _draw(rng, axis, force)
        if c["figure"] in MULTI_PANEL:
            c["panel_letters"] = _draw(rng, "panel_letters", force)
            c["panel_ref"] = _draw(rng, "panel_ref", force)
        if c["figure"] in KEYED:
            c["key_line"] = _draw(rng, "key_line", force)
        figures.append(FigureSpec(i, c))
    margin = (any(f.classes["placement"] == "margin" for f in figures) or force.get("margin_notes") == "yes"
              or bool(rng.random() < 0.25))
    pages = []
    for _ in range(MAX_PAGES):
        p = {axis: _draw(rng, axis, force) for axis in ("sidebar", "table", "text_refs")}
        if margin:
            p["margin_notes"] = _draw(rng, "margin_notes", force)
        pages.append(p)
    return BookSpec(int(seed), int(index), book_stem(seed, index), book, margin, figures, pages, force)


# ------------------------------------------------------------------------------------------------- text setting
_FONTS: Dict[str, pymupdf.Font] = {}
_ADV: Dict[Tuple[str, str], float] = {}


def _font(key: str) -> pymupdf.Font:
    f = _FONTS.get(key)
    if f is None:
        f = _FONTS[key] = pymupdf.Font(key)
    return f


def text_width(text: str, font: str, size: float) -> float:
    w = 0.0
    for ch in text:
        a = _ADV.get((font, ch))
        if a is None:
            a = _ADV[(font, ch)] = _font(font).text_length(ch, 1.0)
        w += a
    return w * size


@dataclass
class Frag:
    text: str
    font: str
    size: float
    color: Tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def width(self) -> float:
        return text_width(self.text, self.font, self.size)


Word = Tuple[Frag, ...]


def word_text(w: Word) -> str:
    return "".join(f.text for f in w)


def word_width(w: Word) -> float:
    return sum(f.width for f in w)


def words_of(text: str, font: str, size: float, color=(0.0, 0.0, 0.0)) -> List[Word]:
    return [(Frag(t, font, size, color),) for t in text.split()]


_SPLITTABLE = re.compile(r"^([^\W\d_]{7,})([^\w]*)$")


def _hyphen_split(w: Word, room: float) -> Optional[Tuple[Word, Word]]:
    """(head ending in "-", tail) of a one-fragment word of 7+ letters whose head fits ``room``; 3+ letters a side."""
    if len(w) != 1:
        return None
    f = w[0]
    m = _SPLITTABLE.match(f.text)
    if not m:
        return None
    core = m.group(1)
    for k in range(len(core) - 3, 2, -1):
        head = Frag(core[:k] + "-", f.font, f.size, f.color)
        if head.width <= room:
            return (head,), (Frag(f.text[k:], f.font, f.size, f.color),)
    return None


@dataclass
class Line:
    words: List[Word]
    last: bool  # last line of its paragraph (never stretched)
    size: float  # largest font size on the line

    @property
    def natural(self) -> float:
        if not self.words:
            return 0.0
        return sum(word_width(w) for w in self.words) + _space(self.words[-1]) * (len(self.words) - 1)


def _space(w: Word) -> float:
    f = w[-1]
    return text_width(" ", f.font, f.size)


def break_lines(paras: Sequence[Sequence[Word]], width: float, hyphenate: bool = False) -> Tuple[List[Line], int]:
    """Greedy line breaking of paragraphs of words (each paragraph starts a line); returns (lines, number of
    hyphenated breaks)."""
    lines: List[Line] = []
    breaks = 0
    for para in paras:
        words = list(para)
        cur: List[Word] = []
        cur_w = 0.0
        i = 0
        while i < len(words):
            w = words[i]
            sp = _space(w) if cur else 0.0
            ww = word_width(w)
            if cur_w + sp + ww <= width + 1e-6:
                cur.append(w)
                cur_w += sp + ww
                i += 1
                continue
            if hyphenate:
                parts = _hyphen_split(w, width - cur_w - sp)
                if parts:
                    cur.append(parts[0])
                    words[i] = parts[1]
                    breaks += 1
                    lines.append(Line(cur, False, max(f.size for x in cur for f in x)))
                    cur, cur_w = [], 0.0
                    continue
            if not cur:  # a word wider than the line: alone on it
                cur.append(w)
                i += 1
            lines.append(Line(cur, False, max(f.size for x in cur for f in x)))
            cur, cur_w = [], 0.0
        if cur:
            lines.append(Line(cur, True, max(f.size for x in cur for f in x)))
    return lines, breaks


class _Ink:
    """A page's text, written with TextWriter (embedded base-14 fonts: ligatures and any Latin text). Text goes
    into the page in the order it is drawn (a new writer where the colour changes), so a coloured label comes
    just before its caption's text in the content stream, as in a typeset book."""

    def __init__(self, page: pymupdf.Page):
        self.page = page
        self.writers: List[Tuple[Tuple[float, ...], pymupdf.TextWriter]] = []

    def frag(self, x: float, base: float, f: Frag) -> float:
        if f.text.strip():
            if not self.writers or self.writers[-1][0] != f.color:
                self.writers.append((f.color, pymupdf.TextWriter(self.page.rect)))
            self.writers[-1][1].append((x, base), f.text, font=_font(f.font), fontsize=f.size)
        return f.width

    def text(self, x: float, base: float, s: str, font: str, size: float, color=(0.0, 0.0, 0.0)) -> float:
        return self.frag(x, base, Frag(s, font, size, tuple(color)))

    def commit(self):
        for color, tw in self.writers:
            tw.write_text(self.page, color=color)
        self.writers = []


LEAD = 1.22  # line height / font size


def line_height(line: Line) -> float:
    return LEAD * line.size


def draw_line(ink: _Ink, line: Line, x: float, top: float, width: float, align: str) -> None:
    """Draw one line with its top at ``top``: ragged (runs of one style as one string), justified (word by word,
    the gaps stretched; last lines ragged), centred or right-aligned."""
    base = top + 0.95 * line.size + (LEAD - 1.22) * line.size
    nat = line.natural
    if align == "centre":
        x += max(0.0, (width - nat) / 2)
    elif align == "right":
        x += max(0.0, width - nat)
    gaps = len(line.words) - 1
    extra = 0.0
    if align == "justified" and not line.last and gaps > 0:
        extra = (width - nat) / gaps
        if extra > 3.0 * _space(line.words[0]) + 4.0:
            extra = 0.0
    if extra <= 0.0:  # runs: consecutive fragments of one style in one string, spaces included
        run: Optional[Frag] = None
        cx = x
        for k, w in enumerate(line.words):
            for j, f in enumerate(w):
                sep = " " if (k > 0 and j == 0) else ""
                if run is not None and (run.font, run.size, run.color) == (f.font, f.size, f.color):
                    run = Frag(run.text + sep + f.text, f.font, f.size, f.color)
                else:
                    if run is not None:
                        cx += ink.frag(cx, base, run)
                        if sep:
                            cx += text_width(" ", run.font, run.size)
                    run = Frag(f.text, f.font, f.size, f.color)
        if run is not None:
            ink.frag(cx, base, run)
        return
    cx = x
    for w in line.words:
        for f in w:
            cx += ink.frag(cx, base, f)
        cx += _space(w) + extra


@dataclass
class Typeset:
    """Set lines of a block of a given width (caption, credit, title, sidebar text)."""

    lines: List[Line]
    width: float
    align: str = "ragged"
    breaks: int = 0

    @property
    def height(self) -> float:
        return sum(line_height(ln) for ln in self.lines)

    @property
    def natural_width(self) -> float:
        return max((ln.natural for ln in self.lines), default=0.0)

    def draw(self, ink: _Ink, x: float, y: float) -> float:
        for ln in self.lines:
            draw_line(ink, ln, x, y, self.width, self.align)
            y += line_height(ln)
        return y

    def split(self, k: int) -> Tuple["Typeset", "Typeset"]:
        return (Typeset(self.lines[:k], self.width, self.align), Typeset(self.lines[k:], self.width, self.align))


def typeset(paras: Sequence[Sequence[Word]], width: float, align: str = "ragged", hyphenate: bool = False) -> Typeset:
    lines, breaks = break_lines(paras, width, hyphenate)
    return Typeset(lines, width, align, breaks)


# ------------------------------------------------------------------------------------------------- captions
_ROMAN = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))


def roman(n: int) -> str:
    out = ""
    for v, s in _ROMAN:
        while n >= v:
            out += s
            n -= v
    return out


def number_text(numbering: str, chapter: int, n: int, suffix: str = "A") -> str:
    return {"plain": f"{n}", "dotted": f"{chapter}.{n}", "hyphen": f"{chapter}-{n}", "en_dash": f"{chapter}{EN}{n}",
            "letter_suffix": f"{chapter}.{n}{suffix}", "roman": roman(n)}[numbering]


_CREDITS = ["Courtesy of Dr {n}, {p}.", "Reprinted with permission from {b} ({y}).", "(credit: {n})",
            "Courtesy of the Department of Dermatology, {p}.", "Reproduced with permission from {n}."]
_NAMES = ["A. Marsh", "K. Okafor", "L. Brenner", "S. Varga", "M. Idowu", "P. Lindqvist", "R. Castellano", "J. Tanaka"]
_PLACES = ["Northfield Hospital", "St Aldric's Infirmary", "the Westmoor Skin Clinic", "Harrow Vale Hospital"]
_BOOKS = ["the Synthetic Atlas of Skin", "Clinical Dermatology Notes", "A Primer of Skin Pathology"]
_SECOND = ["The lesion cleared within six weeks of {t}.", "A biopsy confirmed the clinical diagnosis.",
           "Similar findings were present on the {s}.", "Compare the flat surface with the raised border.",
           "The affected field was photographed under standard lighting before {t} was started."]
_LIGATURE_PHRASES = ["The findings were confirmed on a second field.", "Note the flat, confluent surface.",
                     "The infiltrate fills the papillary dermis.", "Fine scale reflects the underlying inflammation."]
_KEYS = ["sweat-coil", "duct", "epidermis", "dermis", "hair follicle", "sebaceous gland", "arrector pili", "fat lobule",
         "capillary loop", "basal layer"]
_TITLES = ["A Sweat Gland", "The Epidermis", "Structure of the Skin", "A Hair Follicle", "Cutaneous Vessels"]
_SUB = {
    "clinical": "Clinical view showing {m} on the {s}.",
    "dermoscopy": "Dermoscopy of the same lesion showing {d}.",
    "pathology": "Histology showing {h} (H&E, \u00d7{x}).",
}


@dataclass
class CaptionText:
    label: str  # as printed: "FIG. 5.3"
    truth: str  # as read
    main: List[List[Word]]  # paragraphs of the caption (label included unless split)
    title: List[List[Word]]  # split captions: what is centred above the figure
    credit: List[List[Word]]  # credit under the caption (own line)
    subcaptions: List[str]
    age: Optional[float] = None
    gender: Optional[str] = None
    credit_text: Optional[str] = None  # the credit line's text (inside or under), also part of ``truth``


def _ligate(text: str) -> str:
    return text.replace("fi", "\ufb01").replace("fl", "\ufb02")


def _label_words(c: Dict[str, str], word: str, num: str, size: float, body_font: str, color) -> Tuple[List[Word], str]:
    fam = FAMILIES[c["caption_font"]]
    style = c["label_style"]
    font = fam[1] if style == "bold" else fam[2] if style == "italic" else fam[0]
    if style == "small_caps":
        w = word.upper()
        first: Word = (Frag(w[0], font, size, color),) + ((Frag(w[1:], font, round(size * 0.78, 2), color),) if len(w) > 1 else ())
        return [first, (Frag(num, font, size, color),)], f"{w} {num}"
    return [(Frag(word, font, size, color),), (Frag(num, font, size, color),)], f"{word} {num}"


def caption_text(c: Dict[str, str], kinds: List[str], label_word: str, num: str, rng: np.random.Generator,
                 cap_size: float, continued: bool = False) -> CaptionText:
    """The caption of a figure with panels of generator ``kinds`` (one per panel; vector kinds "schematic",
    "chart"), its words styled by the figure's axes, and its truth text."""
    fam = FAMILIES[c["caption_font"]]
    body_font = fam[2] if c["body_style"] == "italic" else fam[0]
    label_size = {"larger": cap_size + 1.5, "same": cap_size, "smaller": max(6.0, cap_size - 1.0)}[c["label_size"]]
    color = COLOURS[int(rng.integers(len(COLOURS)))] if c["label_colour"] == "coloured" else (0.0, 0.0, 0.0)
    lab_words, label = _label_words(c, label_word, num, label_size, body_font, color)
    if continued:
        main = [lab_words + words_of("(continued)", fam[2], cap_size)]
        return CaptionText(label, f"{label} (continued)", main, [], [], [])
    age = gender = None
    subs: List[str] = []
    if len(kinds) > 1:
        cond, site = str(rng.choice(_CONDS)), str(rng.choice(_SITES))
        demo, paren, age, gender = _demographics(rng)
        intro = f"{_cap(cond)} {'in ' + demo if demo else 'on the ' + site + paren}."
        ref = c.get("panel_ref", "paren_lower")
        parts = []
        for k, kind in enumerate(kinds):
            sub = _SUB[kind].format(m=rng.choice(_MORPH), s=rng.choice(_SITES), d=rng.choice(_DFEAT),
                                    h=rng.choice(_HFEAT), x=rng.choice(["40", "100", "200"]))
            subs.append(sub)
            letter = "abcdefgh"[k]
            mark = {"paren_lower": f"({letter})", "paren_upper": f"({letter.upper()})",
                    "upper_comma": f"{letter.upper()},"}[ref]
            parts.append(f"{mark} {sub}")
        body = intro + " " + " ".join(parts)
    else:
        kind = kinds[0]
        gen = {"schematic": "diagram", "chart": "chart"}.get(kind, kind)
        body, age, gender = _caption(gen, rng, "layers" if kind == "schematic" else None)
        body = body.replace("\u00ad", "")
    paras_text = [body]
    if c["placement"] == "column_break":  # long enough to break across columns
        paras_text[0] += " " + filler_paragraph(rng, 1)
    if c["paragraphs"] == "several":
        paras_text.append(str(rng.choice(_SECOND)).format(t=rng.choice(_TREAT), s=rng.choice(_SITES)))
    if c["ligatures"] == "fi_fl":
        if not any(("fi" in t or "fl" in t) for t in paras_text):
            paras_text[-1] += " " + str(rng.choice(_LIGATURE_PHRASES))
        paras_text = [_ligate(t) for t in paras_text]
    credit_txt = ""
    if c["credit"] != "none":
        credit_txt = str(rng.choice(_CREDITS)).format(n=rng.choice(_NAMES), p=rng.choice(_PLACES),
                                                      b=rng.choice(_BOOKS), y=int(rng.integers(1990, 2023)))
        if c["ligatures"] == "fi_fl":
            credit_txt = _ligate(credit_txt)
        if c["credit"] == "inside":
            paras_text[-1] += " " + credit_txt
    key_txt = ""
    if c.get("key_line") == "yes":
        n = int(rng.integers(2, 5))
        keys = [str(k) for k in rng.choice(_KEYS, n, replace=False)]
        key_txt = "; ".join(f"{'abcdefgh'[i]}, {k}" for i, k in enumerate(keys)) + "."
    body_paras = [words_of(t, body_font, cap_size) for t in paras_text]
    if key_txt:
        body_paras.append(words_of(key_txt, fam[2] if c["body_style"] == "roman" else fam[0], cap_size))
    after = c["after_label"]
    lab = [tuple(w) for w in lab_words]
    lf = lab[-1][-1]
    title: List[List[Word]] = []
    if c["placement"] == "split":  # label (and a title after a dash) centred above, the legend below
        tail = {"period": ".", "colon": ":"}.get(after, "")
        head = list(lab[:-1]) + [lab[-1][:-1] + (Frag(lf.text + tail, lf.font, lf.size, lf.color),)]
        if after in ("em_dash", "en_dash"):
            t = words_of(str(rng.choice(_TITLES)) + ".", lf.font, lf.size, lf.color)
            if after == "em_dash":
                head[-1] = head[-1] + (Frag(EM, lf.font, lf.size, lf.color),) + t[0]
                head += t[1:]
            else:
                head += [(Frag(EN, lf.font, lf.size, lf.color),)] + t
        title = [head]
        main = body_paras
        title_text = " ".join(word_text(w) for w in head)
    else:
        if after in ("period", "colon"):
            lab[-1] = lab[-1][:-1] + (Frag(lf.text + ("." if after == "period" else ":"), lf.font, lf.size, lf.color),)
        if after == "em_dash":
            lab[-1] = lab[-1][:-1] + (Frag(lf.text + EM, lf.font, lf.size, lf.color),) + body_paras[0][0]
            main = [lab + body_paras[0][1:]] + body_paras[1:]
        elif after == "en_dash":
            main = [lab + [(Frag(EN, body_font, cap_size),)] + body_paras[0]] + body_paras[1:]
        elif after == "line_break":
            main = [lab] + body_paras
        else:
            main = [lab + body_paras[0]] + body_paras[1:]
        title_text = ""
    credit = []
    if c["credit"] == "under":
        credit = [words_of(credit_txt, fam[2], max(6.0, cap_size - 1.0))]
    parts = [title_text] + [" ".join(word_text(w) for w in p) for p in main] + [credit_txt if credit else ""]
    truth = re.sub(r"\s+", " ", " ".join(p for p in parts if p)).strip()
    return CaptionText(label, truth, main, title, credit, subs, age, gender, credit_txt or None)


# ------------------------------------------------------------------------------------------------- figure content
def _letter_font(px: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=max(10, px))


def burn_letter(img: Image.Image, letter: str, style: str) -> Image.Image:
    """A panel letter in the image's top-left corner: white, black, or black on a white box."""
    im = img.copy()
    d = ImageDraw.Draw(im)
    w, h = im.size
    size = max(12, int(0.13 * min(w, h)))
    f = _letter_font(size)
    x, y = int(0.04 * w), int(0.03 * h)
    box = d.textbbox((x, y), letter, font=f)
    if style == "in_boxed":
        pad = max(2, size // 6)
        d.rectangle([box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad], fill=(255, 255, 255))
    fill = (255, 255, 255) if style == "in_white" else (0, 0, 0)
    d.text((x, y), letter, fill=fill, font=f)
    return im


class Content:
    """What a figure shows: images (one or panels), or a vector drawing; sized by width, drawn at a point."""

    def __init__(self, c: Dict[str, str], rng: np.random.Generator, part: int = 0):
        self.c = c
        self.kind = c["figure"] if part == 0 else "single"
        self.rng = rng
        k = self.kind
        self.letters = c.get("panel_letters", "none")
        self.upper = c.get("panel_ref", "paren_lower") != "paren_lower"
        self.gap = float(rng.uniform(4, 8))
        self.strip = 11.0 if self.letters == "outside" else 0.0
        if k == "vector_schematic":
            self.kinds, self.aspect = ["schematic"], 1.75
        elif k == "vector_chart":
            self.kinds, self.aspect = ["chart"], 1.5
        elif k in ("single", "continued"):
            kind = str(rng.choice(["clinical", "dermoscopy", "pathology", "diagram", "chart"], p=[0.45, 0.2, 0.25, 0.05, 0.05]))
            self.kinds = [kind]
            self.aspect = {"dermoscopy": 1.0, "diagram": 1.55, "chart": 1.45}.get(kind, float(rng.choice([1.33, 1.5, 0.8])))
        else:
            n = 4 if k == "grid" else int(rng.integers(2, 4)) if k == "row" else int(rng.choice([2, 3, 4]))
            base = {2: [["clinical", "dermoscopy"], ["clinical", "pathology"], ["clinical", "clinical"]],
                    3: [["clinical", "dermoscopy", "pathology"], ["clinical", "clinical", "dermoscopy"]],
                    4: [["clinical", "clinical", "dermoscopy", "pathology"], ["clinical", "dermoscopy", "clinical", "dermoscopy"]]}[n]
            self.kinds = list(base[int(rng.integers(len(base)))])
            self.aspect = float(rng.choice([1.0, 1.33]))
            if k.startswith("raster"):
                self.rows, self.cols = (2, 2) if n == 4 and self.letters != "outside" else (1, n)
                self.pw = int(rng.integers(200, 280))
                self.ph = int(round(self.pw / self.aspect))
                self.gutter = {"raster_gutter": int(rng.integers(8, 16)), "raster_lines": int(rng.integers(2, 4)),
                               "raster_touching": 0}[k]
            else:
                self.rows, self.cols = (2, 2) if k == "grid" else (1, n)

    @property
    def panels(self) -> int:
        return len(self.kinds)

    def height(self, w: float) -> float:
        k = self.kind
        if k in ("vector_schematic", "vector_chart", "single", "continued"):
            return w / self.aspect
        if k.startswith("raster"):
            W = self.cols * self.pw + (self.cols - 1) * self.gutter
            H = self.rows * self.ph + (self.rows - 1) * self.gutter
            return w * H / W + self.strip
        cw = (w - (self.cols - 1) * self.gap) / self.cols
        ch = cw / self.aspect
        return self.rows * ch + (self.rows - 1) * self.gap + self.rows * self.strip

    def width_for_height(self, h: float) -> float:
        lo, hi = 10.0, 2000.0
        for _ in range(40):
            mid = (lo + hi) / 2
            if self.height(mid) > h:
                hi = mid
            else:
                lo = mid
        return lo

    def _photo(self, kind: str, wpt: float, hpt: float) -> Image.Image:
        ppp = min(1.9, 760.0 / max(wpt, hpt))
        px = (max(16, int(round(wpt * ppp))), max(16, int(round(hpt * ppp))))
        return simg.make_image(kind, self.rng, size=px)

    def _letter(self, i: int) -> str:
        s = "abcdefgh"[i]
        return s.upper() if self.upper else s

    def draw(self, R: "_Renderer", ps: "_PageState", x: float, y: float, w: float) -> Dict:
        """Draw at (x, y) with width w; return bbox, panels [{panel, bbox, modality}], vector."""
        page = ps.page
        h = self.height(w)
        k = self.kind
        if k in ("vector_schematic", "vector_chart"):
            r = pymupdf.Rect(x, y, x + w, y + h)
            if k == "vector_schematic":
                draw_skin_schematic(page, r)
            else:
                draw_chart(page, r, self.rng)
            return {"bbox": tuple(r), "panels": [], "vector": True, "modality": "other"}
        if k in ("single", "continued"):
            r = pymupdf.Rect(x, y, x + w, y + h)
            img = self._photo(self.kinds[0], w, h)
            fmt = "png" if self.kinds[0] in ("diagram", "chart") else "jpeg"
            page.insert_image(r, stream=encode_image(img, fmt), keep_proportion=False)
            return {"bbox": tuple(r), "panels": [], "vector": False, "modality": truth_modality(self.kinds[0])}
        panels = []
        if k.startswith("raster"):
            W = self.cols * self.pw + (self.cols - 1) * self.gutter
            H = self.rows * self.ph + (self.rows - 1) * self.gutter
            canvas = np.full((H, W, 3), 255 if k != "raster_lines" else 30, np.uint8)
            s = w / W
            for i, kind in enumerate(self.kinds):
                rr, cc = divmod(i, self.cols)
                px0, py0 = cc * (self.pw + self.gutter), rr * (self.ph + self.gutter)
                im = simg.make_image(kind, self.rng, size=(self.pw, self.ph))
                if self.letters in ("in_white", "in_black", "in_boxed"):
                    im = burn_letter(im, self._letter(i), self.letters)
                canvas[py0:py0 + self.ph, px0:px0 + self.pw] = np.asarray(im.convert("RGB"))
                box = (x + px0 * s, y + py0 * s, x + (px0 + self.pw) * s, y + (py0 + self.ph) * s)
                panels.append({"panel": "abcdefgh"[i], "bbox": box, "modality": truth_modality(kind)})
            r = pymupdf.Rect(x, y, x + w, y + H * s)
            page.insert_image(r, stream=encode_image(Image.fromarray(canvas), "jpeg", quality=85), keep_proportion=False)
            if self.strip:
                for i, p in enumerate(panels):
                    b = p["bbox"]
                    self._outside(R, ps, i, (b[0] + b[2]) / 2, r.y1 + 2)
            bbox = tuple(r)
        else:
            cw = (w - (self.cols - 1) * self.gap) / self.cols
            ch = cw / self.aspect
            for i, kind in enumerate(self.kinds):
                rr, cc = divmod(i, self.cols)
                px0 = x + cc * (cw + self.gap)
                py0 = y + rr * (ch + self.gap + self.strip)
                r = pymupdf.Rect(px0, py0, px0 + cw, py0 + ch)
                im = self._photo(kind, cw, ch)
                if self.letters in ("in_white", "in_black", "in_boxed"):
                    im = burn_letter(im, self._letter(i), self.letters)
                page.insert_image(r, stream=encode_image(im, "jpeg"), keep_proportion=False)
                panels.append({"panel": "abcdefgh"[i], "bbox": tuple(r), "modality": truth_modality(kind)})
                if self.strip:
                    self._outside(R, ps, i, (r.x0 + r.x1) / 2, r.y1 + 2)
            bbox = _union([p["bbox"] for p in panels])
        return {"bbox": bbox, "panels": panels, "vector": False, "modality": panels[0]["modality"]}

    def _outside(self, R: "_Renderer", ps: "_PageState", i: int, cx: float, top: float) -> None:
        text = f"({self._letter(i)})" if self.c.get("panel_ref") != "upper_comma" else self._letter(i)
        font = FAMILIES[self.c["caption_font"]][1]
        tw = text_width(text, font, 8.0)
        ps.ink.text(cx - tw / 2, top + 7.6, text, font, 8.0)


def _union(boxes) -> Tuple[float, float, float, float]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def draw_chart(page: pymupdf.Page, rect: pymupdf.Rect, rng: np.random.Generator) -> None:
    """A vector bar chart as charting software writes one (every gridline, bar, tick and axis its own path; tick
    labels and a title as text), everything inside ``rect``."""
    x0, y0, x1, y1 = rect
    W, H = rect.width, rect.height
    fs = max(5.5, min(8.0, H / 18))
    cats = ["<20", "20-39", "40-59", "60-79", "80+"][: int(rng.integers(4, 6))]
    vals = rng.uniform(0.2, 1.0, len(cats))
    ymax = 10 * int(rng.integers(4, 16))
    # the ink fills the rectangle: tick labels at its left edge, the title at its top, category labels at its foot
    left = x0 + pymupdf.get_text_length(str(ymax), "helv", fs) + 4
    right, top, bottom = x1 - 1.0, y0 + 1.9 * fs, y1 - 3 - 1.4 * fs
    colour = tuple(float(v) for v in rng.uniform(0.2, 0.7, 3))
    for k in range(5):
        yy = bottom - (bottom - top) * k / 4
        page.draw_line((left, yy), (right, yy), color=(0.85, 0.85, 0.88), width=0.4)
        page.draw_line((left - 3, yy), (left, yy), color=(0, 0, 0), width=0.6)
    bw = (right - left) / len(cats)
    variant = str(rng.choice(["bars", "grouped", "line"]))
    pts = []
    for i, v in enumerate(vals):
        if variant == "bars":
            bx = left + i * bw + 0.18 * bw
            page.draw_rect(pymupdf.Rect(bx, bottom - v * (bottom - top), bx + 0.64 * bw, bottom), color=(0.1, 0.1, 0.1),
                           fill=colour, width=0.5)
        elif variant == "grouped":  # two series side by side
            v2 = float(rng.uniform(0.2, 1.0))
            for j, (vv, col) in enumerate(((v, colour), (v2, (0.85, 0.6, 0.25)))):
                bx = left + i * bw + 0.12 * bw + j * 0.38 * bw
                page.draw_rect(pymupdf.Rect(bx, bottom - vv * (bottom - top), bx + 0.36 * bw, bottom), color=(0.1, 0.1, 0.1),
                               fill=col, width=0.4)
        else:
            pts.append(pymupdf.Point(left + (i + 0.5) * bw, bottom - v * (bottom - top)))
        page.draw_line((left + (i + 0.5) * bw, bottom), (left + (i + 0.5) * bw, bottom + 3), color=(0, 0, 0), width=0.6)
    if pts:
        page.draw_polyline(pts, color=colour, width=1.2)
        for q in pts:
            page.draw_circle(q, 1.8, color=colour, fill=(1, 1, 1), width=0.8)
    page.draw_line((left, top - 2), (left, bottom), color=(0, 0, 0), width=0.8)
    page.draw_line((left, bottom), (right, bottom), color=(0, 0, 0), width=0.8)
    for k in range(5):
        lab = str(int(ymax * k / 4))
        yy = bottom - (bottom - top) * k / 4
        page.insert_text((left - 4 - pymupdf.get_text_length(lab, "helv", fs), yy + fs * 0.35), lab, fontname="helv", fontsize=fs)
    for i, cat in enumerate(cats):
        cx = left + (i + 0.5) * bw
        page.insert_text((cx - pymupdf.get_text_length(cat, "helv", fs) / 2, y1 - 0.3 * fs), cat, fontname="helv",
                         fontsize=fs)
    page.insert_text((x0, y0 + 1.075 * fs), "Patients (n)", fontname="hebo", fontsize=fs)


# ------------------------------------------------------------------------------------------------- pages
@dataclass
class _PageState:
    page: pymupdf.Page
    number: int  # 1-based
    printed: int  # page number printed on it
    ink: _Ink
    x0: float  # text area
    x1: float
    top: List[float]
    bot: List[float]
    margin: Optional[Tuple[float, float]]  # margin column x range
    props: Dict[str, str]
    blocked: List[Tuple[float, float, float, float]] = field(default_factory=list)
    margin_blocked: List[Tuple[float, float]] = field(default_factory=list)
    items: int = 0
    figures: int = 0
    plate: bool = False
    no_text: bool = False

    @property
    def verso(self) -> bool:
        return self.printed % 2 == 0


class _Renderer:
    def __init__(self, spec: BookSpec):
        self.spec = spec
        b = spec.book
        self.r_layout = np.random.default_rng([spec.seed, spec.index, 1])
        self.r_text = np.random.default_rng([spec.seed, spec.index, 2])
        self.r_img = np.random.default_rng([spec.seed, spec.index, 3])
        r = self.r_layout
        self.pw, self.ph = PAGE_SIZES[b["page_size"]]
        self.C = int(b["columns"])
        self.mt = float(r.uniform(64, 76))
        self.mb = float(r.uniform(56, 68))
        self.inner = float(r.uniform(42, 56))
        self.outer = float(r.uniform(120, 138) if spec.margin_column else r.uniform(42, 56))
        if self.pw < 500 and spec.margin_column:
            self.outer = float(r.uniform(104, 114))
        self.gutter = float(r.uniform(13, 20))
        self.float_gap = float(r.uniform(12, 16))
        self.body_font = FAMILIES[str(r.choice(["serif", "sans"], p=[0.6, 0.4]))]
        self.body_size = float(r.choice([9.0, 9.5, 10.0, 10.5])) if self.pw > 500 else float(r.choice([8.5, 9.0, 9.5]))
        self.body_justify = bool(r.random() < 0.6)
        self.cap_size = float(r.choice([7.5, 8.0, 8.5, 9.0]))
        self.chapter = int(r.integers(1, 25))
        self.first_printed = 2 * int(r.integers(0, 150)) + 1  # the first page is a recto
        self.title = "Atlas of Skin Disease (synthetic)"
        self.running = f"Chapter {self.chapter}: {str(r.choice(_CHAPTERS))}"
        self.logo = bool(r.random() < 0.5) and b["furniture"] == "head_rule"
        self.logo_bytes = encode_image(simg.make_logo(self.r_img, (64, 64), color=(60, 90, 140)), "png")
        self.logo_xref = 0
        self.icon_bytes = encode_image(simg.make_logo(self.r_img, (48, 48), color=(170, 80, 40)), "png")
        self.icon_xref = 0
        self.doc = pymupdf.open()
        self.figs: List[Dict] = []
        self.decorations: List[Dict] = []
        self.non_figure_captions: List[Dict] = []
        self.page_classes: List[Dict[str, str]] = []
        self.stream = _BodyStream(self)
        self.hyphen_breaks = 0
        self.table_no = 0

    # ----- geometry
    def text_x(self, printed: int) -> Tuple[float, float]:
        recto = printed % 2 == 1
        left = self.inner if recto else self.outer
        right = self.outer if recto else self.inner
        return left, self.pw - right

    def col_w(self) -> float:
        x0, x1 = self.text_x(1)
        return (x1 - x0 - (self.C - 1) * self.gutter) / self.C

    def col_x(self, ps: _PageState, c: int) -> float:
        return ps.x0 + c * (self.col_w() + self.gutter)

    @property
    def area_h(self) -> float:
        return self.ph - self.mb - self.mt

    def new_page(self) -> _PageState:
        page = self.doc.new_page(width=self.pw, height=self.ph)
        n = self.doc.page_count
        printed = self.first_printed + n - 1
        x0, x1 = self.text_x(printed)
        margin = None
        if self.spec.margin_column:
            margin = (x1 + 12, self.pw - 24) if printed % 2 == 1 else (24, x0 - 12)
        ps = _PageState(page, n, printed, _Ink(page), x0, x1, [self.mt] * self.C, [self.ph - self.mb] * self.C, margin,
                        dict(self.spec.pages[n - 1]))
        self.furniture(ps)
        return ps

    def furniture(self, ps: _PageState) -> None:
        st = self.spec.book["furniture"]
        p, ink = ps.page, ps.ink
        grey = (0.35, 0.35, 0.35)
        head = self.title if ps.verso else self.running
        num = str(ps.printed)
        if st in ("head_rule", "head_foot"):
            y = self.mt - 24
            hx = ps.x0
            if self.logo:
                rect = pymupdf.Rect(ps.x0, y - 12, ps.x0 + 16, y + 4)
                if self.logo_xref:
                    p.insert_image(rect, xref=self.logo_xref)
                else:
                    self.logo_xref = p.insert_image(rect, stream=self.logo_bytes)
                self.decorations.append({"page": ps.number, "bbox": tuple(rect), "kind": "logo"})
                hx += 22
            if st == "head_rule":  # page number at the outer edge, running head beside it
                nw = text_width(num, "hebo", 8.5)
                if ps.verso:
                    ink.text(ps.x0, y, num, "hebo", 8.5, grey)
                    ink.text(ps.x1 - text_width(head, "heit", 8.0), y, head, "heit", 8.0, grey)
                else:
                    ink.text(hx, y, head, "heit", 8.0, grey)
                    ink.text(ps.x1 - nw, y, num, "hebo", 8.5, grey)
            else:
                ink.text(hx, y, head, "heit", 8.0, grey)
            p.draw_line((ps.x0, y + 5), (ps.x1, y + 5), color=(0.5, 0.5, 0.5), width=0.5)
        if st in ("head_foot", "foot_only"):
            y = self.ph - self.mb + 30
            nw = text_width(num, "helv", 8.0)
            ink.text((ps.x0 + ps.x1 - nw) / 2, y, num, "helv", 8.0, grey)
            if st == "foot_only":
                if ps.verso:
                    ink.text(ps.x0, y, self.title, "heit", 7.5, grey)
                else:
                    ink.text(ps.x1 - text_width(self.running, "heit", 7.5), y, self.running, "heit", 7.5, grey)
            else:
                ink.text(ps.x0, y + 11, "Synthetic Press \u00b7 for benchmarking only", "helv", 6.5, grey)

    # ----- reserving space
    def reserve(self, ps: _PageState, cols: Sequence[int], h: float, where: str) -> Optional[float]:
        room = min(ps.bot[c] for c in cols) - max(ps.top[c] for c in cols)
        if h > room + 1e-6:
            return None
        if where == "top":
            y = max(ps.top[c] for c in cols)
            for c in cols:
                ps.top[c] = y + h + self.float_gap
        else:
            y = min(ps.bot[c] for c in cols) - h
            for c in cols:
                ps.bot[c] = y - self.float_gap
        return y

    def block(self, ps: _PageState, rect) -> None:
        ps.blocked.append(tuple(rect))

    def cols_rect(self, ps: _PageState, cols: Sequence[int]) -> Tuple[float, float]:
        return self.col_x(ps, cols[0]), self.col_x(ps, cols[-1]) + self.col_w()

    # ----- figures
    def record(self, ps: _PageState, c: Dict[str, str], drawn: Dict, cap: CaptionText, label: str,
               caption_page: int, subs: Sequence[str]) -> None:
        panels = []
        for i, p in enumerate(drawn["panels"]):
            panels.append({"panel": p["panel"], "bbox": _rb(p["bbox"]), "modality": p["modality"],
                           "subcaption": subs[i] if i < len(subs) else ""})
        self.figs.append({
            "page": ps.number, "bbox": _rb(drawn["bbox"]), "label": label, "caption": cap.truth,
            "caption_position": c["placement"], "caption_page": caption_page, "modality": drawn["modality"],
            "age": None if cap.age is None else round(float(cap.age), 4), "gender": cap.gender,
            "vector": drawn["vector"], "overlay": False, "face": False, "panels": panels, "classes": dict(c),
            "credit": cap.credit_text,
        })
        ps.figures += 1

    def make_caption(self, f: FigureSpec, content: Content, continued: bool = False) -> CaptionText:
        c = f.classes
        r = self.r_text
        num = number_text(c["numbering"], self.chapter, f.index + 1, suffix=str(r.choice(["A", "B"])))
        return caption_text(c, content.kinds, c["label_word"], num, r, self.cap_size, continued=continued)

    def set_caption(self, cap: CaptionText, c: Dict[str, str], width: float, paras=None) -> Typeset:
        align = "justified" if c["align"] == "justified" else "ragged"
        ts = typeset(cap.main if paras is None else paras, width, align, c["hyphenation"] == "hyphenated")
        self.hyphen_breaks += ts.breaks
        return ts

    def place_figure(self, ps: _PageState, f: FigureSpec, carry: List) -> bool:
        """Place figure ``f`` on page ``ps`` (possibly leaving a part for the next page in ``carry``); False when it
        does not fit here."""
        c = f.classes
        pl = c["placement"]
        r = self.r_layout
        content = Content(c, self.r_img)
        cap = self.make_caption(f, content)
        cw = self.col_w()
        span = self.C == 1 or pl in ("beside_left", "beside_right", "split") or content.panels >= 3 or r.random() < 0.45
        if pl == "column_break":
            span = False
        if span:
            cols = list(range(self.C))
        else:
            k = int(r.integers(0, self.C - 1)) if pl == "column_break" else int(r.integers(0, self.C))
            cols = [k]
        sx0, sx1 = self.cols_rect(ps, cols)
        W = sx1 - sx0
        free = min(ps.bot[c_] for c_ in cols) - max(ps.top[c_] for c_ in cols)
        hmax = min(free, 0.62 * self.area_h) if ps.items == 0 else free
        where = "top" if ps.items == 0 or r.random() < 0.3 else "bottom"
        if pl == "column_break":
            where = "bottom"
        gap = float(r.uniform(4, 8))
        frac = 1.0 if (not span and self.C > 1) else float(r.uniform(0.55, 0.9))
        if pl in ("beside_left", "beside_right"):
            frac = float(r.uniform(0.5, 0.64))
        wimg = W * frac
        if pl in ("beside_left", "beside_right"):
            capw = W - wimg - 12.0
            ts = self.set_caption(cap, c, capw)
            cr = self.set_caption(cap, c, capw, cap.credit) if cap.credit else None

            def height(wi):
                return max(content.height(wi), ts.height + (cr.height + 2 if cr else 0))
        elif pl == "margin":
            if ps.margin is None or ps.margin_blocked:
                return False
            capw = ps.margin[1] - ps.margin[0]
            ts = self.set_caption(cap, c, capw)
            cr = self.set_caption(cap, c, capw, cap.credit) if cap.credit else None

            def height(wi):
                return content.height(wi)
        else:
            capw = W if (r.random() < 0.7 or frac < 0.6) else wimg
            ts = self.set_caption(cap, c, capw)
            cr = self.set_caption(cap, c, capw, cap.credit) if cap.credit else None
            tt = typeset(cap.title, capw, "centre") if cap.title else None

            def height(wi):
                return (content.height(wi) + gap + ts.height + (cr.height + 2 if cr else 0)
                        + (tt.height + gap if tt else 0))
        if pl == "column_break":
            n = len(ts.lines)
            k1 = max(1, n // 2)
            first, rest = ts.split(k1)
            # the image and the first lines at the foot of column k, the rest at the top of column k+1

            def height(wi):  # noqa: F811
                return content.height(wi) + gap + first.height
            if ps.top[cols[0] + 1] != self.mt or ps.items:
                return False
        if height(wimg) > hmax:
            lo = 30.0
            hi = wimg
            for _ in range(30):
                mid = (lo + hi) / 2
                if height(mid) > hmax:
                    hi = mid
                else:
                    lo = mid
            wimg = lo
            if height(wimg) > hmax or wimg < min(0.45 * W, 110.0):
                return False
        H = height(wimg)
        if pl == "column_break":
            y = min(ps.bot[c_] for c_ in cols) - H  # flush with the column foot
            ps.bot[cols[0]] = y - self.float_gap
        else:
            y = self.reserve(ps, cols, H, where)
        if y is None:
            return False
        ps.items += 1
        ink = ps.ink
        if pl in ("beside_left", "beside_right"):
            ch = content.height(wimg)
            capx = sx0 if pl == "beside_left" else sx0 + wimg + 12.0
            imx = sx0 + capw + 12.0 if pl == "beside_left" else sx0
            tot = ts.height + (cr.height + 2 if cr else 0)
            cy = y if (r.random() < 0.6 or tot >= ch) else y + ch - tot
            drawn = content.draw(self, ps, imx, y, wimg)
            yy = ts.draw(ink, capx, cy)
            if cr:
                cr.draw(ink, capx, yy + 2)
            self.block(ps, (sx0, y, sx1, y + H))
        elif pl == "margin":
            ch = content.height(wimg)
            x = sx0 + (W - wimg) / 2 if span else sx0
            drawn = content.draw(self, ps, x, y, wimg)
            tot = ts.height + (cr.height + 2 if cr else 0)
            cy = y if r.random() < 0.7 else y + ch - tot
            cy = max(self.mt, min(cy, self.ph - self.mb - tot))
            yy = ts.draw(ink, ps.margin[0], cy)
            if cr:
                cr.draw(ink, ps.margin[0], yy + 2)
            ps.margin_blocked.append((cy, cy + tot))
            self.block(ps, (sx0, y, sx1, y + ch))
        elif pl == "column_break":
            ch = content.height(wimg)
            drawn = content.draw(self, ps, sx0, y, wimg)
            first.draw(ink, sx0, y + ch + gap)
            self.block(ps, (sx0, y, sx1, y + H))
            k2 = cols[0] + 1
            y2 = ps.top[k2]
            x2 = self.col_x(ps, k2)
            yy = rest.draw(ink, x2, y2)
            if cr:
                yy = cr.draw(ink, x2, yy + 2)
            ps.top[k2] = yy + self.float_gap
            self.block(ps, (x2, y2, x2 + cw, yy))
        else:
            cw_ = capw
            capx = sx0 + (W - cw_) / 2
            ix = sx0 + (W - wimg) / 2
            yy = y
            ch = content.height(wimg)
            if pl == "split":
                tt.draw(ink, capx, yy)
                yy += tt.height + gap
                drawn = content.draw(self, ps, ix, yy, wimg)
                yy += ch + gap
                yy = ts.draw(ink, capx, yy)
                if cr:
                    cr.draw(ink, capx, yy + 2)
            elif pl == "above":
                yy = ts.draw(ink, capx, yy)
                if cr:
                    yy = cr.draw(ink, capx, yy + 2)
                drawn = content.draw(self, ps, ix, yy + gap, wimg)
            else:  # below (and the first part of a continued figure)
                drawn = content.draw(self, ps, ix, yy, wimg)
                yy = ts.draw(ink, capx, yy + ch + gap)
                if cr:
                    cr.draw(ink, capx, yy + 2)
            self.block(ps, (min(capx, ix), y, max(capx + cw_, ix + wimg), y + H))
        self.record(ps, c, drawn, cap, cap.label, ps.number, cap.subcaptions)
        if c["figure"] == "continued":
            carry.append(("continued", f, cols, wimg, pl))
        return True

    def place_continuation(self, ps: _PageState, f: FigureSpec, cols, wimg: float, pl: str) -> None:
        c = f.classes
        content = Content(c, self.r_img, part=1)
        cap = self.make_caption(f, content, continued=True)
        sx0, sx1 = self.cols_rect(ps, cols)
        W = sx1 - sx0
        ts = self.set_caption(cap, c, W)
        gap = 6.0
        hmax = 0.5 * self.area_h
        if content.height(wimg) + gap + ts.height > hmax:
            wimg = content.width_for_height(hmax - gap - ts.height)
        H = content.height(wimg) + gap + ts.height
        y = self.reserve(ps, cols, H, "top")
        ps.items += 1
        ix = sx0 + (W - wimg) / 2
        if pl == "above":
            yy = ts.draw(ps.ink, sx0, y)
            drawn = content.draw(self, ps, ix, yy + gap, wimg)
        else:
            drawn = content.draw(self, ps, ix, y, wimg)
            ts.draw(ps.ink, sx0, y + content.height(wimg) + gap)
        self.block(ps, (sx0, y, sx1, y + H))
        self.record(ps, c, drawn, cap, cap.label, ps.number, [])

    def plate(self, ps: _PageState, f: FigureSpec, carry: List) -> None:
        """A full-page plate: plate_foot (caption at the foot of the page) or facing_page (no caption here; the
        caption goes to the top of the next page)."""
        c = f.classes
        content = Content(c, self.r_img)
        cap = self.make_caption(f, content)
        W = ps.x1 - ps.x0
        ps.plate = ps.no_text = True
        ps.items += 1
        if c["placement"] == "plate_foot":
            ts = self.set_caption(cap, c, W)
            cr = self.set_caption(cap, c, W, cap.credit) if cap.credit else None
            foot = ts.height + (cr.height + 2 if cr else 0)
            avail = self.area_h - foot - 14
            wimg = min(W * 0.96, content.width_for_height(avail))
            ch = content.height(wimg)
            y = self.mt + max(0.0, (avail - ch) / 2)
            drawn = content.draw(self, ps, ps.x0 + (W - wimg) / 2, y, wimg)
            yy = ts.draw(ps.ink, ps.x0, self.ph - self.mb - foot)
            if cr:
                cr.draw(ps.ink, ps.x0, yy + 2)
            self.record(ps, c, drawn, cap, cap.label, ps.number, cap.subcaptions)
        else:
            avail = self.area_h
            wimg = min(W, content.width_for_height(avail))
            ch = content.height(wimg)
            drawn = content.draw(self, ps, ps.x0 + (W - wimg) / 2, self.mt + (avail - ch) / 2, wimg)
            self.record(ps, c, drawn, cap, cap.label, ps.number + 1, cap.subcaptions)
            carry.append(("facing", f, cap))

    def place_facing_caption(self, ps: _PageState, f: FigureSpec, cap: CaptionText) -> None:
        c = f.classes
        W = ps.x1 - ps.x0
        w = W * float(self.r_layout.uniform(0.7, 1.0))
        ts = self.set_caption(cap, c, w)
        cr = self.set_caption(cap, c, w, cap.credit) if cap.credit else None
        H = ts.height + (cr.height + 2 if cr else 0)
        y = self.reserve(ps, list(range(self.C)), H, "top")
        ps.items += 1
        yy = ts.draw(ps.ink, ps.x0, y)
        if cr:
            cr.draw(ps.ink, ps.x0, yy + 2)
        self.block(ps, (ps.x0, y, ps.x0 + w, y + H))

    # ----- page extras
    def sidebar(self, ps: _PageState) -> bool:
        r = self.r_layout
        cols = list(range(self.C)) if (self.C == 1 or r.random() < 0.4) else [int(r.integers(0, self.C))]
        x0, x1 = self.cols_rect(ps, cols)
        pad = 7.0
        font = self.body_font
        size = max(7.5, self.body_size - 1)
        head = typeset([words_of(str(r.choice(["Clinical pearl", "Key points", "Practice tip", "Remember"])), font[1], size + 1)],
                       x1 - x0 - 2 * pad - 22)
        body = typeset([words_of(filler_paragraph(self.r_text, int(r.integers(1, 3))), font[0], size)], x1 - x0 - 2 * pad)
        H = 2 * pad + max(head.height, 16) + 4 + body.height
        if H > 0.4 * self.area_h:
            return False
        y = self.reserve(ps, cols, H, "top" if r.random() < 0.5 else "bottom")
        if y is None:
            return False
        tint = tuple(float(v) for v in r.choice([(0.92, 0.95, 1.0), (1.0, 0.95, 0.88), (0.93, 0.98, 0.93)]))
        ps.page.draw_rect(pymupdf.Rect(x0, y, x1, y + H), color=None, fill=tint, width=0)
        icon = pymupdf.Rect(x0 + pad, y + pad, x0 + pad + 16, y + pad + 16)
        if self.icon_xref:
            ps.page.insert_image(icon, xref=self.icon_xref)
        else:
            self.icon_xref = ps.page.insert_image(icon, stream=self.icon_bytes)
        self.decorations.append({"page": ps.number, "bbox": tuple(icon), "kind": "icon"})
        head.draw(ps.ink, x0 + pad + 22, y + pad + 2)
        body.draw(ps.ink, x0 + pad, y + pad + max(head.height, 16) + 4)
        self.block(ps, (x0, y, x1, y + H))
        ps.items += 1
        return True

    def table(self, ps: _PageState) -> bool:
        r = self.r_layout
        cols = list(range(self.C)) if (self.C < 3 or r.random() < 0.5) else [int(r.integers(0, self.C))]
        x0, x1 = self.cols_rect(ps, cols)
        W = x1 - x0
        self.table_no += 1
        word = str(r.choice(["Table", "TABLE", "Table"]))
        num = f"{self.chapter}.{self.table_no}"
        conds = [str(v) for v in r.choice(_CONDS, 4, replace=False)]
        text = f"Features that help to separate {conds[0]} from its mimics."
        fam = FAMILIES[str(r.choice(["sans", "serif"]))]
        cap = typeset([[(Frag(word, fam[1], self.cap_size),), (Frag(num, fam[1], self.cap_size),)]
                       + words_of(text, fam[0], self.cap_size)], W)
        rows = [("Condition", "Typical site", "Dermoscopy")] + [
            (_cap(c), _cap(str(r.choice(_SITES))), _cap(str(r.choice(_DFEAT)))) for c in conds]
        size = 7.0
        row_h = 10.5
        fr = (0.36, 0.28, 0.36)
        H = cap.height + 4 + row_h * len(rows) + 4
        y = self.reserve(ps, cols, H, "top" if r.random() < 0.5 else "bottom")
        if y is None:
            return False
        cap.draw(ps.ink, x0, y)
        self.non_figure_captions.append({"page": ps.number, "text": f"{word} {num} {text}",
                                         "bbox": (x0, y, x0 + cap.natural_width, y + cap.height)})
        ty = y + cap.height + 4
        ps.page.draw_line((x0, ty), (x1, ty), color=(0, 0, 0), width=0.8)
        xs = [x0]
        for f_ in fr:
            xs.append(xs[-1] + f_ * W)
        for i, row in enumerate(rows):
            base = ty + i * row_h + 8
            for j, cell in enumerate(row):
                cell_font = fam[1] if i == 0 else fam[0]
                t = cell
                while text_width(t, cell_font, size) > fr[j] * W - 4 and len(t) > 3:
                    t = t[:-1]
                ps.ink.text(xs[j] + 2, base, t, cell_font, size)
            if i == 0:
                ps.page.draw_line((x0, ty + row_h + 1), (x1, ty + row_h + 1), color=(0, 0, 0), width=0.4)
        yb = ty + row_h * len(rows) + 3
        ps.page.draw_line((x0, yb), (x1, yb), color=(0, 0, 0), width=0.8)
        self.block(ps, (x0, y, x1, y + H))
        ps.items += 1
        return True

    def margin_notes(self, ps: _PageState) -> bool:
        if ps.margin is None:
            return False
        r = self.r_layout
        mx0, mx1 = ps.margin
        placed = 0
        for _ in range(int(r.integers(1, 3))):
            ts = typeset([words_of(str(r.choice(["Key point:", "Note:", "Pitfall:"])) + " " +
                                   filler_paragraph(self.r_text, 1), self.body_font[2], 7.0)], mx1 - mx0)
            for _try in range(6):
                y = float(r.uniform(self.mt, self.ph - self.mb - ts.height))
                if all(y + ts.height + 8 < a or y > b + 8 for a, b in ps.margin_blocked):
                    ts.draw(ps.ink, mx0, y)
                    ps.margin_blocked.append((y, y + ts.height))
                    placed += 1
                    break
        return placed > 0

    # ----- body text
    def fill_text(self, ps: _PageState) -> None:
        if ps.no_text:
            return
        lead = self.body_size * 1.25
        cw = self.col_w()
        line_start = ps.props.get("text_refs") == "line_start"
        start_at = int(self.r_layout.integers(2, 10)) if line_start else -1
        count = 0
        done = False
        pad = self.float_gap
        for c in range(self.C):
            x = self.col_x(ps, c)
            # free vertical intervals of this column
            busy = sorted((b[1] - pad, b[3] + pad) for b in ps.blocked if b[0] < x + cw - 1 and b[2] > x + 1)
            y = self.mt
            for a, b in busy + [(self.ph - self.mb, self.ph - self.mb)]:
                while y + lead <= a + 0.01 and y + lead <= self.ph - self.mb + 0.01:
                    if not done and 0 <= start_at <= count and self.stream.at_para_start:
                        self.stream.start_reference()
                        done = True
                    line, indent = self.stream.line(cw)
                    draw_line(ps.ink, line, x + indent, y, cw - indent, "justified" if self.body_justify else "ragged")
                    y += lead
                    count += 1
                y = max(y, b)
        if line_start and not done:
            ps.props["text_refs"] = "inline"

    def finish_page(self, ps: _PageState) -> None:
        if not ps.plate:
            if ps.props.get("margin_notes") == "yes" and not self.margin_notes(ps):
                ps.props["margin_notes"] = "no"
        self.fill_text(ps)
        ps.ink.commit()
        classes = {k: v for k, v in self.spec.book.items()}
        if not ps.plate:
            classes.update(ps.props)
        self.page_classes.append(classes)


_CHAPTERS = ["Eczema and Dermatitis", "Psoriasis", "Blistering Diseases", "Skin Tumours", "Disorders of Pigmentation",
             "Infections of the Skin", "Hair and Nails", "Drug Eruptions"]
_REF_SENTENCES = ["{L} shows {m} on the {s}, a pattern typical of {c}.",
                  "{L} illustrates the dermoscopic features of {c}.",
                  "{L} and the accompanying table summarise the differential diagnosis of {c}."]


class _BodyStream:
    """Running text, one line at a time: paragraphs of our filler prose with in-text references."""

    def __init__(self, R: _Renderer):
        self.R = R
        self.words: List[Word] = []
        self.para_start = True

    def _ref_label(self) -> str:
        r = self.R.r_text
        spec = self.R.spec
        f = spec.figures[int(r.integers(len(spec.figures)))].classes
        num = number_text(f["numbering"], self.R.chapter, int(r.integers(1, 9)))
        return f"{f['label_word']} {num}"

    def _new_para(self) -> None:
        r = self.R.r_text
        text = filler_paragraph(r, int(r.integers(2, 5)))
        if r.random() < 0.6:
            ref = self._ref_label()
            text = text[:-1] + (f" ({ref})." if r.random() < 0.5 else f", as in {ref}.")
        self.words = words_of(text, self.R.body_font[0], self.R.body_size)
        self.para_start = True

    @property
    def at_para_start(self) -> bool:
        return not self.words

    def start_reference(self) -> None:
        r = self.R.r_text
        s = str(r.choice(_REF_SENTENCES)).format(L=self._ref_label(), m=r.choice(_MORPH), s=r.choice(_SITES),
                                                 c=r.choice(_CONDS))
        text = s + " " + filler_paragraph(r, int(r.integers(1, 3)))
        self.words = words_of(text, self.R.body_font[0], self.R.body_size)
        self.para_start = False  # flush left: the reference starts the line

    def line(self, width: float) -> Tuple[Line, float]:
        if not self.words:
            self._new_para()
        indent = 10.0 if self.para_start else 0.0
        self.para_start = False
        cur: List[Word] = []
        w = 0.0
        while self.words:
            nw = word_width(self.words[0]) + (_space(self.words[0]) if cur else 0.0)
            if cur and w + nw > width - indent:
                break
            cur.append(self.words.pop(0))
            w += nw
        last = not self.words
        if last:
            self.para_start = True
        return Line(cur, last, self.R.body_size), indent


def _rb(box) -> List[float]:
    return [round(float(v) + 0.0, 2) for v in box]


# ------------------------------------------------------------------------------------------------- the book
def _compose(spec: BookSpec) -> _Renderer:
    R = _Renderer(spec)
    queue = list(spec.figures)
    carry: List = []
    while (queue or carry or R.doc.page_count < MIN_PAGES) and R.doc.page_count < MAX_PAGES:
        ps = R.new_page()
        last_page = ps.number == MAX_PAGES
        pending, carry = carry, []
        for item in pending:
            if item[0] == "continued":
                R.place_continuation(ps, item[1], item[2], item[3], item[4])
            else:
                R.place_facing_caption(ps, item[1], item[2])
        head = queue[0] if queue else None
        if head is not None and not pending and head.classes["placement"] in ("plate_foot", "facing_page"):
            pl = head.classes["placement"]
            if last_page and pl == "facing_page":
                queue.pop(0)  # no facing page left: not drawn
            elif pl == "plate_foot" or ps.verso:
                queue.pop(0)
                R.plate(ps, head, carry)
                R.finish_page(ps)
                continue
        limit = 2 if R.C < 3 else 3
        while queue and ps.figures < limit:
            f = queue[0]
            pl = f.classes["placement"]
            if pl in ("plate_foot", "facing_page"):
                break
            if f.classes["figure"] == "continued" and last_page:
                queue.pop(0)  # no next page for the continuation
                continue
            if pl == "column_break" and ps.items:
                break
            if not R.place_figure(ps, f, carry):
                if ps.items == 0 and not pending:  # does not fit on an empty page: leave it out
                    queue.pop(0)
                    continue
                break
            queue.pop(0)
            if carry:
                break
        if ps.props.get("sidebar") == "yes" and not R.sidebar(ps):
            ps.props["sidebar"] = "no"
        if ps.props.get("table") == "yes" and not R.table(ps):
            ps.props["table"] = "no"
        R.finish_page(ps)
    return R


def _truth(R: _Renderer, scanned: bool) -> Dict:
    figs = sorted(R.figs, key=lambda f: (f["page"], f["bbox"][1], f["bbox"][0]))
    for i, f in enumerate(figs, 1):
        f["id"] = f"{R.spec.stem}-F{i}"
        for axis, v in R.page_classes[f["page"] - 1].items():
            f["classes"].setdefault(axis, v)
    return {
        "schema": SCHEMA,
        "pdf": f"{R.spec.stem}.pdf",
        "scanned": scanned,
        "page_count": R.doc.page_count,
        "figures": figs,
        "decorations": [{**d, "bbox": _rb(d["bbox"])} for d in R.decorations],
        "non_figure_captions": [{**d, "bbox": _rb(d["bbox"])} for d in R.non_figure_captions],
        "pages": [{"page": i + 1, "classes": c} for i, c in enumerate(R.page_classes)],
        "generator": {"module": "synth.layouts", "version": VERSION, "seed": R.spec.seed, "index": R.spec.index,
                      "force": dict(R.spec.force), "hyphenated_breaks": R.hyphen_breaks},
    }


def _save(doc: pymupdf.Document, title: str) -> bytes:
    doc.set_metadata({"title": title, "author": "mmskin synthetic sample", "subject": "Synthetic layout variations",
                      "keywords": "mmskin, synthetic, dermatology", "creator": "mmskin synth.layouts",
                      "producer": "mmskin synth.layouts", "creationDate": FIXED_DATE, "modDate": FIXED_DATE})
    return doc.tobytes(garbage=4, deflate=True, no_new_id=True)


def render_book(spec: BookSpec) -> Tuple[bytes, Dict]:
    """Draw the book of ``spec``: (PDF bytes, truth)."""
    R = _compose(spec)
    title = f"Layout variations {spec.stem} (synthetic)"
    rasters = {}
    for i in range(R.doc.page_count):
        rasters[i + 1] = [tuple(b["bbox"]) for b in R.doc[i].get_image_info()]
    scan = spec.book["scan"]
    if scan == "digital":
        truth = _truth(R, False)
        data = _save(R.doc, title)
        R.doc.close()
        return data, truth
    rng = np.random.default_rng([spec.seed, spec.index, 4])
    dpi = int(spec.book["scan_dpi"])
    skew = spec.book["skew"]
    angle = 0.0 if skew == "none" else float(rng.uniform(0.2, 1.0) if skew == "under_1deg" else rng.uniform(1.0, 2.0))
    angle *= 1 if rng.random() < 0.5 else -1
    out, maps = scan_pages(R.doc, scan, dpi, angle, rng, rasters)
    truth = _truth(R, True)
    for f in truth["figures"]:
        m = maps[f["page"] - 1]
        f["bbox"] = _rb(m(f["bbox"]))
        for p in f["panels"]:
            p["bbox"] = _rb(m(p["bbox"]))
    for d in truth["decorations"] + truth["non_figure_captions"]:
        d["bbox"] = _rb(maps[d["page"] - 1](d["bbox"]))
    truth["scan"] = {"mode": scan, "dpi": dpi, "angle_deg": round(angle, 3)}
    data = _save(out, title + ", scanned")
    out.close()
    R.doc.close()
    return data, truth


def make_book(seed: int, index: int, force: Optional[Dict[str, str]] = None) -> Tuple[bytes, Dict]:
    """Book ``index`` of ``seed``: (PDF bytes, truth)."""
    return render_book(sample_book(seed, index, force))


# ------------------------------------------------------------------------------------------------- scans
def halftone(gray: np.ndarray, lpi: float, dpi: float, angle_deg: float = 45.0) -> np.ndarray:
    """A clustered-dot halftone (0/255) of a grey image: round dots on a screen of ``lpi`` lines per inch."""
    h, w = gray.shape
    P = dpi / lpi
    t = math.radians(angle_deg)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = xx * math.cos(t) + yy * math.sin(t)
    v = -xx * math.sin(t) + yy * math.cos(t)
    thr = (2.0 + np.cos(2 * np.pi * u / P) + np.cos(2 * np.pi * v / P)) / 4.0
    dark = 1.0 - gray.astype(np.float32) / 255.0
    return np.where(dark > thr, 0, 255).astype(np.uint8)


def _box_map(M: np.ndarray, scale: float, page_rect: pymupdf.Rect) -> Callable:
    def f(box):
        x0, y0, x1, y1 = (float(v) * scale for v in box)
        pts = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], np.float64) @ M.T
        b = (pts[:, 0].min() / scale, pts[:, 1].min() / scale, pts[:, 0].max() / scale, pts[:, 1].max() / scale)
        return (max(0.0, b[0]), max(0.0, b[1]), min(page_rect.width, b[2]), min(page_rect.height, b[3]))
    return f


def scan_pages(src: pymupdf.Document, mode: str, dpi: int, angle: float, rng: np.random.Generator,
               rasters: Dict[int, List[Tuple[float, ...]]]) -> Tuple[pymupdf.Document, List[Callable]]:
    """Each page as one full-page image (``mode`` "jpeg" or "1bit_halftone"), turned by ``angle`` degrees; returns
    the new document and per page a function mapping a box of the source page to its axis-aligned box there."""
    import cv2

    out = pymupdf.open()
    maps = []
    scale = dpi / 72.0
    for i, page in enumerate(src):
        gray = mode == "1bit_halftone"
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY if gray else pymupdf.csRGB, alpha=False)
        a = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, pix.n).copy()
        h, w = a.shape[:2]
        M = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
        if gray:
            g = a[..., 0]
            lpi = float(rng.uniform(65, 85))
            for b in rasters.get(i + 1, []):
                x0, y0 = max(0, int(b[0] * scale)), max(0, int(b[1] * scale))
                x1, y1 = min(w, int(math.ceil(b[2] * scale))), min(h, int(math.ceil(b[3] * scale)))
                if x1 > x0 and y1 > y0:
                    g[y0:y1, x0:x1] = halftone(g[y0:y1, x0:x1], lpi, dpi)
            g = cv2.GaussianBlur(g, (0, 0), 0.6)
            if angle:
                g = cv2.warpAffine(g, M, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
            noise = rng.normal(0, 10.0, g.shape).astype(np.float32)
            g = np.clip(g.astype(np.float32) + noise, 0, 255)
            bw = g >= float(rng.uniform(125, 150))
            speck = rng.random(bw.shape) < 0.0004
            bw ^= speck
            img = Image.fromarray(bw.astype(np.uint8) * 255, "L").convert("1", dither=Image.Dither.NONE)
            buf = io.BytesIO()
            img.save(buf, "PNG", optimize=False, compress_level=6, dpi=(dpi, dpi))
        else:
            a = cv2.GaussianBlur(a, (0, 0), 0.45 * dpi / 150.0)
            tint = np.array((0.985, 0.968, 0.925), np.float32) * rng.uniform(0.985, 1.01, 3).astype(np.float32)
            f = a.astype(np.float32) * tint
            gx = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
            gy = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
            f *= (1.0 - 0.03 * (gx * float(rng.uniform(-1, 1)) + gy * float(rng.uniform(-1, 1))) - 0.02 * gx * gx)[..., None]
            f += rng.normal(0, 3.0, (h, w, 1)).astype(np.float32)
            a = np.clip(f + 0.5, 0, 255).astype(np.uint8)
            if angle:
                paper = tuple(int(v) for v in (250, 246, 236))
                a = cv2.warpAffine(a, M, (w, h), flags=cv2.INTER_LINEAR, borderValue=paper)
            buf = io.BytesIO()
            Image.fromarray(a, "RGB").save(buf, "JPEG", quality=int(rng.integers(70, 86)), optimize=False,
                                           progressive=False, dpi=(dpi, dpi))
        np_ = out.new_page(width=page.rect.width, height=page.rect.height)
        np_.insert_image(np_.rect, stream=buf.getvalue(), keep_proportion=False)
        maps.append(_box_map(M, scale, page.rect))
    return out, maps
