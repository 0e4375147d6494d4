from pipeline.align import align_page
from pipeline.panels import assign_panels, parse_subcaptions, reading_order
from schemas import Caption, ImageRegion, Panel


def region(box):
    return ImageRegion(bbox=box, kind="embedded", png=b"", width=10, height=10, digest=str(box))


def caption(box, label="Fig. 1", text=None):
    return Caption(page=1, bbox=box, label=label, number=label.split()[-1], text=text or f"{label} text")


def owners(figures):
    return {f.caption.label if f.caption else None: sorted(p.region_index for p in f.panels) for f in figures}


def test_caption_below_and_above():
    regions = [region((50, 100, 250, 250)), region((50, 400, 250, 550))]
    caps = [caption((50, 256, 250, 270), "Fig. 1"), caption((50, 380, 250, 394), "Fig. 2")]
    got = owners(align_page(regions, caps, 1))
    assert got == {"Fig. 1": [0], "Fig. 2": [1]}


def test_global_assignment_beats_greedy():
    # the caption between two figures is nearer the lower image, but the lower image has its own caption
    # right below it; the one-to-one assignment must give each caption its own figure
    regions = [region((50, 100, 250, 250)), region((50, 270, 250, 400))]
    caps = [caption((50, 255, 250, 266), "Fig. 1"), caption((50, 404, 250, 416), "Fig. 2")]
    assert owners(align_page(regions, caps, 1)) == {"Fig. 1": [0], "Fig. 2": [1]}


def test_two_columns_do_not_mix():
    regions = [region((40, 100, 290, 250)), region((310, 100, 560, 250))]
    caps = [caption((40, 255, 290, 270), "Fig. 1"), caption((310, 255, 560, 270), "Fig. 2")]
    assert owners(align_page(regions, caps, 1)) == {"Fig. 1": [0], "Fig. 2": [1]}


def test_one_caption_owns_side_by_side_panels_and_a_stack():
    regions = [region((40, 100, 290, 250)), region((300, 100, 560, 250)), region((40, 260, 290, 400))]
    caps = [caption((40, 405, 560, 420), "Fig. 3", "Fig. 3 (a) x (b) y (c) z")]
    assert owners(align_page(regions, caps, 1)) == {"Fig. 3": [0, 1, 2]}


def test_caption_beside_figure():
    regions = [region((40, 100, 300, 300))]
    caps = [caption((310, 120, 560, 160), "Plate 7")]
    assert owners(align_page(regions, caps, 1)) == {"Plate 7": [0]}


def test_far_caption_leaves_region_uncaptioned():
    regions = [region((40, 100, 300, 200))]
    caps = [caption((40, 600, 300, 620), "Fig. 9")]
    assert owners(align_page(regions, caps, 1)) == {None: [0]}


def test_reading_order_rows_then_columns():
    panels = [Panel(region_index=i, bbox=b) for i, b in enumerate([(300, 100, 500, 200), (40, 105, 280, 195), (40, 220, 280, 300)])]
    assert [p.region_index for p in reading_order(panels)] == [1, 0, 2]


def test_subcaption_forms():
    assert parse_subcaptions("Fig. 1.4 (a) Plaque on the elbow. (b) Nail pitting.") == {
        "a": "Plaque on the elbow", "b": "Nail pitting"}
    assert parse_subcaptions("Figure 2 (A and B) Wheals on the chest") == {"a": "Wheals on the chest", "b": "Wheals on the chest"}
    assert parse_subcaptions("Fig. 3 A, vesicles on the palm; B, erosions on the sole.") == {
        "a": "vesicles on the palm", "b": "erosions on the sole"}
    assert parse_subcaptions("Fig. 4 Left: before treatment. Right: after six weeks.") == {
        "a": "before treatment", "b": "after six weeks"}
    assert parse_subcaptions("Fig. 5 (a-c) Three stages of healing") == {k: "Three stages of healing" for k in "abc"}
    assert parse_subcaptions("Fig. 6 Psoriasis of the scalp.") == {}


def test_subcaption_markers_after_their_text():
    # the marker closes its clause: the text before "(a)" is panel a's, the text between "(a)" and "(b)" is b's
    assert parse_subcaptions("Figure 1. Maculopapular rash on the trunk (a) with haemorrhagic bullae on both thighs (b).") == {
        "a": "Maculopapular rash on the trunk", "b": "with haemorrhagic bullae on both thighs"}
    # a marker first is a prefix marker even when a later one ends the caption
    assert parse_subcaptions("Fig. 7 (a) Plaque on the elbow; (b)") == {"a": "Plaque on the elbow"}


def test_letters_joined_at_the_start_of_a_clause_name_each_panel():
    # journals: "A, ... B, ... D and E, ..." names five panels, not three
    subs = parse_subcaptions("FIGURE 3. Endocytosis of Rgt2. A, Western blot. B, GFP-Rgt2 levels. C, schematic. "
                             "D and E, yeast cells expressing Rgt2-HA.")
    assert sorted(subs) == ["a", "b", "c", "d", "e"] and subs["d"] == subs["e"] == "yeast cells expressing Rgt2-HA"
    # a capital that starts a word is not a panel letter
    assert parse_subcaptions("Fig. 9 A, Biopsy of the arm. B, Erosions.") == {"a": "Biopsy of the arm", "b": "Erosions"}


