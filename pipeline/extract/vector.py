"""Figures drawn as vectors: cluster the page's drawings and render each large cluster to pixels."""

from __future__ import annotations

import pymupdf

from pipeline.extract.images import make_region, pixmap_to_numpy
from schemas import ImageRegion
from schemas.settings import ExtractSettings

JOIN_PT = 12.0  # drawings closer than this (points) belong to one cluster


def _is_straight_axis_line(d: dict) -> bool:
    """True for drawings made only of horizontal/vertical lines or thin rectangles (table rules, underlines)."""
    for item in d.get("items", []):
        op = item[0]
        if op == "l":
            p, q = item[1], item[2]
            if abs(p.x - q.x) > 0.5 and abs(p.y - q.y) > 0.5:
                return False
        elif op == "re":
            r = item[1]
            if min(r.width, r.height) > 2.0:
                return False
        else:  # curves, quads: real drawing
            return False
    return True


def cluster_rects(rects: list[pymupdf.Rect], join: float) -> list[tuple[pymupdf.Rect, int]]:
    """Greedy single-linkage clustering of rectangles that lie within ``join`` points of each other."""
    clusters: list[tuple[pymupdf.Rect, int]] = []
    for r in sorted(rects, key=lambda r: (r.y0, r.x0)):
        grown = pymupdf.Rect(r.x0 - join, r.y0 - join, r.x1 + join, r.y1 + join)
        hit = [i for i, (c, _n) in enumerate(clusters) if grown.intersects(c)]
        box, n = pymupdf.Rect(r), 1
        for i in reversed(hit):
            c, m = clusters.pop(i)
            box |= c
            n += m
        clusters.append((box, n))
    # merging may make clusters touch; repeat until stable
    changed = True
    while changed:
        changed = False
        for i in range(len(clusters)):
            for j in range(i + 1, len(clusters)):
                a, b = clusters[i][0], clusters[j][0]
                if pymupdf.Rect(a.x0 - join, a.y0 - join, a.x1 + join, a.y1 + join).intersects(b):
                    clusters[i] = (a | b, clusters[i][1] + clusters[j][1])
                    clusters.pop(j)
                    changed = True
                    break
            if changed:
                break
    return clusters


def vector_figures(page: pymupdf.Page, settings: ExtractSettings, avoid: list[tuple]) -> list[ImageRegion]:
    """Render clusters of vector drawings that are large and not just table rules.

    ``avoid``: boxes of embedded images; drawings inside them (frames, overlays) do not start a figure.
    """
    rects = []
    for d in page.get_drawings():
        r = pymupdf.Rect(d["rect"])
        if r.is_empty and r.width == 0 and r.height == 0:
            continue
        if _is_straight_axis_line(d):
            continue
        if any(pymupdf.Rect(a).contains(r) for a in avoid):
            continue
        rects.append(r)
    page_area = page.rect.width * page.rect.height
    regions = []
    for box, n in cluster_rects(rects, JOIN_PT):
        if n < settings.vector_min_drawings or box.width * box.height < settings.vector_min_area_frac * page_area:
            continue
        # take in text labels that sit on the drawing
        for b in page.get_text("blocks"):
            tb = pymupdf.Rect(b[:4])
            if box.contains(pymupdf.Rect(tb.x0 + 1, tb.y0 + 1, tb.x1 - 1, tb.y1 - 1)) or (
                tb.intersects(box) and (tb & box).get_area() > 0.5 * tb.get_area()
            ):
                box |= tb
        box &= page.rect
        arr = pixmap_to_numpy(page.get_pixmap(clip=box, dpi=settings.vector_render_dpi, alpha=False))
        regions.append(make_region(arr, box, "vector", settings.max_image_px))
    return regions
