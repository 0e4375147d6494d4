"""Which images and drawings of a born-digital page make one figure (pipeline/extract/graphic_groups.py)."""

import io

import numpy as np
import pymupdf
from PIL import Image

from pipeline.extract import extract_book
from pipeline.extract.decorations import BACKGROUND
from pipeline.extract.graphic_groups import is_frame
from pipeline.extract.images import png_to_numpy
from pipeline.ingest import ingest

BODY = "Body text of the chapter runs here, line after line, as books have it. "


def png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def photo(seed: int, h: int = 80, w: int = 100) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 200 + 30).astype(np.uint8)


def regions_of(doc: pymupdf.Document):
    data = doc.tobytes()
    return extract_book(data, ingest(data, "t.pdf")).pages[0].images


def boxes(regions):
    return sorted(tuple(round(v) for v in r.bbox) for r in regions)


def new_page():
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=800)
    page.insert_textbox(pymupdf.Rect(40, 40, 560, 200), BODY * 8, fontsize=9)
    return doc, page


def test_two_adjacent_frames_of_pieces_are_two_figures():
    # like a trade handbook: each figure is a rounded frame holding many small cut-out pieces and labels;
    # the frames stand 10 pt apart and must not merge, and no piece comes out on its own
    doc, page = new_page()
    for k, x0 in enumerate((40, 310)):
        frame = pymupdf.Rect(x0, 300, x0 + 250, 480)
        page.draw_rect(frame, color=(0.2, 0.2, 0.2), radius=0.05, width=0.8)
        for i in range(3):
            for j in range(2):
                r = pymupdf.Rect(x0 + 10 + i * 80, 310 + j * 80, x0 + 70 + i * 80, 370 + j * 80)
                page.insert_image(r, stream=png(photo(10 * k + 3 * i + j, 40, 40)))
                page.insert_image(r + (10, 10, -10, -10), stream=png(photo(99, 20, 20)))  # a layer on top
        page.insert_text((x0 + 20, 470), "Part label", fontsize=7)
    page.insert_text((40, 500), "Figure 7-26. Pieces.", fontsize=9)
    page.insert_text((310, 500), "Figure 7-27. More pieces.", fontsize=9)
    regions = regions_of(doc)
    assert boxes(regions) == [(40, 300, 290, 480), (310, 300, 560, 480)]
    assert all(r.kind == "embedded" for r in regions)  # rendered images, so they can be captioned figures


def test_overlapping_images_are_one_picture_and_stacked_copies_are_one():
    doc, page = new_page()
    base = photo(1, 160, 200)
    page.insert_image(pymupdf.Rect(60, 300, 260, 460), stream=png(base))
    page.insert_image(pymupdf.Rect(200, 420, 300, 500), stream=png(photo(2)))  # an inset overlapping it
    page.insert_image(pymupdf.Rect(350, 300, 500, 420), stream=png(base))
    page.insert_image(pymupdf.Rect(350, 300, 500, 420), stream=png(base))  # the same image drawn twice
    regions = regions_of(doc)
    assert boxes(regions) == [(60, 300, 300, 500), (350, 300, 500, 420)]


def test_a_framed_single_photo_is_decoded_exactly():
    doc, page = new_page()
    pic = photo(4, 120, 160)
    page.draw_rect(pymupdf.Rect(59, 299, 221, 421), color=(0, 0, 0), width=0.5)
    page.insert_image(pymupdf.Rect(60, 300, 220, 420), stream=png(pic))
    (region,) = regions_of(doc)
    assert np.array_equal(png_to_numpy(region.png), pic)


