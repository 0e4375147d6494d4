"""Ground-truth formats of the extraction scorer: docling, JBC, PubLayNet COCO (wrapped into PDFs) and ours.

Small cases built here always run; the tests over the real files in ../shared/data skip when it is absent.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pymupdf
import pytest
from PIL import Image

from eval.extraction import (
    BookScore,
    PredFigure,
    TruthFigure,
    caption_matches,
    caption_similarity,
    evaluate,
    evaluate_misses,
    figure_misses,
    iou,
    load_truth,
    score_book,
    strip_caption_label,
    total_score,
    truth_format,
    unbuilt_books,
)
from eval.publaynet import wrap_images
from tests.conftest import REPO, SAMPLES, shared_path

# ---------------------------------------------------------------- builders of tiny truth files


def docling_doc(page_height: float = 800.0) -> dict:
    """A minimal DoclingDocument: two pictures on page 1 (one captioned, BOTTOMLEFT; a caption-less logo), one
    captioned on page 2 (TOPLEFT)."""
    return {
        "schema_name": "DoclingDocument",
        "version": "1.0.0",
        "name": "tiny",
        "texts": [
            {"self_ref": "#/texts/0", "label": "text", "text": "Body text."},
            {"self_ref": "#/texts/1", "label": "caption", "text": "Figure 1: A plaque on the elbow."},
            {"self_ref": "#/texts/2", "label": "caption", "text": "Figure 2: Lichen planus on the wrist."},
        ],
        "pictures": [
            {"self_ref": "#/pictures/0", "captions": [{"$ref": "#/texts/1"}],
             "prov": [{"page_no": 1, "bbox": {"l": 100, "t": 700, "r": 300, "b": 500, "coord_origin": "BOTTOMLEFT"}}]},
            {"self_ref": "#/pictures/1", "captions": [],
             "prov": [{"page_no": 1, "bbox": {"l": 10, "t": 790, "r": 60, "b": 770, "coord_origin": "BOTTOMLEFT"}}]},
            {"self_ref": "#/pictures/2", "captions": [{"$ref": "#/texts/2"}],
             "prov": [{"page_no": 2, "bbox": {"l": 50, "t": 100, "r": 150, "b": 200, "coord_origin": "TOPLEFT"}}]},
        ],
        "pages": {"1": {"page_no": 1, "size": {"width": 600.0, "height": page_height}},
                  "2": {"page_no": 2, "size": {"width": 600.0, "height": 500.0}}},
    }


def jbc_doc() -> dict:
    fig = {"bbox-loc": {"p": 3, "x0": 40, "y0": 50, "x1": 540, "y1": 450}, "caption-txt": "Rash on the forearm. A, day 1."}
    return {"PDF-00042": {"pdf-path": "pdfs/PDF-00042.pdf", "pdf-figures": {"fig1": fig, "pdf-url": "https://x"}}}


def coco_doc() -> dict:
    return {
        "images": [{"id": 7, "file_name": "page_a.jpg", "width": 144, "height": 288},
                   {"id": 8, "file_name": "page_b.jpg", "width": 144, "height": 288}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 5, "bbox": [10, 20, 30, 40]},
            {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 100, 10]},  # text: not a figure
        ],
        "categories": [{"id": 1, "name": "text"}, {"id": 5, "name": "figure"}],
    }


def write_json(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc))
    return path


def record(pdf: str, page: int, bbox, caption: str = "", fid: str | None = None, reasons=()) -> dict:
    rid = f"{pdf}-{page}-{bbox[0]}-{bbox[1]}"
    return {"id": rid, "source_pdf": pdf, "page": page, "bbox": list(bbox), "figure_id": fid or rid,
            "caption": caption, "kept": not reasons, "reject_reasons": list(reasons)}


def write_records(path: Path, records: list[dict], books: list[str] | None = None) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    if books is not None:
        (path.parent / "manifest.json").write_text(json.dumps({"books": [{"source_pdf": b} for b in books]}))
    return path


# ---------------------------------------------------------------- docling


def test_docling_boxes_flip_to_top_left_and_captions_resolve(tmp_path):
    truth = load_truth(write_json(tmp_path / "tiny.json", docling_doc()))
    assert list(truth) == ["tiny.pdf"]
    figs = truth["tiny.pdf"]
    assert figs[0] == TruthFigure(page=1, bbox=(100.0, 100.0, 300.0, 300.0), caption="Figure 1: A plaque on the elbow.")
    assert figs[1] == TruthFigure(page=1, bbox=(10.0, 10.0, 60.0, 30.0), caption="", detection_only=True)
    assert figs[2] == TruthFigure(page=2, bbox=(50.0, 100.0, 150.0, 200.0), caption="Figure 2: Lichen planus on the wrist.")


def test_docling_scoring_counts_boxes_and_captions(tmp_path):
    truth = write_json(tmp_path / "tiny.json", docling_doc())
    records = write_records(tmp_path / "records.jsonl", [
        record("tiny.pdf", 1, (102, 98, 300, 302), "Figure 1: A plaque on the elbow."),  # right box, right caption
        record("tiny.pdf", 2, (50, 100, 150, 200), "Figure 2: Not a caption of this picture."),  # right box, wrong caption
        record("tiny.pdf", 1, (10, 10, 60, 30), reasons=["decoration_small"]),  # not a prediction
        record("tiny.pdf", 1, (400, 400, 500, 500), reasons=["no_caption"]),  # a prediction, unmatched
    ])
    (score,) = evaluate(truth, records)
    # the caption-less logo is scored apart, for detection only: the rejected decoration covers it
    assert (score.n_truth, score.n_pred, score.matched) == (2, 3, 2)
    assert (score.detection_only, score.detection_only_found) == (1, 1)
    assert score.precision == pytest.approx(2 / 3, abs=1e-4) and score.recall == 1.0
    assert score.caption_accuracy == 0.5
    assert score.pair_f1 == pytest.approx(0.4, abs=1e-4)  # P 1/3, R 1/2
    misses = evaluate_misses(truth, records)
    assert len(misses) == 2
    assert not any("[10, 10, 60, 30]" in m for m in misses)
    assert any("predicted figure [400, 400, 500, 500]" in m and "rejected" not in m for m in misses)
    assert any("caption wrong" in m and "p2" in m for m in misses)


def test_caption_less_pictures_are_detection_only_and_a_prediction_on_one_is_no_false_positive(tmp_path):
    truth = write_json(tmp_path / "tiny.json", docling_doc())
    records = write_records(tmp_path / "records.jsonl", [
        record("tiny.pdf", 1, (102, 98, 300, 302), "Figure 1: A plaque on the elbow."),
        record("tiny.pdf", 2, (50, 100, 150, 200), "Figure 2: Lichen planus on the wrist."),
        record("tiny.pdf", 1, (11, 10, 60, 30), reasons=["no_caption"]),  # kept as a prediction, on the logo
    ])
    (score,) = evaluate(truth, records)
    assert (score.n_truth, score.n_pred, score.matched, score.pair_f1) == (2, 2, 2, 1.0)
    assert (score.detection_only, score.detection_only_found) == (1, 1)
    assert evaluate_misses(truth, records) == []
    # with nothing on the logo it is a detection-only miss, listed, and the captioned scores do not move
    write_records(tmp_path / "records.jsonl", [
        record("tiny.pdf", 1, (102, 98, 300, 302), "Figure 1: A plaque on the elbow."),
        record("tiny.pdf", 2, (50, 100, 150, 200), "Figure 2: Lichen planus on the wrist."),
    ])
    (score,) = evaluate(truth, records)
    assert (score.n_truth, score.n_pred, score.pair_f1, score.detection_only_found) == (2, 2, 1.0, 0)
    (line,) = evaluate_misses(truth, records)
    assert "caption-less truth picture [10, 10, 60, 30]" in line and "not covered" in line


def test_crop_iou_tight_share_and_crops_that_take_in_a_neighbour():
    a = TruthFigure(page=1, bbox=(50.0, 50.0, 250.0, 250.0), caption="Fig. 1 A")
    b = TruthFigure(page=1, bbox=(260.0, 50.0, 460.0, 250.0), caption="Fig. 2 B")
    c = TruthFigure(page=2, bbox=(50.0, 50.0, 250.0, 250.0), caption="Fig. 3 C")
    preds = [
        PredFigure(page=1, bbox=(50.0, 50.0, 350.0, 250.0), caption="Fig. 1 A"),  # IoU 0.67, half of b inside
        PredFigure(page=1, bbox=(355.0, 50.0, 460.0, 250.0), caption="Fig. 2 B"),  # IoU 0.53 with b (no neighbour)
        PredFigure(page=2, bbox=(52.0, 50.0, 250.0, 250.0), caption="Fig. 3 C"),  # tight
    ]
    s = score_book("x.pdf", [a, b, c], preds)
    assert s.matched == 3 and s.tight == 1 and s.tight_share == pytest.approx(1 / 3, abs=1e-4)
    assert s.mean_iou == pytest.approx((200 / 300 + 105 / 200 + 198 / 200) / 3, abs=1e-3)
    assert s.neighbour_crops == 1
    lines = figure_misses("x.pdf", [a, b, c], preds)
    (line,) = [m for m in lines if "takes in its neighbour" in m]
    assert "crop [50, 50, 350, 250]" in line and "neighbour [260, 50, 460, 250]" in line
    total = total_score([s, s])
    assert (total.tight, total.neighbour_crops) == (2, 2) and total.mean_iou == s.mean_iou


# ---------------------------------------------------------------- JBC


def test_jbc_maps_key_to_pdf_beside_it_and_keeps_points(tmp_path):
    (tmp_path / "PDF-00042_smith_2020.pdf").write_bytes(b"%PDF-1.4\n")
    (tmp_path / "PDF-000421_other.pdf").write_bytes(b"%PDF-1.4\n")  # a longer key: not this one
    truth = load_truth(write_json(tmp_path / "PDF-00042_annotation.json", jbc_doc()))
    assert truth == {"PDF-00042_smith_2020.pdf": [TruthFigure(page=3, bbox=(40.0, 50.0, 540.0, 450.0),
                                                              caption="Rash on the forearm. A, day 1.")]}


def test_jbc_without_its_pdf_falls_back_to_key(tmp_path):
    truth = load_truth(write_json(tmp_path / "ann.json", jbc_doc()))
    assert list(truth) == ["PDF-00042.pdf"]


def test_jbc_caption_without_label_matches_our_labelled_caption(tmp_path):
    truth = write_json(tmp_path / "ann.json", jbc_doc())
    records = write_records(tmp_path / "records.jsonl", [
        record("PDF-00042.pdf", 3, (45, 55, 535, 445), "FIGURE 1. Rash on the forearm. A, day 1.")])
    (score,) = evaluate(truth, records)
    assert (score.matched, score.caption_accuracy, score.pair_f1) == (1, 1.0, 1.0)


def test_caption_label_rule():
    assert strip_caption_label("FIGURE 1. Rash on the arm.") == "Rash on the arm."
    assert strip_caption_label("Fig. 3.4A: Nodule") == "Nodule"
    assert strip_caption_label("Figure 7-26. Self-locking nuts.") == "Self-locking nuts."
    assert strip_caption_label("Example 3-10   Activating RCAC") == "Activating RCAC"
    assert strip_caption_label("Figures of speech") == "Figures of speech"
    # truth without a label: the prediction's label is ignored
    assert caption_matches("Rash on the arm.", "Figure 2 Rash on the arm.")
    # truth with a label: the label is part of the text, so a wrong label counts against the prediction
    assert caption_matches("Figure 1: A rash.", "Figure 1. A rash.")
    assert caption_similarity("Fig. 1 A rash.", "Fig. 9 A rash.") < 1.0
    assert caption_similarity("A rash.", "Fig. 9 A rash.") == 1.0
    # empty truth caption: only an empty prediction is right
    assert caption_matches("", "")
    assert not caption_matches("", "Figure 4 Something")


# ---------------------------------------------------------------- PubLayNet (COCO)


def test_coco_boxes_to_points_at_dpi(tmp_path):
    path = write_json(tmp_path / "samples.json", coco_doc())
    truth = load_truth(path)
    assert truth == {"page_a.pdf": [TruthFigure(page=1, bbox=(10.0, 20.0, 40.0, 60.0), caption=None)], "page_b.pdf": []}
    from eval.extraction import read_coco_truth

    half = read_coco_truth(coco_doc(), path, dpi=144)
    assert half["page_a.pdf"][0].bbox == (5.0, 10.0, 20.0, 30.0)


def make_page_images(folder: Path) -> None:
    rng = np.random.default_rng(0)
    for name in ("page_a.jpg", "page_b.jpg"):
        arr = np.full((288, 144, 3), 255, np.uint8)
        arr[20:60, 10:40] = rng.integers(0, 255, (40, 30, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / name, quality=90)


@pytest.mark.parametrize("dpi", [72.0, 144.0])
def test_wrap_images_writes_image_only_pdfs_and_truth(tmp_path, dpi):
    src = tmp_path / "src"
    src.mkdir()
    make_page_images(src)
    coco = write_json(src / "samples.json", coco_doc())
    out = tmp_path / "wrapped"
    pdfs = wrap_images(coco, out, dpi=dpi)
    assert [p.name for p in pdfs] == ["page_a.pdf", "page_b.pdf"]
    scale = 72.0 / dpi
    with pymupdf.open(out / "page_a.pdf") as doc:
        assert len(doc) == 1
        page = doc[0]
        assert (page.rect.width, page.rect.height) == pytest.approx((144 * scale, 288 * scale))
        assert page.get_text().strip() == ""
        (info,) = page.get_image_info()
        assert info["bbox"] == pytest.approx(tuple(page.rect), abs=0.01)
    truth = load_truth(out)
    assert truth["page_a.pdf"] == [TruthFigure(page=1, bbox=tuple(v * scale for v in (10.0, 20.0, 40.0, 60.0)), caption=None)]
    assert truth["page_b.pdf"] == []


def test_coco_scores_boxes_only(tmp_path):
    path = write_json(tmp_path / "samples.json", coco_doc())
    records = write_records(tmp_path / "records.jsonl", [record("page_a.pdf", 1, (11, 21, 40, 60), "Fig. 1 whatever")])
    scores = evaluate(path, records)
    assert [(s.book, s.f1, s.caption_accuracy, s.pair_f1) for s in scores] == [
        ("page_a.pdf", 1.0, None, None), ("page_b.pdf", 1.0, None, None)]
    total = total_score(scores)
    assert (total.n_truth, total.matched, total.f1, total.caption_accuracy) == (1, 1, 1.0, None)


# ---------------------------------------------------------------- our sample format, detection, totals, manifest


def test_sample_truth_scores_perfect_records():
    truth_file = SAMPLES / "derm_vector_overlay.truth.json"
    truth = json.loads(truth_file.read_text())
    records = [record(truth["pdf"], f["page"], f["bbox"], f["caption"]) for f in truth["figures"]]
    figs = load_truth(truth_file)[truth["pdf"]]
    preds = [PredFigure(page=r["page"], bbox=tuple(r["bbox"]), caption=r["caption"]) for r in records]
    s = score_book(truth["pdf"], figs, preds)
    assert (s.f1, s.caption_accuracy, s.pair_f1) == (1.0, 1.0, 1.0)
    assert figure_misses(truth["pdf"], figs, preds) == []


def test_truth_format_detection(tmp_path):
    assert truth_format(docling_doc()) == "docling"
    assert truth_format(jbc_doc()) == "jbc"
    assert truth_format(coco_doc()) == "coco"
    assert truth_format(json.loads((SAMPLES / "derm_atlas_digital.truth.json").read_text())) == "sample"
    assert truth_format([{"num_cells": 3}]) is None
    assert truth_format({"a": 1}) is None


def test_directory_of_docling_json_skips_other_json(tmp_path):
    write_json(tmp_path / "tiny.json", docling_doc())
    write_json(tmp_path / "tiny.pages.meta.json", [{"num_cells": 3}])
    assert list(load_truth(tmp_path)) == ["tiny.pdf"]
    with pytest.raises(ValueError):
        load_truth(tmp_path / "tiny.pages.meta.json")


def test_sample_directory_reads_only_truth_files():
    pdfs = sorted(p.name for p in SAMPLES.glob("*.pdf"))
    assert len(pdfs) >= 3 and sorted(load_truth(SAMPLES)) == pdfs


def test_books_outside_the_build_are_not_scored(tmp_path):
    write_json(tmp_path / "tiny.json", docling_doc())
    write_json(tmp_path / "other.json", docling_doc())
    out = tmp_path / "build"
    out.mkdir()
    records = write_records(out / "records.jsonl", [], books=["tiny.pdf"])
    assert [s.book for s in evaluate(tmp_path, records)] == ["tiny.pdf"]
    assert unbuilt_books(tmp_path, records) == ["other.pdf"]


def test_total_is_micro_averaged():
    a = BookScore("a", 2, 2, 2, 1.0, 1.0, 1.0, 1.0, 1.0, caption_ok=2)
    b = BookScore("b", 2, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, caption_ok=0)
    c = BookScore("c", 1, 1, 1, 1.0, 1.0, 1.0, None, None, caption_ok=None)  # no caption truth
    t = total_score([a, b, c])
    assert (t.n_truth, t.n_pred, t.matched) == (5, 3, 3)
    assert t.recall == 0.6 and t.precision == 1.0
    assert t.caption_accuracy == 1.0 and t.pair_f1 == pytest.approx(2 * 1.0 * 0.5 / 1.5, abs=1e-4)


def test_not_a_figure_reasons_match_the_pipeline():
    from eval.extraction import NOT_A_FIGURE
    from pipeline.figures import NOT_A_FIGURE as PIPELINE_NOT_A_FIGURE

    assert NOT_A_FIGURE == set(PIPELINE_NOT_A_FIGURE)


def test_eval_does_not_import_flows_or_pipeline():
    # the scorer and the truth readers (eval/bench.py runs the pipeline itself and is not checked here)
    for path in (REPO / "eval" / "extraction.py", REPO / "eval" / "publaynet.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] in {"flows", "pipeline"} for n in names), path


def test_cli_wrap_images_then_extraction(tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    src = tmp_path / "src"
    src.mkdir()
    make_page_images(src)
    coco = write_json(src / "samples.json", coco_doc())
    runner = CliRunner()
    res = runner.invoke(app, ["eval", "wrap-images", "--coco", str(coco), "--out", str(tmp_path / "w")])
    assert res.exit_code == 0, res.output
    records = write_records(tmp_path / "records.jsonl", [record("page_b.pdf", 1, (1, 1, 50, 50))])
    res = runner.invoke(app, ["eval", "extraction", "--truth", str(tmp_path / "w"), "--records", str(records),
                              "--misses", "--json", str(tmp_path / "s.json")])
    assert res.exit_code == 0, res.output
    assert "page_a.pdf p1: truth figure [10, 20, 40, 60]" in res.output
    assert "page_b.pdf p1: predicted figure [1, 1, 50, 50]" in res.output
    assert [s["book"] for s in json.loads((tmp_path / "s.json").read_text())] == ["page_a.pdf", "page_b.pdf"]


# ---------------------------------------------------------------- the real files (../shared/data)


@pytest.mark.shared
def test_real_docling_groundtruth_matches_pdf_pages():
    gt = shared_path("pdfs", "docling", "groundtruth")
    src = shared_path("pdfs", "docling", "sources")
    truth = load_truth(gt)
    assert {"amt_handbook_sample.pdf", "picture_classification.pdf", "redp5110_sampled.pdf",
            "normal_4pages.pdf"} <= set(truth)
    amt = truth["amt_handbook_sample.pdf"]
    assert [f.caption for f in amt] == ["Figure 7-26. Self-locking nuts.", "Figure 7-27. Stainless steel self-locking nut."]
    assert amt[0].bbox == (70.54, 530.83, 310.1, 694.75)  # t=243.17, b=79.25 on a 774 pt page
    # picture_classification: each truth box is the box of the page's one embedded image
    with pymupdf.open(src / "picture_classification.pdf") as doc:
        for f in truth["picture_classification.pdf"]:
            (info,) = doc[f.page - 1].get_image_info()
            assert iou(f.bbox, info["bbox"]) > 0.9


@pytest.mark.shared
def test_real_jbc_annotation_is_in_pdf_points():
    ann = shared_path("pdfs", "sciint_jbc", "PDF-00001_annotation.json")
    truth = load_truth(ann)
    assert list(truth) == ["PDF-00001_roy_2014.pdf"]
    figs = truth["PDF-00001_roy_2014.pdf"]
    assert [f.page for f in figs] == [4, 5, 6, 7, 8, 9]
    assert all(f.caption and not f.caption.upper().startswith("FIG") for f in figs)
    with pymupdf.open(ann.parent / "PDF-00001_roy_2014.pdf") as doc:
        for f in figs:  # loose boxes (~13 pt margin) around the page's embedded figure image
            best = max(iou(f.bbox, i["bbox"]) for i in doc[f.page - 1].get_image_info())
            assert best > 0.7, (f.page, best)


@pytest.mark.shared
def test_real_publaynet_wraps_to_pages_of_image_size(tmp_path):
    coco = shared_path("pages", "publaynet", "samples.json")
    doc = json.loads(coco.read_text())
    truth = load_truth(coco)
    assert len(truth) == len(doc["images"]) == 20
    assert sum(len(f) for f in truth.values()) == 9
    one = dict(doc, images=doc["images"][:1])
    small = write_json(tmp_path / "one.json", one)
    (small.parent / one["images"][0]["file_name"]).symlink_to(coco.parent / one["images"][0]["file_name"])
    (pdf,) = wrap_images(small, tmp_path / "w")
    with pymupdf.open(pdf) as d:
        assert (d[0].rect.width, d[0].rect.height) == (one["images"][0]["width"], one["images"][0]["height"])
        assert d[0].get_text().strip() == ""
