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
