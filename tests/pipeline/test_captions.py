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


# ---------------------------------------------------------------- credit lines, keys, split labels, columns


def _ln(x0, y0, x1, text, size=8.0, font="Times-Roman"):
    """One line of one span, its box as tall as the font's line (1.22 x size)."""
    return TextLine(bbox=(x0, y0, x1, y0 + 1.22 * size), text=text, spans=[TextSpan(text=text, size=size, font=font)])


def _blk(lines):
    return TextBlock(bbox=(min(ln.bbox[0] for ln in lines), min(ln.bbox[1] for ln in lines),
                           max(ln.bbox[2] for ln in lines), max(ln.bbox[3] for ln in lines)), lines=lines)


def _stack(x0, y0, texts, size=8.0, font="Times-Roman", x1=None):
    """A block of lines set one under the other in one size and font."""
    step = 1.22 * size
    return _blk([_ln(x0, y0 + k * step, x1 or x0 + 5.0 * len(t), t, size, font) for k, t in enumerate(texts)])


def _page(blocks, images=(), width=595, height=842):
    return Page(number=1, width=width, height=height, scanned=False, text_blocks=list(blocks), images=list(images))


def test_a_credit_line_under_the_caption_in_a_smaller_italic_size_belongs_to_it():
    caption = _stack(50, 300, ["Fig. 4.2 Nummular eczema: coin-shaped plaques", "on the shins of an older man."], 8.5)
    for credit in ["Courtesy of Dr A. Marsh, Northfield Hospital.", "Reprinted with permission from the Atlas (2009).",
                   "Reproduced with permission from K. Okafor.", "(credit: L. Brenner)", "Source: the Skin Atlas.",
                   "Adapted from Smith (1998).", "Photograph courtesy of J. Tanaka.", "© 2004 Synthetic Press."]:
        under = _stack(50, caption.bbox[3] + 2, [credit], 7.5, "Times-Italic")
        running = _stack(50, under.bbox[3] + 14, ["Body text of the chapter goes on here."], 10)
        (cap,) = find_captions(_page([caption, under, running]))
        assert cap.text == "Fig. 4.2 Nummular eczema: coin-shaped plaques on the shins of an older man. " + credit
    # a credit that wraps goes on in its own size; the body text after it does not belong to the caption
    under = _stack(50, caption.bbox[3] + 2, ["Reprinted with permission from A Primer of Skin", "Pathology (1993)."],
                   7.5, "Times-Italic")
    running = _stack(50, under.bbox[3] + 3, ["Body text of the chapter goes on here."], 10)
    (cap,) = find_captions(_page([caption, under, running]))
    assert cap.text.endswith("older man. Reprinted with permission from A Primer of Skin Pathology (1993).")


def test_a_credit_sentence_far_below_or_a_smaller_line_without_a_cue_is_not_taken():
    caption = _stack(50, 300, ["Fig. 4.2 Nummular eczema on the shins."], 8.5)
    far = _stack(50, caption.bbox[3] + 40, ["Courtesy of Dr A. Marsh, Northfield Hospital."], 7.5, "Times-Italic")
    note = _stack(50, caption.bbox[3] + 2, ["Table notes in a smaller size directly below."], 7.5, "Times-Italic")
    prose = _stack(50, caption.bbox[3] + 2, ["Courtesy is due to the patients who agreed."], 7.5, "Times-Italic")
    body = _stack(50, caption.bbox[3] + 2, ["Reprinted editions of the atlas kept the plates."], 10)
    panel = _stack(50, caption.bbox[3] + 2, ["(c) Histology showing acanthosis, a panel's own legend set small"],
                   7.5, "Times-Italic")  # "(c)" is a panel marker, not a copyright sign
    for blocks in ([caption, far], [caption, note], [caption, prose], [caption, body], [caption, panel]):
        (cap,) = find_captions(_page(blocks))
        assert cap.text == "Fig. 4.2 Nummular eczema on the shins.", blocks[1].lines[0].text


