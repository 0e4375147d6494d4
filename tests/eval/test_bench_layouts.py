"""The layout-variation books (synth.layouts: grammar, determinism, truth) and their benchmark
(eval.bench_layouts: scoring rules, an end-to-end run on two small books, the CLI). No pipeline score is
asserted: the numbers are reported by `mmskin bench layouts`."""

from __future__ import annotations

import json

import numpy as np
import pymupdf
import pytest
from typer.testing import CliRunner

from eval import bench_layouts as bl
from eval.extraction import iou
from synth import layouts as sl

DIGITAL = {"scan": "digital"}


def _page_text(doc: pymupdf.Document, number: int) -> str:
    """The page's text as a reader joins it: hyphenated line ends undone, whitespace collapsed."""
    return " ".join(doc[number - 1].get_text().replace("-\n", "").split())


def test_generator_is_deterministic():
    a_pdf, a_truth = sl.make_book(7, 2, DIGITAL)
    b_pdf, b_truth = sl.make_book(7, 2, DIGITAL)
    assert a_pdf == b_pdf and a_truth == b_truth
    c_pdf, _ = sl.make_book(7, 3, DIGITAL)
    assert c_pdf != a_pdf
    assert sl.sample_book(7, 2, DIGITAL) == sl.sample_book(7, 2, DIGITAL)
    assert sl.sample_book(7, 2) != sl.sample_book(8, 2)


def test_grammar_covers_every_axis_value():
    """Over 60 books of one seed every value of every axis occurs (sampling only: cheap)."""
    seen: dict[str, set] = {a: set() for a in sl.AXES}
    for i in range(60):
        spec = sl.sample_book(3, i)
        assert sl.MIN_PAGES <= 4 and 4 <= len(spec.figures) <= 8
        for a, v in spec.book.items():
            seen[a].add(v)
        for p in spec.pages:
            for a, v in p.items():
                seen[a].add(v)
        for f in spec.figures:
            c = f.classes
            for a, v in c.items():
                seen[a].add(v)
            # the documented constraints
            assert c["numbering"] != "roman" or c["label_word"] in ("Plate", "PLATE")
            assert c["placement"] != "column_break" or spec.book["columns"] != "1"
            assert c["figure"] != "continued" or c["placement"] in ("below", "above")
            assert ("panel_letters" in c) == (c["figure"] in sl.MULTI_PANEL) == ("panel_ref" in c)
            assert ("key_line" in c) == (c["figure"] in sl.KEYED)
    missing = {a: sorted(set(vals) - seen[a]) for a, vals in sl.AXES.items() if set(vals) - seen[a]}
    assert not missing


def test_force_pins_axes_and_rejects_unknown_ones():
    spec = sl.sample_book(1, 0, {"placement": "column_break", "numbering": "roman", "scan": "digital"})
    assert spec.book["columns"] != "1" and spec.book["scan"] == "digital"
    assert all(f.classes["placement"] == "column_break" and f.classes["label_word"] in ("Plate", "PLATE")
               for f in spec.figures)
    with pytest.raises(ValueError, match="unknown axis"):
        sl.sample_book(1, 0, {"colour": "red"})
    with pytest.raises(ValueError, match="unknown value"):
        sl.sample_book(1, 0, {"placement": "inside"})


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_born_digital_truth_matches_the_pdf(index):
    pdf, truth = sl.make_book(11, index, DIGITAL)
    doc = pymupdf.open(stream=pdf)
    assert truth["schema"] == "mmskin-sample-truth/1" and truth["scanned"] is False
    assert sl.MIN_PAGES <= doc.page_count == truth["page_count"] <= sl.MAX_PAGES
    assert [p["page"] for p in truth["pages"]] == list(range(1, doc.page_count + 1))
    figs = truth["figures"]
    assert figs and [f["id"] for f in figs] == [f"{sl.book_stem(11, index)}-F{i}" for i in range(1, len(figs) + 1)]
    assert [(f["page"], f["bbox"][1]) for f in figs] == sorted((f["page"], f["bbox"][1]) for f in figs)
    for f in figs:
        page = doc[f["page"] - 1]
        x0, y0, x1, y1 = f["bbox"]
        assert 0 <= x0 < x1 <= page.rect.width and 0 <= y0 < y1 <= page.rect.height, f["id"]
        for a, v in f["classes"].items():
            assert v in sl.AXES[a], (a, v)
        assert set(sl.BOOK_AXES) & set(f["classes"]) >= {"columns", "page_size", "furniture", "scan"}
        assert f["caption_position"] == f["classes"]["placement"]
        assert f["caption_page"] == f["page"] + (f["classes"]["placement"] == "facing_page")
        assert len(f["panels"]) != 1
        for p in f["panels"]:
            b = p["bbox"]
            assert b[0] >= x0 - 0.01 and b[1] >= y0 - 0.01 and b[2] <= x1 + 0.01 and b[3] <= y1 + 0.01
        assert [p["panel"] for p in f["panels"]] == list("abcd"[: len(f["panels"])])
        if not f["vector"]:  # raster boxes are the placed images' boxes (a composite raster: the whole image)
            placed = [i["bbox"] for i in page.get_image_info()]
            boxes = [f["bbox"]] if f["classes"]["figure"].startswith("raster") or not f["panels"] else [p["bbox"] for p in f["panels"]]
            for b in boxes:
                assert max(iou(b, q) for q in placed) > 0.99, (f["id"], b)
        # the caption is on its page: every word of the truth caption is in the page's text
        text = _page_text(doc, f["caption_page"])
        missing = [w for w in f["caption"].split() if w not in text]
        assert not missing, (f["id"], f["caption"], missing)
        assert f["caption"].startswith(f["label"])


