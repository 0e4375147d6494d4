"""Figures stage: captions + alignment + panels on every page of an extracted book -> one Record per region.

Per page: captions (``pipeline.captions``), alignment (``pipeline.align``), a label-only caption above its
figure joined with the legend under it (``pipeline.legends``); then across pages, a plate page's figures given
the captions printed on the facing page (``pipeline.facing``); then panels.

Every region becomes a record. Regions that are not figures (decorations, uncaptioned vector clusters) and
figures without a caption are kept in the output as rejected records with a reason code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from pipeline import align as align_mod
from pipeline import facing as facing_mod
from pipeline import legends as legends_mod
from pipeline import panels as panels_mod
from pipeline.captions import VERSION as CAPTIONS_VERSION
from pipeline.captions import find_captions
from pipeline.extract.decorations import REASONS as DECORATION_REASONS
from pipeline.extract.images import image_extension, make_region, png_to_numpy
from pipeline.extract.placeholders import KIND as PLACEHOLDER
from pipeline.gcpause import gc_paused
from schemas import ExtractedBook, Figure, ImageRegion, Item, Panel, Record, StageReport
from schemas.settings import AlignSettings, CaptionSettings

VERSION = f"4-c{CAPTIONS_VERSION}-a{align_mod.VERSION}-p{panels_mod.VERSION}"

NO_CAPTION = "no_caption"
VECTOR_UNCAPTIONED = "vector_uncaptioned"
PLACEHOLDER_TEXT = "placeholder_text"  # a captioned figure the book does not show: a framed box of text stands in
TEXT_BOX = "text_box"  # a framed box of text that no caption claims: a note, not a figure
# reasons that say "this region is not a figure at all" (as opposed to "a figure we do not keep")
NOT_A_FIGURE = frozenset(DECORATION_REASONS) | {VECTOR_UNCAPTIONED, TEXT_BOX}


def record_id(book_id: str, page: int, bbox) -> str:
    key = f"{book_id}:{page}:" + ",".join(f"{v:.1f}" for v in bbox)
    return f"{book_id[:10]}-p{page:04d}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"


def build_records(
    extracted: ExtractedBook,
    caption_settings: CaptionSettings | None = None,
    align_settings: AlignSettings | None = None,
    mapper: Callable[..., Iterable] = map,
) -> tuple[list[Item], StageReport]:
    """Records (with pixels) for every image region of the book, in page and reading order. ``mapper`` runs the
    panel splits (decode a raster, cut it into the panels its caption names, encode the panels): the flow passes its process
    pool's map, so a book's compound figures are split on all cores."""
    with gc_paused():  # a book's captions, figures and records are many small objects, none in a cycle
        return _build_records(extracted, caption_settings, align_settings, mapper)


def _build_records(
    extracted: ExtractedBook,
    caption_settings: CaptionSettings | None,
    align_settings: AlignSettings | None,
    mapper: Callable[..., Iterable],
) -> tuple[list[Item], StageReport]:
    book = extracted.book
    align_settings = align_settings or AlignSettings()
    report = StageReport(stage="figures")
    pages: list[facing_mod.AlignedPage] = []
    for page in extracted.pages:
        captions = find_captions(page, caption_settings)
        candidates = [r for r in page.images if not r.reject_reasons]
        lines = [ln for b in page.text_blocks for ln in b.lines]
        figures = align_mod.align_page(candidates, captions, page.number, align_settings, lines)
        figures = legends_mod.join_split_legends(figures, captions, page, candidates, caption_settings)
        pages.append(facing_mod.AlignedPage(page, candidates, captions, figures))
    pages = facing_mod.pair_facing_pages(pages, align_settings)  # plates whose caption is on the facing page
    aligned = []  # per page: (page, its candidate regions, its figures, their split jobs)
    split_jobs: list[SplitJob] = []
    for ap in pages:
        jobs = [split_job(fig, ap.regions, align_settings) for fig in ap.figures]
        split_jobs += [j for j in jobs if j is not None]
        aligned.append((ap.page, ap.regions, ap.figures, jobs))
    splits = iter(list(mapper(split_panels, split_jobs)) if split_jobs else [])
    items: list[Item] = []
    for page, candidates, figures, jobs in aligned:
        for fig, job in zip(figures, jobs):
            notes = []
            if job is not None:
                pieces, unsplit = next(splits)
                fig, candidates = with_panels(fig, candidates, pieces)
                notes = [unsplit] if unsplit else []
            fig = panels_mod.assign_panels(fig)
            label = fig.caption.label if fig.caption else None
            figure_id = record_id(book.book_id, page.number, fig.bbox)
            for panel in fig.panels:
                region = candidates[panel.region_index]
                rec = Record(
                    id=record_id(book.book_id, page.number, region.bbox),
                    source_pdf=book.source_pdf,
                    book_id=book.book_id,
                    page=page.number,
                    bbox=region.bbox,
                    image="",
                    figure_label=label,
                    figure_id=figure_id,
                    panel=panel.panel,
                    caption=fig.caption.text if fig.caption else "",
                    subcaption=panel.subcaption,
                    width=region.width,
                    height=region.height,
                    region_kind=region.kind,
                    notes=notes,
                )
                for note in notes:
                    report.drop(note)  # counted, not dropped: the record stays kept
                if region.kind == PLACEHOLDER:
                    rec.reject(PLACEHOLDER_TEXT if fig.caption is not None else TEXT_BOX)
                elif fig.caption is None:
                    rec.reject(VECTOR_UNCAPTIONED if region.kind == "vector" else NO_CAPTION)
                items.append(Item(record=rec, png=region.png))
        for region in page.images:
            if region.reject_reasons:
                rec = Record(
                    id=record_id(book.book_id, page.number, region.bbox),
                    source_pdf=book.source_pdf,
                    book_id=book.book_id,
                    page=page.number,
                    bbox=region.bbox,
                    image="",
                    width=region.width,
                    height=region.height,
                    region_kind=region.kind,
                )
                for reason in region.reject_reasons:
                    rec.reject(reason)
                items.append(Item(record=rec, png=region.png))
    _dedupe_ids(items)
    for it in items:
        it.record.image = it.record.id + image_extension(it.png)  # the file's name; flows decide its folder
        report.seen += 1
        if it.record.kept:
            report.kept += 1
        else:
            report.dropped += 1
            for r in it.record.reject_reasons:
                report.drop(r)
    return items, report


SplitJob = tuple[bytes, tuple[float, float, float, float], str, str, AlignSettings]


def split_job(fig: Figure, regions: list[ImageRegion], settings: AlignSettings) -> SplitJob | None:
    """What splitting needs when ``fig`` is a single raster whose caption names two or more panels: its pixels,
    box, kind, the caption and the settings. None for every other figure."""
    if fig.caption is None or len(fig.panels) != 1:
        return None
    if len(panels_mod.named_panels(fig.caption.text)) < 2:
        return None
    region = regions[fig.panels[0].region_index]
    if region.kind == PLACEHOLDER:  # a box of text has no panels to cut
        return None
    return region.png, region.bbox, region.kind, fig.caption.text, settings


def split_panels(job: SplitJob) -> tuple[list[ImageRegion] | None, str | None]:
    """The raster cut into one region per panel its caption names (``panels.split_region``: gutters, drawn
    lines, photographs edge to edge, letters in the corners), or (None, panels_unsplit) when the pixels do not
    show that many sure borders: the figure stays one image."""
    png, bbox, kind, caption, settings = job
    return panels_mod.split_region(png, bbox, kind, caption, settings)


def with_panels(fig: Figure, regions: list[ImageRegion], pieces: list[ImageRegion] | None) -> tuple[Figure, list[ImageRegion]]:
    """``fig`` with one panel per piece, the pieces appended to ``regions``; unchanged when there are none."""
    if not pieces:
        return fig, regions
    regions = list(regions)
    panels = []
    for sub in pieces:
        regions.append(sub)
        panels.append(Panel(region_index=len(regions) - 1, bbox=sub.bbox))
    return fig.model_copy(update={"panels": panels}), regions


def _dedupe_ids(items: list[Item]) -> None:
    """Two placements of the same box on a page (rare: stacked images) get distinct ids."""
    seen: dict[str, int] = {}
    for it in items:
        rid = it.record.id
        if rid in seen:
            seen[rid] += 1
            it.record.id = f"{rid}-{seen[rid]}"
        else:
            seen[rid] = 0