def test_a_key_line_under_the_caption_in_a_smaller_size_belongs_to_it():
    caption = _stack(50, 300, ["Fig. 2 Schematic of the layers of normal skin."], 8.5)
    key = _stack(50, caption.bbox[3] + 1, ["a, sweat-coil; b, capillary loop; c,", "dermis; d, duct."], 7.5, "Times-Italic")
    running = _stack(50, key.bbox[3] + 3, ["Body text of the chapter goes on here."], 10)
    (cap,) = find_captions(_page([caption, key, running]))
    assert cap.text == ("Fig. 2 Schematic of the layers of normal skin. a, sweat-coil; b, capillary loop; c, dermis; "
                        "d, duct.")
    # the key in the caption's own size was, and is, part of the caption; a key-like line far below is not
    same = _stack(50, caption.bbox[3], ["a, duct; b, dermis."], 8.5, "Times-Italic")
    assert find_captions(_page([caption, same]))[0].text.endswith("normal skin. a, duct; b, dermis.")
    far = _stack(50, caption.bbox[3] + 30, ["a, duct; b, dermis."], 7.5)
    assert find_captions(_page([caption, far]))[0].text == "Fig. 2 Schematic of the layers of normal skin."

    from pipeline.captions.builder import is_key

    assert is_key("a, sweat-coil; b, duct; c, hair follicle.") and is_key("a, sweat-coil; b,") and is_key("c, duct.")
    assert is_key("1 = epidermis; 2 = dermis") and is_key("(a) : basal layer; (b) : dermis")
    assert not is_key("A, Clinical view showing ill-defined erythema on the scalp of a man.")
    assert not is_key("(A) (B) (C)") and not is_key("Table notes in a smaller size.") and not is_key("0, 20")


def test_a_smaller_label_that_extraction_left_after_its_line_is_joined_to_it():
    """A label set smaller than its body on the body's baseline sorts after the body's first line (its centre is
    lower), and text extraction leaves it a row of its own at the block's end: the caption was the label alone."""
    body = [_ln(341.8, 677.8, 486.9, "Schematic of the layers of", 8.5, "Courier"),
            _ln(295.1, 688.2, 488.1, "normal skin: epidermis, dermis and", 8.5, "Courier"),
            _ln(295.1, 698.5, 341.0, "subcutis.", 8.5, "Courier")]
    label = TextLine(bbox=(295.1, 678.7, 334.3, 688.1), text="Fig. 9-6", spans=[TextSpan(text="Fig.", size=7.5, font="Courier"),
                                                                                   TextSpan(text="9-6", size=7.5, font="Courier")])
    (cap,) = find_captions(_page([_blk(body + [label])]))
    assert cap.text == "Fig. 9-6 Schematic of the layers of normal skin: epidermis, dermis and subcutis."
    assert cap.bbox[1] == 677.8
    # justified: the label's gap to its line is a stretched word space (wider than a line height), printed across
    # by the lines below it
    body = [_ln(407.3, 66.5, 556.8, "– Contact dermatitis in a"), _ln(344.6, 76.3, 556.8, "74-year-old man. (a) Clinical"),
            _ln(344.6, 86.1, 493.4, "view of the nails."), _ln(344.6, 66.6, 395.2, "PLATE 3–1")]
    (cap,) = find_captions(_page([_blk(body)]))
    assert cap.text == "PLATE 3–1 – Contact dermatitis in a 74-year-old man. (a) Clinical view of the nails."


