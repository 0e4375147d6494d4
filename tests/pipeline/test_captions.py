from pipeline.captions import find_captions
from pipeline.captions.builder import join_lines
from pipeline.captions.labels import label_regex, match_label
from schemas import Page, TextBlock, TextLine, TextSpan

PATTERN = label_regex(["Fig", "Figure", "Figs", "Plate"])


def label(text):
    m = match_label(text, PATTERN)
    return (m.label, m.number) if m else None


def test_label_forms():
    assert label("Fig. 5.3 Psoriasis on the elbow.") == ("Fig. 5.3", "5.3")
    assert label("Figure 12-4 Lichen planus") == ("Figure 12-4", "12-4")
    assert label("FIG. 3.4 Basal cell carcinoma") == ("FIG. 3.4", "3.4")
    assert label("FIGURE 1: Purpura on the shoulder") == ("FIGURE 1", "1")
    assert label("Plate 7 Vitiligo") == ("Plate 7", "7")
    assert label("Figs. 2.1 and 2.2 Eczema") == ("Figs. 2.1", "2.1")
    assert label("Fig. 12.4A Melanoma in situ") == ("Fig. 12.4A", "12.4A")
    assert label("Fig 1. The tourniquet test") == ("Fig 1", "1")
    assert label("Figure 5 (a) rash (b) bullae") == ("Figure 5", "5")


def test_not_captions():
    assert label("see Fig. 5.3 for an example") is None
    assert label("Table 2.1 Drugs used in psoriasis") is None
    assert label("Figure 3 shows the distribution of lesions") is None
    assert label("Figurative language is rare") is None
    assert label("Fig. shows") is None


def test_join_lines_dehyphenates_and_collapses():
    assert join_lines(["Fig. 1 Marked hyper-", "keratosis of the  sole"]) == "Fig. 1 Marked hyperkeratosis of the sole"
    assert join_lines(["Fig. 2 Erythema-", "Multiforme"]) == "Fig. 2 Erythema- Multiforme"


def _block(lines, x0=50, y0=100, size=9):
    tls = []
    y = y0
    for text in lines:
        tls.append(TextLine(bbox=(x0, y, x0 + 200, y + size + 2), text=text, spans=[TextSpan(text=text, size=size)]))
        y += size + 2
    return TextBlock(bbox=(x0, y0, x0 + 200, y), lines=tls)


def test_find_captions_block_and_in_text_reference():
    page = Page(
        number=3, width=600, height=800, scanned=False,
        text_blocks=[
            _block(["Psoriasis is common (see Fig. 1.2).", "Fig. 1.3 is another example."], y0=50, size=10),
            _block(["Fig. 1.2 Chronic plaque psoriasis on the", "extensor surface of the elbow."], y0=300),
            _block(["Table 1.1 Treatments"], y0=500),
        ],
    )
    caps = find_captions(page)
    assert [c.label for c in caps] == ["Fig. 1.2"]
    assert caps[0].text == "Fig. 1.2 Chronic plaque psoriasis on the extensor surface of the elbow."
    assert caps[0].page == 3


def test_caption_continues_into_next_block_but_stops_at_gap_and_new_label():
    page = Page(
        number=1, width=600, height=800, scanned=False,
        text_blocks=[
            _block(["Figure 2-1 Atopic dermatitis in the"], y0=300),
            _block(["antecubital fossa of a child."], y0=311),
            _block(["Body text far below the caption."], y0=400, size=10),
            _block(["Figure 2-2 Nummular eczema."], y0=600),
        ],
    )
    caps = find_captions(page)
    assert [c.text for c in caps] == [
        "Figure 2-1 Atopic dermatitis in the antecubital fossa of a child.",
        "Figure 2-2 Nummular eczema.",
    ]


def test_word_per_line_pdf_rebuilds_lines_and_caption():
    """Some PDFs store every word as its own line, with zero-size space spans between them."""
    from pipeline.extract import visual_lines

    words = [("Figure", 50), (" 2", 76), (" Overview", 84), (" of", 130), (" the", 142), (" rash.", 160)]
    pieces = [TextLine(bbox=(x, 629, x + 6 * len(t), 638), text=t, spans=[TextSpan(text=t.strip(), size=8.5)])
              for t, x in words]
    (line,) = visual_lines(pieces)
    assert line.text.strip() == "Figure 2 Overview of the rash."


