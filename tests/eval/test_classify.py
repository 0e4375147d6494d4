"""`mmskin eval classify`: the zero-shot answer matching, the metrics, MM-Skin's CSV format, the linear probe and
both modes end to end on the tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.llava_data import classification_csv

CLASSES = ["Malignant", "Non-Malignant"]


def test_first_class_named_wins():
    from eval.classify import first_class

    assert first_class("It is non-malignant, not malignant.", CLASSES) == "Non-Malignant"
    assert first_class("Malignant. Surely not non-malignant", CLASSES) == "Malignant"
    assert first_class("MALIGNANT melanoma", CLASSES) == "Malignant"
    assert first_class("premalignant change", CLASSES) is None  # whole words only
    assert first_class("I cannot tell.", CLASSES) is None
    assert first_class("melanoma in situ", ["melanoma", "melanoma in situ"]) == "melanoma in situ"
    assert first_class("a naevus, maybe a melanoma", ["melanoma", "naevus"]) == "naevus"


def test_metrics_known_values():
    from eval.classify import confusion, metrics

    y = ["a", "a", "b", "b"]
    m = metrics(y, ["a", "b", "b", None], ["a", "b"], np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.7, 0.3]]))
    assert m["accuracy"] == pytest.approx(50.0)
    assert m["balanced_accuracy"] == pytest.approx(50.0)
    # F1(a) = 2*1*0.5/1.5 = 2/3, F1(b) = 2*0.5*0.5/1 = 0.5
    assert m["macro_f1"] == pytest.approx(100 * (2 / 3 + 0.5) / 2)
    # positives of "b" score 0.8, 0.3 vs negatives 0.1, 0.6: 3 of 4 pairs ordered
    assert m["auroc"] == pytest.approx(75.0)
    assert metrics(y, y, ["a", "b"])["auroc"] is None
    assert confusion(y, ["a", "b", "b", None], ["a", "b"]) == [[1, 1, 0], [0, 1, 1]]


def test_reads_mmskin_classification_csv(tmp_path):
    from eval.classify import read_dataset
    from tests.llava_data import write_image

    for k in range(2):
        write_image(tmp_path / "DDI" / f"{k}.png", "clinical", k)
    (tmp_path / "t.csv").write_text("image,atributes,categories\nDDI/0.png,[],['Malignant']\n"
                                    "DDI/1.png,[],['Non-Malignant']\nDDI/2.png,[],['Malignant']\n"
                                    "DDI/1.png,[],\"['a', 'b']\"\n")
    rows, errors = read_dataset(tmp_path / "t.csv")
    assert [(p.name, lab) for p, lab in rows] == [("0.png", "Malignant"), ("1.png", "Non-Malignant")]
    assert len(errors) == 2 and "row 3" in errors[0] and "DDI/2.png" in errors[0] and "one category" in errors[1]


def test_probe_picks_c_by_cross_validation():
    from eval.classify import fit_probe
    from schemas.settings import EvaluationSettings

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (20, 5)), rng.normal(3, 1, (20, 5))])
    y = ["a"] * 20 + ["b"] * 20
    probe, info = fit_probe(x, y, EvaluationSettings())
    assert info["cv_folds"] == 5 and info["C"] in EvaluationSettings().probe_c_grid and info["cv_score"] > 0.9
    assert list(probe.predict(np.array([[0.0] * 5, [3.0] * 5]))) == ["a", "b"]
    with pytest.raises(ValueError, match="single training image"):
        fit_probe(x[:21], y[:21], EvaluationSettings())


@pytest.mark.xdist_group("tiny_llava")
def test_classify_sft_and_zeroshot_on_tiny_model(tiny_llava, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    train = classification_csv(tmp_path, "train", n_per_class=6, seed=1)
    test = classification_csv(tmp_path, "test", n_per_class=4, seed=2)
    res = CliRunner().invoke(app, ["eval", "classify", "--mode", "sft", "--model", str(tiny_llava), "--train",
                                   str(train), "--test", str(test), "--out", str(tmp_path / "sft")])
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "sft" / "report.json").read_text())
    assert rep["n_train"] == 18 and rep["n_test"] == 12 and rep["classes"] == ["clinical", "dermoscopy", "pathology"]
    assert rep["feature_dim"] == 32 and rep["probe"]["cv_folds"] == 5
    # the procedural classes differ in colour: even a random vision tower separates them
    assert rep["scores"]["accuracy"] >= 90 and rep["scores"]["auroc"] >= 90
    assert sum(map(sum, rep["confusion"]["matrix"])) == 12
    assert "| AUROC |" in (tmp_path / "sft" / "report.md").read_text()
    assert (tmp_path / "sft" / "report.png").read_bytes()[:4] == b"\x89PNG"

    (tmp_path / "s.json").write_text(json.dumps({"evaluation": {"zeroshot_max_new_tokens": 4}}))
    res = CliRunner().invoke(app, ["eval", "classify", "--mode", "zeroshot", "--model", str(tiny_llava), "--test",
                                   str(test), "--out", str(tmp_path / "zs"), "--config", str(tmp_path / "s.json")])
    assert res.exit_code == 0, res.output
    zs = json.loads((tmp_path / "zs" / "report.json").read_text())
    assert zs["prompt"].startswith("Which of the following classes does this image show: clinical, dermoscopy, "
                                   "pathology?")
    assert len(zs["answers"]) == 12 and zs["scores"]["auroc"] is None
    from eval.classify import first_class

    named = [first_class(a["answer"], zs["classes"]) for a in zs["answers"]]
    assert zs["no_class_named"] == sum(n is None for n in named)
    right = sum(n == a["label"] for n, a in zip(named, zs["answers"]))
    assert zs["scores"]["accuracy"] == pytest.approx(100 * right / 12)

    res = CliRunner().invoke(app, ["eval", "classify", "--mode", "sft", "--model", str(tiny_llava), "--test",
                                   str(test), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "--train" in res.output
