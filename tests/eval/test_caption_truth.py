"""Caption truth scorer (eval/caption_truth.py) on tiny synthetic truths, and the committed military
dermatology truth's structure. Fast; nothing from ../shared is needed."""

from __future__ import annotations

import json

import pytest

from eval.caption_truth import (
    SCHEMA,
    CaptionTruth,
    TruthCaption,
    label_key,
    load_truth,
    main,
    misses,
    parse_truth,
    predictions_from_records,
    predictions_from_tuples,
    score,
    truth_problems,
)
from tests.conftest import REPO

MILDERM = REPO / "eval" / "truth" / "military_dermatology_1994.truth.json"

CREDIT = "Photograph: Courtesy of Entomology Department, Walter Reed Army Institute of Research."


def truth_doc() -> dict:
    return {
        "schema": SCHEMA, "pdf": "book.pdf", "sha256": None, "page_count": 10,
        "figures": [
            {"id": "b-F1", "page": 2, "label": "Fig. 1-1", "caption": "Fig. 1-1. Primary versus secondary lesions.",
             "credit": None, "bbox": [50, 50, 280, 200], "kind": "placeholder", "checked_by_eye": True,
             "regions": [{"bbox": [50, 50, 280, 200], "kind": "placeholder", "placeholder": "ok-to-put-on-the-web"}]},
            {"id": "b-F2", "page": 2, "label": "Fig. 1-2",
             "caption": f"Fig. 1-2. The body louse is a wingless insect. {CREDIT}", "credit": CREDIT,
             "bbox": [300, 50, 540, 200], "kind": "placeholder", "checked_by_eye": False,
             "regions": [{"bbox": [300, 50, 540, 200], "kind": "placeholder"}]},
            {"id": "b-F3", "page": 5, "label": "Fig. 2-1",
             "caption": "Fig. 2-1. A Japanese nuclear casualty with thermal burns. (a) Scalp. (b) Cap.",
             "credit": None, "bbox": [80, 70, 540, 400], "kind": "photo", "checked_by_eye": True,
             "regions": [{"bbox": [80, 70, 300, 400], "kind": "photo"},
                         {"bbox": [320, 70, 540, 400], "kind": "photo"}]},
            {"id": "b-F4", "page": 7, "label": "Fig. 2-2", "caption": "Fig. 2-2. Algorithm for pustules.",
             "credit": None, "bbox": [100, 100, 500, 600], "kind": "drawing", "checked_by_eye": True,
             "regions": [{"bbox": [100, 100, 500, 600], "kind": "drawing"}]},
        ],
        "notes": [],
    }


def record(page, bbox, label=None, caption="", kept=False, reasons=(), pdf="book.pdf", rid="r"):
    return {"id": rid, "source_pdf": pdf, "page": page, "bbox": list(bbox), "figure_label": label, "caption": caption,
            "kept": kept, "reject_reasons": list(reasons)}


@pytest.fixture
def truth() -> CaptionTruth:
    return parse_truth(truth_doc())


def test_label_key_unifies_spelling():
    assert label_key("Fig. 14-11") == "14-11"
    assert label_key("Fig.14–11. Tuberculoid leprosy") == "14-11"
    assert label_key("FIGURE 5.3A") == "5-3a"
    assert label_key("Figure 7 - 26.") == "7-26"
    assert label_key("The figure shows") is None
    assert label_key(None) is None


def test_caption_without_credit():
    t = TruthCaption(id="x", page=1, label="Fig. 1-2", caption=f"Fig. 1-2. A louse. {CREDIT}", credit=CREDIT)
    assert t.caption_without_credit == "Fig. 1-2. A louse."
    plain = TruthCaption(id="y", page=1, label="Fig. 1-1", caption="Fig. 1-1. X.")
    assert plain.caption_without_credit == "Fig. 1-1. X."


