"""eval.filters and `mmskin eval filters`: recall against truth-marked figures, false positives on a folder."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from eval.filters import sample_recall, scan_folder
from flows.cli import app
from synth.faces import make_face
from synth.images import add_annotation, make_clinical


def _images(folder):
    folder.mkdir()
    # the parameters of Fig. 4.2 of the sample book derm_face_annotated
    make_face(np.random.default_rng(402), size=(360, 440), view="frontal", tone=1.5, lesion="malar",
              hair=3).save(folder / "face.png")
    plain = make_clinical(np.random.default_rng(7), size=(480, 360), kind="plaque", tone=1.5)
    plain.save(folder / "plain.jpg", quality=85)
    (folder / "sub").mkdir()
    add_annotation(plain, "circle").save(folder / "sub" / "circled.png")
    (folder / "broken.jpg").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("not scanned")


def test_scan_folder_flags_faces_and_overlays_and_reports_bad_files(tmp_path):
    _images(tmp_path / "imgs")
    s = scan_folder(tmp_path / "imgs")
    assert s.n == 3
    assert s.face_flagged == ["face.png"]
    assert s.overlay_flagged == ["sub/circled.png"]
    assert len(s.errors) == 1 and "broken.jpg" in s.errors[0]
    assert s.face_fp_rate == 1 / 3


def _truth_and_records(tmp_path):
    def fig(i, face=False, overlay=False, modality="clinical"):
        return {"id": f"b-F{i}", "label": f"Fig. {i}", "page": 1, "bbox": [50, 100 * i, 250, 100 * i + 80],
                "caption": f"Fig. {i} Something.", "face": face, "overlay": overlay, "modality": modality,
                "panels": []}

    truth = {"schema": "mmskin-sample-truth/1", "pdf": "b.pdf", "scanned": False, "page_count": 1,
             "figures": [fig(1, face=True), fig(2, face=True), fig(3, overlay=True), fig(4), fig(5, modality="other"),
                         fig(6, face=True)],
             "decorations": [], "non_figure_captions": []}
    (tmp_path / "b.truth.json").write_text(json.dumps(truth))

    def rec(i, reasons):
        return {"id": f"r{i}", "source_pdf": "b.pdf", "page": 1, "bbox": [50, 100 * i, 250, 100 * i + 80],
                "figure_id": f"f{i}", "caption": f"Fig. {i} Something.", "reject_reasons": reasons, "kept": not reasons}

    records = [rec(1, ["identifiable_face"]), rec(2, ["low_resolution"]), rec(3, ["annotated_overlay"]),
               rec(4, ["identifiable_face", "annotated_overlay"]), rec(5, ["annotated_overlay"])]  # F6 not extracted
    (tmp_path / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_sample_recall_counts_found_missed_and_false_positives(tmp_path):
    _truth_and_records(tmp_path)
    face, overlay = sample_recall(tmp_path, tmp_path / "records.jsonl")
    assert (face.kind, face.n_truth, face.found) == ("face", 3, 1)
    assert face.missed == ["b-F2 (Fig. 2): reasons ['low_resolution']", "b-F6 (Fig. 6): not extracted"]
    assert face.false_positives == ["b-F4 (Fig. 4)"] and face.n_unmarked == 2  # F3, F4 (F5 is not a photo)
    assert (overlay.n_truth, overlay.found, overlay.recall) == (1, 1, 1.0)
    assert overlay.false_positives == ["b-F4 (Fig. 4)"] and overlay.n_unmarked == 3  # F1, F2, F4


def test_eval_filters_cli_prints_and_writes_the_numbers(tmp_path):
    _truth_and_records(tmp_path)
    _images(tmp_path / "imgs")
    out = tmp_path / "filters.json"
    res = CliRunner().invoke(app, ["eval", "filters", "--truth", str(tmp_path / "b.truth.json"), "--records",
                                   str(tmp_path / "records.jsonl"), "--images", str(tmp_path / "imgs"), "--workers",
                                   "1", "--list", "--json", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["face"]["recall"] == 1 / 3 and data["overlay"]["recall"] == 1.0
    assert data["folder"]["n"] == 3 and data["folder"]["face_flagged"] == ["face.png"]
    assert "face missed: b-F6 (Fig. 6): not extracted" in res.stdout
    assert "broken.jpg" in res.stderr


def test_eval_filters_cli_refuses_half_an_input(tmp_path):
    res = CliRunner().invoke(app, ["eval", "filters", "--truth", str(tmp_path)])
    assert res.exit_code == 2 and "go together" in res.output
    res = CliRunner().invoke(app, ["eval", "filters"])
    assert res.exit_code == 2
