"""Tight crops (issue 17): a figure's box is its own extent, never a neighbour's.

Scanned pages: two photos side by side with a small paper gap, a light low-contrast clinical photo beside a
dark dermoscopy photo, each with its own caption, scanned at 150 and 300 dpi, clean and with scan noise. Each
region must match its photo (IoU >= 0.9) and no two regions may overlap.

Born-digital pages: neighbouring figures with their own captions; a figure's box never takes in the
neighbour's images, drawings or caption.
"""

from __future__ import annotations

import cv2
import numpy as np
import pymupdf
import pytest

from pipeline.extract import extract_book
from pipeline.extract.images import numpy_to_png, pixmap_to_numpy
from pipeline.extract.scanned import find_regions, process_scanned_page
from pipeline.ingest import ingest
from schemas.settings import ExtractSettings

BODY = (
    "Urticaria is a common condition of the skin with transient wheals and flares that come and go within a day. "
    "Its course is often short, and treatment is chosen by the extent and the duration of the disease. "
) * 3


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def overlap_area(a, b) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def assert_tight(found, truth) -> None:
    """Every truth box has a region with IoU >= 0.9, there are no other regions, and none overlap."""
    found = sorted(found, key=lambda b: (b[1], b[0]))
    for t in truth:
        best = max((iou(f, t) for f in found), default=0.0)
        assert best >= 0.9, (t, found)
    assert len(found) == len(truth), found
    for i, a in enumerate(found):
        for b in found[i + 1 :]:
            assert overlap_area(a, b) == 0, (a, b)


# ---------------------------------------------------------------- pictures (numpy, our own pixels)