def test_callouts_drawn_over_an_image_join_it():
    doc, page = new_page()
    page.insert_image(pymupdf.Rect(100, 300, 300, 460), stream=png(photo(5, 160, 200)))
    for i in range(10):  # leader lines from labels at the right into the picture
        page.draw_line((250, 320 + 14 * i), (340, 315 + 14 * i), color=(1, 0.5, 0), width=0.8)
        page.insert_text((345, 318 + 14 * i), f"label {i}", fontsize=7)
    regions = regions_of(doc)
    assert len(regions) == 1
    x0, y0, x1, y1 = regions[0].bbox
    assert x0 <= 101 and x1 >= 360 and y0 <= 301 and y1 >= 459  # the picture, the leaders and their labels


def test_a_framed_text_box_is_not_a_figure_frame():
    # a sidebar: a frame around running text with a small icon; the icon must not become the frame's figure
    doc, page = new_page()
    page.draw_rect(pymupdf.Rect(40, 300, 560, 480), color=(0, 0, 0), width=1)
    page.insert_image(pymupdf.Rect(50, 310, 80, 340), stream=png(photo(6, 30, 30)))
    page.insert_textbox(pymupdf.Rect(90, 310, 550, 470), BODY * 5, fontsize=9)
    assert boxes(regions_of(doc)) == [(50, 310, 80, 340)]


def test_image_under_running_text_is_a_background():
    doc, page = new_page()
    page.insert_image(pymupdf.Rect(20, 20, 580, 400), stream=png(photo(7, 100, 140)), keep_proportion=False, overlay=False)
    page.insert_image(pymupdf.Rect(100, 500, 300, 660), stream=png(photo(8)))
    regions = {tuple(round(v) for v in r.bbox): r.reject_reasons for r in regions_of(doc)}
    assert BACKGROUND in regions[(20, 20, 580, 400)]
    assert regions[(100, 500, 300, 660)] == []


def test_frame_shape_test():
    ink = {"color": (0, 0, 0), "width": 1.0}
    rect = {"rect": pymupdf.Rect(0, 0, 200, 100), "items": [("re", pymupdf.Rect(0, 0, 200, 100), 1)], **ink}
    white_box = {**rect, "color": None, "fill": (1.0, 1.0, 1.0)}  # invisible on paper
    shaded_box = {**white_box, "fill": (0.9, 0.9, 0.8)}
    axes = {  # an L of chart axes: on the border, but not around it
        **ink,
        "rect": pymupdf.Rect(0, 0, 200, 100),
        "items": [("l", pymupdf.Point(0, 0), pymupdf.Point(0, 100)), ("l", pymupdf.Point(0, 100), pymupdf.Point(200, 100))],
    }
    curve = {  # a curve through the middle is a drawing, not a frame
        **ink,
        "rect": pymupdf.Rect(0, 0, 200, 100),
        "items": [("c", pymupdf.Point(0, 0), pymupdf.Point(100, 50), pymupdf.Point(150, 50), pymupdf.Point(200, 100))],
    }
    assert is_frame(rect, 1000) and not is_frame(axes, 1000) and not is_frame(curve, 1000)
    assert not is_frame(rect, 50_000)  # too small to frame a figure
    assert not is_frame(white_box, 1000) and is_frame(shaded_box, 1000)


def test_decorations_small_rule_repeated_with_reasons():
    from pipeline.extract.decorations import REPEATED, RULE, SMALL, mark_decorations
    from schemas import ImageRegion, Page
    from schemas.settings import ExtractSettings

    def reg(box, digest, kind="embedded"):
        return ImageRegion(bbox=box, kind=kind, png=b"", width=10, height=10, digest=digest)

    pages = [
        Page(number=n, width=600, height=800, scanned=False, images=[
            reg((20, 20, 80, 50), "logo"),  # the same logo on every page
            reg((100, 100, 400, 300), f"photo{n}"),  # a real figure, different on each page
            reg((100, 400, 110, 410), f"icon{n}"),  # 10 pt: an icon
            reg((50, 700, 550, 706), f"rule{n}"),  # a bar
        ])
        for n in (1, 2, 3)
    ]
    out = mark_decorations(pages, ExtractSettings())
    for page in out:
        reasons = [r.reject_reasons for r in page.images]
        assert REPEATED in reasons[0] and reasons[1] == [] and SMALL in reasons[2] and RULE in reasons[3]
    # on fewer pages than repeated_image_pages the logo is not a decoration
    assert mark_decorations(pages[:2], ExtractSettings())[0].images[0].reject_reasons == []


