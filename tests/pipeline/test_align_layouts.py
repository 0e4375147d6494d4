"""Caption alignment across layouts: facing pages, plates with the caption at the foot, rows and grids of separate
images, captions beside a figure or in the margin, split captions (label above, legend below), and the cases
each rule must leave alone."""

import numpy as np

from pipeline.align import align_page
from pipeline.extract.images import make_region
from pipeline.figures import build_records
from schemas import Book, Caption, ExtractedBook, ImageRegion, Page, TextBlock, TextLine, TextSpan

W, H = 595.0, 842.0


def image(box, seed=0):
    rng = np.random.default_rng(seed)
    return make_region((rng.random((60, 80, 3)) * 200 + 30).astype(np.uint8), box, "embedded", 256)


def region(box):
    return ImageRegion(bbox=box, kind="embedded", png=b"", width=10, height=10, digest=str(box))


def caption(box, label="Fig. 1", text=None):
    return Caption(page=1, bbox=box, label=label, number=label.split()[-1], text=text or f"{label} text")


def line(box, text, size=10.0, font="Times-Roman"):
    return TextLine(bbox=box, text=text, spans=[TextSpan(text=text, size=size, font=font)])


def block(*lines):
    return TextBlock(bbox=(min(ln.bbox[0] for ln in lines), min(ln.bbox[1] for ln in lines),
                           max(ln.bbox[2] for ln in lines), max(ln.bbox[3] for ln in lines)), lines=list(lines))


def furniture(folio: int):
    return [block(line((60, 40, 220, 50), "Atlas of Skin Disease", 8.0, "Helvetica-Oblique")),
            block(line((290, 800, 305, 810), str(folio), 8.0, "Helvetica"))]


def body(y0, y1, x0=60.0, x1=535.0, size=10.0, font="Times-Roman"):
    """Running text: one block of full lines from y0 to y1."""
    lead = 1.25 * size
    lines, y, k = [], y0, 0
    while y + size <= y1:
        lines.append(line((x0, y, x1, y + size), f"Running text of the chapter on skin disease, line {k} of it.", size,
                          font))
        y += lead
        k += 1
    return block(*lines)


def page(number, images=(), blocks=()):
    return Page(number=number, width=W, height=H, scanned=False, images=list(images), text_blocks=list(blocks))


def records(*pages):
    book = Book(book_id="a" * 64, source_pdf="layouts.pdf", n_pages=len(pages))
    items, _ = build_records(ExtractedBook(book=book, pages=list(pages)))
    return [it.record for it in items]


def owners(figures):
    return {f.caption.label if f.caption else None: sorted(p.region_index for p in f.panels) for f in figures}


# ---------------------------------------------------------------- facing pages


def _plate_page(number):
    return page(number, [image((100, 150, 495, 650))], furniture(number))


def test_facing_page_plate_takes_the_caption_opening_the_next_page():
    cap = block(line((60, 70, 535, 80), "Plate 4. Erythema multiforme on the trunk of a man aged 40, with target", 8.5,
                     "Helvetica"),
                line((60, 80, 300, 90), "lesions on the palms and soles.", 8.5, "Helvetica"))
    pages = [page(1, [], furniture(1) + [body(70, 760)]), _plate_page(2),
             page(3, [], furniture(3) + [cap, body(110, 760)]), page(4, [], furniture(4) + [body(70, 760)])]
    recs = records(*pages)
    plate = [r for r in recs if r.page == 2]
    assert len(plate) == 1 and plate[0].kept
    assert plate[0].figure_label == "Plate 4" and plate[0].caption.startswith("Plate 4. Erythema multiforme")
    assert plate[0].page == 2  # the record keeps its own page


def test_facing_page_caption_closing_the_page_before_the_plate():
    cap = block(line((60, 740, 535, 750), "Fig. 7. Psoriasis of the elbows: silvery scale on sharply marginated", 8.5,
                     "Helvetica"),
                line((60, 750, 260, 760), "plaques of the extensor surfaces.", 8.5, "Helvetica"))
    pages = [page(1, [], furniture(1) + [body(70, 720), cap]), _plate_page(2),
             page(3, [], furniture(3) + [body(70, 760)])]
    plate = [r for r in records(*pages) if r.page == 2]
    assert plate[0].figure_label == "Fig. 7" and plate[0].kept


def test_facing_caption_that_owns_a_figure_of_its_own_page_stays_there():
    cap = block(line((60, 70, 535, 80), "Fig. 5. Lichen planus: violaceous papules on the wrist.", 8.5, "Helvetica"))
    own = image((100, 86, 495, 300), seed=1)
    pages = [page(1, [], furniture(1) + [body(70, 760)]), _plate_page(2),
             page(3, [own], furniture(3) + [cap, body(320, 760)])]
    recs = records(*pages)
    assert [r.figure_label for r in recs if r.page == 3] == ["Fig. 5"]
    plate = [r for r in recs if r.page == 2]
    assert plate[0].figure_label is None and "no_caption" in plate[0].reject_reasons