def test_bold_label_in_another_font():
    line = TextLine(bbox=(50, 300, 300, 311), text="FIG. 3.4 Basal cell carcinoma of the nose.",
                    spans=[TextSpan(text="FIG. 3.4", font="Helvetica-Bold", size=9, bold=True),
                           TextSpan(text=" Basal cell carcinoma of the nose.", font="Times-Roman", size=9)])
    page = Page(number=1, width=600, height=800, scanned=False, text_blocks=[TextBlock(bbox=line.bbox, lines=[line])])
    (cap,) = find_captions(page)
    assert cap.label == "FIG. 3.4" and cap.text == "FIG. 3.4 Basal cell carcinoma of the nose."


def test_side_by_side_captions_stay_apart():
    from pipeline.extract import visual_lines

    a = TextLine(bbox=(72, 702, 184, 713), text="Figure 1. Left.", spans=[])
    b = TextLine(bbox=(321, 700, 482, 711), text="Figure 2. Right.", spans=[])
    assert [ln.text for ln in visual_lines([a, b])] == ["Figure 1. Left.", "Figure 2. Right."]


def test_a_narrow_gutter_between_two_captions_splits_them_but_justified_word_pieces_join():
    from pipeline.extract import visual_lines

    # two captions under two figures, an 18 pt gutter (under two line heights): two lines, read column by column
    a1 = TextLine(bbox=(54, 699, 288, 708), text="Fig. 2-3. Early appearance of either superficial or deep frost-", spans=[])
    a2 = TextLine(bbox=(54, 710, 288, 719), text="bite. Note the mild edema of the toes.", spans=[])
    b1 = TextLine(bbox=(306, 699, 540, 708), text="Fig. 2-4. Superficial frostbite with large blebs extending", spans=[])
    b2 = TextLine(bbox=(306, 710, 430, 719), text="to the fingertips.", spans=[])
    assert [ln.text for ln in visual_lines([b1, a1, a2, b2])] == [a1.text, a2.text, b1.text, b2.text]
    # a PDF that stores each word as a line, justified: word gaps of more than a line height still join
    words = [TextLine(bbox=(x, 629, x + 30, 637.7), text=w, spans=[])
             for x, w in zip((94, 134, 174, 214), ("Overview", "of", "the", "rash."))]
    assert [ln.text for ln in visual_lines(words)] == ["Overview of the rash."]


def test_digital_page_reads_text_as_get_textpage_does_on_plain_and_rotated_pages():
    """digital_page reads the text from the page's display list; on a page with /Rotate (whose display list is
    turned) it must still give the coordinates and text that the page's own text analysis gives."""
    import pymupdf

    from pipeline.extract import digital_page, text_blocks
    from schemas.settings import ExtractSettings

    for rotation in (0, 90):
        doc = pymupdf.open()
        page = doc.new_page(width=595, height=842)
        page.insert_text((60, 100), "Figure 1.2 Psoriasis on the elbow of a young man.", fontsize=9)
        page.insert_text((60, 400), "Running text of the chapter goes on here.", fontsize=9)
        page.set_rotation(rotation)
        got = [(b.bbox, [ln.text for ln in b.lines]) for b in digital_page(page, ExtractSettings()).text_blocks]
        want = [(b.bbox, [ln.text for ln in b.lines]) for b in text_blocks(page, page.get_textpage(flags=pymupdf.TEXTFLAGS_TEXT))]
        assert got == want and len(got) == 2, rotation
        assert got[0][0][1] < 100 < got[0][0][3]  # unrotated coordinates: the caption's line is at y = 100