def test_two_captions_side_by_side_in_one_block_stay_apart():
    from pipeline.captions.builder import mend_lines

    # the gutter between them (18 pt, two line heights) is blank on every line: no word space, two captions
    rows = [_ln(54, 699, 288, "Fig. 2-3. Early appearance of either superficial or deep frost-"),
            _ln(54, 710, 288, "bite. Note the mild edema of the toes."),
            _ln(306, 699, 540, "Fig. 2-4. Superficial frostbite with large blebs extending"),
            _ln(306, 710, 430, "to the fingertips.")]
    block = _blk(rows)
    assert mend_lines(block) is block
    # two columns in one block under a title across both: the gutter (14 pt, over a line height) stays a gutter
    title = _ln(54, 684, 540, "Chapter 2: Cold Injuries and the Skin of the Extremities in the Field")
    assert [ln.text for ln in mend_lines(_blk([title] + rows)).lines] == [title.text] + [r.text for r in rows]
    assert [c.text for c in find_captions(_page([block]))] == [
        "Fig. 2-3. Early appearance of either superficial or deep frostbite. Note the mild edema of the toes.",
        "Fig. 2-4. Superficial frostbite with large blebs extending to the fingertips."]


def _column_page(cont, cap_end="and secondary changes such as", below=None, cap_font="Helvetica", cont_font=None,
                 head_font="Helvetica-Oblique"):
    """A two-column page (columns at x 50-280 and 300-530, text area y 70-770): a running head, body text and a
    figure in the left column with its caption at the column's foot, ``cont`` at the top of the right column
    (then body text), a page number under the text area. ``below``: a block under the caption."""
    from schemas import ImageRegion

    head = _stack(300, 40, ["Chapter 7: Drug Eruptions"], 8, head_font)
    body_left = _stack(50, 70, ["Running text of the chapter, set in the body size"] * 20, 10)
    caption = _stack(50, 740, ["Fig. 3.1 Dermoscopy of psoriasis on the trunk, showing", cap_end], 8, cap_font, x1=280)
    blocks = [head, body_left, caption]
    y = 70.0
    if cont:
        top = cont if isinstance(cont, TextBlock) else _stack(300, 70, cont, 8, cont_font or cap_font, x1=530)
        blocks.append(top)
        y = top.bbox[3] + 14
    blocks.append(_stack(300, y, ["Running text of the chapter, set in the body size"] * 10, 10))
    blocks.append(_stack(280, 800, ["297"], 8))
    if below:
        blocks.append(below)
    image = ImageRegion(bbox=(50, 330, 280, 730), kind="embedded", png=b"", width=1, height=1, digest="x")
    return _page(blocks, [image])


def test_a_caption_cut_by_the_foot_of_its_column_goes_on_at_the_top_of_the_next():
    start = "Fig. 3.1 Dermoscopy of psoriasis on the trunk, showing and secondary changes such as"
    (cap,) = find_captions(_column_page(["post-inflammatory pigmentation may obs-", "cure the primary morphology."]))
    assert cap.text == start + " post-inflammatory pigmentation may obscure the primary morphology."
    assert cap.bbox[0] == 50 and cap.bbox[1] == 740  # the caption's place is where its label is, next to its figure
    # cut at a line end that ends a sentence: the next column's line going on in lower case still continues it
    (cap,) = find_captions(_column_page(["which the lesion cleared.", "Courtesy of Dr A. Marsh."], cap_end="as such."))
    assert cap.text.endswith("as such. which the lesion cleared. Courtesy of Dr A. Marsh.")
    # a table lower on the page whose cells start left of the next column's edge does not hide that column
    page = _column_page(["post-inflammatory pigmentation may obs-", "cure the primary morphology."])
    cells = _blk([_ln(285, 500, 330, "Dermoscopy", 7, "Times-Bold"), _ln(285, 510, 340, "Peripheral globules", 7),
                  _ln(285, 520, 340, "A structureless pattern", 7)])
    (cap,) = find_captions(page.model_copy(update={"text_blocks": page.text_blocks + [cells]}))
    assert cap.text == start + " post-inflammatory pigmentation may obscure the primary morphology."
    # the continuation's credit line under it, smaller, comes too
    page = _column_page(["post-inflammatory pigmentation."])
    cont = page.text_blocks[3]
    credit = _stack(300, cont.bbox[3] + 2, ["(credit: S. Varga)"], 7, "Helvetica-Oblique")
    body = page.text_blocks[4].model_copy(update={"bbox": (300, credit.bbox[3] + 14, 530, credit.bbox[3] + 140)})
    (cap,) = find_captions(page.model_copy(update={"text_blocks": page.text_blocks[:4] + [credit, body] + page.text_blocks[5:]}))
    assert cap.text.endswith("such as post-inflammatory pigmentation. (credit: S. Varga)")
    # a running head above the next column in the caption's very style is page furniture, not the continuation
    (cap,) = find_captions(_column_page(["post-inflammatory pigmentation."], head_font="Helvetica"))
    assert cap.text.endswith("such as post-inflammatory pigmentation.")


