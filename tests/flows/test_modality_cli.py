"""`mmskin modality fit|predict` and `mmskin bench modality`; curator overrides; the real dev-set CV.

The dev-set test (needs ../shared/data) cross-validates on the 83 labelled real images (plus a few of our
procedural images, as the shipped model is trained) and asserts accuracy and macro-F1 >= 0.95 on the real ones.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from flows.cli import app
from flows.modality import apply_overrides, read_labels, read_overrides
from pipeline.modality.model import load
from synth.images import make_chart, make_clinical, make_dermoscopy, make_diagram, make_pathology, make_table_image
from tests.conftest import shared_path

runner = CliRunner()


def _write_images(d: Path) -> dict[str, Path]:
    rng = np.random.default_rng(11)
    d.mkdir(parents=True, exist_ok=True)
    clin = make_clinical(rng, size=(240, 180))
    files = {
        "clinical.png": clin,
        "chart.jpg": make_chart(rng),
        "grey.png": clin.convert("L"),
        "cmyk.jpg": make_pathology(rng, size=(200, 150)).convert("CMYK"),
        "tiny.png": clin.resize((16, 16)),
        "rgba.png": make_diagram(rng).convert("RGBA"),
        "sixteen.png": Image.fromarray(np.asarray(clin.convert("L")).astype(np.uint16) * 257),
    }
    out = {}
    for name, img in files.items():
        p = d / name
        img.save(p)
        out[name] = p
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    out["corrupt.png"] = d / "corrupt.png"
    return out


def test_predict_prints_a_line_per_image_and_survives_bad_ones(tmp_path):
    files = _write_images(tmp_path / "imgs")
    res = runner.invoke(app, ["modality", "predict", *map(str, files.values()), "--workers", "2"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    assert [x["image"] for x in lines] == [str(p) for p in files.values()]
    by = {Path(x["image"]).name: x for x in lines}
    assert "error" in by["corrupt.png"] and "modality" not in by["corrupt.png"]
    for name, x in by.items():
        if name != "corrupt.png":
            assert x["modality"] in ("clinical", "dermoscopy", "pathology", "other") and 0 < x["confidence"] <= 1, x
    assert by["chart.jpg"]["modality"] == "other" and by["clinical.png"]["modality"] == "clinical"
    # a directory works too, in one process
    res = runner.invoke(app, ["modality", "predict", str(tmp_path / "imgs"), "--workers", "1"])
    assert res.exit_code == 0 and len([x for x in res.stdout.splitlines() if x.startswith("{")]) == len(files)


def test_predict_without_a_model_gives_the_hint(tmp_path):
    img = tmp_path / "a.png"
    make_clinical(np.random.default_rng(0), size=(64, 64)).save(img)
    res = runner.invoke(app, ["modality", "predict", str(img), "--model", str(tmp_path / "none.npz")])
    assert res.exit_code == 2 and "mmskin modality fit" in res.output
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"junk")
    res = runner.invoke(app, ["modality", "predict", str(img), "--model", str(bad)])
    assert res.exit_code == 2 and "not a modality model" in res.output


def _labelled_dir(d: Path) -> Path:
    rng = np.random.default_rng(21)
    gens = {"clinical": make_clinical, "dermoscopy": make_dermoscopy, "pathology": make_pathology, "other": make_table_image}
    rows = []
    for cls, gen in gens.items():
        (d / cls).mkdir(parents=True, exist_ok=True)
        for i in range(5):
            p = d / cls / f"{cls}{i}.png"
            gen(rng, size=(200, 150)).save(p)
            rows.append({"file": f"{cls}/{cls}{i}.png", "modality": cls, "license": "AGPL-3.0 (ours)"})
    with open(d / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["file", "modality", "license"])
        w.writeheader()
        w.writerows(rows)
    return d / "labels.csv"


def test_fit_with_overrides_writes_a_loadable_model_and_card(tmp_path):
    labels = _labelled_dir(tmp_path / "data")
    dataset = tmp_path / "dataset"
    (dataset / "images").mkdir(parents=True)
    make_chart(np.random.default_rng(3)).save(dataset / "images" / "rec1.png")
    overrides = dataset / "overrides.jsonl"
    overrides.write_text("\n".join(json.dumps(x) for x in [
        {"image": "images/rec1.png", "modality": "other", "ts": "2026-01-01T00:00:00Z"},  # a record: added
        {"image": "clinical/clinical0.png", "modality": "dermoscopy"},  # a labelled file: relabelled
        {"image": "clinical/clinical0.png", "modality": "clinical"},  # ... and back again (later lines win)
        {"image": "clinical/clinical1.png", "modality": None},  # removed from training
        {"image": "images/rec1.png", "age": 40},  # not a modality correction: ignored
    ]) + "\n")
    out = tmp_path / "m.npz"
    card = tmp_path / "CARD.md"
    res = runner.invoke(app, ["modality", "fit", "--labels", str(labels), "--overrides", str(overrides),
                              "--out", str(out), "--card", str(card), "--candidates", "logreg_C1",
                              "--other-per-kind", "1", "--photo-per-kind", "1", "--folds", "3", "--workers", "2"])
    assert res.exit_code == 0, res.output
    model = load(out)
    meta = model.meta
    assert meta["model"] == "logreg_C1" and meta["seed"] == 0
    assert meta["data"]["overrides"]["added"] == 1 and meta["data"]["overrides"]["removed"] == 1
    assert meta["data"]["overrides"]["relabelled"] == 0
    assert meta["samples_per_source"]["dev"]["clinical"] == 4 and meta["samples_per_source"]["override"]["other"] == 1
    assert meta["licences"] == {"AGPL-3.0 (ours)": 20}
    text = card.read_text()
    assert "Confusion matrix" in text and "logreg_C1" in text and "AGPL-3.0 (ours)" in text
    res = runner.invoke(app, ["modality", "predict", str(dataset / "images" / "rec1.png"), "--model", str(out)])
    assert res.exit_code == 0 and json.loads(res.stdout.splitlines()[0])["modality"] == "other"


def test_fit_input_errors(tmp_path):
    labels = tmp_path / "l.csv"
    labels.write_text("file,modality\na.png,xray\n")
    res = runner.invoke(app, ["modality", "fit", "--labels", str(labels), "--out", str(tmp_path / "m.npz")])
    assert res.exit_code == 2 and "xray" in res.output
    res = runner.invoke(app, ["modality", "fit", "--out", str(tmp_path / "m.npz")])
    assert res.exit_code == 2
    res = runner.invoke(app, ["modality", "fit", "--labels", str(labels), "--candidates", "nope"])
    assert res.exit_code == 2 and "unknown candidate" in res.output


def test_override_rules(tmp_path):
    d = tmp_path
    labels = _labelled_dir(d / "data")
    samples = read_labels(d / "data", labels)
    (d / "ov.jsonl").write_text('{"image": "other/other0.png", "modality": "clinical"}\n'
                                '{"image": "missing.png", "modality": "other"}\n\n'
                                '{"caption": "edited"}\n')
    ov = read_overrides(d / "ov.jsonl")
    assert ov == {"other/other0.png": "clinical", "missing.png": "other"}
    with open(labels) as fh:
        files = {row["file"]: i for i, row in enumerate(csv.DictReader(fh))}
    out, counts = apply_overrides(samples, ov, d, d / "data", files)
    assert counts == {"relabelled": 1, "added": 0, "removed": 0, "missing": 1}
    assert [s.modality for s in out if s.path.endswith("other0.png")] == ["clinical"]
    (d / "bad.jsonl").write_text('{"image": "a.png", "modality": "xray"}\n')
    with pytest.raises(ValueError, match="xray"):
        read_overrides(d / "bad.jsonl")


def test_bench_modality_small_run(tmp_path):
    out = tmp_path / "b.json"
    res = runner.invoke(app, ["bench", "modality", "--n", "4", "--workers", "1", "--json", str(out)])
    assert res.exit_code == 0, res.output
    r = json.loads(out.read_text())
    assert r["n"] == 4 and r["predicted"] == 4 and r["errors"] == 0 and r["images_per_s"] > 0


@pytest.mark.shared
def test_dev_set_cross_validation(tmp_path):
    dev = shared_path("images", "dev")
    out = tmp_path / "dev.npz"
    res = runner.invoke(app, ["modality", "fit", "--images", str(dev), "--labels", str(dev / "labels.csv"),
                              "--out", str(out), "--candidates", "logreg_C0.1,logreg_C0.3,logreg_C1",
                              "--other-per-kind", "4", "--photo-per-kind", "6", "--workers", "2"])
    assert res.exit_code == 0, res.output
    meta = load(out).meta
    scores = meta["cv"][meta["model"]]["by_source"]["dev"]
    assert scores["n"] == 83 and meta["cv"][meta["model"]]["folds"] == 5
    assert scores["accuracy"] >= 0.95 and scores["macro_f1"] >= 0.95, scores
