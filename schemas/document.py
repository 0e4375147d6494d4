"""What the extraction stages see of a PDF: books, pages and the things on a page.

Coordinates are PDF points with the origin at the page's top-left corner (as PyMuPDF reports them).
Bounding boxes are ``[x0, y0, x1, y1]``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BBox = tuple[float, float, float, float]


class _Model(BaseModel):
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64", extra="forbid")


class ImagePlacement(_Model):
    """Where an embedded image is drawn on a page, as ingest's text analysis reports it (nothing decoded)."""

    bbox: BBox
    transform: tuple[float, float, float, float, float, float]
    width: int = Field(description="source pixels")
    height: int
    colorspace: str = Field("", description='MuPDF\'s name: "DeviceRGB", "ICCBased(RGB,<profile>)", ...')


class PageInfo(_Model):
    """One page as ingest sees it: size and whether it carries a usable text layer."""

    number: int = Field(description="1-based page number")
    width: float
    height: float
    has_text_layer: bool = Field(description="a usable text layer (enough characters, not OCR noise)")
    n_images: int = 0
    full_page_image: bool = Field(False, description="one image covers most of the page (a scan)")
    placements: list[ImagePlacement] = Field(
        default_factory=list, description="every drawing of an image on the page (extraction reuses them)"
    )


class Book(_Model):
    """An input PDF after ingest."""

    book_id: str = Field(description="sha256 of the PDF bytes (hex)")
    source_pdf: str = Field(description="the input file's basename")
    n_pages: int
    pages: list[PageInfo] = []
    title: str | None = None
    repaired: bool = Field(False, description="MuPDF rebuilt the document's damaged structure (xref) to open it")
    mupdf_messages: list[str] = Field(default_factory=list, description="MuPDF's warnings and errors at ingest")


class TextSpan(_Model):
    text: str
    font: str = ""
    size: float = 0.0
    bold: bool = False


class TextLine(_Model):
    bbox: BBox
    text: str
    spans: list[TextSpan] = []


class TextBlock(_Model):
    """A block of text on a page, from the PDF's text layer or from OCR."""

    bbox: BBox
    lines: list[TextLine]
    source: Literal["pdf", "ocr"] = "pdf"

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class ImageRegion(_Model):
    """A candidate figure image on a page: an embedded raster, a rendered vector drawing, or a region of a scan.

    ``png`` holds the pixels (RGB PNG), so stages after extraction never go back to the PDF.
    """

    bbox: BBox
    kind: Literal["embedded", "vector", "scan_region", "placeholder"] = Field(
        description="embedded raster(s), rendered drawings, a region of a scanned page, or a framed box holding "
        "only text where a figure should be (pipeline/extract/placeholders.py)"
    )
    png: bytes = Field(
        repr=False,
        description="the pixels, encoded: RGB PNG, or the source's own JPEG when that shows exactly what the "
        "page shows (DCT, DeviceRGB/Gray, no mask, upright)",
    )
    width: int = Field(description="pixel width of png")
    height: int = Field(description="pixel height of png")
    xref: int | None = Field(default=None, description="PDF object number of an embedded image")
    digest: str = Field(description="sha256 of the decoded source pixels (finds repeated images)")
    reject_reasons: list[str] = Field(default_factory=list, description="set by decoration filtering")


class OcrWord(_Model):
    bbox: BBox
    text: str
    conf: float
    block: int = 0
    par: int = 0
    line: int = 0


class Page(_Model):
    """A page after extraction."""

    number: int
    width: float
    height: float
    scanned: bool = Field(description="True when the page's words came from OCR")
    text_blocks: list[TextBlock] = []
    images: list[ImageRegion] = []
    ocr_words: list[OcrWord] = []
    errors: list[str] = []
    mupdf_messages: list[str] = Field(default_factory=list, description="MuPDF's warnings and errors on this page")


class ExtractedBook(_Model):
    """Output of the extract stage for one book."""

    book: Book
    pages: list[Page]