def test_the_next_columns_body_text_or_a_finished_caption_is_not_swallowed():
    plain = "Fig. 3.1 Dermoscopy of psoriasis on the trunk, showing and secondary changes such as"
    # the next column opens with running text (the body's size): it is not the caption's, even mid-sentence
    (cap,) = find_captions(_column_page(None))
    assert cap.text == plain
    # a caption that ends a sentence, and the next column opens with another caption-styled block in capitals
    (cap,) = find_captions(_column_page(["Table 3.2 Drugs that cause eruptions."], cap_end="as in psoriasis."))
    assert cap.text.endswith("as in psoriasis.")
    (cap,) = find_captions(_column_page(["Box notes set in the caption's style."], cap_end="as in psoriasis."))
    assert cap.text.endswith("as in psoriasis.")
    # a caption without a full stop and a table's caption opening the next column: a new item, not the rest
    (cap,) = find_captions(_column_page(["Table 3.2 Drugs that cause eruptions"], cap_end="as in psoriasis"))
    assert cap.text.endswith("as in psoriasis")
    # a block in another font at the top of the next column is not the caption's continuation
    (cap,) = find_captions(_column_page(["post-inflammatory pigmentation."], cont_font="Helvetica-Bold"))
    assert cap.text == plain
    # the next column opens with another figure's caption in another font, its key in lower case in this one's
    other = _blk([_ln(300, 70, 530, "FIGURE 3.2 – Age distribution of", 8, "Helvetica-Oblique"),
                  _ln(300, 80, 530, "patients seen in the clinic.", 8, "Helvetica-Oblique"),
                  _ln(300, 90, 530, "a, sweat-coil; b, capillary loop.", 8, "Helvetica")])
    caps = find_captions(_column_page(other))
    assert [c.text for c in caps] == [plain, "FIGURE 3.2 – Age distribution of patients seen in the clinic. a, "
                                             "sweat-coil; b, capillary loop."]
    # the caption does not end its column (running text under it): it is not cut by the column's foot
    below = _stack(50, 765, ["Running text goes on under the caption."], 10)
    page = _column_page(["post-inflammatory pigmentation."], below=below)
    assert find_captions(page)[0].text == plain
    # a caption set like the running text cannot be told from it: no continuation
    page = _column_page(["post-inflammatory pigmentation."], cap_font="Times-Roman")
    page = page.model_copy(update={"text_blocks": [b if b.bbox[1] != 740 else _stack(50, 740, [
        "Fig. 3.1 Dermoscopy of psoriasis on the trunk, showing", "and secondary changes such as"], 10, x1=280)
        for b in page.text_blocks]})
    assert find_captions(page)[0].text == plain


def _image(box):
    from schemas import ImageRegion

    return ImageRegion(bbox=box, kind="embedded", png=b"", width=1, height=1, digest=str(box))


def _split_page(head, legend_font="Helvetica-Oblique", legend_size=8.0, head_x=(262, 318)):
    """A figure of two panels (x 150-290 and 296-436, y 250-400) with panel letters under them, ``head`` over
    it, a legend under it, running text above and below."""
    blocks = [_stack(50, 70, ["Running text of the chapter, set in the body size"] * 12, 10, x1=540),
              _blk([_ln(head_x[0], 232, head_x[1], head, 9, "Helvetica-Bold")]),
              _blk([_ln(216, 402, 224, "(A)", 8, "Helvetica-Bold"), _ln(362, 402, 370, "(B)", 8, "Helvetica-Bold")]),
              _stack(150, 416, ["Psoriasis on the elbow. (A) Clinical view of the plaques.",
                                "(B) Dermoscopy of the same lesion."], legend_size, legend_font, x1=436),
              _stack(50, 460, ["Running text of the chapter goes on under the figure"] * 12, 10, x1=540)]
    return _page(blocks, [_image((150, 250, 290, 400)), _image((296, 250, 436, 400))])


