"""Framed boxes of text that stand in for a figure the book does not show."""

from __future__ import annotations

import io

import numpy as np
import pymupdf
from PIL import Image

from pipeline.extract import extract_book
from pipeline.figures import build_records
from pipeline.ingest import ingest

BODY = ("Body text of the chapter runs in a column beside and between the figures, as books print it, "
        "so that this page has a text layer of its own.")


def _page(doc: pymupdf.Document) -> pymupdf.Page:
    page = doc.new_page(width=612, height=792)
    page.insert_textbox(pymupdf.Rect(54, 40, 558, 90), BODY, fontsize=9)
    return page


def _frame(page, rect, fill=None):
    page.draw_rect(pymupdf.Rect(rect), color=(0, 0, 0), fill=fill, width=0.5)


def _records(doc: pymupdf.Document):
    data = doc.tobytes()
    items, _ = build_records(extract_book(data, ingest(data, "book.pdf")))
    return [it.record for it in items]


def _photo() -> bytes:
    rng = np.random.default_rng(3)
    buf = io.BytesIO()
    Image.fromarray((rng.random((120, 160, 3)) * 200 + 30).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_a_framed_notice_or_an_empty_frame_is_a_placeholder_with_its_caption_attached():
    doc = pymupdf.open()
    for notice in ("Fig 1-1 is not shown because the copyright permission granted to the publisher does not "
                   "allow it to be posted on the web.", "OK to put on the Web", ""):
        page = _page(doc)
        _frame(page, (54, 120, 288, 300))
        if notice:
            page.insert_textbox(pymupdf.Rect(62, 140, 280, 290), notice, fontsize=9)
        page.insert_textbox(pymupdf.Rect(54, 306, 288, 360), "Fig. 1-1. Primary versus secondary lesions of the "
                            "skin.", fontsize=9)
    records = _records(doc)
    assert len(records) == 3
    for rec in records:
        assert rec.region_kind == "placeholder" and not rec.kept
        assert rec.reject_reasons == ["placeholder_text"]
        assert rec.figure_label == "Fig. 1-1" and rec.caption == "Fig. 1-1. Primary versus secondary lesions of the skin."
        assert abs(rec.bbox[0] - 54) < 1 and abs(rec.bbox[3] - 300) < 1


def test_boxes_that_are_not_placeholders():
    doc = pymupdf.open()
    # a tinted sidebar: a box filled with colour holds a note, not a figure's stand-in
    page = _page(doc)
    _frame(page, (54, 120, 288, 300), fill=(0.85, 0.9, 1.0))
    page.insert_textbox(pymupdf.Rect(62, 130, 280, 290), "Key points: wash the hands.", fontsize=9)
    page.insert_textbox(pymupdf.Rect(306, 306, 558, 360), "Fig. 2-1. A caption of a figure elsewhere.", fontsize=9)
    # a photograph in a frame: the photo is the figure
    page = _page(doc)
    _frame(page, (54, 120, 288, 300))
    page.insert_image(pymupdf.Rect(60, 126, 282, 294), stream=_photo())
    page.insert_textbox(pymupdf.Rect(54, 306, 288, 360), "Fig. 2-2. A framed photograph.", fontsize=9)
    # a framed drawing: many strokes inside
    page = _page(doc)
    _frame(page, (54, 120, 288, 300))
    for k in range(10):
        page.draw_line((70 + 20 * k, 280), (70 + 20 * k, 280 - 15 * k), color=(0.2, 0.2, 0.6), width=6)
    page.insert_textbox(pymupdf.Rect(54, 306, 288, 360), "Fig. 2-3. Cases by year.", fontsize=9)
    # a small box (a badge), and a framed box on a page with no caption at all
    page = _page(doc)
    _frame(page, (54, 120, 90, 140))
    page.insert_textbox(pymupdf.Rect(54, 306, 288, 360), "Fig. 2-4. A caption with no figure.", fontsize=9)
    page = _page(doc)
    _frame(page, (54, 120, 288, 300))
    records = _records(doc)
    assert not any(r.region_kind == "placeholder" for r in records), [(r.page, r.region_kind) for r in records]
    photo = [r for r in records if r.page == 2]
    assert len(photo) == 1 and photo[0].figure_label == "Fig. 2-2" and photo[0].region_kind == "embedded"


def test_an_unclaimed_framed_box_of_text_is_a_text_box_not_a_figure():
    doc = pymupdf.open()
    page = _page(doc)
    _frame(page, (54, 120, 288, 300))
    page.insert_textbox(pymupdf.Rect(62, 130, 280, 290), "Remember: a framed note in the margin.", fontsize=9)
    page.insert_textbox(pymupdf.Rect(306, 620, 558, 680), "Fig. 3-1. A caption far away in the other column.",
                        fontsize=9)
    (rec,) = [r for r in _records(doc) if r.region_kind == "placeholder"]
    assert rec.reject_reasons == ["text_box"] and rec.caption == ""


def test_identical_placeholders_on_many_pages_are_not_decorations():
    doc = pymupdf.open()
    for k in range(5):
        page = _page(doc)
        _frame(page, (54, 120, 288, 300))
        page.insert_textbox(pymupdf.Rect(62, 140, 280, 290), "OK to put on the Web", fontsize=18)
        page.insert_textbox(pymupdf.Rect(54, 306, 288, 360), f"Fig. 4-{k + 1}. Lesion number {k + 1}.", fontsize=9)
    records = _records(doc)
    assert [r.reject_reasons for r in records] == [["placeholder_text"]] * 5
    assert [r.figure_label for r in records] == [f"Fig. 4-{k + 1}" for k in range(5)]


def test_placeholders_inside_an_exhibit_frame_are_found_and_the_frame_is_not_one():
    doc = pymupdf.open()
    page = _page(doc)
    _frame(page, (55, 100, 540, 720))  # the exhibit's border around everything
    page.draw_line((68, 122), (526, 122), color=(0, 0, 0), width=0.5)
    _frame(page, (68, 139, 290, 439))
    _frame(page, (306, 139, 528, 439))
    page.insert_text((85, 180), "OK to put on the Web", fontsize=18)
    page.insert_textbox(pymupdf.Rect(68, 458, 288, 520), "Fig. 14-5. Lepromatous leprosy on the face.", fontsize=9)
    page.insert_textbox(pymupdf.Rect(306, 458, 526, 520), "Fig. 14-6. Lepromatous leprosy on the arm.", fontsize=9)
    records = sorted(_records(doc), key=lambda r: r.bbox[0])
    assert [(round(r.bbox[0]), r.figure_label, r.reject_reasons) for r in records] == [
        (68, "Fig. 14-5", ["placeholder_text"]), (306, "Fig. 14-6", ["placeholder_text"])]
