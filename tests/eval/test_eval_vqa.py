"""`mmskin eval vqa` end to end on the tiny model: generation with the training template, predictions file,
report files, per-modality scores, rescoring from --predictions, bad records."""

from __future__ import annotations

import json
import time

import pytest

from tests.llava_data import make_dataset

pytestmark = pytest.mark.xdist_group("tiny_llava")


def settings_file(tmp_path, **evaluation):
    p = tmp_path / "settings.json"
    p.write_text(json.dumps({"evaluation": {"max_new_tokens": 8, **evaluation}}))
    return p


def test_eval_vqa_end_to_end_on_tiny_model(tiny_llava, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    data = make_dataset(tmp_path / "data", n_train=1, n_test=3) / "llava_test.json"
    n_questions = sum(len(r["conversations"]) // 2 for r in json.loads(data.read_text()))
    t0 = time.perf_counter()
    res = CliRunner().invoke(app, ["eval", "vqa", "--model", str(tiny_llava), "--data", str(data),
                                   "--out", str(tmp_path / "r1"), "--config", str(settings_file(tmp_path))])
    seconds = time.perf_counter() - t0
    assert res.exit_code == 0, res.output
    print(f"eval vqa on the tiny model: {n_questions} questions in {seconds:.1f} s (CLI, model load included)")
    rep = json.loads((tmp_path / "r1" / "report.json").read_text())
    assert rep["n_questions"] == n_questions and rep["errors"] == [] and rep["decoding"] == "greedy"
    assert rep["template"] == "vicuna_v1" and rep["max_new_tokens"] == 8
    assert set(rep["by_modality"]) == {"overall", "clinical", "dermoscopy", "pathology"}
    assert set(rep["by_kind"]) == {"caption", "vqa"} and rep["by_kind"]["caption"]["n"] == 3
    for group in rep["by_modality"].values():
        for scheme in ("mmskin-compat", "normalized"):
            assert set(group[scheme]) == {"bleu1", "bleu2", "bleu3", "bleu4", "rougeL", "token_recall"}
            assert all(0 <= v <= 100 for v in group[scheme].values())
    md = (tmp_path / "r1" / "report.md").read_text()
    assert "| overall | 9 | mmskin-compat |" in md and "| dermoscopy | 3 | normalized |" in md
    assert (tmp_path / "r1" / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    preds = [json.loads(x) for x in (tmp_path / "r1" / "predictions.jsonl").read_text().splitlines()]
    assert [p["id"] for p in preds][:2] == ["book-p0100-fig-cap#1", "book-p0100-fig-vqa#1"]
    assert all(isinstance(p["prediction"], str) for p in preds)

    # the same answers read back from the predictions file score the same
    res = CliRunner().invoke(app, ["eval", "vqa", "--predictions", str(tmp_path / "r1" / "predictions.jsonl"),
                                   "--data", str(data), "--out", str(tmp_path / "r2")])
    assert res.exit_code == 0, res.output
    rep2 = json.loads((tmp_path / "r2" / "report.json").read_text())
    assert rep2["by_modality"] == rep["by_modality"] and rep2["missing_predictions"] == 0

    # greedy decoding with a fixed seed: a second run gives the same answers
    res = CliRunner().invoke(app, ["eval", "vqa", "--model", str(tiny_llava), "--data", str(data),
                                   "--out", str(tmp_path / "r3"), "--config", str(settings_file(tmp_path))])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r3" / "predictions.jsonl").read_text() == (tmp_path / "r1" / "predictions.jsonl").read_text()


def test_eval_vqa_batched_generation_matches_one_by_one(tiny_llava, tmp_path):
    from eval.generate import generate, load_for_inference

    data = make_dataset(tmp_path / "data", n_train=1, n_test=2)
    imgs = sorted((data / "images").glob("*.png"))[:2]
    loaded = load_for_inference(tiny_llava)
    qs = [("Describe this image.", imgs[0]), ("What is the most likely diagnosis of this lesion?", imgs[1])]
    batched = generate(loaded, qs, max_new_tokens=6, temperature=0.0, seed=0, batch_size=2)
    single = [generate(loaded, [q], max_new_tokens=6, temperature=0.0, seed=0, batch_size=1)[0] for q in qs]
    assert batched == single


def test_eval_vqa_scores_predictions_and_reports_bad_records(tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    root = make_dataset(tmp_path / "data", n_train=1, n_test=3)
    recs = json.loads((root / "llava_test.json").read_text())
    recs[0]["image"] = "images/missing.png"
    (root / "t.json").write_text(json.dumps(recs))
    answers = {f"{r['id']}#{k // 2 + 1}": r["conversations"][k + 1]["value"]
               for r in recs for k in range(0, len(r["conversations"]), 2)}
    answers.pop("book-p0101-fig-cap#1")
    lines = [json.dumps({"id": i, "prediction": a}) for i, a in answers.items()] + ["not json"]
    (tmp_path / "p.jsonl").write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(app, ["eval", "vqa", "--predictions", str(tmp_path / "p.jsonl"), "--data",
                                   str(root / "t.json"), "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    assert rep["n_questions"] == 8  # record 0 (1 question) left out
    assert any("record 0 (id 'book-p0100-fig-cap')" in e and "missing.png" in e for e in rep["errors"])
    assert any("line 9: not valid JSON" in e for e in rep["errors"])
    assert rep["missing_predictions"] == 1 and rep["unmatched_predictions"] == 1
    by = rep["by_modality"]
    # perfect answers, except the missing one (a pathology caption), which counts as an empty answer
    assert by["clinical"]["normalized"]["rougeL"] == pytest.approx(100.0)
    assert by["dermoscopy"]["mmskin-compat"]["rougeL"] == pytest.approx(100.0, abs=1e-5)
    assert by["pathology"]["normalized"]["rougeL"] == pytest.approx(100.0 * 2 / 3)
    assert by["pathology"]["n"] == 3 and by["overall"]["empty_predictions"] == 1
    res = CliRunner().invoke(app, ["eval", "vqa", "--data", str(root / "t.json"), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "--model or --predictions" in res.output


def test_eval_vqa_reads_mmskin_csv(tmp_path):
    from eval.vqa import load_items
    from tests.llava_data import write_image

    write_image(tmp_path / "dataset" / "a.png", "clinical", 1)
    (tmp_path / "t.csv").write_text('image,question,answer\ndataset/a.png,What does the image show?,"A cyst."\n'
                                    'dataset/b.png,Where?,On the thumb.\n')
    items, errors = load_items(tmp_path / "t.csv")
    assert [(i["id"], i["question"], i["reference"], i["modality"]) for i in items] == [
        ("row1", "What does the image show?", "A cyst.", "unknown")]
    assert len(errors) == 1 and "row 2" in errors[0] and "dataset/b.png" in errors[0]


def test_reads_what_the_export_writes(tmp_path):
    """The contract with pipeline/export.py: its LLaVA conversations (with modality) load as training samples and
    as evaluation questions, one per turn."""
    from eval.vqa import load_items
    from pipeline.export import assign_splits, llava_conversations
    from pipeline.vqa import generate_vqa
    from schemas import Record
    from schemas.settings import ExportSettings
    from tests.llava_data import write_image
    from training.data import load_samples

    recs = [Record(id=f"r{i}", source_pdf="b.pdf", book_id="x" * 64, page=1, bbox=(0, 0, 10, 10),
                   image=f"images/r{i}.png", figure_id=f"f{i}", modality=m, width=300, height=300,
                   caption=f"Fig. {i} Psoriasis on the elbow of a 40-year-old man.")
            for i, m in enumerate(["clinical", "pathology"])]
    records, _ = generate_vqa(assign_splits(recs, ExportSettings(test_fraction=1.0)))
    conv = llava_conversations(records, "test")
    assert conv and all("modality" in c for c in conv)
    for r in recs:
        write_image(tmp_path / r.image, "clinical", 0)
    (tmp_path / "llava_test.json").write_text(json.dumps(conv))
    samples, errors = load_samples(tmp_path / "llava_test.json")
    assert not errors and len(samples) == len(conv)
    items, errors = load_items(tmp_path / "llava_test.json")
    assert not errors and len(items) == sum(len(c["conversations"]) // 2 for c in conv)
    assert {i["modality"] for i in items} == {"clinical", "pathology"}
    assert all("<image>" not in i["question"] for i in items)
