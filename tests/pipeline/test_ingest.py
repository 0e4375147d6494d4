import pytest

from pipeline.errors import InputError
from pipeline.ingest import ingest
from tests.badpdfs import corrupt_pdf_bytes, encrypted_pdf_bytes, good_pdf_bytes, zero_page_pdf_bytes


def test_ingest_good_pdf():
    data = good_pdf_bytes("A paragraph of body text long enough to count as a text layer.")
    book = ingest(data, "good.pdf")
    assert book.n_pages == 1 and book.pages[0].has_text_layer
    assert len(book.book_id) == 64 and book.source_pdf == "good.pdf"


@pytest.mark.parametrize(
    "make,needle",
    [
        (corrupt_pdf_bytes, "corrupt"),
        (encrypted_pdf_bytes, "encrypted"),
        (zero_page_pdf_bytes, "no pages"),
        (lambda: b"hello", "not a PDF"),
        (lambda: b"", "empty"),
    ],
)
def test_bad_inputs_raise_one_line_input_error(make, needle):
    with pytest.raises(InputError) as err:
        ingest(make(), "bad.pdf")
    msg = str(err.value)
    assert needle in msg and msg.startswith("bad.pdf:") and "\n" not in msg


def _pdf_with_text(text: str) -> bytes:
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_textbox(pymupdf.Rect(50, 50, 550, 800), text, fontsize=9)
    return doc.tobytes()


def test_ocr_noise_text_layer_is_not_a_text_layer():
    noise = " ".join(["l1|", "!;:", "ii", "~'", "rn,", "|||", "0O", ".,.", "1l"] * 20)
    assert not ingest(_pdf_with_text(noise), "noise.pdf").pages[0].has_text_layer
    words = "Psoriasis presents as well demarcated erythematous plaques with silvery scale. " * 5
    assert ingest(_pdf_with_text(words), "words.pdf").pages[0].has_text_layer


def test_full_page_image_marks_a_scan():
    import numpy as np
    import pymupdf

    from pipeline.extract import page_mode
    from pipeline.extract.images import numpy_to_png

    doc = pymupdf.open()
    page = doc.new_page(width=300, height=400)
    page.insert_image(page.rect, stream=numpy_to_png(np.full((400, 300, 3), 240, np.uint8)))
    page.insert_text((20, 30), "A searchable scan has a text layer over its page image " * 2, fontsize=5)
    info = ingest(doc.tobytes(), "scan.pdf").pages[0]
    assert info.full_page_image and page_mode(info) == "scanned"


def test_full_page_image_on_a_turned_page_marks_a_scan():
    """A scan whose page carries /Rotate 90 or 270 (a landscape scan) covers its page as fully as an upright one:
    image boxes are in the unrotated frame, and were once clipped by the turned one (a 71% cover)."""
    import numpy as np
    import pymupdf

    from pipeline.extract import page_mode
    from pipeline.extract.images import numpy_to_png

    for rotation in (0, 90, 180, 270):
        doc = pymupdf.open()
        page = doc.new_page(width=300, height=424)
        page.insert_image(page.rect, stream=numpy_to_png(np.full((424, 300, 3), 240, np.uint8)))
        page.set_rotation(rotation)
        info = ingest(doc.tobytes(), "scan.pdf").pages[0]
        assert info.full_page_image and page_mode(info) == "scanned", rotation
        assert info.placements[0].bbox == (0.0, 0.0, 300.0, 424.0), rotation
