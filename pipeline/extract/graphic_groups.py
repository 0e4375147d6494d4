"""Graphic groups: which embedded images and drawings of a born-digital page make one figure.

A textbook figure is often not one image: a picture cut into tiles, a photo with label boxes and callout lines
drawn over it, an image stacked on a copy of itself (or its mask), a dozen cut-out pieces inside a drawn frame.
The reader sees one figure, and so do we:

1. Frames: a drawn rectangle (square or rounded corners) around at least one image is one figure, with all it
   holds; a frame never joins anything outside it. An image whose box reaches out of its frame (a cut-out piece
   with a clipped or transparent margin, reaching across the gap into the next frame) belongs to the frame
   that holds most of it. A framed box of running text (a sidebar) is not a figure.
2. Images that overlap, or abut as tiles, are one group.
3. The remaining drawings are clustered (``vector.py``); a cluster that touches an image group joins it
   (callouts, label boxes); the others are vector figures. A cluster that runs across neighbouring figures,
   each with its own caption side by side below (or above) it, is cut in the gutter between them, and each
   part joins only the pictures on its side (``split_at_captions``).
4. A cluster too small to be a figure (a vector logo or icon) that touches no group is kept apart, already
   rejected as ``decoration_small_drawing``: not a candidate for any caption, but in the output with its reason.

A group of one image is decoded exactly; every larger group is rendered from the page (all layers composited)
at its sources' own resolution, capped by ``max_image_px``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pymupdf

from pipeline.extract.decorations import SMALL_DRAWING
from pipeline.extract.embedded import (
    Placement,
    decode_placement,
    image_smasks,
    placements_with_xrefs,
    render_dpi,
    render_region,
)
from pipeline.extract.layout_regions import CAPTION_START
from pipeline.extract.vector import drawing_rects, is_straight_axis_line, vector_clusters, with_text_labels
from pipeline.ingest import page_frame
from schemas import ImageRegion
from schemas.document import ImagePlacement
from schemas.settings import ExtractSettings

FRAME_TOL_PT = 2.0  # a frame's path points lie this close to its bounding box's border ...
FRAME_TOL_FRAC = 0.08  # ... or within this share of its shorter side (rounded corners)
FRAME_MIN_PERIMETER = 0.8  # a frame's straight edges cover at least this share of its bounding box's perimeter
TILE_GAP_PT = 1.5  # images closer than this (points) that line up are tiles of one picture
PAPER_LEVEL = 0.97  # a fill whose every channel is at least this (0-1) looks like paper
FRAME_MAX_PAGE = 0.8  # a frame around more than this share of the page is a page border
FRAME_HOLDS = 0.8  # a frame holds an image when this share of it lies inside (a frame holds at least one) ...
FRAME_MEMBER_SHARE = 0.5  # ... and an image belongs to the frame holding the largest share of it, at least this
OVERLAP_MIN_PT2 = 1.0  # boxes overlapping by more than this area (square points) overlap
CAPTION_GAP_PT = 24.0  # a caption line at most this far below (or above) a figure is one of its captions ...
CAPTION_TOUCH_PT = 2.0  # ... (it may overlap the figure's box by this much)
CAPTION_COLUMN_PT = 20.0  # captions that start further apart than this are in different columns


@dataclass
class Group:
    box: pymupdf.Rect
    members: list[Placement] = field(default_factory=list)
    drawings: bool = False  # holds drawings: rendered, with text labels taken in
    frame: bool = False
    small: bool = False  # drawings too small to be a figure: a decoration from the start


def _points(item: tuple) -> list[tuple[float, float]]:
    """The points of one path item of ``page.get_cdrawings()`` (plain tuples; Points and Rects also work)."""
    op = item[0]
    if op == "re":
        x0, y0, x1, y1 = item[1]
        x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)  # get_cdrawings may not normalise
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    if op == "qu":
        return [(p[0], p[1]) for p in item[1]]
    return [(p[0], p[1]) for p in item[1:] if not isinstance(p, (int, float))]  # "l", "c": points only


def _visible(drawing: dict) -> bool:
    """A stroked outline, or a box filled with a colour other than the paper's (a white box is invisible)."""
    if drawing.get("color") is not None and (drawing.get("width") or 0) > 0:
        return True
    fill = drawing.get("fill")
    return fill is not None and min(fill) < PAPER_LEVEL


