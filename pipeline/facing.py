"""Figures whose caption is printed on the facing page.

A plate page (figures and page furniture, no running text, no caption) and its neighbour whose captions found
no figure there: a left-hand plate with its legend at the top of the right-hand page, or the reverse (the legend
at the foot of the page before the plate). After every page is aligned (``pipeline.align.align_page``), such a
plate page's uncaptioned figures take the neighbour's unclaimed captions in reading order, when the counts agree
(the plate's images grouped into rows and grids first, ``pipeline.align.group_regions``), or all of them the one
caption when there is one. The records keep their own page numbers; the caption keeps its page.

Never touched: a caption that owns a figure on its own page, a page with a caption of its own, a caption page
with an uncaptioned figure of its own (the caption may be that figure's), a caption with text or an image
between it and the edge of its page nearest the plate (a caption in the middle of a page is not a plate's).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.align import PageText, _alnum, _inside, group_regions
from pipeline.extract.placeholders import KIND as PLACEHOLDER
from schemas import Caption, Figure, ImageRegion, Page
from schemas.settings import AlignSettings

PLATE_TEXT_CHARS = 150  # a plate page holds at most this many letters and digits outside its figures (furniture)
EDGE_TEXT_CHARS = 80  # a facing caption has at most this much text (a running head, a folio) toward its page edge


@dataclass
class AlignedPage:
    """One page after alignment: its candidate regions, captions and figures."""

    page: Page
    regions: list[ImageRegion]
    captions: list[Caption]
    figures: list[Figure]

    @property
    def lines(self):
        return [ln for b in self.page.text_blocks for ln in b.lines]


def _orphans(ap: AlignedPage) -> list[Figure]:
    """Uncaptioned figures that may be a plate's (not a framed box of text)."""
    return [f for f in ap.figures if f.caption is None and all(ap.regions[p.region_index].kind != PLACEHOLDER
                                                                for p in f.panels)]


def _free_captions(ap: AlignedPage) -> list[Caption]:
    owned = {id(f.caption) for f in ap.figures if f.caption is not None}
    return [c for c in ap.captions if id(c) not in owned]


def _outside_text(ap: AlignedPage) -> list:
    """Text lines not inside one of the page's regions."""
    return [ln for ln in ap.lines if not any(_inside(ln.bbox, r.bbox) for r in ap.regions)]


def is_plate_page(ap: AlignedPage) -> bool:
    """Uncaptioned figures, no caption, and no running text (only furniture) on the page."""
    if ap.captions or not _orphans(ap):
        return False
    return sum(_alnum(ln.text) for ln in _outside_text(ap)) <= PLATE_TEXT_CHARS


def _at_edge(ap: AlignedPage, cap: Caption, top: bool) -> bool:
    """``cap`` opens the page (``top``) or closes it: nothing but furniture (``EDGE_TEXT_CHARS``) between it and
    that edge, no image, no other caption."""
    if top:
        lines = [ln for ln in _outside_text(ap) if ln.bbox[3] <= cap.bbox[1] + 1]
        boxes = [r.bbox for r in ap.regions if r.bbox[3] <= cap.bbox[1] + 1]
        boxes += [c.bbox for c in ap.captions if c is not cap and c.bbox[3] <= cap.bbox[1] + 1]
    else:
        lines = [ln for ln in _outside_text(ap) if ln.bbox[1] >= cap.bbox[3] - 1]
        boxes = [r.bbox for r in ap.regions if r.bbox[1] >= cap.bbox[3] - 1]
        boxes += [c.bbox for c in ap.captions if c is not cap and c.bbox[1] >= cap.bbox[3] - 1]
    lines = [ln for ln in lines if not any(_inside(ln.bbox, c.bbox) for c in ap.captions)]
    return not boxes and sum(_alnum(ln.text) for ln in lines) <= EDGE_TEXT_CHARS


def _facing_captions(ap: AlignedPage, plate_before: bool) -> list[Caption]:
    """The captions of ``ap`` that can be a neighbouring plate's: unclaimed ones that open the page (the plate on
    the page before) or close it (the plate after); none when ``ap`` has an uncaptioned figure of its own."""
    if _orphans(ap):
        return []
    return [c for c in _free_captions(ap) if _at_edge(ap, c, top=plate_before)]


def pair_facing_pages(pages: list[AlignedPage], settings: AlignSettings | None = None) -> list[AlignedPage]:
    """``pages`` (in page order) with the figures of plate pages given their facing page's captions."""
    settings = settings or AlignSettings()
    pages = list(pages)
    by_number = {ap.page.number: k for k, ap in enumerate(pages)}
    used: set[int] = set()  # ids of captions given to a plate
    for k, ap in enumerate(pages):
        if not is_plate_page(ap):
            continue
        orphans = _orphans(ap)
        for other, plate_before in ((ap.page.number + 1, True), (ap.page.number - 1, False)):
            j = by_number.get(other)
            if j is None:
                continue
            caps = [c for c in _facing_captions(pages[j], plate_before) if id(c) not in used]
            if not caps:
                continue
            boxes = [f.bbox for f in orphans]
            if len(caps) == 1:  # the one caption takes every figure of the plate
                groups = [sorted(range(len(orphans)), key=lambda i: (boxes[i][1], boxes[i][0]))]
            else:
                kinds = [ap.regions[f.panels[0].region_index].kind for f in orphans]
                groups = group_regions(boxes, PageText(ap.lines, ap.regions, []), settings, kinds=kinds)
            if len(groups) != len(caps):
                continue
            given = []
            for group, cap in zip(groups, caps):
                panels = [p for i in group for p in orphans[i].panels]
                given.append(Figure(page=ap.page.number, caption=cap, panels=panels))
                used.add(id(cap))
            taken = {id(orphans[i]) for g in groups for i in g}
            rest = [f for f in ap.figures if id(f) not in taken]
            pages[k] = AlignedPage(ap.page, ap.regions, ap.captions, given + rest)
            break
    return pages