def _chart(page, x0=80, y0=300):
    """A drawn chart: axes, a dozen bars and a frame (a vector figure, no image)."""
    page.draw_line((x0, y0 + 200), (x0 + 300, y0 + 200), width=1)
    page.draw_line((x0, y0), (x0, y0 + 200), width=1)
    for i in range(12):
        h = 20 + 13 * i % 170
        page.draw_rect(pymupdf.Rect(x0 + 10 + 24 * i, y0 + 200 - h, x0 + 28 + 24 * i, y0 + 200), color=(0, 0, 0), fill=(0.3, 0.5, 0.8))


def test_drawings_on_a_page_without_captions_are_rendered_as_previews():
    # no line starts with a caption label: the drawing can only become a `vector_uncaptioned` reject, so it is
    # rendered at uncaptioned_vector_dpi (cheap); with a "Figure 3." line on the page it is rendered in full
    from schemas.settings import ExtractSettings

    settings = ExtractSettings()
    widths = {}
    for caption in (None, "Figure 3. A drawn chart of counts."):
        doc, page = new_page()
        _chart(page)
        if caption:
            page.insert_text((80, 530), caption, fontsize=9)
        data = doc.tobytes()
        vec = [r for r in extract_book(data, ingest(data, "t.pdf"), settings).pages[0].images if r.kind == "vector"]
        assert len(vec) == 1
        box_w = vec[0].bbox[2] - vec[0].bbox[0]
        widths[caption is not None] = vec[0].width / box_w * 72  # the dpi it was rendered at
    assert abs(widths[False] - settings.uncaptioned_vector_dpi) < 3
    assert abs(widths[True] - settings.vector_render_dpi) < 3


def test_frame_shape_test_on_the_plain_tuples_of_get_cdrawings():
    """Extraction reads drawings with get_cdrawings (tuples, rects not normalised): the same answers."""
    from pipeline.extract.vector import is_straight_axis_line

    doc, page = new_page()
    page.draw_rect(pymupdf.Rect(50, 50, 300, 200), color=(0, 0, 0), width=1)
    page.draw_polyline([(50, 300), (50, 450), (300, 450)], color=(0, 0, 0), width=1)  # chart axes
    page.draw_bezier((50, 500), (120, 560), (200, 560), (300, 620), color=(0, 0, 0), width=1)
    box, axes, curve = sorted(page.get_cdrawings(), key=lambda d: d["rect"][1])
    assert isinstance(box["items"][0][1], tuple)
    assert is_frame(box, 1000) and not is_frame(axes, 1000) and not is_frame(curve, 1000)
    assert is_straight_axis_line(axes) and not is_straight_axis_line(curve)


def _logo(page, x0: float, y0: float, strokes: int = 12):
    """A vector logo: ``strokes`` curved strokes in a box about 60 x 24 pt (no image)."""
    for i in range(strokes):
        x = x0 + 5 * i
        page.draw_bezier((x, y0 + 24), (x + 2, y0), (x + 4, y0), (x + 4, y0 + 24), color=(0.1, 0.1, 0.6), width=1.5)