def test_recall_by_label_and_by_text_and_precision(truth):
    preds = predictions_from_tuples([
        (2, "Fig. 1-1", "Fig. 1-1. Primary versus secondary lesions."),  # by label, text right
        (2, None, "Fig. 1-2. The body louse is a wingless insect."),  # label from the caption; credit line lost
        (5, "Fig. 9-9", "Fig. 9-9. A Japanese nuclear casualty with thermal burns. (a) Scalp. (b) Cap."),  # wrong label
        (3, "Fig. 1-1", "Fig. 1-1. Primary versus secondary lesions."),  # right label, wrong page: not a caption
    ])
    s = score(truth, preds)
    assert (s.n_truth, s.found, s.found_by_label, s.found_by_text) == (4, 3, 2, 1)
    assert s.recall == 0.75
    # labelled predictions: (2,1-1) (2,1-2) (5,9-9) (3,1-1): two are captions of the truth
    assert (s.n_pred_labelled, s.real_labelled, s.precision) == (4, 2, 0.5)
    # texts: 1-1 exact; 1-2 right only without its credit line; 2-1 found by text: only its label differs
    assert (s.text_ok, s.text_ok_without_credit, s.text_ok_either, s.credit_lost) == (2, 3, 3, 1)
    assert s.exact == 1 and s.exact_compact == 1
    lines = misses(truth, preds)
    assert any("Fig. 2-2" in ln and "not found" in ln for ln in lines)
    assert any("predicted label" in ln and "9-9" in ln for ln in lines)
    assert any("predicted label" in ln and "p3" in ln for ln in lines)


def test_exact_rate_ignores_case_punctuation_and_spaces(truth):
    preds = predictions_from_tuples([(2, "Fig. 1-1", "FIG 1-1 primary versus secondary le- sions")])
    s = score(truth, preds)
    assert s.found == 1 and s.text_ok == 1
    assert s.exact == 0  # 'le sions' is not 'lesions' ...
    assert s.exact_compact == 1  # ... but the same letters once spaces are dropped
    preds = predictions_from_tuples([(2, "Fig. 1-1", "FIG 1-1 primary versus secondary lesions")])
    assert score(truth, preds).exact == 1


def test_region_fates_per_kind(truth):
    records = [
        # placeholder 1-1: its box came out as a record, rejected, caption attached
        record(2, (51, 51, 279, 199), "Fig. 1-1", "Fig. 1-1. Primary versus secondary lesions.", False,
               ["non_photographic", "low_contrast"], rid="a"),
        # placeholder 1-2: a record rejected without caption
        record(2, (300, 50, 540, 200), None, "", False, ["no_caption"], rid="b"),
        # photo: two panel records, kept, right label
        record(5, (80, 70, 300, 400), "Fig. 2-1", "Fig. 2-1. A Japanese nuclear casualty with thermal burns. (a) "
               "Scalp. (b) Cap.", True, rid="c"),
        record(5, (320, 70, 540, 400), "Fig. 2-1", "Fig. 2-1. A Japanese nuclear casualty.", True, rid="d"),
        # drawing: only a sliver of it, uncaptioned (inside the box: still the region's record)
        record(7, (400, 100, 500, 600), None, "", False, ["vector_uncaptioned"], rid="e"),
        # another book's record is ignored
        record(7, (100, 100, 500, 600), "Fig. 2-2", "Fig. 2-2. Algorithm for pustules.", True, pdf="other.pdf"),
    ]
    preds = predictions_from_records(records, "book.pdf")
    assert len(preds) == 5
    s = score(truth, preds)
    ph, photo, drawing = s.kinds["placeholder"], s.kinds["photo"], s.kinds["drawing"]
    assert (ph.n, ph.with_region_record, ph.kept, ph.rejected) == (2, 2, 0, 2)
    assert ph.reject_reasons == {"non_photographic": 1, "low_contrast": 1, "no_caption": 1}
    assert (ph.caption_attached, ph.attached_text_ok) == (1, 1)
    assert (photo.with_region_record, photo.kept, photo.caption_attached, photo.attached_text_ok) == (1, 1, 1, 1)
    assert (drawing.with_region_record, drawing.rejected, drawing.caption_attached) == (1, 1, 0)
    assert drawing.reject_reasons == {"vector_uncaptioned": 1}
    assert (s.found, s.recall) == (2, 0.5)  # 1-1 and 2-1 by label; 1-2 and 2-2 have no caption in any record
    assert list(s.kinds) == ["placeholder", "photo", "drawing"]


