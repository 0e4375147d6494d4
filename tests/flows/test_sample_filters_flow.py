"""On the build of the sample books: the face and overlay filters find the truth-marked figures, the
modality of the figures stays right, and rejects.html shows every rejected record once."""

from __future__ import annotations

import json
import re

import pytest

from eval.extraction import TruthFigure, iou, match_figures, predicted_figures, read_records, rounded
from eval.filters import sample_recall
from tests.conftest import SAMPLES

pytestmark = [pytest.mark.flow, pytest.mark.xdist_group("flow")]


def test_face_and_overlay_recall_on_the_sample_books(sample_build):
    out, _ = sample_build
    face, overlay = sample_recall(SAMPLES, out / "records.jsonl")
    assert face.n_truth >= 6 and face.recall >= 0.9, face.missed
    assert overlay.n_truth >= 6 and overlay.recall >= 0.9, overlay.missed
    assert not face.false_positives  # no other sample photograph is taken for a face


def test_sample_figure_modality_accuracy(sample_build):
    out, _ = sample_build
    records = read_records(out / "records.jsonl")
    by_id = {r["id"]: r for r in records}
    preds = predicted_figures(records)
    right = total = 0
    wrong = []
    for tj in sorted(SAMPLES.glob("*.truth.json")):
        t = json.loads(tj.read_text())
        figs = t["figures"]
        pf = preds.get(t["pdf"], [])
        pairs = match_figures([TruthFigure(f["page"], rounded(f["bbox"]), f["caption"]) for f in figs], pf)
        for i, j in pairs:
            recs = [by_id[x] for x in pf[j].record_ids]
            for unit in figs[i]["panels"] or [figs[i]]:
                rec = max(recs, key=lambda r: iou(r["bbox"], unit["bbox"]))
                total += 1
                right += rec["modality"] == unit["modality"]
                if rec["modality"] != unit["modality"]:
                    wrong.append((figs[i]["id"], unit["modality"], rec["modality"]))
    assert total >= 36
    assert right / total >= 0.95, wrong


def test_rejects_html_of_the_sample_build(sample_build):
    out, _ = sample_build
    records = read_records(out / "records.jsonl")
    page = (out / "rejects.html").read_text()
    cards = re.findall(r'<div class="card" id="([^"]+)"', page)
    assert sorted(cards) == sorted(r["id"] for r in records if not r["kept"])
    assert 'id="r-identifiable_face"' in page and 'id="r-annotated_overlay"' in page
