"""Figures drawn as vectors: the drawings that can make a figure, clustered; ``graphic_groups`` decides
what each cluster joins and renders it."""

from __future__ import annotations

import pymupdf

from pipeline.extract.layout_regions import CAPTION_START
from schemas.settings import ExtractSettings

JOIN_PT = 12.0  # drawings closer than this (points) belong to one cluster
LABEL_GAP_PT = 6.0  # a short text block this close beside a drawing labels it
LABEL_MAX_WORDS = 6  # ... when none of its lines is longer than this
CONNECT_PT = 1.5  # a straight line (axis, gridline, tick) this close to two clusters' drawings joins them


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


def drawing_rects(drawings: list[dict], avoid: list, lines: list | None = None) -> list[pymupdf.Rect]:
    """Boxes of the drawings that can make a figure: not table rules or underlines, not inside ``avoid``
    (boxes already taken by image groups or frames: their frames and overlays start no figure of their own).
    ``lines``, when given, receives the boxes of the straight axis lines left out (not inside ``avoid``): they
    start no figure, but they can join the drawings they touch (``vector_clusters``)."""
    rects = []
    avoid = [tuple(a) for a in avoid]
    for d in drawings:
        x0, y0, x1, y1 = d["rect"]
        if x0 == x1 and y0 == y1:  # a point
            continue
        if any(a[0] <= x0 <= x1 <= a[2] and a[1] <= y0 <= y1 <= a[3] for a in avoid):  # Rect.contains, on tuples
            continue
        if is_straight_axis_line(d):
            if lines is not None:
                lines.append(pymupdf.Rect(x0, y0, x1, y1))
            continue
        rects.append(pymupdf.Rect(x0, y0, x1, y1))
    return rects


def _near(a: pymupdf.Rect, b: pymupdf.Rect, gap: float) -> bool:
    return a.x0 - gap <= b.x1 and b.x0 - gap <= a.x1 and a.y0 - gap <= b.y1 and b.y0 - gap <= a.y1


def _line_box(lines: list[pymupdf.Rect]) -> pymupdf.Rect:
    """The box of straight lines, by coordinates (a line's box is empty, and Rect | empty is a no-op)."""
    return pymupdf.Rect(min(ln.x0 for ln in lines), min(ln.y0 for ln in lines),
                        max(ln.x1 for ln in lines), max(ln.y1 for ln in lines))


def join_by_lines(rects: list[pymupdf.Rect], lines: list[pymupdf.Rect]) -> list[tuple[pymupdf.Rect, int]]:
    """Clusters of ``rects`` (``cluster_rects``) joined by the straight lines that touch drawings of both: the
    bars of a chart stand on one axis and reach its gridlines however far apart they are. Lines that touch
    drawings of no cluster (rules of running text, table borders) join nothing and count for nothing; lines
    that touch a cluster widen its box and count as its drawings (axes, gridlines and ticks are drawn parts of a
    chart). Lines that meet each other go together: the gridlines over the shortest bar meet the axis."""
    from pipeline.extract.graphic_groups import connected_groups

    clusters = cluster_rects(rects, JOIN_PT)
    if not lines or not clusters:
        return clusters
    home = [next(k for k, (box, _n) in enumerate(clusters) if box.contains(r)) for r in rects]
    touching = []  # (lines that meet, the clusters one of whose drawings they touch): a chart's gridlines meet
    # its axis, and the axis meets the bars, however short the bars
    for idx in connected_groups(lines, lambda a, b: _near(a, b, CONNECT_PT)):
        if t := {home[i] for i, r in enumerate(rects) if any(_near(lines[k], r, CONNECT_PT) for k in idx)}:
            touching.append((_line_box([lines[k] for k in idx]), len(idx), t))
    joins = [t for _ln, _n, t in touching if len(t) > 1]
    linked = lambda a, b: any(a in t and b in t for t in joins)  # noqa: E731
    out = []
    for idx in connected_groups(list(range(len(clusters))), linked):
        box, n = pymupdf.Rect(clusters[idx[0]][0]), 0
        for k in idx:
            box |= clusters[k][0]
            n += clusters[k][1]
        for ln, m, t in touching:  # the axes, gridlines and ticks are drawn parts of it
            if t & set(idx):
                box = _line_box([box, ln])
                # counted where they join drawings or meet each other (axes, gridlines, ticks); a lone rule
                # touching a box (an arrow's shaft, an underline) is no part of a chart
                n += m if len(t) > 1 or m > 1 else 0
        out.append((box, n))
    return out