def test_a_label_followed_by_markup_or_symbols_starts_a_caption_and_prose_does_not():
    hostile = "Fig. 2.1 <script>alert(1)</script> Lesion on the arm."
    assert label(hostile) == ("Fig. 2.1", "2.1")
    assert label("Fig. 3.2 *Lesion* of the shin") == ("Fig. 3.2", "3.2")
    assert label("Fig. 3 «Vitiligo»") == ("Fig. 3", "3")
    assert label("Fig. 5 a) rash b) bullae") == ("Fig. 5", "5")
    # running text that begins a line with a label: a lower-case word, or a clause's punctuation
    assert label("Fig. 5, which shows the rash") is None
    assert label("Fig. 5), the lesions are") is None
    assert label("Fig. 5's lesions are older") is None
    assert label("Fig. 1.3 is another example.") is None


def test_a_caption_with_markup_is_found_aligned_and_kept_verbatim():
    import io

    import numpy as np
    import pymupdf
    from PIL import Image

    from flows.rejects import rejects_html
    from pipeline.extract import extract_book
    from pipeline.figures import build_records
    from pipeline.ingest import ingest

    hostile = "Fig. 2.1 <script>alert(1)</script> Lesion on the arm."
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray((rng.random((90, 120, 3)) * 200 + 30).astype(np.uint8)).save(buf, "PNG")
    doc = pymupdf.open()
    page = doc.new_page(width=500, height=500)
    page.insert_text((50, 40), "Body text so that this page has a text layer of its own, as books do.", fontsize=9)
    page.insert_image(pymupdf.Rect(50, 60, 290, 240), stream=buf.getvalue())
    page.insert_text((50, 255), hostile, fontsize=9)
    data = doc.tobytes()
    items, _ = build_records(extract_book(data, ingest(data, "hostile.pdf")))
    [rec] = [it.record for it in items]
    assert rec.figure_label == "Fig. 2.1"
    assert rec.caption == hostile
    assert "no_caption" not in rec.reject_reasons
    # the contact sheet shows it as text: escaped, never as a tag
    rec.reject("filter_test")
    sheet = rejects_html([rec]).decode()
    assert "<script>alert(1)</script>" not in sheet
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in sheet


def _styled_block(rows, x0=50, y0=100):
    """A block of lines, each a list of (text, size) spans."""
    tls, y = [], y0
    for spans in rows:
        size = max(sz for _, sz in spans)
        text = "".join(t for t, _ in spans)
        tls.append(TextLine(bbox=(x0, y, x0 + 220, y + size + 2), text=" ".join(text.split()),
                            spans=[TextSpan(text=t, size=sz, bold=i == 0) for i, (t, sz) in enumerate(spans)]))
        y += size + 2
    return TextBlock(bbox=(x0, y0, x0 + 220, y), lines=tls)


def test_a_label_set_apart_from_a_smaller_or_larger_body_keeps_the_whole_body():
    body = "Nummular eczema: coin-shaped plaques", "on the shins of an older man, with", "crusts and excoriations."
    for label_size, body_size in [(9, 7.5), (7, 8.5), (8, 8)]:
        block = _styled_block([[("Fig. 4.2 ", label_size), (body[0], body_size)], [(body[1], body_size)],
                               [(body[2], body_size)]])
        running = _styled_block([[("Body text of the page, set larger than captions.", 10)]], y0=160)
        page = Page(number=1, width=600, height=800, scanned=False, text_blocks=[block, running])
        (cap,) = find_captions(page)
        assert cap.text == "Fig. 4.2 " + " ".join(body), (label_size, body_size, cap.text)


def test_a_label_on_its_own_line_takes_the_body_size_from_the_next_line():
    block = _styled_block([[("FIGURE 7", 11)], [("Lichen planus: violaceous polygonal", 8)],
                           [("papules on the wrist.", 8)], [("A body paragraph in a larger size.", 10)]])
    (cap,) = find_captions(Page(number=1, width=600, height=800, scanned=False, text_blocks=[block]))
    assert cap.text == "FIGURE 7 Lichen planus: violaceous polygonal papules on the wrist."


def test_roman_plate_numbers_are_labels_but_roman_looking_words_are_not():
    assert label("Plate IV Vitiligo on the backs of the hands") == ("Plate IV", "IV")
    assert label("PLATE XII. Discoid lupus") == ("PLATE XII", "XII")
    assert label("Plate IV shows the hands") is None
    assert label("Figure In the clinic") is None
    assert label("Figure civil") is None
