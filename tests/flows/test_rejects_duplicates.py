"""One image embedded in two books is kept once (the larger copy) and reported once as a duplicate; the build's
contact sheet rejects.html lists each rejected record once and escapes what came from the PDF."""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pymupdf
import pytest

from flows.rejects import rejects_html
from pipeline.filters import mark_duplicates
from pipeline.filters.duplicates import perceptual_hash
from schemas import Record, Settings
from synth.images import make_clinical

HOSTILE = "<script>alert('x')</script> & <b>bold</b>"


def _photo(size: tuple[int, int]):
    img = make_clinical(np.random.default_rng(5), size=(640, 480), kind="plaque", tone=1.5)
    return img if img.size == size else img.resize(size)


def _book(path: Path, img, caption: str) -> None:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 80), "Chapter 1. Plaque psoriasis", fontsize=14)
    page.insert_textbox(pymupdf.Rect(72, 100, 523, 200), "Psoriasis forms well-demarcated plaques with silvery "
                        "scale. The elbows and knees are favoured sites, as the figure below shows. " * 2, fontsize=10)
    page.insert_image(pymupdf.Rect(120, 220, 475, 486), stream=buf.getvalue())
    page.insert_textbox(pymupdf.Rect(120, 491, 475, 560), caption, fontsize=9)
    doc.save(path)


def test_mark_duplicates_on_real_phashes_keeps_the_largest_copy():
    big, small = np.asarray(_photo((640, 480))), np.asarray(_photo((320, 240)))
    other = np.asarray(make_clinical(np.random.default_rng(9), size=(640, 480), kind="annular"))

    def rec(i, img, book):
        return Record(id=f"r{i}", source_pdf=f"{book}.pdf", book_id=book * 64, page=1, bbox=(0, 0, 10, 10),
                      image=f"images/r{i}.png", width=img.shape[1], height=img.shape[0], phash=perceptual_hash(img))

    out, report = mark_duplicates([rec(1, small, "a"), rec(2, other, "a"), rec(3, big, "b")], max_distance=6)
    assert [r.kept for r in out] == [False, True, True]
    assert out[0].duplicate_of == "r3" and out[0].reject_reasons == ["duplicate"]
    assert out[0].reject_scores["duplicate"] <= 6
    assert report.dropped == 1


class _Cards(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cards: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and a.get("class") == "card":
            self.cards.append(a["id"])
        self.scripts += tag == "script"


def test_rejects_html_lists_each_rejected_record_once_and_escapes():
    recs = []
    for i, reasons in enumerate([["blank", "low_resolution"], [], ["low_resolution"], ["duplicate"]]):
        r = Record(id=f"r{i}", source_pdf="<b>.pdf", book_id="x" * 64, page=2, bbox=(0, 0, 10, 10),
                   image=f"images/r{i}.png", caption=HOSTILE, figure_label="Fig. 1")
        for reason in reasons:
            r.reject(reason, 3.5)
        recs.append(r)
    page = rejects_html(recs).decode()
    p = _Cards()
    p.feed(page)
    assert sorted(p.cards) == ["r0", "r2", "r3"] and p.scripts == 0
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp;" in page
    assert "&lt;b&gt;.pdf p.2" in page and "low_resolution 3.5" in page
    assert 'src="images/r0.png"' in page and "http" not in page  # relative links, nothing fetched
    # grouped by first reason: r0 under blank (not again under low_resolution), r2 under low_resolution
    sections = {m.group(1): m.start() for m in re.finditer(r'<h2 id="r-(\w+)"', page)}
    assert set(sections) == {"blank", "low_resolution", "duplicate"}

    def section_of(card: str) -> str:
        pos = page.index(f'id="{card}"')
        return max((k for k, v in sections.items() if v < pos), key=sections.get)

    assert (section_of("r0"), section_of("r2"), section_of("r3")) == ("blank", "low_resolution", "duplicate")


@pytest.mark.flow
@pytest.mark.xdist_group("flow")
def test_same_image_in_two_books_is_kept_once_and_listed_in_rejects_html(prefect_harness, tmp_path):
    from flows.build import build_dataset

    books = tmp_path / "books"
    books.mkdir()
    _book(books / "atlas_a.pdf", _photo((640, 480)),
          "Fig. 1 Chronic plaque psoriasis on the elbow of a 45-year-old man.")
    _book(books / "atlas_b.pdf", _photo((320, 240)), f"Figure 7 Plaque psoriasis on the elbow {HOSTILE}.")
    out = tmp_path / "out"
    result = build_dataset([str(books)], str(out), Settings(), workers=1)
    assert {b["status"] for b in result.manifest["books"]} == {"ok"}
    records = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    figs = {r["source_pdf"]: r for r in records if r["figure_label"]}
    assert set(figs) == {"atlas_a.pdf", "atlas_b.pdf"}, [(r["source_pdf"], r["reject_reasons"]) for r in records]
    a, b = figs["atlas_a.pdf"], figs["atlas_b.pdf"]
    assert a["kept"] and a["width"] == 640, a["reject_reasons"]
    assert not b["kept"] and b["reject_reasons"] == ["duplicate"] and b["duplicate_of"] == a["id"]
    assert result.manifest["reject_reasons"].get("duplicate") == 1
    assert HOSTILE in b["caption"]

    page = (out / "rejects.html").read_text()
    p = _Cards()
    p.feed(page)
    rejected = sorted(r["id"] for r in records if not r["kept"])
    assert sorted(p.cards) == rejected  # each rejected record once, nothing else
    assert p.scripts == 0 and "&lt;script&gt;" in page
    for src in re.findall(r'src="([^"]+)"', page):
        assert not src.startswith(("/", "http")) and (out / src).exists()
    assert result.manifest["files"]["rejects.html"]
