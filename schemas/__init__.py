"""Pydantic models passed between the pipeline stages. Imports nothing else of ours."""

from schemas.document import (
    BBox,
    Book,
    ExtractedBook,
    ImageRegion,
    OcrWord,
    Page,
    PageInfo,
    TextBlock,
    TextLine,
    TextSpan,
)
from schemas.manifest import BookEntry, DatasetManifest
from schemas.records import (
    Caption,
    Demographics,
    Figure,
    Item,
    Panel,
    Record,
    StageReport,
    VQAPair,
)
from schemas.settings import Settings

__all__ = [
    "BBox", "Book", "BookEntry", "Caption", "DatasetManifest", "Demographics", "ExtractedBook", "Figure",
    "ImageRegion", "Item", "OcrWord", "Page", "PageInfo", "Panel", "Record", "Settings", "StageReport",
    "TextBlock", "TextLine", "TextSpan", "VQAPair",
]
