"""Extract: text blocks, embedded images, vector figures and (for scanned pages) OCR words and figure regions.

``extract_book`` is pure: it takes the PDF bytes and returns an ExtractedBook. Born-digital pages (in chunks)
and scanned pages (one by one, each as a one-page PDF) are handed to ``mapper`` (the built-in ``map`` by
default); the flow passes a process pool's map, so pages are extracted, rendered and OCRed on all cores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
import os
import re
from functools import partial
from itertools import chain

import pymupdf

from pipeline.captions.labels import label_regex, match_label
from pipeline.extract.decorations import mark_decorations
from pipeline.extract.graphic_groups import graphic_regions
from pipeline.extract.images import pixmap_to_numpy
from pipeline.extract.placeholders import placeholder_regions
from pipeline.extract.scanned import process_scanned_page
from pipeline.gcpause import gc_paused
from pipeline.ingest import open_pdf, page_covering, page_frame
from pipeline.lines import MAX_PHRASE_GAP, MAX_WORD_GAP, SAME_LINE_OVERLAP, SPACE_GAP, is_phrase
from pipeline.mupdf_log import capture
from schemas import Book, ExtractedBook, Page, PageInfo, TextBlock, TextLine, TextSpan
from schemas.document import ImagePlacement
from schemas.settings import CaptionSettings, ExtractSettings

VERSION = "21"
CHUNKS_PER_CORE = 2  # born-digital pages are cut into about this many chunks per core ...
DIGITAL_CHUNK_MIN = 4  # ... of at least this many pages ...
DIGITAL_CHUNK_MAX = 64  # ... and at most this many

Mapper = Callable[..., Iterable]




def visual_lines(pieces: list[TextLine]) -> list[TextLine]:
    """Merge PDF "lines" that sit on one visual line (some PDFs store every word as its own line)."""
    if len(pieces) == 1 and pieces[0].text == _collapsed(pieces[0].text):  # a block of one line, as it would be
        return list(pieces)
    rows: list[list[TextLine]] = []
    extents: list[list[float]] = []  # per row: top, bottom (kept up to date, not recomputed per piece)
    for piece in sorted(pieces, key=lambda ln: ((ln.bbox[1] + ln.bbox[3]) / 2, ln.bbox[0])):
        px0, py0, px1, py1 = piece.bbox
        height = max(1.0, py1 - py0)
        phrase = None  # is_phrase(piece), read once it is needed
        for ref, ext in zip(rows, extents):
            top, bottom = ext
            inter = min(bottom, py1) - max(top, py0)
            if inter <= SAME_LINE_OVERLAP * min(bottom - top, height):
                continue
            # same line only when vertically aligned AND horizontally close: a gutter separates columns. A PDF
            # that stores each word as a line spreads justified words far apart; pieces of several words are
            # lines MuPDF cut at a gap wider than a word space, so a smaller gap between two of them is a gutter
            # (two captions side by side under two figures)
            nearest = min(ref, key=lambda p: abs(px0 - p.bbox[2]))
            if phrase is None:
                phrase = is_phrase(piece)
            limit = MAX_PHRASE_GAP if phrase and is_phrase(nearest) else MAX_WORD_GAP
            near = abs(px0 - nearest.bbox[2]) <= limit * height or any(
                px0 < p.bbox[2] and px1 > p.bbox[0] for p in ref
            )
            if near:
                ref.append(piece)
                ext[0], ext[1] = min(top, py0), max(bottom, py1)
                break
        else:
            rows.append([piece])
            extents.append([py0, py1])
    # rows of side-by-side columns within one block: read column by column, left to right
    columns: list[list[list[TextLine]]] = []
    spans_x: list[list[float]] = []  # per column: left, right (kept up to date as rows join it)
    for row in rows:
        x0, x1 = min(p.bbox[0] for p in row), max(p.bbox[2] for p in row)
        for col, span in zip(columns, spans_x):
            if x0 < span[1] and x1 > span[0]:
                col.append(row)
                span[0], span[1] = min(span[0], x0), max(span[1], x1)
                break
        else:
            columns.append([row])
            spans_x.append([x0, x1])
    order = sorted(range(len(columns)), key=lambda k: spans_x[k][0])
    out = []
    for row in (r for k in order for r in columns[k]):
        if len(row) == 1 and row[0].text == _collapsed(row[0].text):  # a line of its own, already as it would be
            out.append(row[0])
            continue
        if len(row) > 1:
            row.sort(key=lambda ln: ln.bbox[0])
        text, spans = row[0].text, list(row[0].spans)
        for prev, cur in zip(row, row[1:]):
            height = max(1.0, cur.bbox[3] - cur.bbox[1])
            if cur.bbox[0] - prev.bbox[2] > SPACE_GAP * height and not text.endswith(" "):
                text += " "
            text += cur.text if not text.endswith(" ") else cur.text.lstrip()
            spans += cur.spans
        if len(row) == 1:
            box = row[0].bbox
        else:
            box = (min(p.bbox[0] for p in row), min(p.bbox[1] for p in row), max(p.bbox[2] for p in row),
                   max(p.bbox[3] for p in row))
        out.append(TextLine(bbox=box, text=_collapsed(text), spans=spans))
    return out


def _collapsed(text: str) -> str:
    """Runs of white space as one space, none at the ends, but a leading one kept (a later merge may need to
    know a space came first)."""
    return (" " if text[:1].isspace() else "") + " ".join(text.split())


def text_blocks(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> list[TextBlock]:
    """The page's text layer as blocks of visual lines of spans (font, size, bold)."""
    blocks = []
    for b in page.get_text("dict", flags=pymupdf.TEXTFLAGS_TEXT, textpage=textpage)["blocks"]:
        if b.get("type", 0) != 0:
            continue
        pieces = []
        for ln in b["lines"]:
            raw = "".join([s["text"] for s in ln["spans"]])  # with spaces, even zero-size ones
            text = raw.strip()
            lx0, ly0, lx1, ly1 = ln["bbox"]
            if not text or lx1 <= lx0:
                continue
            spans = [
                TextSpan(text=s["text"], font=s["font"], size=round(s["size"], 2), bold=bool(s["flags"] & 16))
                for s in ln["spans"]
                if s["size"] > 0 and s["text"].strip()
            ]
            lead = " " if raw[:1].isspace() else ""  # a word that starts with a space follows a space
            pieces.append(TextLine(bbox=(round(lx0, 2), round(ly0, 2), round(lx1, 2), round(ly1, 2)),
                                   text=lead + text, spans=spans))
        lines = visual_lines(pieces)
        if not lines:
            continue
        block = TextBlock(bbox=tuple(round(v, 2) for v in b["bbox"]), lines=lines, source="pdf")
        if blocks and _continues_line(blocks[-1], block):
            prev = blocks.pop()
            merged = visual_lines(prev.lines + block.lines)
            box = tuple(min(a, c) if k < 2 else max(a, c) for k, (a, c) in enumerate(zip(prev.bbox, block.bbox)))
            block = TextBlock(bbox=box, lines=merged, source="pdf")
        blocks.append(block)
    return blocks