def test_a_page_with_running_text_is_no_plate():
    cap = block(line((60, 70, 535, 80), "Plate 4. Erythema multiforme on the trunk.", 8.5, "Helvetica"))
    text_page = page(2, [image((100, 450, 495, 650))], furniture(2) + [body(70, 430)])
    recs = records(page(1, [], furniture(1) + [body(70, 760)]), text_page,
                   page(3, [], furniture(3) + [cap, body(100, 760)]))
    assert [r.figure_label for r in recs if r.page == 2] == [None]


# ---------------------------------------------------------------- plates with the caption at the page foot


def _foot_caption():
    return block(line((60, 752, 535, 762), "FIG. 23-5 Urticaria in a 3-week-old neonate: wheals on the trunk and the",
                      8.5, "Helvetica"),
                 line((60, 762, 300, 772), "limbs, fading within a day.", 8.5, "Helvetica"))


def test_plate_with_its_caption_at_the_page_foot():
    recs = records(page(1, [image((120, 80, 475, 500))], furniture(1) + [_foot_caption()]))
    assert recs[0].figure_label == "FIG. 23-5" and recs[0].kept


def test_text_between_a_figure_and_a_far_caption_keeps_them_apart():
    recs = records(page(1, [image((120, 80, 475, 400))], furniture(1) + [body(420, 740), _foot_caption()]))
    assert recs[0].figure_label is None


def test_grid_plate_at_the_page_foot_is_one_figure():
    boxes = [(100, 100, 294, 300), (300, 100, 494, 300), (100, 306, 294, 506), (300, 306, 494, 506)]
    recs = records(page(1, [image(b, seed=i) for i, b in enumerate(boxes)], furniture(1) + [_foot_caption()]))
    assert len(recs) == 4 and {r.figure_label for r in recs} == {"FIG. 23-5"}
    assert len({r.figure_id for r in recs}) == 1


# ---------------------------------------------------------------- rows and grids of separate images


def test_row_beside_its_caption_is_one_figure():
    regions = [region((200, 100, 300, 180)), region((306, 100, 406, 180)), region((412, 100, 512, 180))]
    caps = [caption((60, 100, 190, 200), "Fig. 2", "Fig. 2 Three views of one lesion.")]
    assert owners(align_page(regions, caps, 1, lines=[])) == {"Fig. 2": [0, 1, 2]}


def test_grid_beside_its_caption_with_panel_letters_under_the_panels():
    regions = [region((100, 120, 250, 220)), region((256, 120, 406, 220)),
               region((100, 240, 250, 340)), region((256, 240, 406, 340))]
    caps = [caption((20, 120, 90, 250), "Fig. 3", "Fig. 3 Four views of one lesion.")]
    letters = [line((170, 223, 180, 233), "(a)", 8.0), line((326, 223, 336, 233), "(b)", 8.0),
               line((170, 343, 180, 353), "(c)", 8.0), line((326, 343, 336, 353), "(d)", 8.0)]
    assert owners(align_page(regions, caps, 1, lines=letters)) == {"Fig. 3": [0, 1, 2, 3]}


def test_a_wide_gutter_grid_under_one_caption_is_one_figure():
    # a 2x2 grid whose columns stand a wide gutter apart, one caption under it; another figure's caption above
    regions = [region((54, 72, 288, 348)), region((66, 365, 288, 517)), region((306, 365, 528, 517)),
               region((66, 524, 288, 676)), region((306, 524, 528, 676))]
    caps = [caption((306, 317, 540, 347), "Fig. 20-5"), caption((54, 692, 540, 723), "Fig. 20-6")]
    assert owners(align_page(regions, caps, 1, lines=[])) == {"Fig. 20-5": [0], "Fig. 20-6": [1, 2, 3, 4]}


def test_images_each_with_a_caption_of_their_own_stay_apart():
    # stacked: a caption over the upper plate, one under the lower
    stacked = [region((155, 283, 441, 485)), region((156, 499, 440, 688))]
    caps = [caption((156, 250, 437, 279), "Plate 7"), caption((156, 694, 417, 713), "Plate 8")]
    assert owners(align_page(stacked, caps, 1, lines=[])) == {"Plate 7": [0], "Plate 8": [1]}
    # side by side, a caption under each
    row = [region((60, 100, 290, 260)), region((300, 100, 530, 260))]
    caps = [caption((60, 266, 290, 290), "Fig. 1"), caption((300, 266, 530, 290), "Fig. 2")]
    assert owners(align_page(row, caps, 1, lines=[])) == {"Fig. 1": [0], "Fig. 2": [1]}
    # side by side in two columns under the caption of the figure above them
    two = [region((54, 70, 329, 276)), region((335, 70, 541, 276)), region((54, 327, 288, 502)),
           region((308, 327, 541, 560))]
    caps = [caption((54, 281, 525, 313), "Fig. 1.8"), caption((54, 507, 275, 539), "Fig. 1.7"),
            caption((308, 565, 535, 597), "Fig. 1.9")]
    assert owners(align_page(two, caps, 1, lines=[])) == {"Fig. 1.8": [0, 1], "Fig. 1.7": [2], "Fig. 1.9": [3]}


