"""A large generated textbook for benchmarks: N pages, two columns, a figure on about every second page.

    make_large_book("big.pdf", 600)                 # born-digital, returns the truth dict
    make_large_book("big_scan.pdf", 40, scanned=True)  # image-only pages (no text layer)

The book is laid out by ``synth.books.BookLayout`` (so its truth has the sample format, see
sample_pdfs/README.md): chapters with running headers, prose from our sentence templates, figures of every
modality with captions "Fig. c.n ..." made from caption templates (some with patient demographics in the
forms the sample books use, some with numbers that are not ages), multi-panel figures "(a) ... (b) ...",
side-by-side figure rows, a few vector schematics and ruled tables.

It is fast (600 pages in well under a minute): photographs come from a small pool of procedurally generated
images per modality, and every placement is a cheap variation of one (random crop, flips, a colour tint,
a brightness change), so no two placements share pixels or, in practice, a perceptual hash.

Generated at benchmark time; never committed. Everything (text and pixels) is our own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image

import pymupdf

from synth import images as simg
from synth.books import (
    wrap_runs,
    NBSP,
    SOFT_HYPHEN,
    BookLayout,
    Figure,
    Panel,
    Table,
    _CONDS,
    _DFEAT,
    _HFEAT,
    _MORPH,
    _SITES,
    _cap,
    draw_skin_schematic,
    filler_paragraph,
    rasterize_scanned,
    _Tok,
    save_pdf,
)

POOL_SIZE = 6  # distinct generated photographs per modality; placements are variations of these
BASE_PX = {"clinical": (640, 480), "dermoscopy": (560, 560), "pathology": (640, 440)}

CHAPTERS = [
    "Structure and Function of the Skin", "Morphology of Skin Lesions", "Eczema and Dermatitis",
    "Psoriasis and Related Disorders", "Lichenoid Eruptions", "Bacterial Infections", "Fungal Infections",
    "Viral Infections", "Infestations and Bites", "Urticaria and Angioedema", "Blistering Diseases",
    "Connective Tissue Disease", "Vasculitis", "Disorders of Pigmentation", "Benign Melanocytic Lesions",
    "Melanoma", "Keratinocyte Carcinoma", "Benign Epidermal Tumours", "Adnexal Tumours", "Hair Disorders",
    "Nail Disorders", "Mucosal Disease", "Drug Eruptions", "Paediatric Dermatology", "Genodermatoses",
    "Photodermatoses", "Granulomatous Disorders", "Cutaneous Lymphoma", "Leg Ulcers", "Dermatological Surgery",
]
SECTIONS = [
    "Clinical features", "Dermoscopy", "Histopathology", "Differential diagnosis", "Investigations",
    "Management", "Course and prognosis", "Epidemiology", "Pathogenesis", "Variants", "Complications",
]
_MAG = ["40", "100", "200", "400"]
_DISTRACTORS = [
    ", present for {n} days", "; she reported a {y}-year history of flares", ", the largest {mm} mm across",
    ", enlarging for {mo} months", ", individual papules 2-3 mm across", "",
    "", "",
]
_DIAGRAMS = {  # synth.images.make_diagram variant -> caption texts
    "lesions": ["Schematic cross-section of the primary skin lesions, drawn relative to the skin surface.",
                "The primary skin lesions in cross-section: macule, papule, plaque, nodule, vesicle and bulla."],
    "flow": ["A diagnostic pathway for {c}, from history and examination to biopsy.",
             "Flow chart for the assessment of a patient with suspected {c}."],
    "layers": ["Schematic of the layers of normal skin: epidermis, dermis and subcutis.",
               "The layers of the skin and their relative thickness, drawn to scale for the {s}."],
}


@dataclass
class _PoolPanel(Panel):
    """A panel whose pixels are given (a pool variation) instead of generated from its seed."""

    image: Optional[Image.Image] = None

    def render(self) -> Image.Image:
        return self.image


class _ImagePool:
    """A few generated images per modality; each request returns a fresh variation of one of them."""

    def __init__(self, rng: np.random.Generator, size: int = POOL_SIZE):
        self.rng = rng
        self.size = size
        self.pool: Dict[str, List[np.ndarray]] = {}

    def _base(self, kind: str) -> np.ndarray:
        imgs = self.pool.setdefault(kind, [])
        if len(imgs) < self.size:  # grow lazily: small books get distinct base images
            sub = np.random.default_rng(int(self.rng.integers(2**31)))
            imgs.append(np.asarray(simg.make_image(kind, sub, size=BASE_PX[kind]).convert("RGB")))
            return imgs[-1]
        return imgs[int(self.rng.integers(len(imgs)))]

    def image(self, kind: str, px: Tuple[int, int], **gen) -> Image.Image:
        """A px-sized image of ``kind``: photographs are a random crop (55-95 %), flip/rotation, tint and
        brightness of a pool image; diagrams and charts are cheap, so drawn anew, then cropped and tinted."""
        r = self.rng
        if kind not in BASE_PX:  # diagrams and charts: new each time (cheap), drawn a little larger, cropped
            big = (int(px[0] * 1.06), int(px[1] * 1.06))
            sub = np.random.default_rng(int(r.integers(2**31)))
            a = np.asarray(simg.make_image(kind, sub, size=big, **gen).convert("RGB"))
            lo = 0.94
        else:
            a = self._base(kind)
            lo = 0.55
            if kind != "clinical" and r.random() < 0.5:
                a = np.rot90(a, int(r.integers(1, 4)))
        h, w = a.shape[:2]
        aspect = px[0] / px[1]
        cw = min(w, h * aspect)  # largest crop of the target aspect, then 55-95 % of it
        s = float(r.uniform(lo, 0.95))
        cw, ch = int(cw * s), int(cw * s / aspect)
        x0, y0 = int(r.integers(0, w - cw + 1)), int(r.integers(0, h - ch + 1))
        a = a[y0 : y0 + ch, x0 : x0 + cw]
        if kind in BASE_PX:  # no mirrored text in diagrams and charts
            if r.random() < 0.5:
                a = a[:, ::-1]
            if r.random() < 0.3:
                a = a[::-1]
        gain = (r.uniform(0.9, 1.1, 3) * r.uniform(0.88, 1.08)).astype(np.float32)
        f = a.astype(np.float32) * gain
        # uneven lighting: moves the low frequencies that perceptual hashes look at
        hh, ww = f.shape[:2]
        gx = np.linspace(-1, 1, ww, dtype=np.float32)[None, :] * float(r.uniform(-0.18, 0.18))
        gy = np.linspace(-1, 1, hh, dtype=np.float32)[:, None] * float(r.uniform(-0.18, 0.18))
        f *= (1.0 + gx + gy)[..., None]
        a = np.clip(f, 0, 255).astype(np.uint8)
        return Image.fromarray(np.ascontiguousarray(a), "RGB").resize(px, Image.BILINEAR)


# --------------------------------------------------------------------------- a faster layout
_ADVANCE: Dict[Tuple[str, str], float] = {}


def _fast_width(text: str, font: str, size: float) -> float:
    """``synth.books._width`` with per-character advances cached (the same sum, in the same order)."""
    w = 0.0
    for ch in text.replace(NBSP, " ").replace(SOFT_HYPHEN, ""):
        adv = _ADVANCE.get((font, ch))
        if adv is None:
            adv = _ADVANCE[(font, ch)] = pymupdf.get_text_length(ch, fontname=font, fontsize=1)
        w += adv
    return w * size


def _wrap_runs(runs, width: float, size: float, first_indent: float = 0.0) -> List[List[_Tok]]:
    """``synth.books.wrap_runs`` (same breaks) with the cached width."""
    return wrap_runs(runs, width, size, first_indent, width_fn=_fast_width)


class _FontCachingPage:
    """A page proxy for a Shape: ``insert_font`` answered from a cache after the first call per font (the
    real call scans all of the page's resources every time)."""

    def __init__(self, page: pymupdf.Page):
        self._page = page
        self._fonts: Dict[tuple, int] = {}

    def insert_font(self, **kw) -> int:
        key = tuple(sorted(kw.items()))
        if key not in self._fonts:
            self._fonts[key] = self._page.insert_font(**kw)
        return self._fonts[key]

    def __getattr__(self, name):
        return getattr(self._page, name)


class _FastLayout(BookLayout):
    """BookLayout that measures text with cached advances and draws a page's text runs through one Shape
    committed when the page is done (``page.insert_text`` makes and commits a Shape per call, rescanning the
    page's whole content stream each time: quadratic in the text on a page)."""

    _shape = None

    def _commit(self):
        if self._shape is not None:
            self._shape.page = self._shape.page._page  # the real page for commit
            self._shape.commit()
            self._shape = None

    def _new_page(self):
        self._commit()
        super()._new_page()

    def para(self, text: str, indent: float = 10.0):
        first_indent = indent if self.last not in ("top", "heading", "float") else 0.0
        lines = _wrap_runs([(text, "helv")], self.col_w, self.body_size, first_indent=first_indent)
        for k, toks in enumerate(lines):
            self._place_line(toks, first_indent if k == 0 else 0.0, self.body_size, "para_start" if k == 0 else "line")
            self.last = "text"

    def _caption_lines(self, label: str, text: str, width: float):
        return _wrap_runs([(label.replace(" ", NBSP), "hebo"), (text, "helv")], width, self.cap_size)

    def _draw_toks(self, toks: List[_Tok], x0: float, baseline: float, size: float, color=(0, 0, 0)):
        if self._shape is None:
            self._shape = self.page.new_shape()
            self._shape.page = _FontCachingPage(self.page)
        space = _fast_width(" ", "helv", size)
        x = x0
        i = 0
        while i < len(toks):
            j = i
            while j + 1 < len(toks) and toks[j + 1].font == toks[i].font:
                j += 1
            run = " ".join(t.text for t in toks[i : j + 1]).replace(NBSP, " ").replace(SOFT_HYPHEN, "")
            trailing = j + 1 < len(toks)
            s = run + (" " if trailing and toks[i].font != "helv" else "")
            self._shape.insert_text((x, baseline), s, fontname=toks[i].font, fontsize=size, color=color)
            x += _fast_width(s, toks[i].font, size) + (space if trailing and toks[i].font == "helv" else 0.0)
            self.hyphenated_breaks += sum(1 for t in toks[i : j + 1] if t.hyph_tail)
            i = j + 1


# --------------------------------------------------------------------------- caption text
def _article(n: int) -> str:
    return "an" if str(n).startswith("8") or n in (11, 18) else "a"


def _demographics(r: np.random.Generator) -> Tuple[str, str, Optional[float], Optional[str]]:
    """(phrase after "of"/"in", parenthetical form or "", age, gender); the phrase is "" for no demographics."""
    form = int(r.integers(0, 12))
    g = "female" if r.random() < 0.5 else "male"
    adult = "woman" if g == "female" else "man"
    child = "girl" if g == "female" else "boy"
    if form == 0:
        n = int(r.integers(18, 90))
        return f"{_article(n)} {n}-year-old {adult}", "", float(n), g
    if form == 1:
        n = int(r.integers(2, 12))
        return f"{_article(n)} {n}-month-old {child}", "", n / 12, g
    if form == 2:
        n = int(r.integers(20, 85))
        return f"a {adult} aged {n}", "", float(n), g
    if form == 3:
        n = int(r.integers(2, 15))
        return f"a {child}, {n} years", "", float(n), g
    if form == 4:
        n = int(r.integers(18, 80))
        return "", f" ({g}, {n} years)", float(n), g
    if form == 5:
        d = int(r.integers(2, 9))
        pron = "her" if g == "female" else "his"
        return f"a {adult} in {pron} {d}0s", "", d * 10 + 5.0, g
    if form == 6:
        n = int(r.integers(1, 4))
        return f"a {n}-week-old neonate ({g})", "", n * 7 / 365.25, g
    if form == 7:
        n = int(r.integers(20, 80))
        return f"{_article(n)} {n}-year-old {g} patient", "", float(n), g
    return "", "", None, None


def _distractor(r: np.random.Generator) -> str:
    s = str(r.choice(_DISTRACTORS))
    return s.format(n=int(r.integers(3, 21)), y=int(r.integers(2, 15)), mm=int(r.integers(5, 40)),
                    mo=int(r.integers(3, 24)))


def _pick(r: np.random.Generator, seq, k: int = 1):
    out = [str(v) for v in r.choice(seq, k, replace=False)]
    return out if k > 1 else out[0]


def _hyphenate(text: str, r: np.random.Generator) -> str:
    """Sometimes give long histology words soft-hyphen break points (the layout may split them)."""
    if r.random() < 0.5:
        return text
    for word, soft in (("parakeratosis", f"para{SOFT_HYPHEN}kera{SOFT_HYPHEN}tosis"),
                       ("acanthosis", f"acan{SOFT_HYPHEN}thosis"), ("spongiosis", f"spon{SOFT_HYPHEN}gio{SOFT_HYPHEN}sis")):
        text = text.replace(word, soft)
    return text


def _caption(kind: str, r: np.random.Generator, variant: Optional[str] = None) -> Tuple[str, Optional[float], Optional[str]]:
    """Caption text (after the label), age and gender for a single-image figure of generator ``kind``."""
    cond = _pick(r, _CONDS)
    site = _pick(r, _SITES)
    demo, paren, age, gender = _demographics(r)
    where = f"on the {site} of {demo}" if demo else f"on the {site}{paren}"
    if kind == "clinical":
        m1, m2 = _pick(r, _MORPH, 2)
        if r.random() < 0.5:
            text = f"{_cap(cond)} {where}: {m1} with {m2}{_distractor(r)}."
        else:
            text = f"{_cap(cond)}{' in ' + demo if demo else paren}. {_cap(m1)} on the {site}{_distractor(r)}."
    elif kind == "dermoscopy":
        d1, d2 = _pick(r, _DFEAT, 2)
        text = f"Dermoscopy of {cond} {where}, showing {d1} and {d2}."
    elif kind == "pathology":
        h1, h2 = _pick(r, _HFEAT, 2)
        mag = _pick(r, _MAG)
        if demo or paren:
            text = f"{_cap(cond)}, biopsy from the {site}{paren or ' of ' + demo}. {_cap(h1)} and {h2} (H&E, \u00d7{mag})."
        else:
            text = f"{_cap(cond)} (H&E, \u00d7{mag}): {h1} with {h2}{_distractor(r)}."
        text = _hyphenate(text, r)
    elif kind == "chart":
        n = int(r.integers(80, 900))
        text = (f"Age distribution of {n} patients with {cond} seen in the clinic between 2012 and 2020; "
                f"lesions were most frequent after 60 years of age.")
        age = gender = None
    else:  # diagram (``variant`` from _DIAGRAMS), vector schematic
        text = _pick(r, _DIAGRAMS[variant or "layers"]).format(c=cond, s=site)
        age = gender = None
    return text, age, gender


# --------------------------------------------------------------------------- book
class _LargeBook:
    def __init__(self, stem: str, n_pages: int, seed: int):
        self.n_pages = n_pages
        self.r = np.random.default_rng(seed)
        self.pool = _ImagePool(np.random.default_rng(seed + 7919))
        self.lay = _FastLayout(stem, "Textbook of Dermatology (synthetic)", f"Chapter 1 \u00b7 {CHAPTERS[0]}", columns=2,
                              logo_seed=seed + 1, logo_color=(70, 70, 130))
        self.chapter = 0
        self.fig_no = 0
        self.tab_no = 0
        self.figures_added = 0
        self.pages_per_chapter = int(self.r.integers(18, 30))
        self.next_chapter_page = 1

    # labels
    def _label(self) -> str:
        self.fig_no += 1
        return f"Fig. {self.chapter}.{self.fig_no}"

    def _ref(self) -> str:
        """An in-text reference to a figure of this chapter (never a caption)."""
        n = max(1, self.fig_no + int(self.r.integers(0, 2)))
        return f"(Fig.{NBSP}{self.chapter}.{n})" if self.r.random() < 0.5 else f"see Fig.{NBSP}{self.chapter}.{n}"

    def _panel(self, kind: str, px: Tuple[int, int], letter=None, sub=None, **gen) -> _PoolPanel:
        r = self.r
        img = self.pool.image(kind, px, **gen)
        overlay = None
        if kind == "clinical" and letter is None and r.random() < 0.06:
            target = (float(r.uniform(0.35, 0.65)), float(r.uniform(0.35, 0.65)))
            img = simg.add_overlay(img, target, "A")
            overlay = {"target": target, "letter": "A"}
        u = r.random()
        if kind in ("diagram", "chart"):
            fmt = "png_rgba" if u < 0.3 else "png"
        else:
            fmt = "jpeg" if u < 0.88 else ("png" if u < 0.94 else "jpeg_cmyk")
        return _PoolPanel(kind, seed=0, px=px, fmt=fmt, letter=letter, subcaption=sub, overlay=overlay, image=img)

    def chapter_start(self):
        self.chapter += 1
        self.fig_no = self.tab_no = 0
        title = CHAPTERS[(self.chapter - 1) % len(CHAPTERS)]
        self.lay.running = f"Chapter {self.chapter} \u00b7 {title}"
        head = f"{self.chapter} {title}"
        self.lay.heading(head, size=min(14.0, 0.98 * self.lay.col_w / _fast_width(head, "hebo", 1.0)))
        self.next_chapter_page = self.lay.page_no + self.pages_per_chapter
        self.section = 0

    def para(self):
        text = filler_paragraph(self.r, int(self.r.integers(3, 7)))
        if self.fig_no and self.r.random() < 0.35:
            text = text[:-1] + f" {self._ref()}."
        self.lay.para(text)

    def figure(self):
        r = self.r
        u = r.random()
        if u < 0.10:
            self._multipanel()
        elif u < 0.14:
            self._row()
        elif u < 0.16:
            self.lay.figure(Figure(self._label(), _caption("diagram", r, "layers")[0], [], modality="other",
                                   vector=draw_skin_schematic, vector_aspect=1.75))
        else:
            kind = str(r.choice(["clinical", "dermoscopy", "pathology", "diagram", "chart"],
                                p=[0.4, 0.2, 0.22, 0.09, 0.09]))
            span = r.random() < 0.12
            px = {"clinical": [(480, 360), (400, 300), (360, 440)], "dermoscopy": [(400, 400)],
                  "pathology": [(480, 320), (440, 330)], "diagram": [(560, 360)], "chart": [(520, 340)]}[kind]
            px = (600, 280) if span and kind in BASE_PX else px[int(r.integers(len(px)))]
            gen = {"variant": _pick(r, sorted(_DIAGRAMS))} if kind == "diagram" else {}
            text, age, gender = _caption(kind, r, gen.get("variant"))
            self.lay.figure(Figure(self._label(), text, [self._panel(kind, px, **gen)], span=span,
                                   position="above" if r.random() < 0.15 else "below",
                                   width_frac=float(r.choice([1.0, 1.0, 0.9, 0.8])) if not span else 0.85,
                                   modality="other" if kind in ("diagram", "chart") else None,
                                   age=age, gender=gender))
        self.figures_added += 1

    def _multipanel(self):
        r = self.r
        cond, site = _pick(r, _CONDS), _pick(r, _SITES)
        demo, paren, age, gender = _demographics(r)
        parts = [("clinical", (480, 360), f"Clinical view showing {_pick(r, _MORPH)} on the {site}."),
                 ("dermoscopy", (360, 360), f"Dermoscopy of the same lesion showing {_pick(r, _DFEAT)}.")]
        if r.random() < 0.35:
            parts.append(("pathology", (480, 360), f"Histology showing {_pick(r, _HFEAT)} (H&E, \u00d7100)."))
        elif r.random() < 0.3:
            parts[1] = ("pathology", (480, 360), f"Biopsy showing {_pick(r, _HFEAT)} (H&E, \u00d7200).")
        letters = "abc"
        intro = f"{_cap(cond)} {'in ' + demo if demo else 'on the ' + site + paren}."
        text = intro + "".join(f" ({letters[i]}) {sub}" for i, (_k, _px, sub) in enumerate(parts))
        panels = [self._panel(k, px, letters[i], sub) for i, (k, px, sub) in enumerate(parts)]
        self.lay.figure(Figure(self._label(), text, panels, span=True, age=age, gender=gender))

    def _row(self):
        figs = []
        for _ in range(2):
            kind = str(self.r.choice(["clinical", "dermoscopy", "pathology"]))
            text, age, gender = _caption(kind, self.r)
            figs.append(Figure(self._label(), text, [self._panel(kind, (400, 300))], age=age, gender=gender))
        self.lay.figure_row(figs)
        self.figures_added += 1

    def table(self):
        r = self.r
        self.tab_no += 1
        conds = _pick(r, _CONDS, 5)
        rows = [("Condition", "Typical site", "Dermoscopy")]
        rows += [(_cap(c), _cap(_pick(r, _SITES)), _cap(_pick(r, _DFEAT))) for c in conds]
        self.lay.table(Table(f"Table {self.chapter}.{self.tab_no}",
                             f"Features that help to separate {conds[0]} from its mimics.", rows,
                             col_fracs=(0.36, 0.28, 0.36), span=True))

    def build(self):
        lay, r = self.lay, self.r
        while lay.doc.page_count <= self.n_pages:
            if lay.page_no >= self.next_chapter_page:
                self.chapter_start()
                self.para()
                continue
            if r.random() < 0.05:
                self.section += 1
                lay.heading(f"{self.chapter}.{self.section} {_pick(r, SECTIONS)}")
            if self.figures_added < 0.5 * lay.page_no - 0.5 and not lay.pending_col and not lay.pending_span:
                self.figure()
            elif r.random() < 0.006:
                self.table()
            else:
                self.para()
        return self

    def truncate(self) -> Dict:
        """Drop pages after n_pages (the flow starts page n+1 before it stops) and their truth."""
        lay, n = self.lay, self.n_pages
        lay._commit()
        lay.pending_col, lay.pending_span = [], []
        if lay.doc.page_count > n:
            lay.doc.delete_pages(n, lay.doc.page_count - 1)
        lay.fig_records = [(k, rec) for k, rec in lay.fig_records if rec["page"] <= n]
        lay.decorations = [d for d in lay.decorations if d["page"] <= n]
        lay.non_figure_captions = [c for c in lay.non_figure_captions if c["page"] <= n]
        return lay.truth(scanned=False)


def make_large_book(path, n_pages: int, seed: int = 0, scanned: bool = False) -> Dict:
    """Write an ``n_pages`` textbook-like PDF to ``path``; return its truth (sample truth format).

    ``scanned=True`` writes every page as one full-page JPEG (150 dpi, no text layer), like the scanned
    sample book; the truth boxes stay in PDF points of the page.
    """
    if n_pages < 1:
        raise ValueError("n_pages must be at least 1")
    path = os.fspath(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    book = _LargeBook(stem, n_pages, seed).build()
    truth = book.truncate()
    title = f"Textbook of Dermatology (synthetic, {n_pages} pages)"
    if scanned:
        doc = rasterize_scanned(book.lay.doc, seed=seed + 31, dpi=150, quality=72)
        truth["scanned"] = True
        save_pdf(doc, path, title + ", scanned")
        truth["page_count"] = doc.page_count
        doc.close()
    else:
        save_pdf(book.lay.doc, path, title)
    book.lay.doc.close()
    return truth