def is_frame(drawing: dict, min_area: float) -> bool:
    """True for a large rectangle outline or box (square or rounded corners): every point of its path lies on
    its bounding box's border, and its straight edges run around most of it (so an L of chart axes is not one)."""
    box = pymupdf.Rect(drawing["rect"])
    if box.width * box.height < min_area or not _visible(drawing):
        return False
    tol = max(FRAME_TOL_PT, FRAME_TOL_FRAC * min(box.width, box.height))
    edge = 0.0
    for item in drawing.get("items", []):
        pts = _points(item)
        for x, y in pts:
            if min(abs(x - box.x0), abs(x - box.x1), abs(y - box.y0), abs(y - box.y1)) > tol:
                return False
        if item[0] in ("re", "qu"):
            edge += 2 * (box.width + box.height)
        elif item[0] == "l":
            edge += math.dist(pts[0], pts[1])
    return edge >= FRAME_MIN_PERIMETER * 2 * (box.width + box.height)


def _centre_in(inner, outer) -> bool:
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= cx < outer[2] and outer[1] <= cy < outer[3]


def _area(box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _common_area(a, b) -> float:
    """Area of the intersection of two (x0, y0, x1, y1) boxes (plain arithmetic: this runs for every pair)."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _mostly_in(inner, outer) -> bool:
    return _common_area(inner, outer) >= FRAME_HOLDS * _area(inner)


def _words_inside(box: pymupdf.Rect, blocks: list) -> int:
    return sum(len(b[4].split()) for b in blocks if len(b) > 4 and b[6] == 0 and _centre_in(b[:4], box))


def frame_boxes(
    drawings: list[dict], placements: list[Placement], blocks: list, page_rect: pymupdf.Rect, settings: ExtractSettings
) -> list[pymupdf.Rect]:
    """Outermost frames that hold at least one image and not a body of running text."""
    min_area = settings.vector_min_area_frac * page_rect.width * page_rect.height
    frames = []
    for d in drawings:
        if not is_frame(d, min_area):
            continue
        box = pymupdf.Rect(d["rect"]) & page_rect
        if box.get_area() > FRAME_MAX_PAGE * page_rect.get_area():
            continue
        if not any(_mostly_in(p.bbox, box) for p in placements):
            continue
        if _words_inside(box, blocks) >= settings.background_min_words:
            continue  # a sidebar: a box of text, perhaps with an icon
        frames.append(box)
    return [f for f in frames if not any(g is not f and g.contains(f) and g != f for g in frames)]


def _home_frame(box, frames: list[pymupdf.Rect]) -> int | None:
    """The frame an image belongs to: the one holding the largest part of it, when that is at least
    FRAME_MEMBER_SHARE of it. An image's box may reach out of its frame (a cut-out piece with a transparent or
    clipped margin, drawn across the gap into the next frame): the frame that holds most of it is its figure."""
    best, best_share = None, FRAME_MEMBER_SHARE
    area = _area(box)
    for k, f in enumerate(frames):
        share = _common_area(box, f) / area if area > 0 else float(_centre_in(box, f))
        if share >= best_share and (best is None or share > best_share):
            best, best_share = k, share
    return best


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


def _overlap(a, b) -> bool:
    return _common_area(a, b) > OVERLAP_MIN_PT2


def connected_groups(boxes: list, linked) -> list[list[int]]:
    """Indices of ``boxes`` grouped by the transitive closure of ``linked(a, b)``."""
    parent = list(range(len(boxes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            if find(i) != find(j) and linked(boxes[i], boxes[j]):
                parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _union(boxes) -> pymupdf.Rect:
    out = pymupdf.Rect(boxes[0])
    for b in boxes[1:]:
        out |= pymupdf.Rect(b)
    return out


def caption_lines(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> list[tuple]:
    """Boxes of the page's text lines that start with a caption label ("Figure 7-26.", "Fig. 3A", "Table 2")."""
    lines: dict[tuple[int, int], list] = {}
    for w in page.get_text("words", flags=pymupdf.TEXTFLAGS_TEXT, textpage=textpage):
        lines.setdefault((w[5], w[6]), []).append(w)
    out = []
    for words in lines.values():
        words.sort(key=lambda w: w[7])
        if CAPTION_START.match(" ".join(w[4] for w in words[:3])):
            out.append(tuple(_union([w[:4] for w in words])))
    return out