def test_a_head_over_its_figure_takes_the_legend_under_the_figure():
    (cap,) = find_captions(_split_page("PLATE 12."))
    assert cap.text == ("PLATE 12. Psoriasis on the elbow. (A) Clinical view of the plaques. (B) Dermoscopy of the "
                        "same lesion.")
    assert cap.bbox[1] == 232  # the head's place
    (cap,) = find_captions(_split_page("Fig. 3 — The Epidermis.", head_x=(230, 350)))
    assert cap.text.startswith("Fig. 3 — The Epidermis. Psoriasis on the elbow.")


def test_running_text_under_a_figure_is_no_legend():
    # the legend's place holds text in the running text's style: not a legend
    (cap,) = find_captions(_split_page("PLATE 12.", legend_font="Times-Roman", legend_size=10))
    assert cap.text == "PLATE 12."
    # a line of running text that ends with a label, flush with its column, over a figure: not a head
    (cap,) = find_captions(_split_page("Figure 3.", head_x=(150, 190)))
    assert cap.text == "Figure 3."
    # a legend that starts with a label of its own is a caption of its own
    page = _split_page("PLATE 12.")
    page.text_blocks[3].lines[0] = _ln(150, 416, 436, "Fig. 4 Psoriasis on the elbow, the plaques.", 8, "Helvetica-Oblique")
    assert sorted(c.text for c in find_captions(page)) == [
        "Fig. 4 Psoriasis on the elbow, the plaques. (B) Dermoscopy of the same lesion.", "PLATE 12."]
    # a full caption over its figure (several lines) takes nothing from under the figure
    page = _split_page("PLATE 12.")
    page.text_blocks[1] = _stack(150, 210, ["PLATE 12. Psoriasis: a plaque on the elbow of a man.",
                                            "The scale is silvery and thick."], 9, "Helvetica", x1=436)
    assert find_captions(page)[0].text == "PLATE 12. Psoriasis: a plaque on the elbow of a man. The scale is silvery and thick."


# ---------------------------------------------------------------- pages read by OCR (no sizes, no fonts)


def _ocr(page: Page) -> Page:
    """The page as OCR gives it: spans of no size in the 'ocr' font."""
    blocks = []
    for b in page.text_blocks:
        lines = [ln.model_copy(update={"spans": [TextSpan(text=ln.text, size=0.0, font="ocr")]}) for ln in b.lines]
        blocks.append(b.model_copy(update={"lines": lines}))
    return page.model_copy(update={"text_blocks": blocks, "scanned": True})


def test_ocr_reads_a_labels_full_stop_as_a_comma():
    assert label("FIGURE 9.3A, Seborrhoeic keratosis on the neck") == ("FIGURE 9.3A", "9.3A")
    assert label("Fig. 5, which shows the border") is None
    assert label("Figure 2, a and b show") is None


def test_a_bare_label_over_a_figure_on_an_ocr_page_takes_the_text_under_the_figure():
    (cap,) = find_captions(_ocr(_split_page("Figure 17.2")))
    assert cap.text == "Figure 17.2 Psoriasis on the elbow. (A) Clinical view of the plaques. (B) Dermoscopy of the same lesion."
    # a head with a title has said what the figure is: the text under it is not taken without a style to go by
    (cap,) = find_captions(_ocr(_split_page("Fig. 3 — The Epidermis of the palm.", head_x=(200, 386))))
    assert cap.text == "Fig. 3 — The Epidermis of the palm."


