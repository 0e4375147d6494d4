"""Embedded raster images of a born-digital page: where each is placed, and its pixels decoded through a
Pixmap to RGB (never the raw stream bytes)."""

from __future__ import annotations

from dataclasses import dataclass

import pymupdf

from pipeline.extract.images import make_region, pixmap_to_numpy
from schemas import ImageRegion
from schemas.settings import ExtractSettings

MAX_RENDER_DPI = 600  # a rendered group never asks for more than this, whatever its sources' resolution


@dataclass(frozen=True)
class Placement:
    """One drawing of an embedded image on the page (an image drawn twice is two placements)."""

    bbox: tuple[float, float, float, float]  # PDF points, clipped to the page
    xref: int  # 0 for inline images
    transform: tuple[float, ...]
    width: int  # source pixels
    height: int

    @property
    def ppi(self) -> float:
        """Source pixels per inch as placed (the resolution a render must reach to lose nothing)."""
        return self.width / max(1e-6, self.bbox[2] - self.bbox[0]) * 72


def image_placements(page: pymupdf.Page) -> list[Placement]:
    """Every placement of an embedded image, cheap: nothing is decoded."""
    out = []
    page_rect = page.rect
    for info in page.get_image_info(xrefs=True):
        bbox = pymupdf.Rect(info["bbox"]) & page_rect
        if bbox.is_empty or bbox.width <= 0 or bbox.height <= 0:
            continue
        out.append(
            Placement(
                bbox=tuple(bbox),
                xref=info.get("xref") or 0,
                transform=tuple(info["transform"]),
                width=int(info.get("width") or 0),
                height=int(info.get("height") or 0),
            )
        )
    return out


def _decode(doc: pymupdf.Document, xref: int, smask: int) -> pymupdf.Pixmap:
    pix = pymupdf.Pixmap(doc, xref)
    if smask:
        try:
            mask = pymupdf.Pixmap(doc, smask)
            if pix.alpha:
                pix = pymupdf.Pixmap(pix, 0)
            if pix.colorspace is None or pix.colorspace.n != 3:
                pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
            pix = pymupdf.Pixmap(pix, mask)
        except Exception:
            pass  # a broken mask: keep the colour pixels
    return pix


def render_dpi(box, ppi: float, settings: ExtractSettings) -> int:
    """dpi for rendering ``box``: the sources' own resolution, but never more than the stored image keeps
    (``max_image_px`` on the longer side) nor MAX_RENDER_DPI."""
    longest = max(1e-6, box[2] - box[0], box[3] - box[1])
    cap = settings.max_image_px * 72 / longest
    return int(max(36, min(ppi, cap, MAX_RENDER_DPI)))


def render_region(page: pymupdf.Page, box, dpi: int, kind: str, settings: ExtractSettings) -> ImageRegion:
    """What the reader sees in ``box`` (all layers composited), rendered at ``dpi``."""
    rect = pymupdf.Rect(box) & page.rect
    arr = pixmap_to_numpy(page.get_pixmap(clip=rect, dpi=dpi, alpha=False))
    return make_region(arr, rect, kind, settings.max_image_px)


def decode_placement(page: pymupdf.Page, placement: Placement, settings: ExtractSettings, smasks: dict[int, int]) -> ImageRegion:
    """The exact pixels of one placement, turned as placed. An image that cannot be decoded is rendered from
    the page instead; only when MuPDF cannot render it either does this raise."""
    try:
        if placement.xref <= 0:
            raise ValueError("inline image")
        arr = pixmap_to_numpy(_decode(page.parent, placement.xref, smasks.get(placement.xref, 0)))
        # follow the placement's orientation: a flipped/rotated transform shows pixels turned
        a, b, c, d = placement.transform[:4]
        if abs(b) > abs(a):  # rotated by 90 degrees
            arr = arr.transpose(1, 0, 2)
            if b > 0:
                arr = arr[:, ::-1]
            if c > 0:
                arr = arr[::-1]
        else:
            if a < 0:
                arr = arr[:, ::-1]
            if d < 0:
                arr = arr[::-1]
    except Exception:
        return render_region(page, placement.bbox, settings.vector_render_dpi, "embedded", settings)
    return make_region(arr, placement.bbox, "embedded", settings.max_image_px, placement.xref or None)


def image_smasks(page: pymupdf.Page) -> dict[int, int]:
    return {img[0]: img[1] for img in page.get_images(full=True)}
