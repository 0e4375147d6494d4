"""The extraction benchmark (a small run: keys and sane numbers, no timing assertions) and the large
generated book it measures (truth boxes, page count, image-only scanned pages)."""

from __future__ import annotations

import json
import re

import pymupdf
from typer.testing import CliRunner

from eval import bench
from eval.extraction import iou
from synth.large_book import make_large_book


def test_large_book_truth_matches_the_pdf(tmp_path):
    pdf = tmp_path / "big.pdf"
    truth = make_large_book(pdf, 20, seed=5)
    doc = pymupdf.open(pdf)
    assert doc.page_count == truth["page_count"] == 20
    assert truth["pdf"] == "big.pdf" and truth["scanned"] is False
    figs = truth["figures"]
    assert len(figs) >= 6  # about one every second page
    assert [f["id"] for f in figs] == [f"big-F{i}" for i in range(1, len(figs) + 1)]
    assert len(truth["decorations"]) == 20
    raster = 0
    for f in figs:
        assert 1 <= f["page"] <= 20
        assert re.match(r"Fig\. \d+\.\d+ ", f["caption"]) and f["caption"].startswith(f["label"] + " ")
        assert f["modality"] in ("clinical", "dermoscopy", "pathology", "other")
        if f["vector"]:
            continue
        boxes = [tuple(i["bbox"]) for i in doc[f["page"] - 1].get_image_info()]
        for box in [p["bbox"] for p in f["panels"]] or [f["bbox"]]:
            raster += 1
            assert max(iou(box, b) for b in boxes) > 0.95, (f["label"], box, boxes)
    assert raster >= 6
    # the caption is a text block of the page that starts with the label
    for f in figs[:5]:
        blocks = [b for b in doc[f["page"] - 1].get_text("dict")["blocks"] if b["type"] == 0]
        starts = ["".join(s["text"] for s in b["lines"][0]["spans"]) for b in blocks]
        assert any(s.replace("\xa0", " ").startswith(f["label"]) for s in starts), f["label"]


def test_large_book_scanned_has_no_text_layer(tmp_path):
    pdf = tmp_path / "scan.pdf"
    truth = make_large_book(pdf, 3, seed=2, scanned=True)
    doc = pymupdf.open(pdf)
    assert truth["scanned"] is True and truth["page_count"] == doc.page_count == 3
    for page in doc:
        assert page.get_text().strip() == ""
        assert len(page.get_images()) == 1


def test_bench_extraction_small_run(tmp_path):
    from flows.cli import app

    out = tmp_path / "bench.json"
    res = CliRunner().invoke(app, ["bench", "extraction", "--generate-pages", "6", "--no-peer", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "peer: not installed" in res.output and "born-digital" in res.output
    r = json.loads(out.read_text())
    assert {"setup", "generated", "pool_start_s", "books", "summary", "flat", "peak_rss", "peer"} <= r.keys()
    assert r["generated"][0]["pages"] == 6 and r["peer"] == {"installed": False}
    (book,) = r["books"]
    assert book["kind"] == "digital" and book["pages"] == book["digital_pages"] == 6
    for who in ("ours", "floor"):
        assert book[who]["seconds"] > 0 and book[who]["s_per_page"] > 0 and book[who]["cpu_util"] > 0
    assert book["ratio"] > 0 and set(book["ours"]["stages"]) == {"ingest", "extract", "figures"}
    figs = book["figures"]
    assert figs["truth"] == r["generated"][0]["figures"] > 0 and 0 <= figs["matched"] <= figs["truth"]
    d = r["summary"]["digital"]
    assert d["pages"] == 6 and d["ratio"] > 0 and d["target"] == bench.DIGITAL_TARGET and isinstance(d["met"], bool)
    assert r["summary"]["scanned"] is None
    m = r["peak_rss"]
    assert m["pdf"] == book["pdf"] and 0 < m["self_mb"] <= m["total_mb"] and m["floor_total_mb"] > 0


def test_no_peer_found(monkeypatch, tmp_path):
    monkeypatch.delenv("MMSKIN_PEER_PYTHON", raising=False)
    monkeypatch.setattr(bench, "PEER_DEFAULT_PYTHON", str(tmp_path / "nothing"))
    assert bench.find_peer(None) is None


def test_scanned_floor_opens_the_pdf_afresh_for_each_timed_run(tmp_path):
    """MuPDF keeps the decoded scans of an open document: a floor that kept it open across repeats would
    render from memory (a fifth of the real cost) while ours decodes every page anew."""
    from schemas.settings import Settings

    pdf = tmp_path / "scan.pdf"
    make_large_book(pdf, 2, seed=3, scanned=True)
    pool = bench.BenchPool(1)  # runs its jobs here, so this process's documents can be seen
    bench._FLOOR_DOCS.clear()
    _digital, scanned = bench.page_kinds(pdf, Settings())
    assert [n for n, _dpi in scanned] == [1, 2]
    bench.floor_scanned(pdf, scanned, Settings(), pool)
    (first,) = bench._FLOOR_DOCS.values()
    bench.floor_scanned(pdf, scanned, Settings(), pool)
    (second,) = bench._FLOOR_DOCS.values()
    assert second is not first and first.is_closed
    second.close()
    bench._FLOOR_DOCS.clear()


def test_flat_cost_times_the_last_pages_at_the_end_and_moved_to_the_front(tmp_path, monkeypatch):
    """The same pages in both places (their figures differ from the first pages'), ours and the floor."""
    import pymupdf

    from schemas.settings import Settings

    pdf = tmp_path / "book.pdf"
    make_large_book(pdf, 8, seed=4)
    seen = []
    timed = bench._time_digital_pages

    def spy(path, settings, pages):
        doc = pymupdf.open(path)
        seen.append([doc[p - 1].get_text()[:200] for p in pages])
        doc.close()
        return timed(path, settings, pages)

    monkeypatch.setattr(bench, "_time_digital_pages", spy)
    f = bench.flat_cost(pdf, Settings(), 3)
    assert f["window"] == 3 and f["pages_timed"] == "6-8"
    assert len(seen) == 2 * bench.FLAT_REPEATS and all(s == seen[0] for s in seen)  # the same pages each time
    assert seen[0] == [pymupdf.open(pdf)[p - 1].get_text()[:200] for p in (6, 7, 8)]
    for k in ("ours_s_per_page_front", "ours_s_per_page_end", "floor_s_per_page_front", "floor_s_per_page_end",
              "ours_end_over_front", "floor_end_over_front"):
        assert f[k] > 0, k


def test_a_mixed_books_target_weighs_each_kinds_target_by_its_floor_time():
    # a born-digital textbook with one image-only page: its floor is mostly PyMuPDF time, so the born-digital
    # target (3x) applies to that part and the scanned one (1.5x) to the tesseract part
    book = {"kind": "mixed", "pages": 624, "ours": {"seconds": 3.6, "cpu_util": 0.8},
            "floor": {"seconds": 1.3, "cpu_util": 0.5, "digital_s": 1.2, "scanned_s": 0.1}}
    k = bench._sum_kind([book], "mixed", None)
    assert k["target"] == round((3.0 * 1.2 + 1.5 * 0.1) / 1.3, 2) and k["met"]
    assert bench._sum_kind([dict(book, floor=dict(book["floor"], digital_s=0.1, scanned_s=1.2))], "mixed", None)["target"] < 1.7