def _continues_line(prev: TextBlock, block: TextBlock) -> bool:
    """True when ``block`` starts on the visual line where ``prev`` ends, just right of it (a PDF that
    split one line across two blocks)."""
    last, first = prev.lines[-1], block.lines[0]
    height = max(1.0, last.bbox[3] - last.bbox[1])
    inter = min(last.bbox[3], first.bbox[3]) - max(last.bbox[1], first.bbox[1])
    return inter > SAME_LINE_OVERLAP * height and 0 <= first.bbox[0] - last.bbox[2] <= MAX_WORD_GAP * height


def has_label_line(blocks: list[TextBlock], labels: re.Pattern[str]) -> bool:
    """True when some line starts with a caption label: a superset of the page's captions (the detector later
    also refuses references and tables), so a page without one has no caption at all."""
    return any(match_label(line.text, labels) for b in blocks for line in b.lines)


def _display_textpage(page: pymupdf.Page, display_list: pymupdf.DisplayList, flags: int) -> pymupdf.TextPage:
    textpage = pymupdf.TextPage(display_list.get_textpage(flags=flags))
    textpage.parent = page
    return textpage


def digital_page(
    page: pymupdf.Page,
    settings: ExtractSettings,
    labels: re.Pattern[str] | None = None,
    placements: list[ImagePlacement] | None = None,
) -> Page:
    """A born-digital page: text blocks and figure candidates. ``labels``: the caption label pattern; on a page
    where no line starts with one, drawings alone are rendered as previews (see ``uncaptioned_vector_dpi``).
    None: captions may come later (from OCR), render everything in full. ``placements``: the page's image
    placements from ingest (None: look them up)."""
    # the page's content is interpreted once, into a display list: the text analysis (blocks and labels) and
    # every figure render replay it (each would otherwise parse the page again: half the time on figure pages)
    display_list = page.get_displaylist()
    if page.rotation == 0:
        textpage = None
        if placements is None and not page.get_images():
            # no image xrefs: the text analysis also looks for inline images (otherwise a second analysis of the
            # page, in placements_with_xrefs); where it finds none, its text is the same as without that flag
            # (only an image's block cuts a text block), and the page draws no image at all
            textpage = _display_textpage(page, display_list, pymupdf.TEXTFLAGS_TEXT | pymupdf.TEXT_PRESERVE_IMAGES)
            if textpage.extractIMGINFO():  # inline images: the text is read without their blocks
                textpage = None
            else:
                placements = []
        if textpage is None:
            textpage = _display_textpage(page, display_list, pymupdf.TEXTFLAGS_TEXT)
    else:  # text is read in unrotated coordinates (as get_textpage does), a display list is rotated
        textpage = page.get_textpage(flags=pymupdf.TEXTFLAGS_TEXT)
    blocks = text_blocks(page, textpage)
    preview = labels is not None and not has_label_line(blocks, labels)
    drawings = page.get_cdrawings()  # read once: figure candidates and placeholders both look at them
    images, errors = graphic_regions(page, settings, textpage, preview_drawings=preview, placements=placements,
                                     display_list=display_list, drawings=drawings)
    if labels is not None and not preview:  # a page with a caption: a framed box may stand in for its figure
        images += placeholder_regions(page, drawings, images, settings, display_list)
    frame = page_frame(page)  # text, image and drawing boxes are unrotated: so is the page's size
    return Page(
        number=page.number + 1,
        width=round(frame.width, 2),
        height=round(frame.height, 2),
        scanned=False,
        text_blocks=blocks,
        images=images,
        errors=errors,
    )