def test_scanned_book_has_no_text_layer_and_boxes_on_the_page():
    pdf, truth = sl.make_book(2, 5, {"scan": "jpeg", "scan_dpi": "150", "skew": "1_to_2deg"})
    doc = pymupdf.open(stream=pdf)
    assert truth["scanned"] is True and 1.0 <= abs(truth["scan"]["angle_deg"]) <= 2.0
    for page in doc:
        assert page.get_text().strip() == ""
        assert len(page.get_images()) == 1
    for f in truth["figures"]:
        w, h = doc[f["page"] - 1].rect.width, doc[f["page"] - 1].rect.height
        assert 0 <= f["bbox"][0] < f["bbox"][2] <= w and 0 <= f["bbox"][1] < f["bbox"][3] <= h
        assert f["classes"]["scan"] == "jpeg" and f["classes"]["skew"] == "1_to_2deg"


def test_skewed_scan_box_is_the_rotated_rectangle():
    """A black square on a page, scanned turned by 2 degrees: its dark pixels fill the mapped box."""
    src = pymupdf.open()
    page = src.new_page(width=300, height=300)
    page.draw_rect(pymupdf.Rect(100, 80, 200, 180), color=None, fill=(0, 0, 0))
    out, maps = sl.scan_pages(src, "jpeg", 144, 2.0, np.random.default_rng(0), {1: []})
    pix = out[0].get_pixmap(dpi=144)
    a = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, pix.n)[..., :3].mean(axis=2)
    ys, xs = np.where(a < 100)
    s = 72 / 144
    found = (xs.min() * s, ys.min() * s, (xs.max() + 1) * s, (ys.max() + 1) * s)
    mapped = maps[0]((100, 80, 200, 180))
    assert mapped[2] - mapped[0] > 100 + 2 and mapped[3] - mapped[1] > 100 + 2  # bigger than the square
    assert max(abs(p - q) for p, q in zip(found, mapped)) < 1.5, (found, mapped)


def test_halftone_is_dots_whose_density_follows_the_grey():
    grey = np.tile(np.linspace(0, 255, 200, dtype=np.float32)[None, :], (40, 1)).astype(np.uint8)
    ht = sl.halftone(grey, 75, 300)
    assert set(np.unique(ht)) <= {0, 255}
    ink = (ht == 0).mean(axis=0)
    assert ink[:20].mean() > 0.85 and ink[-20:].mean() < 0.15


# ---------------------------------------------------------------- scoring


def _truth(figs, pages):
    return {"pdf": "b.pdf", "figures": figs, "pages": pages}


def _fig(fid, bbox, caption, classes, panels=()):
    return {"id": fid, "page": 1, "bbox": list(bbox), "label": caption.split(" ")[0], "caption": caption,
            "classes": classes, "panels": [{"panel": p, "bbox": list(b)} for p, b in panels]}


def _rec(rid, bbox, caption, figure_id, panel=None, reasons=()):
    return {"id": rid, "source_pdf": "b.pdf", "page": 1, "bbox": list(bbox), "caption": caption, "figure_id": figure_id,
            "panel": panel, "reject_reasons": list(reasons)}