def test_a_label_line_a_gap_under_a_paragraph_of_the_same_ocr_block_starts_a_caption():
    para = [_ln(50, 300 + 10 * k, 300, t, 9) for k, t in enumerate(["of skin scrapings excludes a fungal", "plaques. On darker skin, erythema may"])]
    label_line = _ln(150, para[-1].bbox[3] + 10, 190, "Figure 17.2", 9)
    (cap,) = find_captions(_page([_blk(para + [label_line])]))
    assert cap.label == "Figure 17.2"
    # the next line of the paragraph (no gap) that begins with a label is running text: "... may" / "Figure 17.2 ..."
    label_line = _ln(50, para[-1].bbox[3] + 0.5, 190, "Figure 17.2 Psoriasis look violaceous", 9)
    assert find_captions(_page([_blk(para + [label_line])])) == []


def test_a_label_wrapped_in_a_narrow_margin_column_still_starts_a_caption():
    margin = _stack(339, 76, ["FIGURE", "18-1—Vitiligo on", "the extensor", "surfaces."], 8, "Times-Italic", x1=416)
    (cap,) = find_captions(_page([margin]))
    assert (cap.label, cap.text) == ("FIGURE 18-1", "FIGURE 18-1—Vitiligo on the extensor surfaces.")
    # a label word alone followed by prose is no caption
    assert find_captions(_page([_stack(339, 76, ["Figure", "shows the extensor", "surfaces."], 8, x1=416)])) == []


def test_a_label_line_under_a_drawings_call_outs_in_one_ocr_block_starts_a_caption():
    # OCR ran a schematic's call-outs ("Hair bulb", "Subcutis", set right of the column's edge) and the label
    # line under them into one block; a line that starts well right of the label line is no paragraph of it
    callouts = [_ln(150, 532, 200, "Eccrine gland", 9), _ln(150, 543, 188, "Hair bulb", 9), _ln(150, 554, 186, "Subcutis", 9)]
    label_line = _ln(42, 566, 202, "Fig 3. The layers of the skin and their relative thi-", 9)
    (cap,) = find_captions(_ocr(_page([_blk(callouts + [label_line])])))
    assert cap.label == "Fig 3"
    # the same label line under a line of its own paragraph (same left edge, no full stop) is running text
    para = [_ln(42, 554, 202, "the dermis is thickest on the back, as", 9)]
    assert find_captions(_ocr(_page([_blk(para + [label_line])]))) == []


def test_a_caption_goes_on_into_the_block_under_it_even_when_reading_order_puts_another_first():
    # OCR ran the beside caption's first line into the paragraph above it (a wide block of the left column);
    # the rest of the caption is a block under that line, but the next block in reading order is the left
    # column's text further down
    para = _blk([_ln(274, 306, 483, "of lichenification is a useful clue to its", 9), _ln(274, 319, 312, "severity.", 9),
                 _ln(319, 369, 460, "Fig 1-2 - Urticaria, biopsy", 9)])
    rest = _blk([_ln(320, 380, 446, "from the neck (female, 39", 9), _ln(319, 391, 462, "years). Interface change.", 9)])
    below = _blk([_ln(272, 560, 480, "presence of excoriation is a useful clue to its", 9)])
    (cap,) = find_captions(_ocr(_page([para, below, rest])))
    assert cap.text == "Fig 1-2 - Urticaria, biopsy from the neck (female, 39 years). Interface change."


def test_a_label_on_its_own_ocr_line_takes_the_block_whose_box_reaches_up_into_it():
    # a 1-bit scan: "Plate 4" alone (its box 547-553), the body's first line boxed from 550 (its ascenders)
    head = _blk([_ln(114, 547, 136, "Plate 4", 5)])
    body = _blk([_ln(114, 550, 393, "Psoriasis on the extensor surfaces. (a) Clinical view showing", 9),
                 _ln(115, 561, 394, "erythema on the upper back. (b) Histology (H&E, x40).", 9)])
    (cap,) = find_captions(_ocr(_page([head, body])))
    assert cap.text == ("Plate 4 Psoriasis on the extensor surfaces. (a) Clinical view showing erythema on the upper "
                        "back. (b) Histology (H&E, x40).")