def split_at_captions(
    cluster: pymupdf.Rect, touching: list[Group], rects: list[pymupdf.Rect], captions: list[tuple]
) -> list[tuple[pymupdf.Rect | None, int, list[Group]]]:
    """A drawing cluster cut where it runs across neighbouring figures: (drawings' box or None, how many
    drawings, the image groups they join) per figure.

    Drawings closer than ``JOIN_PT`` cluster however many figures they belong to (arrows drawn on two photos
    side by side, two diagrams with a narrow gutter). When captions side by side sit just below (or above)
    the cluster and the pictures it touches, each starting in its own column, the cluster is that many
    figures: it is cut in the widest gutter (x where no drawing and no picture lies) between each caption's
    start and the next one's, and each part joins only the pictures on its side. Without such a gutter the
    cluster stays whole."""
    whole = [(cluster, sum(1 for r in rects if cluster.contains(r)), touching)]
    if len(captions) < 2:
        return whole
    span = _union([cluster] + [g.box for g in touching])
    starts = []
    for c in captions:
        below = -CAPTION_TOUCH_PT <= c[1] - span.y1 <= CAPTION_GAP_PT
        above = -CAPTION_TOUCH_PT <= span.y0 - c[3] <= CAPTION_GAP_PT
        if (below or above) and span.x0 - CAPTION_TOUCH_PT <= c[0] < span.x1:
            starts.append(c[0])
    starts.sort()
    columns = [x for k, x in enumerate(starts) if k == 0 or x - starts[k - 1] > CAPTION_COLUMN_PT]
    if len(columns) < 2:
        return whole
    members = [r for r in rects if cluster.contains(r)]
    spans = sorted([(r.x0, r.x1) for r in members] + [(g.box.x0, g.box.x1) for g in touching])
    cuts = []
    for a, b in zip(columns, columns[1:]):
        gutter = _widest_gap(spans, a, b)
        if gutter is None:
            return whole
        cuts.append(gutter)
    out = []
    edges = [-math.inf] + cuts + [math.inf]
    for lo, hi in zip(edges, edges[1:]):
        mine = [r for r in members if lo <= (r.x0 + r.x1) / 2 < hi]
        joined = [g for g in touching if lo <= (g.box.x0 + g.box.x1) / 2 < hi]
        out.append((_union(mine) if mine else None, len(mine), joined))
    return out


def _widest_gap(spans: list[tuple[float, float]], a: float, b: float) -> float | None:
    """The middle of the widest stretch of x in (a, b) that none of ``spans`` (sorted x ranges) covers."""
    best, best_w = None, 0.0
    reach = -math.inf
    for x0, x1 in spans + [(math.inf, math.inf)]:
        lo, hi = max(reach, a), min(x0, b)
        if hi - lo > best_w:
            best, best_w = (lo + hi) / 2, hi - lo
        reach = max(reach, x1)
    return best


def plan_groups(
    placements: list[Placement],
    drawings: list[dict],
    blocks: list,
    page_rect: pymupdf.Rect,
    settings: ExtractSettings,
    captions: list[tuple] | Callable[[], list[tuple]] = (),
) -> list[Group]:
    """The page's figure groups (no pixels yet): frames, image groups, drawing clusters. ``captions``: the boxes
    of the page's lines that start with a caption label (``caption_lines``), or a function that reads them
    (called only when the page has a drawn figure)."""
    frames = frame_boxes(drawings, placements, blocks, page_rect, settings)
    groups = []
    px0, py0, px1, py1 = page_rect
    clipped = [  # each drawing's box clipped to the page, as a tuple (compared with each frame below)
        (max(x0, px0), max(y0, py0), min(x1, px1), min(y1, py1)) for x0, y0, x1, y1 in (d["rect"] for d in drawings)
    ] if frames else []
    home = [_home_frame(p.bbox, frames) for p in placements]
    for k, f in enumerate(frames):
        members = [p for p, h in zip(placements, home) if h == k]
        frame = tuple(f)
        inner = sum(  # drawings inside other than the frame itself and its border rules
            1
            for d, box in zip(drawings, clipped)
            if _centre_in(d["rect"], f) and box != frame and not is_straight_axis_line(d)
        )
        if len(members) == 1 and inner == 0 and _mostly_in(members[0].bbox, f):  # a plain border around one
            # picture: the picture, exactly
            groups.append(Group(box=pymupdf.Rect(members[0].bbox), members=members))
        else:
            groups.append(Group(box=f, members=members, drawings=True, frame=True))
    rest = [p for p, h in zip(placements, home) if h is None]
    linked = lambda a, b: _overlap(a, b) or _tiles_touch(a, b)  # noqa: E731
    for idx in connected_groups([p.bbox for p in rest], linked):
        members = [rest[i] for i in idx]
        groups.append(Group(box=_union([m.bbox for m in members]), members=members))
    # drawings inside a frame (by their centre: clipped drawings may reach past it) belong to it
    free = [d for d in drawings if not any(_centre_in(d["rect"], f) for f in frames)]
    lines: list = []
    rects = drawing_rects(free, [g.box for g in groups], lines)
    figures, small = vector_clusters(rects, page_rect, settings, lines)
    min_area = settings.vector_min_area_frac * page_rect.width * page_rect.height
    for cluster in figures:
        touching = [g for g in groups if not g.frame and _overlap(g.box, cluster)]
        if callable(captions):  # read only on a page with a drawn figure
            captions = captions()
        # the straight lines inside count as its drawings too (axes, gridlines, ticks: vector.join_by_lines)
        for part, n, joined in split_at_captions(cluster, touching, rects + lines, captions):
            if part is None:  # pictures with no drawing of this cluster on their side: they stay as they are
                continue
            if not joined and (n < settings.vector_min_drawings or part.width * part.height < min_area):
                if n >= settings.vector_min_drawings:
                    small.append(part)
                continue  # too few drawings for a figure, and no picture to join: as any cluster of so few
            if joined and _words_inside(part, blocks) < settings.background_min_words:
                for g in joined:
                    groups.remove(g)
                groups.append(
                    Group(box=_union([part] + [g.box for g in joined]), members=[m for g in joined for m in g.members], drawings=True)
                )
            elif n >= settings.vector_min_drawings:  # a drawing of its own (or ornaments of running text: it
                groups.append(Group(box=part, drawings=True))  # stays apart, to be judged a decoration)
    taken = [g.box for g in groups]
    for cluster in small:  # one that touches a figure is part of what the reader sees of it
        if not any(_overlap(cluster, box) for box in taken):
            groups.append(Group(box=cluster, drawings=True, small=True))
    return groups