def test_subcaption_never_starts_with_punctuation():
    assert parse_subcaptions("Figure 2. (A): petechiae on the legs. (B): positive tourniquet test.") == {
        "a": "petechiae on the legs", "b": "positive tourniquet test"}
    assert parse_subcaptions("Fig. 8 (a) — nail pitting (b) – onycholysis") == {"a": "nail pitting", "b": "onycholysis"}


def test_assign_panels_letters_in_reading_order():
    from schemas import Figure

    fig = Figure(page=1, caption=caption((40, 300, 560, 320), "Fig. 1.4", "Fig. 1.4 (a) Plaque. (b) Nail pitting."),
                 panels=[Panel(region_index=0, bbox=(300, 100, 560, 250)), Panel(region_index=1, bbox=(40, 100, 290, 250))])
    out = assign_panels(fig)
    assert [(p.region_index, p.panel, p.subcaption) for p in out.panels] == [(1, "a", "Plaque"), (0, "b", "Nail pitting")]


def _composite(layout="row"):
    import numpy as np

    rng = np.random.default_rng(3)
    img = np.full((200, 420, 3), 255, np.uint8)
    img[10:190, 5:200] = (rng.random((180, 195, 3)) * 120 + 60).astype(np.uint8)
    img[10:190, 220:415] = (rng.random((180, 195, 3)) * 120 + 60).astype(np.uint8)
    return img if layout == "row" else img.transpose(1, 0, 2).copy()


def test_split_by_gutters_row_and_column():
    from pipeline.panels import split_by_gutters

    assert split_by_gutters(_composite("row")) == [(5, 10, 200, 190), (220, 10, 415, 190)]
    assert split_by_gutters(_composite("col")) == [(10, 5, 190, 200), (10, 220, 190, 415)]


def test_split_by_gutters_keeps_a_plain_photo_whole():
    import numpy as np

    from pipeline.panels import split_by_gutters

    img = (np.random.default_rng(0).random((100, 150, 3)) * 200).astype(np.uint8)
    assert split_by_gutters(img) == [(0, 0, 150, 100)]


def test_composite_raster_becomes_panel_records_when_caption_names_panels():
    from pipeline.extract.images import make_region
    from pipeline.figures import build_records
    from schemas import Book, ExtractedBook, Page, TextBlock, TextLine, TextSpan

    def page_with(caption_text):
        reg = make_region(_composite(), (50, 100, 470, 300), "embedded", 2048)
        line = TextLine(bbox=(50, 306, 470, 318), text=caption_text, spans=[TextSpan(text=caption_text, size=9)])
        return Page(number=1, width=600, height=800, scanned=False, images=[reg],
                    text_blocks=[TextBlock(bbox=line.bbox, lines=[line])])

    book = Book(book_id="f" * 64, source_pdf="x.pdf", n_pages=1)
    items, _ = build_records(ExtractedBook(book=book, pages=[page_with("Fig. 4 (a) Vesicles on the palm. (b) Erosions.")]))
    recs = [it.record for it in items]
    assert [(r.panel, r.subcaption) for r in recs] == [("a", "Vesicles on the palm"), ("b", "Erosions")]
    assert recs[0].bbox[2] <= recs[1].bbox[0] and len({r.figure_id for r in recs}) == 1
    items, _ = build_records(ExtractedBook(book=book, pages=[page_with("Fig. 4 Vesicles on the palm.")]))
    assert len(items) == 1 and items[0].record.panel is None


def test_compound_caption_over_one_photograph_keeps_it_whole_with_a_note():
    """The caption names two panels but the raster is one smooth photograph: no border is sure, so the figure
    is not cut; it stays one kept record noted panels_unsplit, counted in the stage report."""
    import numpy as np

    from pipeline.extract.images import make_region
    from pipeline.figures import build_records
    from schemas import Book, ExtractedBook, Page, TextBlock, TextLine, TextSpan

    yy, xx = np.mgrid[0:200, 0:420]
    photo = np.stack([120 + 60 * np.sin(xx / 37.0), 90 + 50 * np.cos(yy / 23.0), 80 + 0 * xx], -1).astype(np.uint8)
    text = "Fig. 5 (a) Papules on the wrist. (b) Plaques on the shin."
    line = TextLine(bbox=(50, 306, 470, 318), text=text, spans=[TextSpan(text=text, size=9)])
    page = Page(number=1, width=600, height=800, scanned=False,
                images=[make_region(photo, (50, 100, 470, 300), "embedded", 2048)],
                text_blocks=[TextBlock(bbox=line.bbox, lines=[line])])
    items, report = build_records(ExtractedBook(book=Book(book_id="e" * 64, source_pdf="x.pdf", n_pages=1), pages=[page]))
    assert len(items) == 1
    rec = items[0].record
    assert rec.kept and rec.panel is None and rec.notes == ["panels_unsplit"] and rec.caption == text
    assert report.reasons.get("panels_unsplit") == 1 and report.kept == 1