def vector_clusters(
    rects: list[pymupdf.Rect], page_rect: pymupdf.Rect, settings: ExtractSettings, lines: list | None = None,
) -> tuple[list[pymupdf.Rect], list[pymupdf.Rect]]:
    """Clusters of at least ``vector_min_drawings`` drawings, as (figures, small): those that cover at least
    ``vector_min_area_frac`` of the page can be figures; the smaller ones (logos, icons, symbols) can only be
    decorations. Clusters of fewer drawings (bullets, arrows, a stroke) are neither. ``lines``: the straight
    lines left out of ``rects``, which join the clusters they touch (``join_by_lines``)."""
    page_area = page_rect.width * page_rect.height
    figures, small = [], []
    for box, n in join_by_lines(rects, lines or []):
        if n >= settings.vector_min_drawings:
            (figures if box.width * box.height >= settings.vector_min_area_frac * page_area else small).append(box)
    return figures, small


def with_text_labels(box: pymupdf.Rect, text_boxes: list) -> pymupdf.Rect:
    """``box`` grown by the text that labels a drawing: blocks inside it or more than half inside, short
    blocks just beside it (labels at the ends of leader lines, a chart's tick values) and short blocks just
    above or below it within its width (an axis title, the categories under the bars). A block that starts
    with a caption label is never a label: captions sit above and below figures too."""
    box = pymupdf.Rect(box)
    for t in text_boxes:
        tb = pymupdf.Rect(t[:4])
        if box.contains(pymupdf.Rect(tb.x0 + 1, tb.y0 + 1, tb.x1 - 1, tb.y1 - 1)) or (
            tb.intersects(box) and (tb & box).get_area() > 0.5 * tb.get_area()
        ):
            box |= tb
    def short(t) -> bool:
        text = t[4] if len(t) > 4 else ""
        return bool(text) and all(len(line.split()) <= LABEL_MAX_WORDS for line in text.splitlines())

    # labels beside are judged against the drawing, not against each other: a column of labels at the ends of
    # leader lines is taken in whole, whichever label comes first; a tick value centred on the top or bottom
    # gridline reaches a little past it
    drawn = pymupdf.Rect(box)
    for t in text_boxes:
        tb = pymupdf.Rect(t[:4])
        beside = tb.y0 >= drawn.y0 - LABEL_GAP_PT and tb.y1 <= drawn.y1 + LABEL_GAP_PT and (
            0 <= tb.x0 - drawn.x1 <= LABEL_GAP_PT or 0 <= drawn.x0 - tb.x1 <= LABEL_GAP_PT
        )
        if beside and short(t):
            box |= tb
    # then labels over and under the drawing and its side labels (an axis title over the tick values, the
    # categories under the bars); a block may reach into the box (an axis title set on the top tick's line)
    drawn = pymupdf.Rect(box)
    for t in text_boxes:
        tb = pymupdf.Rect(t[:4])
        over_under = tb.x0 >= drawn.x0 - LABEL_GAP_PT and tb.x1 <= drawn.x1 + LABEL_GAP_PT and (
            drawn.y1 < tb.y1 and tb.y0 - drawn.y1 <= LABEL_GAP_PT or tb.y0 < drawn.y0 and drawn.y0 - tb.y1 <= LABEL_GAP_PT
        )
        if over_under and short(t) and not CAPTION_START.match(t[4].strip()):
            box |= tb
    return box