def test_no_predictions(truth):
    s = score(truth, [])
    assert (s.found, s.recall, s.precision, s.text_accuracy) == (0, 0.0, 0.0, 0.0)


def test_truth_problems_catches_mistakes():
    assert truth_problems(truth_doc()) == []
    doc = truth_doc()
    doc["schema"] = "other"
    doc["figures"][1]["label"] = "Fig. 1-1"
    doc["figures"][1]["credit"] = "Courtesy of nobody."
    doc["figures"][2]["page"] = 11
    doc["figures"][3]["page"] = 1
    doc["figures"][3]["bbox"] = [500, 100, 100, 600]
    problems = "\n".join(truth_problems(doc))
    for what in ("schema", "duplicate labels", "does not start with its label", "does not end with its credit",
                 "outside 1..10", "not sorted", "bad box"):
        assert what in problems, what


def test_main_writes_json(tmp_path, capsys):
    truth_path = tmp_path / "book.truth.json"
    truth_path.write_text(json.dumps(truth_doc()))
    records_path = tmp_path / "records.jsonl"
    records_path.write_text("\n".join(json.dumps(r) for r in [
        record(2, (50, 50, 280, 200), "Fig. 1-1", "Fig. 1-1. Primary versus secondary lesions.", rid="a"),
        record(5, (80, 70, 300, 400), None, "", True, rid="c", pdf="dir/book.pdf"),
    ]) + "\n")
    out_json = tmp_path / "scores.json"
    assert main(["--truth", str(truth_path), "--records", str(records_path), "--json", str(out_json), "--misses"]) == 0
    printed = capsys.readouterr().out
    assert "caption recall    0.250" in printed and "caption not found" in printed
    data = json.loads(out_json.read_text())
    assert data["found"] == 1 and data["kinds"]["photo"]["kept"] == 1


# ---------------------------------------------------------------- the committed truth


def test_military_dermatology_truth_structure():
    doc = json.loads(MILDERM.read_text())
    assert doc["schema"] == SCHEMA and doc["pdf"] == "military_dermatology_1994_redacted.pdf"
    assert doc["page_count"] == 624 and len(doc["sha256"]) == 64
    assert truth_problems(doc) == []
    figs = doc["figures"]
    labels = [f["label"] for f in figs]
    assert len(labels) == len(set(labels)) == 433
    assert all(1 <= f["page"] <= 624 for f in figs)
    assert [f["page"] for f in figs] == sorted(f["page"] for f in figs)
    assert sum(f["checked_by_eye"] for f in figs) >= 100
    assert {f["kind"] for f in figs} == {"placeholder", "photo", "drawing"}
    assert all(f["bbox"] and f["regions"] for f in figs)
    assert all(f["caption"].endswith(f["credit"]) for f in figs if f["credit"])
    # every chapter's figures are numbered 1..n without a gap
    by_chapter: dict[int, list[int]] = {}
    for lab in labels:
        ch, n = map(int, lab.removeprefix("Fig. ").split("-"))
        by_chapter.setdefault(ch, []).append(n)
    assert all(sorted(ns) == list(range(1, len(ns) + 1)) for ns in by_chapter.values())
    truth = load_truth(MILDERM)
    assert len(truth.figures) == 433 and truth.figures[0].key == "1-1"