def test_scoring_rules():
    page = {"columns": "2", "scan": "digital"}
    truth = _truth(
        [_fig("F1", (0, 0, 100, 100), "Fig. 1 A plaque on the knee.", {"placement": "below", **page}),
         _fig("F2", (0, 200, 100, 300), "Fig. 2 Dermoscopy of a naevus.", {"placement": "split", **page},
              panels=[("a", (0, 200, 48, 300)), ("b", (52, 200, 100, 300))]),
         _fig("F3", (200, 0, 300, 100), "Fig. 3 Histology of a wart.", {"placement": "split", **page})],
        [{"page": 1, "classes": page}])
    records = [
        _rec("r1", (0, 0, 100, 96), "Fig. 1 A plaque on the knee.", "g1"),  # pair, IoU 0.96
        _rec("r2a", (0, 200, 48, 300), "Fig. 2 Something else entirely.", "g2", "a"),  # matched, wrong caption
        _rec("r2b", (52, 200, 100, 300), "Fig. 2 Something else entirely.", "g2", "c"),  # panel letter wrong
        _rec("r4", (400, 400, 500, 500), "Fig. 9 Not there.", "g4"),  # false positive
        _rec("r5", (0, 400, 50, 450), "", "g5", reasons=["decoration_small"]),  # not a figure: no prediction
    ]
    acc, failures = bl.score_book(truth, records)
    rows = {k: a.row(k) for k, a in acc.items()}
    o = rows["overall"]
    assert (o["n"], o["pred"], o["matched"], o["pairs"], o["fp"]) == (3, 3, 2, 1, 1)
    assert o["precision"] == pytest.approx(1 / 3, abs=1e-4) and o["recall"] == pytest.approx(1 / 3, abs=1e-4)
    assert o["panels"] == 2 and o["panel_acc"] == 0.5
    assert o["mean_iou"] == pytest.approx(0.98, abs=1e-4) and o["tight"] == 1.0
    split = rows["placement=split"]  # F2 matched with a wrong caption, F3 missed; the false positive is not here
    assert (split["n"], split["pred"], split["pairs"], split["fp"], split["f1"]) == (2, 1, 0, 0, 0.0)
    below = rows["placement=below"]
    assert (below["n"], below["pred"], below["pairs"], below["f1"]) == (1, 1, 1, 1.0)
    col = rows["columns=2"]  # a page class: the false positive counts here
    assert (col["n"], col["pred"], col["fp"]) == (3, 3, 1)
    assert sorted(f["kind"] for f in failures) == ["caption", "false_positive", "missed", "panels"]
    assert set(rows["overall"]) == set(bl.ROW_KEYS)
    # the run's summary: the same counts; examples of a class are its failures, on different figures
    result = bl.score([{"truth": truth, "records": records}])
    assert result["overall"] == o and [r["class"] for r in result["classes"]][:1] == ["placement=split"]
    ex = bl.examples(result, "placement=split", k=5)
    assert sorted(f["kind"] for f in ex) == ["caption", "missed"]  # F2's wrong panels: the same figure as its caption
    assert "MISSED" in bl.failure_line(ex[0]) or "CAPTION" in bl.failure_line(ex[0])


def test_bench_runs_end_to_end_on_two_small_books():
    r = bl.layouts(seed=4, books=2, workers=1, force=DIGITAL)
    assert r["books"] == 2 and not r["errors"]
    assert r["overall"]["n"] == sum(b["figures"] for b in r["per_book"]) > 0
    assert r["classes"] and all(set(row) == set(bl.ROW_KEYS) for row in r["classes"] + [r["overall"]])
    for row in r["classes"]:
        assert row["value"] in sl.AXES[row["axis"]] and row["class"] == f"{row['axis']}={row['value']}"
        assert 0.0 <= row["f1"] <= 1.0 and row["pairs"] <= row["matched"] <= row["n"]
    f1s = [row["f1"] for row in r["classes"]]
    assert f1s == sorted(f1s)
    assert "scan=jpeg" in r["missing_classes"]
    text = bl.report(r)
    assert text.splitlines()[0].startswith("class") and "overall" in text and "2 books (seed 4" in text


def test_cli_bench_layouts(tmp_path):
    from flows.cli import app

    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["bench", "layouts", "--seed", "5", "--books", "1", "--workers", "1",
                                   "--force", "scan=digital", "--force", "placement=below", "--json", str(out),
                                   "--out", str(tmp_path / "books")])
    assert res.exit_code == 0, res.output
    assert "placement=below" in res.output and "overall" in res.output
    r = json.loads(out.read_text())
    assert r["force"] == {"scan": "digital", "placement": "below"} and r["overall"]["n"] >= 1
    assert (tmp_path / "books" / "layouts_s5_b000.pdf").exists()
    assert json.loads((tmp_path / "books" / "layouts_s5_b000.truth.json").read_text())["pdf"] == "layouts_s5_b000.pdf"
    bad = CliRunner().invoke(app, ["bench", "layouts", "--books", "1", "--force", "placement=inside"])
    assert bad.exit_code == 2 and "unknown value" in bad.output