def _turned(box, matrix: pymupdf.Matrix) -> tuple[float, float, float, float]:
    return tuple(round(v, 2) for v in pymupdf.Rect(box) * matrix)


def turned_blocks(blocks: list[TextBlock], matrix: pymupdf.Matrix) -> list[TextBlock]:
    """Text blocks with every box mapped by ``matrix`` (the page's rotation)."""
    return [
        b.model_copy(update={"bbox": _turned(b.bbox, matrix),
                             "lines": [ln.model_copy(update={"bbox": _turned(ln.bbox, matrix)}) for ln in b.lines]})
        for b in blocks
    ]


def page_mode(info: PageInfo) -> str:
    """How a page is read: "digital" (text layer, embedded images), "scanned" (a full-page image, or no usable
    text layer and no images to decode: find regions on the rendered page), or "image_only" (no usable text
    layer, but embedded images to decode exactly; its text comes from OCR)."""
    if info.full_page_image:
        return "scanned"
    if info.has_text_layer:
        return "digital"
    return "image_only" if info.n_images else "scanned"


# a scanned page goes to a worker as a one-page PDF (its content and resources copied, never decoded: a few
# milliseconds here), so the worker renders it: rendering a 600 dpi scan costs as much as a fifth of its OCR,
# and done here, one page after another, it would hold the workers up on a short book
ScanJob = tuple[bytes, str, PageInfo]


