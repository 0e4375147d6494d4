"""Framed boxes where a figure should be, holding only text or nothing: the stand-in for an image the book does
not show. Web and reprint editions replace photographs they have no rights to with such a box ("Fig 1-1 is not
shown because the copyright permission ...", "OK to put on the Web"); drafts leave an empty frame.

A box is a stroked rectangle (no fill, or a white one) of figure size on a page with a caption, with no image or
drawing inside it but a few strokes, and no other box around it. It becomes a region of kind ``placeholder``,
rendered as a preview: a caption finds it as it finds any figure, and the figures stage rejects its record as
``placeholder_text`` with the caption attached (or ``text_box`` when no caption claims it: a framed note).
"""

from __future__ import annotations

import pymupdf

from pipeline.extract.embedded import render_region
from pipeline.ingest import page_frame
from schemas import ImageRegion
from schemas.settings import ExtractSettings

KIND = "placeholder"
FRAME_TOL_PT = 1.0  # a rectangle within this of the box on every side is the box's own frame


def _stroked_plain(drawing: dict, white: float) -> bool:
    """A stroked path with no fill, or a white fill (a tinted box is a sidebar's, not a placeholder's)."""
    if "s" not in (drawing.get("type") or ""):
        return False
    fill = drawing.get("fill")
    return fill is None or min(fill) >= white


def framed_rects(drawings: list[dict], frame: pymupdf.Rect, settings: ExtractSettings) -> list[pymupdf.Rect]:
    """The rectangles of stroked, unfilled paths that are large enough to stand for a figure (each ``re`` item on
    its own: one path may draw several boxes)."""
    page_area = frame.width * frame.height
    rects = []
    for d in drawings:
        if not _stroked_plain(d, settings.placeholder_white_fill):
            continue
        for item in d["items"]:
            if item[0] != "re":
                continue
            r = pymupdf.Rect(item[1]) & frame
            if (min(r.width, r.height) >= settings.placeholder_min_side_pt
                    and r.width * r.height >= settings.vector_min_area_frac * page_area):
                rects.append(r)
    return rects


def _inside(inner, outer: pymupdf.Rect, slack: float = 1.0) -> bool:
    return (inner[0] >= outer.x0 - slack and inner[1] >= outer.y0 - slack and inner[2] <= outer.x1 + slack
            and inner[3] <= outer.y1 + slack)


def _overlap_share(box, rect: pymupdf.Rect) -> float:
    ix = max(0.0, min(box[2], rect.x1) - max(box[0], rect.x0))
    iy = max(0.0, min(box[3], rect.y1) - max(box[1], rect.y0))
    return ix * iy / max(1e-6, rect.width * rect.height)


def _same_rect(a: pymupdf.Rect, b: pymupdf.Rect) -> bool:
    return all(abs(u - v) <= FRAME_TOL_PT for u, v in zip(a, b))


def holds_only_text(rect: pymupdf.Rect, drawings: list[dict], regions: list[ImageRegion], settings: ExtractSettings) -> bool:
    """No image or figure region on the box, and at most ``placeholder_max_strokes`` other drawing items inside
    it (a drawn figure in a frame has many)."""
    if any(_overlap_share(r.bbox, rect) > settings.placeholder_max_overlap for r in regions):
        return False
    strokes = 0
    for d in drawings:
        if not _inside(d["rect"], rect):
            continue
        for item in d["items"]:
            if item[0] == "re" and _same_rect(pymupdf.Rect(item[1]), rect):
                continue
            strokes += 1
    return strokes <= settings.placeholder_max_strokes


def placeholder_regions(
    page: pymupdf.Page,
    drawings: list[dict],
    regions: list[ImageRegion],
    settings: ExtractSettings,
    display_list: pymupdf.DisplayList | None = None,
) -> list[ImageRegion]:
    """The page's figure placeholders as regions of kind ``placeholder`` (a preview at ``uncaptioned_vector_dpi``).
    ``drawings``: the page's ``get_cdrawings()``; ``regions``: its figure candidates found so far."""
    frame = page_frame(page)
    boxes = [r for r in framed_rects(drawings, frame, settings) if holds_only_text(r, drawings, regions, settings)]
    # a frame around placeholders (an exhibit's border, a double rule) holds little but them: keep the inner ones
    boxes = [r for r in boxes if not any(o != r and r.contains(o) for o in boxes)]
    return [render_region(page, r, settings.uncaptioned_vector_dpi, KIND, settings, display_list) for r in boxes]