def graphic_regions(
    page: pymupdf.Page,
    settings: ExtractSettings,
    textpage: pymupdf.TextPage | None = None,
    preview_drawings: bool = False,
    placements: list[ImagePlacement] | None = None,
    display_list: pymupdf.DisplayList | None = None,
    drawings: list[dict] | None = None,
) -> tuple[list[ImageRegion], list[str]]:
    """Every figure candidate of a born-digital page as an ImageRegion; errors are returned, not raised.
    ``textpage``: the page's text analysis when the caller has one already. ``preview_drawings``: the page has
    no caption, so drawings alone (no image among them) can only be rejects: render them at
    ``uncaptioned_vector_dpi``. ``placements``: the page's image placements as ingest found them, if any. ``display_list``: the page's
    display list when the caller has one (renders replay it instead of parsing the page again). ``drawings``: the
    page's ``get_cdrawings()`` when the caller has them."""
    placements = placements_with_xrefs(page, placements)
    if drawings is None:  # plain tuples: a fifth of get_drawings' time, which wraps every point
        drawings = page.get_cdrawings()
    blocks = [b for b in page.get_text("blocks", flags=pymupdf.TEXTFLAGS_TEXT, textpage=textpage) if b[6] == 0]
    frame = page_frame(page)  # boxes are unrotated, also on a page with /Rotate
    groups = plan_groups(placements, drawings, blocks, frame, settings, lambda: caption_lines(page, textpage))
    smasks = image_smasks(page) if placements else {}
    regions, errors = [], []
    for g in sorted(groups, key=lambda g: (g.box.y0, g.box.x0)):
        try:
            if len(g.members) == 1 and not g.drawings:
                regions.append(decode_placement(page, g.members[0], settings, smasks))
                continue
            box = with_text_labels(g.box, blocks) if g.drawings and not (g.frame or g.small) else g.box
            ppi = max([m.ppi for m in g.members] + ([settings.vector_render_dpi] if g.drawings else []))
            kind = "embedded" if g.members else "vector"  # images, whatever is drawn with them
            dpi = render_dpi(box, ppi, settings)
            if g.small or (kind == "vector" and preview_drawings):  # a reject whatever the page holds
                dpi = min(dpi, settings.uncaptioned_vector_dpi)
            region = render_region(page, box & frame, dpi, kind, settings, display_list)
            regions.append(region.model_copy(update={"reject_reasons": [SMALL_DRAWING]}) if g.small else region)
        except Exception as exc:  # pragma: no cover - a page MuPDF cannot render at all
            errors.append(f"page {page.number + 1}: figure at {tuple(round(v) for v in g.box)} unreadable ({exc})")
    return regions, errors