def failed_page(number: int, width: float, height: float, scanned: bool, exc: Exception) -> Page:
    """A page that could not be extracted: no content, one error; the rest of the book goes on."""
    return Page(number=number, width=width, height=height, scanned=scanned,
                errors=[f"page {number}: extraction failed ({exc})"])


def page_pdf(doc: pymupdf.Document, number: int) -> bytes:
    """Page ``number`` (1-based) of ``doc`` as a PDF of its own: the same content, resources and /Rotate."""
    single = pymupdf.open()
    try:
        single.insert_pdf(doc, from_page=number - 1, to_page=number - 1)
        return single.tobytes()
    finally:
        single.close()


def quiet_page_pdf(doc: pymupdf.Document, number: int) -> bytes:
    """``page_pdf``, with MuPDF's messages held back: copying a damaged page says what its worker will say again
    when it reads the copy (and keeps with the page)."""
    with capture():
        return page_pdf(doc, number)


def scan_dpi(info: PageInfo, settings: ExtractSettings) -> int:
    """The dpi a scanned page is read at: its scan's own resolution (the finest image covering most of the page,
    pixels over inches, whichever way it is turned), kept between ``render_dpi`` and ``scan_max_dpi``; a page
    without such an image (a drawn or text-only page with no usable text layer) at ``render_dpi``."""
    native = max((max(p.width, p.height) / (max(p.bbox[2] - p.bbox[0], p.bbox[3] - p.bbox[1]) / 72.0)
                  for p in page_covering(info.placements, info.width * info.height, settings)), default=0.0)
    return int(min(max(settings.render_dpi, round(native)), max(settings.render_dpi, settings.scan_max_dpi)))


def scanned_page(page: pymupdf.Page, info: PageInfo, settings: ExtractSettings,
                 label_words: tuple[str, ...] | None = None) -> Page:
    """Render a page without a usable text layer (or a full-page scan) at its scan's resolution (``scan_dpi``)
    and find its words and figures."""
    arr = pixmap_to_numpy(page.get_pixmap(dpi=scan_dpi(info, settings), alpha=False))
    blocks = text_blocks(page) if info.has_text_layer else None  # a searchable scan keeps its text
    if blocks and page.rotation:  # its boxes are unrotated; the OCR page is turned as the reader sees it
        blocks = turned_blocks(blocks, page.rotation_matrix)
    regions = None
    if page_mode(info) == "image_only":
        regions = digital_page(page, settings).images
        if page.rotation:  # the OCR works on the page as the reader sees it (turned): so must the boxes
            regions = [r.model_copy(update={"bbox": _turned(r.bbox, page.rotation_matrix)}) for r in regions]
    return process_scanned_page(arr, info.number, round(page.rect.width, 2), round(page.rect.height, 2), settings,
                                text_blocks=blocks, regions=regions, label_words=label_words)


def _scan_job(job: ScanJob, settings: ExtractSettings, captions: CaptionSettings | None = None) -> Page:
    """One scanned page, in a worker. A failure is that page's error; the book goes on."""
    data, name, info = job
    with capture() as messages:
        try:
            doc = open_pdf(data, f"{name} page {info.number}")
            try:
                page = scanned_page(doc[0], info, settings, tuple((captions or CaptionSettings()).labels))
            finally:
                doc.close()
        except Exception as exc:
            page = failed_page(info.number, info.width, info.height, True, exc)
    return page.model_copy(update={"mupdf_messages": messages})


DigitalJob = tuple[bytes, str, list[tuple[int, float, float, list[ImagePlacement] | None]]]


def _digital_job(job: DigitalJob, settings: ExtractSettings, captions: CaptionSettings | None = None) -> list[Page]:
    """Born-digital pages of one chunk, in a worker: the PDF is opened once per chunk."""
    data, name, pages = job
    labels = label_regex((captions or CaptionSettings()).labels)
    with capture():  # opening it again repeats what ingest heard and kept
        doc = open_pdf(data, name)
    try:
        out = []
        for number, width, height, placements in pages:
            with capture() as messages:
                try:
                    page = digital_page(doc[number - 1], settings, labels, placements)
                except Exception as exc:
                    page = failed_page(number, width, height, False, exc)
            out.append(page.model_copy(update={"mupdf_messages": messages}) if messages else page)
        return out
    finally:
        doc.close()