def test_panel_splits_run_through_the_mapper_in_worker_processes():
    """build_records hands the splits to ``mapper`` (the flow's process pool): the same records as in-process."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from pipeline.extract.images import make_region
    from pipeline.figures import build_records
    from schemas import Book, ExtractedBook, Page, TextBlock, TextLine, TextSpan

    def page_with(number, caption_text):
        reg = make_region(_composite("row" if number % 2 else "col"), (50, 100, 470, 300), "embedded", 2048)
        line = TextLine(bbox=(50, 306, 470, 318), text=caption_text, spans=[TextSpan(text=caption_text, size=9)])
        return Page(number=number, width=600, height=800, scanned=False, images=[reg],
                    text_blocks=[TextBlock(bbox=line.bbox, lines=[line])])

    book = Book(book_id="f" * 64, source_pdf="x.pdf", n_pages=3)
    extracted = ExtractedBook(book=book, pages=[page_with(1, "Fig. 1 (a) Papules. (b) Plaques."), page_with(2, "Fig. 2 Plaque."),
                                                page_with(3, "Fig. 3 (A) Before. (B) After.")])
    mapped = []

    def recording_map(fn, jobs):
        jobs = list(jobs)
        mapped.append((fn.__name__, len(jobs)))
        with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
            return list(pool.map(fn, jobs))

    here, _ = build_records(extracted)
    pooled, _ = build_records(extracted, mapper=recording_map)
    assert mapped == [("split_panels", 2)]  # the two captions that name panels
    assert [it.record.model_dump() for it in pooled] == [it.record.model_dump() for it in here]
    assert [it.png for it in pooled] == [it.png for it in here]
    assert [(it.record.page, it.record.panel) for it in pooled] == [(1, "a"), (1, "b"), (2, None), (3, "a"), (3, "b")]


def test_figure_spanning_both_columns_with_spanning_caption():
    regions = [region((40, 80, 560, 300)), region((40, 360, 290, 500)), region((310, 360, 560, 500))]
    caps = [caption((40, 305, 560, 330), "Fig. 1"), caption((40, 505, 290, 520), "Fig. 2"), caption((310, 505, 560, 520), "Fig. 3")]
    assert owners(align_page(regions, caps, 1)) == {"Fig. 1": [0], "Fig. 2": [1], "Fig. 3": [2]}


def test_caption_carried_to_the_next_column():
    # a figure fills the bottom of the left column; its caption opens the right column
    regions = [region((40, 560, 290, 780)), region((310, 300, 560, 450))]
    caps = [caption((310, 60, 560, 90), "Fig. 5"), caption((310, 455, 560, 470), "Fig. 6")]
    assert owners(align_page(regions, caps, 1)) == {"Fig. 5": [0], "Fig. 6": [1]}


def test_caption_in_next_column_below_a_figure_is_not_carried():
    regions = [region((40, 560, 290, 780)), region((310, 60, 560, 200))]
    caps = [caption((310, 205, 560, 220), "Fig. 7")]
    assert owners(align_page(regions, caps, 1)) == {"Fig. 7": [1], None: [0]}


def test_left_aligned_caption_over_centred_figure():
    regions = [region((209, 103, 356, 407))]
    caps = [caption((56, 82, 224, 94), "Figure 1")]
    assert owners(align_page(regions, caps, 1)) == {"Figure 1": [0]}
    far = [caption((56, 20, 224, 32), "Figure 1")]  # same overlap, but far above: not its caption
    assert owners(align_page(regions, far, 1)) == {None: [0]}


def test_caption_overlapping_the_bottom_of_its_image_box():
    # a screenshot whose white margin runs under its caption: the caption still belongs to it
    regions = [region((61, 428, 532, 657))]
    caps = [caption((65, 649, 347, 658), "Figure 3-11")]
    assert owners(align_page(regions, caps, 1)) == {"Figure 3-11": [0]}


def test_two_stacked_images_with_a_caption_beside_each_are_two_figures():
    # a panel gap apart, one under the other, but each with its own caption beside it (one in the text
    # column, one in the outer margin): two figures, not the panels of one
    regions = [region((52, 75, 300, 199)), region((96, 211, 447, 343))]
    caps = [caption((312, 121, 474, 199), "Plate 2.3"), caption((503, 211, 589, 324), "FIG. 2-4")]
    assert owners(align_page(regions, caps, 1)) == {"Plate 2.3": [0], "FIG. 2-4": [1]}
    # one caption beside the pair of them: one figure of two panels
    assert owners(align_page(regions, [caption((460, 150, 560, 300), "Fig. 5")], 1)) == {"Fig. 5": [0, 1]}