def test_a_caption_over_the_upper_image_and_one_beside_the_lower_make_two_figures():
    # the seed-2 scan: "Fig 17-3" over a wide photograph, 11 pt under it a second figure whose caption is set
    # beside it on the right; once they were one grid of two panels under "Fig 17-3"
    stacked = [region((80, 114, 367, 224)), region((46, 235, 272, 406))]
    caps = [caption((48, 69, 389, 111), "Fig 17-3"), caption((283, 240, 395, 381), "FIG. 17-4")]
    assert owners(align_page(stacked, caps, 1, lines=[])) == {"Fig 17-3": [0], "FIG. 17-4": [1]}
    # a beside caption whose first line starts a little above the image's top (a scan's region found short)
    stacked = [region((47, 372, 308, 539)), region((48, 550, 259, 692))]
    caps = [caption((319, 369, 481, 449), "Fig 1-2"), caption((48, 698, 258, 727), "FIG. 1.1A")]
    assert owners(align_page(stacked, caps, 1, lines=[])) == {"Fig 1-2": [0], "FIG. 1.1A": [1]}
    # with no caption beside the lower one, the two are one figure under the caption above (a grid column)
    caps = [caption((48, 330, 258, 366), "Fig 1-3")]
    assert owners(align_page(stacked, caps, 1, lines=[])) == {"Fig 1-3": [0, 1]}


# ---------------------------------------------------------------- captions beside a figure, in the margin


def test_caption_in_the_outer_margin_beside_a_centred_figure():
    regions = [region((120, 200, 370, 380))]
    caps = [caption((460, 200, 560, 300), "FIGURE 2", "FIGURE 2. Erythema multiforme.")]
    text = [line((60, 100, 440, 110), "Running text above the figure in the text column."),
            line((60, 400, 440, 410), "Running text below the figure in the text column.")]
    assert owners(align_page(regions, caps, 1, lines=text)) == {"FIGURE 2": [0]}
    # text between them (a figure in the left column, running text in the right one): not its caption
    text.append(line((380, 250, 440, 260), "more text"))
    assert owners(align_page(regions, caps, 1, lines=text)) == {None: [0]}


def test_beside_caption_level_with_its_row_beats_a_caption_above_it():
    # a caption opening the page (another figure's, on the facing page) sits over the row; the row's own caption
    # stands beside it, level with its top
    regions = [region((183, 142, 256, 215)), region((261, 142, 334, 215))]
    caps = [caption((55, 69, 306, 126), "Fig 7-5"), caption((55, 141, 162, 223), "PLATE 7.6")]
    assert owners(align_page(regions, caps, 1, lines=[])) == {"PLATE 7.6": [0, 1]}


# ---------------------------------------------------------------- split captions: label above, legend below


def _split_page(under, label="FIG. 6."):
    head = block(line((270, 100, 325, 110), label, 8.0, "Helvetica-Bold"))
    return page(1, [image((150, 116, 445, 316))], furniture(1) + [head] + under)


def test_split_caption_joins_the_legend_under_the_figure():
    legend = block(line((150, 322, 445, 331), "A normal sweat-gland, highly magnified, showing the coil", 8.0,
                        "Helvetica"),
                   line((150, 331, 300, 340), "and its duct.", 8.0, "Helvetica"),
                   line((150, 340, 300, 349), "a, sweat-coil; b, duct.", 8.0, "Helvetica-Oblique"))
    rec = records(_split_page([legend, body(365, 760)]))[0]
    assert rec.figure_label == "FIG. 6"
    assert rec.caption == ("FIG. 6. A normal sweat-gland, highly magnified, showing the coil and its duct. "
                           "a, sweat-coil; b, duct.")


def test_label_only_caption_does_not_swallow_running_text():
    # running text resumes under the figure after a float's gap
    rec = records(_split_page([body(330, 760)]))[0]
    assert rec.caption == "FIG. 6."
    # ... or right under it, in the page's running-text typography, down to the foot of the page
    rec = records(_split_page([body(322, 780)]))[0]
    assert rec.caption == "FIG. 6."