PageJob = tuple[str, DigitalJob | ScanJob]  # ("digital", a chunk of born-digital pages) or ("scan", one page)


def _page_job(job: PageJob, settings: ExtractSettings, captions: CaptionSettings | None = None) -> list[Page]:
    """One job of ``extract_book``'s mapper, in a worker: a chunk of born-digital pages or one scanned page."""
    kind, payload = job
    with gc_paused():  # a chunk's pages are many small objects, none in a cycle
        return _digital_job(payload, settings, captions) if kind == "digital" else [_scan_job(payload, settings, captions)]


def digital_chunks(numbers: list[int], cores: int) -> list[list[int]]:
    """Born-digital pages cut into runs for the workers: a few per core so that the cores stay busy to the end,
    each between DIGITAL_CHUNK_MIN and DIGITAL_CHUNK_MAX pages (every chunk carries the PDF's bytes)."""
    if not numbers:
        return []
    size = max(DIGITAL_CHUNK_MIN, min(DIGITAL_CHUNK_MAX, -(-len(numbers) // (CHUNKS_PER_CORE * max(1, cores)))))
    return [numbers[i : i + size] for i in range(0, len(numbers), size)]


def extract_book(
    data: bytes,
    book: Book,
    settings: ExtractSettings | None = None,
    mapper: Mapper = map,
    on_page: Callable[[int], None] | None = None,
    captions: CaptionSettings | None = None,
) -> ExtractedBook:
    """Extract every page of a book. Born-digital pages go to ``mapper`` in chunks; pages without a usable text
    layer go to ``mapper`` one by one, as one-page PDFs, to be rendered and OCRed there. ``on_page(number)`` is
    called as each page is done (progress reporting). ``captions``: the caption settings (their labels tell
    pages with captions).
    ``mapper`` gets one generator of jobs (``_page_job``): the scanned pages first, then the born-digital chunks.
    Both kinds in one run keep every worker busy to the end: a book's few scans, OCRed after its born-digital
    pages, would leave the other workers idle (on a textbook with one scanned page, a tenth of its time)."""
    settings = settings or ExtractSettings()
    on_page = on_page or (lambda _n: None)
    with capture():  # opening it again repeats what ingest heard and kept
        doc = open_pdf(data, book.source_pdf)
    try:
        pages: dict[int, Page] = {}
        info = {p.number: p for p in book.pages}
        digital = [p.number for p in book.pages if page_mode(p) == "digital"]
        scanned = [p for p in book.pages if page_mode(p) != "digital"]
        digital_jobs = [
            # ingest's placements, where it listed them (it does not look for inline images on pages without xrefs)
            ("digital", (data, book.source_pdf,
                         [(n, info[n].width, info[n].height, info[n].placements if info[n].n_images else None)
                          for n in chunk]))
            for chunk in digital_chunks(digital, os.cpu_count() or 1)
        ]
        # a generator: a pool's map hands each scanned page to a worker as soon as it is cut out of the book; the
        # scans go first, the longest jobs, so that the born-digital chunks fill the workers up to the end
        scan_jobs = (("scan", (quiet_page_pdf(doc, p.number), book.source_pdf, p)) for p in scanned)
        job = partial(_page_job, settings=settings, captions=captions)
        with gc_paused():  # the book's pages come back as many small objects, none in a cycle
            for chunk in mapper(job, chain(scan_jobs, digital_jobs)):
                for page in chunk:
                    pages[page.number] = page
                    on_page(page.number)
            ordered = mark_decorations([pages[n] for n in sorted(pages)], settings)
        return ExtractedBook(book=book, pages=ordered)
    finally:
        doc.close()
