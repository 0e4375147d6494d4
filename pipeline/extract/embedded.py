"""Embedded raster images of a born-digital page, decoded through a Pixmap to RGB."""

from __future__ import annotations

import pymupdf

from pipeline.extract.images import make_region, pixmap_to_numpy
from schemas import ImageRegion
from schemas.settings import ExtractSettings


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


def _render(page: pymupdf.Page, bbox: pymupdf.Rect, dpi: int) -> pymupdf.Pixmap:
    return page.get_pixmap(clip=bbox, dpi=dpi, alpha=False)


TILE_GAP_PT = 1.5  # images closer than this (points) that line up are tiles of one picture


def _tiles_touch(a, b) -> bool:
    """Two boxes that abut (gap <= TILE_GAP_PT) along a shared, lined-up edge."""
    ax0, ay0, ax1, ay1 = a
    bx0, by0, bx1, by1 = b
    side_by_side = abs(ay0 - by0) <= TILE_GAP_PT and abs(ay1 - by1) <= TILE_GAP_PT and (
        abs(ax1 - bx0) <= TILE_GAP_PT or abs(bx1 - ax0) <= TILE_GAP_PT
    )
    stacked = abs(ax0 - bx0) <= TILE_GAP_PT and abs(ax1 - bx1) <= TILE_GAP_PT and (
        abs(ay1 - by0) <= TILE_GAP_PT or abs(by1 - ay0) <= TILE_GAP_PT
    )
    return side_by_side or stacked


def stitch_tiles(page: pymupdf.Page, regions: list[ImageRegion], settings: ExtractSettings) -> list[ImageRegion]:
    """Join images that tile one picture (strips or a grid) into one region, rendered from the page at the
    tiles' own resolution. Separate panels keep their gutters and are never joined."""
    groups = [[r] for r in regions]
    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                if any(_tiles_touch(a.bbox, b.bbox) for a in groups[i] for b in groups[j]):
                    groups[i] += groups.pop(j)
                    merged = True
                    break
            if merged:
                break
    out = []
    for group in groups:
        if len(group) == 1:
            out.append(group[0])
            continue
        box = pymupdf.Rect(group[0].bbox)
        for r in group[1:]:
            box |= pymupdf.Rect(r.bbox)
        ppi = max(r.width / max(1e-6, (r.bbox[2] - r.bbox[0])) for r in group) * 72
        dpi = int(min(max(72, ppi), 600))
        arr = pixmap_to_numpy(page.get_pixmap(clip=box, dpi=dpi, alpha=False))
        out.append(make_region(arr, box, "embedded", settings.max_image_px))
    return out


def embedded_images(page: pymupdf.Page, settings: ExtractSettings) -> tuple[list[ImageRegion], list[str]]:
    """Every placement of an embedded image on the page, as RGB PNG, with its box in PDF points.

    Images that cannot be decoded are rendered from the page instead; errors are returned, not raised.
    """
    doc = page.parent
    regions: list[ImageRegion] = []
    errors: list[str] = []
    smasks = {img[0]: img[1] for img in page.get_images(full=True)}
    page_rect = page.rect
    for info in page.get_image_info(xrefs=True):
        bbox = pymupdf.Rect(info["bbox"]) & page_rect
        if bbox.is_empty or bbox.width <= 0 or bbox.height <= 0:
            continue
        xref = info.get("xref") or 0
        try:
            if xref <= 0:
                raise ValueError("inline image")
            arr = pixmap_to_numpy(_decode(doc, xref, smasks.get(xref, 0)))
            # follow the placement's orientation: a flipped/rotated transform shows pixels turned
            a, b, c, d = info["transform"][:4]
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
        except Exception as exc:
            try:
                arr = pixmap_to_numpy(_render(page, bbox, settings.vector_render_dpi))
            except Exception as exc2:  # pragma: no cover - a page MuPDF cannot render at all
                errors.append(f"page {page.number + 1}: image xref {xref} unreadable ({exc}; {exc2})")
                continue
        regions.append(make_region(arr, bbox, "embedded", settings.max_image_px, xref or None))
    return stitch_tiles(page, regions, settings), errors
