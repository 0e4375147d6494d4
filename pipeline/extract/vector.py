"""Figures drawn as vectors: the drawings that can make a figure, clustered; ``graphic_groups`` decides
what each cluster joins and renders it."""

from __future__ import annotations

import pymupdf

from schemas.settings import ExtractSettings

JOIN_PT = 12.0  # drawings closer than this (points) belong to one cluster
LABEL_GAP_PT = 6.0  # a short text block this close beside a drawing labels it
LABEL_MAX_WORDS = 6  # ... when none of its lines is longer than this


def is_straight_axis_line(d: dict) -> bool:
    """True for drawings made only of horizontal/vertical lines or thin rectangles (table rules, underlines).
    ``d``: one drawing of ``page.get_cdrawings()`` (points and rects as tuples)."""
    for item in d.get("items", []):
        op = item[0]
        if op == "l":
            p, q = item[1], item[2]
            if abs(p[0] - q[0]) > 0.5 and abs(p[1] - q[1]) > 0.5:
                return False
        elif op == "re":
            r = item[1]
            if min(abs(r[2] - r[0]), abs(r[3] - r[1])) > 2.0:
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


def drawing_rects(drawings: list[dict], avoid: list) -> list[pymupdf.Rect]:
    """Boxes of the drawings that can make a figure: not table rules or underlines, not inside ``avoid``
    (boxes already taken by image groups or frames: their frames and overlays start no figure of their own)."""
    rects = []
    avoid = [tuple(a) for a in avoid]
    for d in drawings:
        x0, y0, x1, y1 = d["rect"]
        if x0 == x1 and y0 == y1:  # a point
            continue
        if is_straight_axis_line(d):
            continue
        if any(a[0] <= x0 <= x1 <= a[2] and a[1] <= y0 <= y1 <= a[3] for a in avoid):  # Rect.contains, on tuples
            continue
        rects.append(pymupdf.Rect(x0, y0, x1, y1))
    return rects


def vector_clusters(
    rects: list[pymupdf.Rect], page_rect: pymupdf.Rect, settings: ExtractSettings
) -> tuple[list[pymupdf.Rect], list[pymupdf.Rect]]:
    """Clusters of at least ``vector_min_drawings`` drawings, as (figures, small): those that cover at least
    ``vector_min_area_frac`` of the page can be figures; the smaller ones (logos, icons, symbols) can only be
    decorations. Clusters of fewer drawings (bullets, arrows, a stroke) are neither."""
    page_area = page_rect.width * page_rect.height
    figures, small = [], []
    for box, n in cluster_rects(rects, JOIN_PT):
        if n >= settings.vector_min_drawings:
            (figures if box.width * box.height >= settings.vector_min_area_frac * page_area else small).append(box)
    return figures, small


def with_text_labels(box: pymupdf.Rect, text_boxes: list) -> pymupdf.Rect:
    """``box`` grown by the text that labels a drawing: blocks inside it or more than half inside, and short
    blocks just beside it (labels at the ends of leader lines). Text above or below is left alone: that is
    where captions and running text sit."""
    box = pymupdf.Rect(box)
    for t in text_boxes:
        tb = pymupdf.Rect(t[:4])
        if box.contains(pymupdf.Rect(tb.x0 + 1, tb.y0 + 1, tb.x1 - 1, tb.y1 - 1)) or (
            tb.intersects(box) and (tb & box).get_area() > 0.5 * tb.get_area()
        ):
            box |= tb
    drawn = pymupdf.Rect(box)  # labels beside are judged against the drawing, not against each other: a
    # column of labels at the ends of leader lines is taken in whole, whichever label comes first
    for t in text_boxes:
        tb = pymupdf.Rect(t[:4])
        text = t[4] if len(t) > 4 else ""
        beside = tb.y0 >= drawn.y0 - 1 and tb.y1 <= drawn.y1 + 1 and (
            0 <= tb.x0 - drawn.x1 <= LABEL_GAP_PT or 0 <= drawn.x0 - tb.x1 <= LABEL_GAP_PT
        )
        short = bool(text) and all(len(line.split()) <= LABEL_MAX_WORDS for line in text.splitlines())
        if beside and short:
            box |= tb
    return box