def smooth_noise(rng: np.random.Generator, h: int, w: int, scale: int) -> np.ndarray:
    """Blotchy noise in 0..1: random values on a coarse grid, resized smoothly."""
    coarse = rng.random((max(2, h // scale), max(2, w // scale))).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def light_clinical(seed: int, w: int = 456, h: int = 342, rim: tuple = (246, 234, 224)) -> np.ndarray:
    """A pale pink-beige skin photo with low contrast against paper: faint erythematous wheals on light skin,
    paling towards its edges (an over-exposed rim) to the colour ``rim``, about as light as paper."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    edge = np.maximum(np.abs(xx / w - 0.5), np.abs(yy / h - 0.5)) * 2  # 0 centre .. 1 edge
    img = np.empty((h, w, 3), np.float32)
    img[:] = (232, 208, 192)
    img += (smooth_noise(rng, h, w, 40)[..., None] - 0.5) * 14
    wheal = smooth_noise(rng, h, w, 60) > 0.62
    img[wheal] += np.array((4, -18, -14), np.float32)
    a = (edge**3)[..., None]
    img = img * (1 - a) + np.array(rim, np.float32) * a
    img += rng.normal(0, 2.0, (h, w, 1)).astype(np.float32)
    return img.clip(0, 255).astype(np.uint8)


def dark_dermoscopy(seed: int, w: int = 454, h: int = 342) -> np.ndarray:
    """A dermoscopy photo: a black vignette around a lit field with a brown pigmented lesion."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2))
    img = np.zeros((h, w, 3), np.float32)
    field = r < 0.95
    img[field] = (205, 160, 135)
    lesion = (r + (smooth_noise(rng, h, w, 30) - 0.5) * 0.3) < 0.5
    img[lesion] = (90, 55, 35)
    img += (smooth_noise(rng, h, w, 12)[..., None] - 0.5) * 40 * field[..., None]
    img += rng.normal(0, 3.0, (h, w, 1)).astype(np.float32)
    return img.clip(0, 255).astype(np.uint8)


def scan(page: pymupdf.Page, dpi: int, noise: bool, seed: int = 0) -> np.ndarray:
    """The page as a scanner gives it: rendered at ``dpi``; with ``noise`` also a slight blur, a paper tint,
    uneven light and grain (as ``synth.books.rasterize_scanned``)."""
    a = pixmap_to_numpy(page.get_pixmap(dpi=dpi, alpha=False)).astype(np.float32)
    if noise:
        rng = np.random.default_rng(seed)
        a = cv2.GaussianBlur(a, (0, 0), 0.55 * dpi / 150)
        a *= np.array((0.985, 0.968, 0.925), np.float32)
        h, w = a.shape[:2]
        gx = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
        gy = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
        a *= (1.0 - 0.02 * (gx * 0.7 - gy * 0.5) - 0.02 * gx * gx)[..., None]
        a += rng.normal(0, 3.0, (h, w, 1)).astype(np.float32)
    return np.clip(a + 0.5, 0, 255).astype(np.uint8)


def side_by_side_page(gap: float, light_first: bool = True, rim: tuple = (246, 234, 224)):
    """A one-column page: body text, a light clinical photo and a dark dermoscopy photo side by side ``gap``
    points apart, each with its own caption below, and body text below. Returns the page and the truth boxes."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(62, 60, 533, 200), BODY, fontsize=10)
    w = (533 - 62 - gap) / 2
    left, right = pymupdf.Rect(62, 230, 62 + w, 401), pymupdf.Rect(62 + w + gap, 230, 533, 401)
    pics = [light_clinical(1, rim=rim), dark_dermoscopy(2)]
    if not light_first:
        pics.reverse()
    for rect, pic in zip((left, right), pics):
        page.insert_image(rect, stream=numpy_to_png(pic))
    page.insert_textbox(pymupdf.Rect(left.x0, 408, left.x1, 440), "FIG. 3.4A Acute urticaria on the back of a girl.",
                        fontsize=8)
    page.insert_textbox(pymupdf.Rect(right.x0, 408, right.x1, 440), "FIG. 3.4B Dermoscopy of a pigmented lesion.",
                        fontsize=8)
    page.insert_textbox(pymupdf.Rect(62, 460, 533, 700), BODY, fontsize=10)
    return doc, page, [tuple(left), tuple(right)]


@pytest.mark.parametrize("dpi", [150, 300])
@pytest.mark.parametrize("noise", [False, True])
@pytest.mark.parametrize("gap", [10.0, 16.0])
def test_side_by_side_light_and_dark_photos_are_two_tight_regions(dpi, noise, gap):
    doc, page, truth = side_by_side_page(gap)
    img = scan(page, dpi, noise)
    scanned = process_scanned_page(img, 1, 595, 842, ExtractSettings())
    assert_tight([r.bbox for r in scanned.images], truth)


@pytest.mark.parametrize("noise", [False, True])
def test_dark_photo_left_of_a_light_one(noise):
    doc, page, truth = side_by_side_page(16.0, light_first=False)
    scanned = process_scanned_page(scan(page, 150, noise, seed=3), 1, 595, 842, ExtractSettings())
    assert_tight([r.bbox for r in scanned.images], truth)


@pytest.mark.parametrize("noise", [False, True])
def test_a_very_light_photo_is_found_to_its_edges(noise):
    # edges about as light as the paper (grey 248 on white paper, 240 on a tinted scan): only the colour tells
    doc, page, truth = side_by_side_page(16.0, rim=(252, 247, 236))
    img = scan(page, 150, noise, seed=5)
    scale = 595 / img.shape[1]
    photos = [tuple(v * scale for v in b) for b in find_regions(img, ExtractSettings())]
    assert_tight(photos, truth)
    scanned = process_scanned_page(img, 1, 595, 842, ExtractSettings())
    assert_tight([r.bbox for r in scanned.images], truth)


# ---------------------------------------------------------------- born-digital neighbours


def digital_figures(doc: pymupdf.Document):
    """(regions, figures) of the first page: the extracted regions' boxes, and each figure's box as the scorer
    sees it (the union of the records that share a figure id), with its caption."""
    from pipeline.figures import build_records

    data = doc.tobytes()
    extracted = extract_book(data, ingest(data, "t.pdf"))
    regions = [r.bbox for r in extracted.pages[0].images if not r.reject_reasons]
    figures: dict[str, list] = {}
    for item in build_records(extracted)[0]:
        rec = item.record
        if not rec.caption:
            continue
        box = figures.setdefault(rec.figure_id or rec.id, [list(rec.bbox), rec.caption])[0]
        b = rec.bbox
        box[:] = [min(box[0], b[0]), min(box[1], b[1]), max(box[2], b[2]), max(box[3], b[3])]
    return regions, sorted((tuple(b), c) for b, c in figures.values())


def rgba_png(arr: np.ndarray) -> bytes:
    from PIL import Image
    import io

    buf = io.BytesIO()
    Image.fromarray(arr, "RGBA").save(buf, format="PNG")
    return buf.getvalue()


def cut_out(seed: int, w: int, h: int, visible: float) -> bytes:
    """A cut-out piece (RGBA): a dark shape on the left ``visible`` share of its box, transparent beyond (how a
    handbook's pieces reach past their frame: their boxes do, their pixels do not)."""
    rng = np.random.default_rng(seed)
    arr = np.zeros((h, w, 4), np.uint8)
    arr[..., :3] = (rng.random((h, w, 3)) * 120 + 40).astype(np.uint8)
    arr[:, : int(visible * w), 3] = 255
    return rgba_png(arr)


def test_pieces_reaching_past_their_frame_belong_to_the_frame_that_holds_most_of_them():
    # like a trade handbook (docling's amt_handbook_sample, Figures 7-26 and 7-27): two frames 12 pt apart, each
    # with cut-out pieces; some pieces' boxes (transparent beyond what shows) reach out of their frame, across
    # the gap and into the neighbour frame; each figure is its frame, and takes in nothing of the other
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_textbox(pymupdf.Rect(72, 40, 540, 200), BODY, fontsize=10)
    left, right = pymupdf.Rect(72, 300, 300, 470), pymupdf.Rect(312, 230, 540, 470)
    for frame in (left, right):
        page.draw_rect(frame, color=(0.2, 0.2, 0.2), radius=0.05, width=0.8)
    # left: three pieces inside, two reaching 30-40 pt past the frame's right side (into the right frame)
    page.insert_image(pymupdf.Rect(82, 310, 172, 380), stream=cut_out(1, 90, 70, 1.0))
    page.insert_image(pymupdf.Rect(200, 312, 335, 380), stream=cut_out(2, 135, 68, 0.7))
    page.insert_image(pymupdf.Rect(90, 390, 180, 455), stream=cut_out(3, 90, 65, 1.0))
    page.insert_image(pymupdf.Rect(210, 390, 340, 455), stream=cut_out(4, 130, 65, 0.7))
    # right: pieces inside, one reaching past the frame's right edge into the margin
    page.insert_image(pymupdf.Rect(322, 240, 450, 330), stream=cut_out(5, 128, 90, 1.0))
    page.insert_image(pymupdf.Rect(400, 350, 575, 460), stream=cut_out(6, 175, 110, 0.75))
    page.insert_image(pymupdf.Rect(330, 360, 390, 420), stream=cut_out(7, 60, 60, 1.0))
    page.insert_text((80, 490), "Figure 7-26. Self-locking nuts.", fontsize=9)
    page.insert_text((320, 490), "Figure 7-27. Stainless steel self-locking nut.", fontsize=9)
    page.insert_textbox(pymupdf.Rect(72, 510, 540, 700), BODY, fontsize=10)
    regions, figures = digital_figures(doc)
    assert_tight(regions, [tuple(left), tuple(right)])
    assert_tight([b for b, _c in figures], [tuple(left), tuple(right)])
    assert [c.split(".")[0] for _b, c in figures] == ["Figure 7-26", "Figure 7-27"]


def draw_arrow(page: pymupdf.Page, tip: tuple, tail: tuple) -> None:
    """An arrow drawn over a photo: a diagonal shaft and a two-stroke head."""
    page.draw_line(tail, tip, color=(1, 1, 0), width=1.5)
    dx, dy = tip[0] - tail[0], tip[1] - tail[1]
    n = max(1e-6, (dx * dx + dy * dy) ** 0.5)
    ux, uy = dx / n, dy / n
    for sx in (1, -1):
        page.draw_line(tip, (tip[0] - 8 * ux + 4 * sx * uy, tip[1] - 8 * uy - 4 * sx * ux), color=(1, 1, 0), width=1.5)


def test_arrows_on_neighbouring_photos_stay_with_their_own_photo():
    # two photos 10 pt apart, each with its own caption, each with arrows drawn on it whose tails reach out into
    # the gap: the arrows are close enough to cluster together, but each photo keeps only its own
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(62, 60, 533, 200), BODY, fontsize=10)
    left, right = pymupdf.Rect(62, 230, 292, 401), pymupdf.Rect(302, 230, 533, 401)
    page.insert_image(left, stream=numpy_to_png(light_clinical(1)))
    page.insert_image(right, stream=numpy_to_png(dark_dermoscopy(2)))
    for k in range(5):  # rows of arrows closer than drawings that cluster: one cluster across both photos
        y = 255 + 24 * k
        draw_arrow(page, (250, y), (296, y + 12))  # on the left photo, tail just past its right edge
        draw_arrow(page, (345, y + 6), (298, y + 18))  # on the right photo, tail just past its left edge
    page.insert_textbox(pymupdf.Rect(62, 408, 292, 440), "Fig. 5.1A Urticaria on the back.", fontsize=8)
    page.insert_textbox(pymupdf.Rect(302, 408, 533, 440), "Fig. 5.1B Dermoscopy of a naevus.", fontsize=8)
    page.insert_textbox(pymupdf.Rect(62, 460, 533, 700), BODY, fontsize=10)
    regions, figures = digital_figures(doc)
    assert_tight([b for b, _c in figures], [tuple(left), tuple(right)])
    assert_tight(regions, [tuple(left), tuple(right)])


def draw_diagram(page: pymupdf.Page, rect: pymupdf.Rect, seed: int) -> None:
    """A vector diagram filling ``rect``: a dozen curves and a few ovals (no image)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = rect
    for _ in range(12):
        p = [(x0 + (x1 - x0) * rng.random(), y0 + (y1 - y0) * rng.random()) for _ in range(4)]
        page.draw_bezier(*p, color=(0.1, 0.2, 0.5), width=1)
    for k in range(3):
        page.draw_oval(pymupdf.Rect(x0 + 20 + 40 * k, y0 + 20, x0 + 50 + 40 * k, y0 + 50), color=(0.5, 0, 0), width=1)
    page.draw_rect(pymupdf.Rect(x0, y0, x0 + 3, y1), color=(0, 0, 0), fill=(0, 0, 0))  # its left border bar
    page.draw_rect(pymupdf.Rect(x1 - 3, y0, x1, y1), color=(0, 0, 0), fill=(0, 0, 0))  # its right one


def test_two_vector_diagrams_with_their_own_captions_are_two_figures():
    # drawn diagrams 10 pt apart (closer than drawings that join one cluster): each caption has its own
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(62, 60, 533, 200), BODY, fontsize=10)
    left, right = pymupdf.Rect(62, 230, 292, 401), pymupdf.Rect(302, 230, 533, 401)
    draw_diagram(page, left, 1)
    draw_diagram(page, right, 2)
    page.insert_textbox(pymupdf.Rect(62, 408, 292, 440), "Figure 2-1. Layers of the skin.", fontsize=8)
    page.insert_textbox(pymupdf.Rect(302, 408, 533, 440), "Figure 2-2. A hair follicle.", fontsize=8)
    page.insert_textbox(pymupdf.Rect(62, 460, 533, 700), BODY, fontsize=10)
    regions, figures = digital_figures(doc)
    assert_tight([b for b, _c in figures], [tuple(left), tuple(right)])
    assert_tight(regions, [tuple(left), tuple(right)])


@pytest.mark.parametrize("dpi", [150, 300])
def test_a_photos_own_edge_is_never_a_label_of_the_figure_beside_it(dpi, monkeypatch):
    # the photo finder's boxes a pixel short of each photo (as the opening leaves them, before their extent is
    # measured): the photo's blurred edge outside its box is its own, not a label the figure beside it takes
    # in (which grew FIG. 3.4A over most of 3.4B); and taking in labels never makes two figures overlap
    import pipeline.extract.scanned as scanned

    doc, page, truth = side_by_side_page(16.0)
    img = scan(page, dpi, True, seed=7)
    found = find_regions(img, ExtractSettings())
    short = [(x0 + 1, y0 + 1, x1 - 1, y1 - 1) for x0, y0, x1, y1 in found]
    monkeypatch.setattr(scanned, "find_regions", lambda _img, _settings: short)
    result = process_scanned_page(img, 1, 595, 842, ExtractSettings())
    assert_tight([r.bbox for r in result.images], truth)