def test_a_small_vector_logo_is_kept_as_a_decoration_and_no_caption_takes_it():
    # drawings too small to be a figure (under vector_min_area_frac of the page) that stand alone are a rejected
    # region with their reason, rendered as a preview, and the caption on the page does not go to them;
    # the same strokes on a photo are part of it, and fewer strokes than vector_min_drawings are no region
    from pipeline.extract.decorations import SMALL_DRAWING
    from pipeline.figures import build_records
    from schemas.settings import ExtractSettings

    settings = ExtractSettings()
    doc, page = new_page()
    _logo(page, 480, 20)
    _logo(page, 60, 700, strokes=settings.vector_min_drawings - 1)
    page.insert_image(pymupdf.Rect(100, 300, 300, 460), stream=png(photo(6, 160, 200)))
    _logo(page, 150, 350)  # drawn over the photo
    page.insert_text((100, 480), "Figure 2. A photo.", fontsize=9)
    data = doc.tobytes()
    extracted = extract_book(data, ingest(data, "t.pdf"), settings)
    regions = extracted.pages[0].images
    logo = [r for r in regions if r.kind == "vector"]
    assert len(logo) == 1 and logo[0].reject_reasons == [SMALL_DRAWING]
    x0, y0, x1, y1 = logo[0].bbox
    assert x0 < 481 and y0 < 21 and x1 > 535 and y1 > 43 and x1 - x0 < 70
    assert abs(logo[0].width / (x1 - x0) * 72 - settings.uncaptioned_vector_dpi) < 3  # a preview
    assert [r.reject_reasons for r in regions if r.kind != "vector"] == [[]]  # the photo, strokes and all
    records = [it.record for it in build_records(extracted)[0]]
    by_kind = {r.region_kind: r for r in records}
    assert by_kind["embedded"].caption.startswith("Figure 2") and by_kind["embedded"].kept
    assert by_kind["vector"].caption == "" and by_kind["vector"].reject_reasons == [SMALL_DRAWING]


def test_a_drawing_cluster_is_cut_only_between_captions_side_by_side_and_only_in_a_gutter():
    from pipeline.extract.graphic_groups import Group, split_at_captions

    left = [pymupdf.Rect(60 + 10 * i, 300, 80 + 10 * i, 400) for i in range(10)]  # x 60..170
    right = [pymupdf.Rect(180 + 10 * i, 300, 200 + 10 * i, 400) for i in range(10)]  # x 180..290: a 10 pt gutter
    cluster = pymupdf.Rect(60, 300, 290, 400)
    photo = Group(box=pymupdf.Rect(190, 310, 280, 390))  # a picture the right-hand drawings are drawn on
    two = [(60, 408, 160, 418), (180, 408, 290, 418)]  # "Figure 1. ..." and "Figure 2. ..." below, side by side
    parts = split_at_captions(cluster, [photo], left + right, two)
    assert [(tuple(p), n, g) for p, n, g in parts] == [((60, 300, 170, 400), 10, []), ((180, 300, 290, 400), 10, [photo])]
    # one caption (however wide the figure), captions far below, or one caption above and one below in the same
    # column: one figure
    for captions in ([two[0]], [(60, 460, 160, 470), (180, 460, 290, 470)], [(60, 280, 160, 290), two[0]]):
        assert len(split_at_captions(cluster, [photo], left + right, captions)) == 1
    # a drawing across the gutter: no place to cut, one figure
    across = pymupdf.Rect(150, 350, 200, 360)
    assert len(split_at_captions(cluster, [photo], left + right + [across], two)) == 1


def test_a_column_of_labels_beside_a_drawing_is_taken_in_whole():
    # labels at the ends of leader lines, one under another, of different widths: the drawing's box takes them
    # all in, the long ones too, whichever comes first (each is judged beside the drawing, not beside the others)
    doc, page = new_page()
    rng = np.random.default_rng(5)
    for _ in range(12):
        p = [(100 + 240 * rng.random(), 300 + 150 * rng.random()) for _ in range(4)]
        page.draw_bezier(*p, color=(0.1, 0.2, 0.5), width=1)
    names = ["Epidermis", "Hair shaft", "Sebaceous gland", "Superficial plexus", "Dermis", "Hair bulb"]
    right = 0.0
    for k, name in enumerate(names):
        y = 310 + 25 * k
        page.draw_line((250, y), (355, y - 3), color=(0.3, 0.3, 0.3), width=0.5)
        right = max(right, page.insert_text((358, y), name, fontsize=9) and 358 + pymupdf.get_text_length(name, fontsize=9))
    page.insert_text((100, 480), "Figure 2-1. Schematic cross-section of the skin.", fontsize=9)
    (region,) = [r for r in regions_of(doc) if r.kind == "vector"]
    assert region.bbox[2] >= right - 1


