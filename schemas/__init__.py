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
from schemas.manifest import BookEntry, DatasetManifest, VQAUsage
from schemas.overrides import Override, OverrideChange
from schemas.records import (
    Caption,
    Demographics,
    Figure,
    Item,
    Panel,
    Record,
    StageReport,
    VQAPair,
    VQAReject,
)
from schemas.settings import Settings

__all__ = [
    "BBox", "Book", "BookEntry", "Caption", "DatasetManifest", "Demographics", "ExtractedBook", "Figure",
    "ImageRegion", "Item", "OcrWord", "Override", "OverrideChange", "Page", "PageInfo", "Panel", "Record",
    "Settings", "StageReport",
    "TextBlock", "TextLine", "TextSpan", "VQAPair", "VQAReject", "VQAUsage",
]
