"""Scanned pages: deskew, figure regions from pixels, OCR text, boxes on the page as it is."""

import numpy as np
import pymupdf

from pipeline.extract.deskew import estimate_skew, rotate
from pipeline.extract.images import numpy_to_png, pixmap_to_numpy
from pipeline.extract.scanned import process_scanned_page
from pipeline.captions import find_captions
from schemas.settings import ExtractSettings


def page_image(angle: float = 0.0) -> np.ndarray:
    """A rendered book page (150 dpi): body text, a photo, its caption; optionally rotated like a bad scan."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    rng = np.random.default_rng(2)
    photo = (rng.random((200, 300, 3)) * 120 + 80).astype(np.uint8)
    page.insert_image(pymupdf.Rect(150, 250, 450, 450), stream=numpy_to_png(photo))
    page.insert_textbox(pymupdf.Rect(150, 456, 450, 490), "Fig. 2.1 Chronic plaque psoriasis on the extensor surface of the elbow.", fontsize=9)
    body = "Psoriasis is a common inflammatory disease of the skin with well demarcated plaques. " * 8
    page.insert_textbox(pymupdf.Rect(60, 60, 535, 240), body, fontsize=10)
    page.insert_textbox(pymupdf.Rect(60, 520, 535, 760), body, fontsize=10)
    img = pixmap_to_numpy(page.get_pixmap(dpi=150))
    return rotate(img, angle)


def test_estimate_skew_finds_the_rotation():
    for angle in (0.0, 1.5, -2.5):
        assert abs(estimate_skew(page_image(angle), 5.0) - (-angle)) <= 0.3


def test_skewed_scan_gives_figure_box_and_caption_on_the_page():
    settings = ExtractSettings()
    page = process_scanned_page(numpy_to_png(page_image(2.0)), 1, 595, 842, settings)
    assert len(page.images) == 1
    x0, y0, x1, y1 = page.images[0].bbox
    # the photo sits at (150, 250, 450, 450); a 2-degree tilt grows its hull by ~10 pt on each side
    assert abs(x0 - 150) < 18 and abs(y0 - 250) < 18 and abs(x1 - 450) < 18 and abs(y1 - 450) < 18
    caps = find_captions(page)
    assert [c.label for c in caps] == ["Fig. 2.1"]
    assert "plaque psoriasis" in caps[0].text


# --- drawn figures (charts, diagrams, panel grids) on scanned pages ---------------------------------------

BODY = (
    "Psoriasis is a common inflammatory disease of the skin with well demarcated plaques and silvery scale. "
    "Its course is chronic and relapsing, and treatment is chosen by the extent of the disease. "
) * 3


def render(page: pymupdf.Page) -> bytes:
    return numpy_to_png(pixmap_to_numpy(page.get_pixmap(dpi=150)))


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def draw_line_chart(page: pymupdf.Page, x0: float, y0: float, x1: float, y1: float) -> None:
    """Axes, two data series, tick values, axis titles and a legend: line art and small text only."""
    page.draw_line((x0, y1), (x1, y1), width=1)
    page.draw_line((x0, y0), (x0, y1), width=1)
    rng = np.random.default_rng(3)
    for k, colour in enumerate(((0, 0, 0), (0.5, 0.5, 0.5))):
        xs = np.linspace(x0 + 5, x1 - 5, 12)
        ys = y1 - 10 - (y1 - y0 - 20) * (0.3 + 0.4 * rng.random(12) + 0.2 * k)
        page.draw_polyline(list(zip(xs, np.clip(ys, y0 + 5, y1 - 5))), color=colour, width=1.2)
    for i in range(6):
        x = x0 + i * (x1 - x0) / 5
        page.draw_line((x, y1), (x, y1 + 3), width=0.8)
        page.insert_text((x - 4, y1 + 12), str(i * 20), fontsize=6)
    for i in range(5):
        y = y1 - i * (y1 - y0) / 4
        page.insert_text((x0 - 16, y + 2), f"{i * 25}", fontsize=6)
    page.insert_text(((x0 + x1) / 2 - 20, y1 + 24), "Age (years)", fontsize=7)
    page.draw_line((x1 - 70, y0 + 8), (x1 - 55, y0 + 8), width=1.2)
    page.insert_text((x1 - 50, y0 + 10), "Treated", fontsize=6)
    page.draw_line((x1 - 70, y0 + 18), (x1 - 55, y0 + 18), color=(0.5, 0.5, 0.5), width=1.2)
    page.insert_text((x1 - 50, y0 + 20), "Control", fontsize=6)


def test_line_chart_between_paragraphs_is_one_figure_and_its_labels_are_not_page_text():
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(60, 60, 535, 250), BODY, fontsize=10)
    draw_line_chart(page, 180, 280, 420, 450)
    caption = "Figure 1. Plaque area over time in treated and control patients."
    page.insert_textbox(pymupdf.Rect(60, 490, 535, 520), caption, fontsize=9)
    page.insert_textbox(pymupdf.Rect(60, 540, 535, 760), BODY, fontsize=10)
    scanned = process_scanned_page(render(page), 1, 595, 842, ExtractSettings())
    assert len(scanned.images) == 1
    # the chart with its tick values, axis title and legend spans about (162, 280, 420, 476)
    assert iou(scanned.images[0].bbox, (162, 280, 420, 476)) > 0.7
    caps = find_captions(scanned)
    assert [c.label for c in caps] == ["Figure 1"]
    page_text = " ".join(b.text for b in scanned.text_blocks)
    assert "Psoriasis" in page_text and "Treated" not in page_text and "Age (years)" not in page_text


def test_the_photo_finder_alone_misses_a_chart():
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    draw_line_chart(page, 180, 280, 420, 450)
    png = render(page)
    assert process_scanned_page(png, 1, 595, 842, ExtractSettings(scan_drawn_figures=False)).images == []
    assert len(process_scanned_page(png, 1, 595, 842, ExtractSettings()).images) == 1


def photo(seed: int, w: int = 160, h: int = 110) -> bytes:
    rng = np.random.default_rng(seed)
    return numpy_to_png((rng.random((h, w, 3)) * 140 + 60).astype(np.uint8))


def test_panel_grid_with_one_caption_is_one_figure():
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(60, 60, 535, 200), BODY, fontsize=10)
    for k, (x, y) in enumerate(((120, 230), (300, 230), (120, 355), (300, 355))):
        page.insert_image(pymupdf.Rect(x, y, x + 170, y + 115), stream=photo(k))
        page.insert_text((x - 12, y + 10), "ABCD"[k], fontsize=10)
    caption = "Figure 2. Four views of the same lesion under dermoscopy."
    page.insert_textbox(pymupdf.Rect(60, 485, 535, 515), caption, fontsize=9)
    page.insert_textbox(pymupdf.Rect(60, 530, 535, 760), BODY, fontsize=10)
    scanned = process_scanned_page(render(page), 1, 595, 842, ExtractSettings())
    assert len(scanned.images) == 1
    assert iou(scanned.images[0].bbox, (108, 230, 470, 470)) > 0.8


def test_side_by_side_figures_with_their_own_captions_stay_two():
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(60, 60, 535, 200), BODY, fontsize=10)
    page.insert_image(pymupdf.Rect(60, 230, 285, 380), stream=photo(7))
    page.insert_image(pymupdf.Rect(310, 230, 535, 380), stream=photo(8))
    page.insert_textbox(pymupdf.Rect(60, 388, 285, 420), "Fig. 3A Urticaria on the back.", fontsize=9)
    page.insert_textbox(pymupdf.Rect(310, 388, 535, 420), "Fig. 3B Dermoscopy of a naevus.", fontsize=9)
    page.insert_textbox(pymupdf.Rect(60, 440, 535, 700), BODY, fontsize=10)
    scanned = process_scanned_page(render(page), 1, 595, 842, ExtractSettings())
    boxes = sorted(r.bbox for r in scanned.images)
    assert len(boxes) == 2
    assert iou(boxes[0], (60, 230, 285, 380)) > 0.8 and iou(boxes[1], (310, 230, 535, 380)) > 0.8


ROWS = [
    ("Severity", "Patients", "Mean age", "Relapse"),
    ("Mild", "42", "34.5", "12"),
    ("Moderate", "31", "41.2", "15"),
    ("Severe", "17", "47.9", "11"),
    ("Total", "90", "39.6", "38"),
]


def draw_table(page: pymupdf.Page, top: float, grid: bool) -> None:
    """Five rows of four cells: with rules above, below and under the head, or ruled all round (a grid)."""
    for r, row in enumerate(ROWS):
        for c, cell in enumerate(row):
            page.insert_text((70 + c * 115, top + 15 + r * 20), cell, fontsize=9)
    for r in range(6) if grid else (0, 1, 5):
        page.draw_line((60, top + r * 20), (520, top + r * 20), width=0.8)
    for c in range(5) if grid else ():
        page.draw_line((60 + c * 115, top), (60 + c * 115, top + 100), width=0.8)


def test_ruled_table_and_shaded_box_of_text_are_not_figures():
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(60, 60, 535, 200), BODY, fontsize=10)
    page.insert_text((60, 230), "Table 1. Patients by severity of disease", fontsize=9)
    draw_table(page, 240, grid=False)
    shade = pymupdf.Rect(60, 380, 535, 470)
    page.draw_rect(shade, color=None, fill=(0.85, 0.88, 0.93))
    page.insert_textbox(shade + (10, 10, -10, -10), "Key points. " + BODY[:300], fontsize=9)
    page.insert_textbox(pymupdf.Rect(60, 490, 535, 760), BODY, fontsize=10)
    scanned = process_scanned_page(render(page), 1, 595, 842, ExtractSettings())
    assert scanned.images == []
    assert "Key points" in " ".join(b.text for b in scanned.text_blocks)


def test_text_only_page_has_no_figure():
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((60, 50), "Handbook of Skin Disease", fontsize=8)
    page.draw_line((60, 56), (535, 56), width=0.5)
    page.insert_textbox(pymupdf.Rect(60, 70, 290, 780), BODY * 2, fontsize=9)
    page.insert_textbox(pymupdf.Rect(305, 70, 535, 780), BODY * 2, fontsize=9)
    scanned = process_scanned_page(render(page), 1, 595, 842, ExtractSettings())
    assert scanned.images == []


def test_grid_table_without_a_caption_is_not_a_figure():
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(60, 60, 535, 200), BODY, fontsize=10)
    draw_table(page, 240, grid=True)
    page.insert_textbox(pymupdf.Rect(60, 380, 535, 700), BODY, fontsize=10)
    png = render(page)
    assert process_scanned_page(png, 1, 595, 842, ExtractSettings()).images == []
    # the same grid with curves drawn in it is a drawing: a figure
    page.draw_polyline([(80, 330), (200, 260), (320, 300), (440, 250), (510, 320)], width=1.5)
    page.draw_oval(pymupdf.Rect(250, 255, 300, 290), width=1.2)
    assert len(process_scanned_page(render(page), 1, 595, 842, ExtractSettings()).images) == 1


def test_frame_around_a_figure_and_its_caption_bounds_the_figure():
    """A journal's box round a figure and its caption: the figure is the box down to the caption."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(60, 60, 535, 200), BODY, fontsize=10)
    page.draw_rect(pymupdf.Rect(57, 220, 539, 520), width=0.8)
    page.insert_image(pymupdf.Rect(170, 230, 430, 470), stream=photo(9, 200, 180))
    caption = "Fig. 4 Horizontal view through the mandibular dentition showing the plane of the sagittal slices."
    page.insert_textbox(pymupdf.Rect(62, 478, 534, 515), caption, fontsize=9)
    page.insert_textbox(pymupdf.Rect(60, 540, 535, 760), BODY, fontsize=10)
    scanned = process_scanned_page(render(page), 1, 595, 842, ExtractSettings())
    assert len(scanned.images) == 1
    assert iou(scanned.images[0].bbox, (57, 220, 539, 478)) > 0.9