def test_a_bar_chart_is_one_figure_with_its_axes_and_labels():
    """Charting software writes every bar, gridline, tick and axis as its own path. Bars stand in groups more
    than a clustering gap apart and the shortest reach no gridline over them; the axes and gridlines (straight
    lines: no figure of their own) join them, and the chart's box takes in its tick values, categories and
    axis title, but not the caption under it."""
    from synth.layouts import draw_chart

    for seed in range(6):  # bars, grouped bars and line charts
        doc, page = new_page()
        chart = pymupdf.Rect(80, 260, 420, 470)
        draw_chart(page, chart, np.random.default_rng(seed))
        page.insert_text((80, 486), "Fig. 3-2 Age distribution of 406 patients with actinic keratosis.", fontsize=9)
        (region,) = [r for r in regions_of(doc) if r.kind == "vector"]
        x0, y0, x1, y1 = region.bbox
        assert abs(x0 - chart.x0) < 2 and abs(y0 - chart.y0) < 2 and abs(x1 - chart.x1) < 2 and abs(y1 - chart.y1) < 2, (seed, region.bbox)
        assert not region.reject_reasons


def test_table_rules_and_a_rule_under_running_text_join_no_drawing():
    # a ruled table beside a diagram, touching nothing drawn: it stays out of the diagram's box
    doc, page = new_page()
    rng = np.random.default_rng(2)
    for _ in range(10):
        p = [(100 + 150 * rng.random(), 300 + 120 * rng.random()) for _ in range(4)]
        page.draw_bezier(*p, color=(0.1, 0.2, 0.5), width=1)
    for k in range(6):
        page.draw_line((300, 300 + 20 * k), (560, 300 + 20 * k), color=(0, 0, 0), width=0.5)
    page.insert_text((100, 440), "Figure 2-2. Schematic of the plexus.", fontsize=9)
    (region,) = [r for r in regions_of(doc) if r.kind == "vector"]
    assert region.bbox[2] < 290


def test_a_lone_rule_touching_boxes_adds_no_drawing_to_them():
    """Seven framed boxes nested in a frame (an exhibit with text placeholders, one drawing short of a figure)
    and one rule touching one of them (an arrow's shaft): the rule joins nothing and meets no other line, so it
    is no axis and the boxes stay too few to be a figure (the Military Dermatology textbook, page 348)."""
    from pipeline.extract.vector import vector_clusters
    from schemas.settings import ExtractSettings

    settings = ExtractSettings()
    boxes = [pymupdf.Rect(73, 73, 557, 719), pymupdf.Rect(86, 139, 308, 403), pymupdf.Rect(324, 139, 546, 307),
             pymupdf.Rect(74, 67, 556, 82), pymupdf.Rect(324, 388, 546, 541), pymupdf.Rect(79, 494, 314, 521),
             pymupdf.Rect(290, 504, 303, 510)]
    assert len(boxes) == settings.vector_min_drawings - 1
    page = pymupdf.Rect(0, 0, 612, 792)
    rule = pymupdf.Rect(88, 507, 290, 507)
    assert vector_clusters(boxes, page, settings, [rule]) == ([], [])
    # two rules that meet (an axis and a gridline) are drawn parts of what they touch
    axis = pymupdf.Rect(88, 480, 88, 507)
    figures, _small = vector_clusters(boxes, page, settings, [rule, axis])
    assert len(figures) == 1
