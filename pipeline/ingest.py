"""Ingest: hash a PDF, count its pages and tell which pages carry a usable text layer."""

from __future__ import annotations

import hashlib

import pymupdf

from pipeline.errors import InputError
from pipeline.mupdf_log import capture
from schemas import Book, PageInfo
from schemas.document import ImagePlacement
from schemas.settings import ExtractSettings

VERSION = "6"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_pdf(data: bytes, name: str = "input") -> pymupdf.Document:
    """Open PDF bytes, raising InputError with a one-line reason for anything we cannot read."""
    if not data:
        raise InputError(f"{name}: empty file")
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise InputError(f"{name}: not a PDF (no %PDF header)")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises several types for damaged files
        raise InputError(f"{name}: corrupt PDF ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})") from None
    if doc.needs_pass or doc.is_encrypted:
        doc.close()
        raise InputError(f"{name}: encrypted PDF (needs a password)")
    if doc.page_count == 0:
        doc.close()
        raise InputError(f"{name}: PDF has no pages")
    return doc


TEXT_SAMPLE_CHARS = 4000  # the text-layer test reads this much of a page's text: enough to tell words from noise


def wordlike_share(text: str) -> float:
    """Share of tokens that look like words (2+ characters, mostly letters). OCR noise scores low."""
    tokens = text.split()
    if not tokens:
        return 0.0
    # (a token of letters only is one, without counting them: most are)
    good = sum(1 for t in tokens if len(t) >= 2 and (t.isalpha() or sum(map(str.isalpha, t)) >= 0.7 * len(t)))
    return good / len(tokens)


def page_has_text_layer(page: pymupdf.Page, settings: ExtractSettings, textpage: pymupdf.TextPage | None = None) -> bool:
    """Enough characters, and words rather than OCR noise."""
    text = page.get_text("text", flags=0, textpage=textpage)[:TEXT_SAMPLE_CHARS]
    if sum(map(str.isalnum, text)) < settings.min_text_chars:
        return False
    return wordlike_share(text) >= settings.min_wordlike_share


def page_frame(page: pymupdf.Page) -> pymupdf.Rect:
    """The page in the frame of its text, image and drawing boxes: unrotated. On a page with /Rotate, ``page.rect``
    is the turned page the reader sees, while PyMuPDF reports boxes as if it were not turned."""
    return page.rect * page.derotation_matrix if page.rotation else page.rect


def clip_to_page(bbox, frame: pymupdf.Rect) -> pymupdf.Rect | None:
    """An image's box clipped to the page's ``frame`` (``page_frame``), or None when none of it is on the page."""
    r = pymupdf.Rect(bbox) & frame
    return None if r.is_empty or r.width <= 0 or r.height <= 0 else r


def image_placements(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> list[ImagePlacement]:
    """Every drawing of an image on the page (bbox clipped to the page; off-page ones left out)."""
    infos = textpage.extractIMGINFO() if textpage is not None else page.get_image_info()
    out = []
    frame = page_frame(page)  # image boxes, like text, are in the unrotated page's frame
    for info in infos:
        r = clip_to_page(info["bbox"], frame)
        if r is None:
            continue
        out.append(ImagePlacement(
            bbox=tuple(r), transform=tuple(info["transform"]), width=int(info.get("width") or 0),
            height=int(info.get("height") or 0), colorspace=info.get("cs-name") or "",
        ))
    return out


def page_has_full_page_image(page: pymupdf.Page, settings: ExtractSettings, placements: list[ImagePlacement]) -> bool:
    """One image covers most of the page. Placements are in the unrotated frame, and so is the page compared
    (a scan turned by /Rotate 90 covers its page as much as an upright one)."""
    frame = page_frame(page)
    return bool(page_covering(placements, frame.width * frame.height, settings))


def page_covering(placements: list[ImagePlacement], area: float, settings: ExtractSettings) -> list[ImagePlacement]:
    """The placements that cover at least ``full_page_image_frac`` of a page of ``area`` (square points): the
    scan of a scanned page."""
    return [p for p in placements
            if (p.bbox[2] - p.bbox[0]) * (p.bbox[3] - p.bbox[1]) >= settings.full_page_image_frac * area]


def ingest(data: bytes, source_pdf: str, settings: ExtractSettings | None = None) -> Book:
    """Describe a PDF: content hash, page count, and per page its size and whether it has a text layer; what
    MuPDF said on the way (a damaged file's repairs and errors) is kept in the Book, not printed."""
    with capture() as messages:
        book = _ingest(data, source_pdf, settings or ExtractSettings())
    return book.model_copy(update={"mupdf_messages": messages})


def _ingest(data: bytes, source_pdf: str, settings: ExtractSettings) -> Book:
    doc = open_pdf(data, source_pdf)
    try:
        pages = []
        for page in doc:
            try:
                n_images = len(page.get_images(full=True))
                # one text analysis (keeping image placements) serves both tests
                textpage = page.get_textpage(flags=pymupdf.TEXT_PRESERVE_IMAGES if n_images else 0)
                has_text = page_has_text_layer(page, settings, textpage)
                placements = image_placements(page, textpage) if n_images else []
                full_image = page_has_full_page_image(page, settings, placements)
            except Exception as exc:
                raise InputError(f"{source_pdf}: page {page.number + 1} unreadable ({exc})") from None
            pages.append(
                PageInfo(
                    number=page.number + 1,
                    width=round(page.rect.width, 2),
                    height=round(page.rect.height, 2),
                    has_text_layer=has_text,
                    n_images=n_images,
                    full_page_image=full_image,
                    placements=placements,
                )
            )
        title = (doc.metadata or {}).get("title") or None
        return Book(
            book_id=sha256_bytes(data), source_pdf=source_pdf, n_pages=doc.page_count, pages=pages, title=title,
            repaired=bool(doc.is_repaired),
        )
    finally:
        doc.close()
