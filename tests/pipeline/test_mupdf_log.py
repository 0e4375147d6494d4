"""MuPDF's messages about a damaged book are kept with the book (per thread), never printed."""

from __future__ import annotations

import threading
from pathlib import Path

import pymupdf

from pipeline.extract import extract_book
from pipeline.ingest import ingest
from pipeline.mupdf_log import capture, kind_of, summarize

SAMPLE = next((Path(__file__).resolve().parents[2] / "sample_pdfs").glob("*vector*.pdf"))


def truncated() -> bytes:
    data = SAMPLE.read_bytes()
    return data[: int(len(data) * 0.6)]


def test_kinds_of_messages():
    assert kind_of("trying to repair broken xref") == "repair"
    assert kind_of("format error: cannot find startxref") == "repair"
    assert kind_of("format error: object is not a stream") == "format"
    assert kind_of("cannot load content stream part 3/9") == "format"
    assert kind_of("premature end of data in flate filter") == "decode"
    assert kind_of("padding truncated image") == "decode"
    assert kind_of("ignoring broken ICC profile") == "icc"
    assert kind_of("unknown cid collection") == "other"


def test_summary_counts_every_message_and_keeps_the_first_distinct_ones():
    msgs = ["trying to repair broken xref"] + ["format error: object is not a stream"] * 30 + [
        f"cannot load content stream part {i}/40" for i in range(30)]
    counts, kept = summarize(msgs, 5)
    assert counts == {"format": 60, "repair": 1}
    assert kept == msgs[:2] + msgs[31:34]


def test_a_truncated_book_is_ingested_and_extracted_with_its_messages_and_nothing_printed(capfd):
    data = truncated()
    book = ingest(data, "t.pdf")
    extracted = extract_book(data, book)
    out = capfd.readouterr()
    assert out.err == "" and out.out == ""
    assert book.repaired and book.n_pages >= 1
    assert any("xref" in m for m in book.mupdf_messages)
    page_messages = [m for p in extracted.pages for m in p.mupdf_messages]
    assert page_messages and any(kind_of(m) in ("format", "decode") for m in page_messages)
    clean = SAMPLE.read_bytes()
    assert ingest(clean, "c.pdf").mupdf_messages == [] and not ingest(clean, "c.pdf").repaired


def test_messages_stay_with_the_thread_that_raised_them():
    data, clean = truncated(), SAMPLE.read_bytes()
    got: dict[str, list[str]] = {}
    start = threading.Barrier(2)

    def read(name: str, pdf: bytes) -> None:
        start.wait()
        with capture() as msgs:
            for _ in range(3):
                doc = pymupdf.open(stream=pdf, filetype="pdf")
                for page in doc:
                    page.get_text("dict")
                doc.close()
        got[name] = msgs

    threads = [threading.Thread(target=read, args=("damaged", data)), threading.Thread(target=read, args=("clean", clean))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got["clean"] == []
    assert len(got["damaged"]) > 10


def test_outside_a_capture_pymupdf_keeps_its_own_handling():
    with capture():
        pass
    pymupdf.TOOLS.reset_mupdf_warnings()
    doc = pymupdf.open(stream=truncated(), filetype="pdf")
    doc.close()
    assert "xref" in pymupdf.TOOLS.mupdf_warnings()