# --- scanned pages of a book: each cut out as a one-page PDF and read on its own ---------------------------

def scanned_book(rotations=(0, 90, 180, 270)) -> bytes:
    """A scanned book: every page one full-page image (the page of ``page_image``). Some pages carry /Rotate,
    their scan stored turned the other way (as a landscape scanner stores a page): all read upright."""
    doc = pymupdf.open()
    upright = page_image()
    for rotation in rotations:
        scan = np.ascontiguousarray(np.rot90(upright, k=rotation // 90))  # turned counter-clockwise
        page = doc.new_page(width=scan.shape[1] * 72 / 150, height=scan.shape[0] * 72 / 150)
        page.insert_image(page.rect, stream=numpy_to_png(scan))
        page.set_rotation(rotation)  # turns it clockwise for the reader
    return doc.tobytes()


def test_a_page_cut_out_of_its_book_renders_as_it_did_there():
    from pipeline.extract import page_pdf

    book = pymupdf.open(stream=scanned_book(), filetype="pdf")
    for number, page in enumerate(book, start=1):
        single = pymupdf.open(stream=page_pdf(book, number), filetype="pdf")
        assert single.page_count == 1 and single[0].rotation == page.rotation
        assert single[0].get_pixmap(dpi=50).samples == page.get_pixmap(dpi=50).samples


def test_scanned_pages_of_a_book_each_give_the_figure_and_caption_however_turned():
    from pipeline.extract import extract_book
    from pipeline.ingest import ingest

    data = scanned_book()
    pages = extract_book(data, ingest(data, "scan.pdf")).pages
    assert [p.number for p in pages] == [1, 2, 3, 4] and all(p.scanned and not p.errors for p in pages)
    for page in pages:
        assert len(page.images) == 1, page.number
        assert [c.label for c in find_captions(page)] == ["Fig. 2.1"], page.number


def test_a_scanned_page_that_cannot_be_read_is_that_pages_error():
    from pipeline.extract import _scan_job
    from schemas import PageInfo

    info = PageInfo(number=3, width=595, height=842, has_text_layer=False, n_images=1, full_page_image=True)
    page = _scan_job((b"%PDF-1.7 not really", "book.pdf", info), ExtractSettings())
    assert page.number == 3 and page.scanned and page.images == []
    assert len(page.errors) == 1 and page.errors[0].startswith("page 3: extraction failed") and "book.pdf" in page.errors[0]


def test_scan_shading_at_the_page_edge_is_not_a_photo_but_a_photo_on_the_edge_is():
    # a scan darkened towards a corner and along the gutter (as a book pressed on the glass): the shading is
    # darker than the white level, large and dense, but hardly darker than the paper; a photo that bleeds
    # off the page's edge is kept
    from pipeline.extract.scanned import find_regions

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(60, 60, 535, 200), BODY, fontsize=10)
    page.insert_image(pymupdf.Rect(150, 250, 450, 450), stream=photo(7, 300, 200))
    page.insert_textbox(pymupdf.Rect(150, 456, 450, 490), "Fig. 3.2 Plaques on the knee.", fontsize=9)
    page.insert_textbox(pymupdf.Rect(60, 520, 535, 700), BODY, fontsize=10)
    page.insert_image(pymupdf.Rect(480, 720, 595, 842), stream=photo(8, 115, 122))  # bleeds off the corner
    img = pixmap_to_numpy(page.get_pixmap(dpi=150)).astype(np.float32) * 0.96  # off-white paper (245)
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    corner = np.clip(1 - np.hypot((w - xx) / (0.3 * w), (h - yy) / (0.25 * h)), 0, 1)  # bottom-right shadow
    gutter = np.clip(1 - xx / (0.06 * w), 0, 1)  # left edge
    img *= (1 - 0.07 * np.maximum(corner, gutter))[..., None]
    img = np.clip(img, 0, 255).astype(np.uint8)
    settings = ExtractSettings()
    assert (img[h // 2, 2] < settings.scan_white_level).all()  # the shading is below the white level
    boxes = find_regions(img, settings)
    assert len(boxes) == 2
    scale = 595 / w
    in_pt = [tuple(v * scale for v in b) for b in boxes]
    assert iou(in_pt[0], (150, 250, 450, 450)) > 0.9 and iou(in_pt[1], (480, 720, 595, 842)) > 0.8
    # without the rule the shading is a region of its own
    assert len(find_regions(img, ExtractSettings(scan_shadow_max_ink_frac=0))) > 2


def test_photo_regions_grow_to_their_own_edges_and_never_into_each_other():
    # tinted paper with grain; a pale photo whose rim is nearly paper-light (only its colour tells), 10 px from
    # a dark one; the regions first found are short of both (as the opening and the white level leave them)
    from pipeline.extract.scanned import photo_extents

    rng = np.random.default_rng(4)
    img = np.empty((800, 600, 3), np.float32)
    img[:] = (248, 244, 232)
    yy, xx = np.mgrid[100:300, 50:280].astype(np.float32)
    rim = (np.maximum(np.abs((xx - 165) / 115), np.abs((yy - 200) / 100)) ** 3)[..., None]
    img[100:300, 50:280] = (230, 205, 190) * (1 - rim) + np.array((246, 232, 216)) * rim  # pale pink skin
    img[100:300, 290:520] = (60, 40, 30)  # a dark dermoscopy photo
    img += rng.normal(0, 3, (800, 600, 1))
    img = np.clip(img, 0, 255).astype(np.uint8)
    a, b = photo_extents(img, [(80, 130, 250, 270), (293, 102, 518, 298)])
    assert max(abs(u - v) for u, v in zip(a, (50, 100, 280, 300))) <= 1
    assert max(abs(u - v) for u, v in zip(b, (290, 100, 520, 300))) <= 1
    assert a[2] <= b[0]  # they do not overlap
    # two regions already side by side never grow into each other, even with no paper between them
    c, d = photo_extents(img, [(100, 150, 285, 250), (285, 150, 500, 250)])
    assert c[2] <= d[0]


def test_text_on_paper_darker_than_the_white_level_is_not_a_photo():
    """Uneven light puts the paper under the white level; blurred by the scan, three lines of a caption then
    survive the opening as one dark blob (a generated JPEG scan at 400 dpi, rendered at 150). Its ink lies in
    line-high bands with paper rows between them: lines of text, not a photograph, and OCR reads them whole."""
    from pipeline.extract.deskew import estimate_skew
    from pipeline.extract.scanned import find_regions, text_lines
    from synth.layouts import make_book

    pdf, _truth = make_book(2, 5, {"scan": "jpeg"})
    page = pymupdf.open(stream=pdf)[2]
    img = pixmap_to_numpy(page.get_pixmap(dpi=150))
    settings = ExtractSettings()
    straight = rotate(img, estimate_skew(img, settings.deskew_max_deg))
    scale = page.rect.width / img.shape[1]
    assert all(b[1] * scale > 300 for b in find_regions(straight, settings))  # the figure lower down only
    scanned = process_scanned_page(img, 3, page.rect.width, page.rect.height, settings)
    caption = [c for c in find_captions(scanned) if c.label.upper() == "FIGURE 17-1"]
    assert caption and "granuloma annulare seen in the clinic" in caption[0].text
    # a photograph and two panels stacked with a gutter are tall bands, not lines
    ink = np.zeros((300, 200), bool)
    ink[10:140] = True
    ink[160:290] = True
    lines = np.tile(np.repeat([True, False], 12), 10)[:, None].repeat(50, 1)
    assert not text_lines(ink, 1754) and text_lines(lines, 1754)


def test_a_justified_line_stays_one_line_and_a_gutter_still_splits_two_columns():
    from pipeline.extract.ocr import _split_line
    from schemas import OcrWord

    def words(xs, y=100):
        return [OcrWord(bbox=(x, y, x + w, y + 10), text="word", conf=90, block=1, par=1, line=1) for x, w in xs]

    # justified: every gap 26 px (2.6 line heights), evenly
    assert len(_split_line(words([(0, 40), (66, 30), (122, 50), (198, 20), (244, 40)]))) == 1
    # two columns: gaps of 5 px, then a 40 px gutter
    assert [len(s) for s in _split_line(words([(0, 40), (45, 30), (80, 40), (160, 30), (195, 40)]))] == [3, 2]


def test_beside_caption_keeps_its_label_when_its_last_line_is_short_next_to_the_photo():
    """A caption set beside a photo whose last line ("×40).") sits by the photo's corner: the figure must not take
    that line in, for its box would then reach over the caption's label and the label's words would be lost."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    yy, xx = np.mgrid[0:120, 0:240]
    photo = np.dstack([120 + 60 * np.sin(xx / 9.0) * np.cos(yy / 7.0)] * 3).astype(np.uint8)
    page.insert_image(pymupdf.Rect(60, 100, 300, 220), stream=numpy_to_png(photo))
    lines = ["Plate 5.4. Vitiligo on the neck,", "with follicular papules on the", "scalp and dotted vessels seen", "on dermoscopy of the same", "lesion; histology shows", "dilated capillaries (H&E,", "x40)."]
    for i, text in enumerate(lines):
        page.insert_text((312, 112 + 16.6 * i), text, fontsize=11)
    body = "Psoriasis is a common inflammatory disease of the skin with well demarcated plaques. " * 8
    page.insert_textbox(pymupdf.Rect(60, 300, 535, 520), body, fontsize=10)
    scanned = process_scanned_page(pixmap_to_numpy(page.get_pixmap(dpi=150)), 1, 595, 842, ExtractSettings())
    assert len(scanned.images) == 1
    assert scanned.images[0].bbox[2] < 310  # the figure stops short of the caption column
    caps = find_captions(scanned)
    assert [c.label for c in caps] == ["Plate 5.4"]


def test_a_figure_with_its_caption_beside_it_is_not_joined_to_the_figure_below():
    """Two photos, one above the other: the upper one's caption is beside it, the lower one's under it. The
    lower caption's columns reach under the upper photo, but that photo has a caption of its own: two figures."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    yy, xx = np.mgrid[0:120, 0:240]
    photo = np.dstack([120 + 60 * np.sin(xx / 9.0) * np.cos(yy / 7.0)] * 3).astype(np.uint8)
    page.insert_image(pymupdf.Rect(60, 100, 300, 220), stream=numpy_to_png(photo))
    page.insert_image(pymupdf.Rect(90, 260, 330, 380), stream=numpy_to_png(photo[:, ::-1].copy()))
    beside = ["Plate 5.4. Vitiligo on the neck,", "with follicular papules on the", "scalp and dotted vessels seen", "on dermoscopy of the same lesion."]
    for i, text in enumerate(beside):
        page.insert_text((312, 112 + 16.6 * i), text, fontsize=11)
    for i, text in enumerate(["Fig. 6.2 Dermoscopy of vitiligo on the", "extensor surfaces, showing arborising", "vessels and milia-like cysts."]):
        page.insert_text((90, 396 + 16.6 * i), text, fontsize=11)
    body = "Psoriasis is a common inflammatory disease of the skin with well demarcated plaques. " * 8
    page.insert_textbox(pymupdf.Rect(60, 440, 535, 660), body, fontsize=10)
    scanned = process_scanned_page(pixmap_to_numpy(page.get_pixmap(dpi=150)), 1, 595, 842, ExtractSettings())
    boxes = sorted(tuple(round(v) for v in im.bbox) for im in scanned.images)
    assert len(boxes) == 2, boxes
    assert boxes[0][3] < 240 and boxes[1][1] > 240
    assert sorted(c.label for c in find_captions(scanned)) == ["Fig. 6.2", "Plate 5.4"]


def test_a_scan_is_read_at_its_own_resolution_within_bounds():
    # OCR of small print on a 300 dpi scan resampled to 150 dpi loses labels and lines: a scan is rendered at
    # its own resolution, no coarser than render_dpi and no finer than scan_max_dpi
    import pymupdf

    from pipeline.extract import scan_dpi
    from pipeline.ingest import ingest
    from schemas.settings import ExtractSettings

    def book_at(dpi: int, turned: bool = False) -> bytes:
        doc = pymupdf.open()
        page = doc.new_page(width=144, height=216)  # a 2 x 3 inch page keeps the pixmaps small
        w, h = 2 * dpi, 3 * dpi
        if turned:
            w, h = h, w
        pix = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, w, h), False)
        pix.set_rect(pix.irect, (235,))
        page.insert_image(page.rect, pixmap=pix, rotate=90 if turned else 0)
        return doc.tobytes()

    settings = ExtractSettings()
    for dpi, want in ((100, 150), (200, 200), (300, 300), (400, 300)):
        book = ingest(book_at(dpi), "scan.pdf", settings)
        assert book.pages[0].full_page_image and scan_dpi(book.pages[0], settings) == want
    book = ingest(book_at(300, turned=True), "scan.pdf", settings)  # stored sideways, drawn upright
    assert scan_dpi(book.pages[0], settings) == 300
    assert scan_dpi(book.pages[0], settings.model_copy(update={"scan_max_dpi": 150})) == 150
