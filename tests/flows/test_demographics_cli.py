"""`mmskin demographics` and `mmskin eval demographics` through the real CLI (typer's CliRunner)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import shared_path

runner = CliRunner()


def test_one_text_gives_one_json_line():
    res = runner.invoke(app, ["demographics", "Nummular eczema on the shins of an 8-month-old boy, present for 10 days."])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert set(out) == {"id", "age", "age_group", "gender", "evidence"}
    assert out["id"] is None and out["age"] == 0.67 and out["age_group"] == "infant" and out["gender"] == "male"
    assert "8-month-old" in out["evidence"]


def test_json_lines_on_stdin_with_bad_lines_reported_and_skipped():
    stdin = "\n".join([
        json.dumps({"id": "a", "text": "Psoriasis in a woman in her 60s with a 3-year history."}),
        "{not json",
        json.dumps({"id": "c", "text": 42}),
        json.dumps(["a", "list"]),
        "",
        json.dumps({"id": 5, "text": "Incidence in women aged 40-60 (412 patients)."}),
    ]) + "\n"
    res = runner.invoke(app, ["demographics"], input=stdin)
    assert res.exit_code == 0, res.output
    out = [json.loads(x) for x in res.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", 5]
    assert (out[0]["age"], out[0]["gender"]) == (65.0, "female")
    assert (out[1]["age"], out[1]["gender"]) == (None, None)  # a population, not the patient
    errors = [json.loads(x) for x in res.stderr.splitlines()]
    assert [(e["id"], e["line"]) for e in errors] == [(None, 2), ("c", 3), (None, 4)]
    assert all(e["error"] for e in errors)


def test_only_bad_lines_exit_nonzero():
    res = runner.invoke(app, ["demographics"], input="nope\n")
    assert res.exit_code == 1
    assert json.loads(res.stderr)["line"] == 1


def test_eval_demographics_scores_a_small_labelled_file(tmp_path):
    rows = [
        {"id": "1", "text": "A 45-year-old man with psoriasis.", "age": 45, "age_group": "adult", "gender": "male",
         "source": "data/captions/roco_nonradiology.jsonl#x"},
        {"id": "2", "text": "Tinea in a 7-year-old girl.", "age": 6, "age_group": "child", "gender": "female",
         "source": "data/captions/roco_nonradiology.jsonl#y"},
        {"id": "3", "text": "A 3-year history of itching.", "age": None, "age_group": None, "gender": None,
         "category": "mine"},
    ]
    data = tmp_path / "dev.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    out = tmp_path / "scores.json"
    res = runner.invoke(app, ["eval", "demographics", "--data", str(data), "--json", str(out), "--wrong"])
    assert res.exit_code == 0, res.output
    scores = {s["category"]: s for s in json.loads(out.read_text())}
    assert set(scores) == {"PMC captions", "mine", "ALL"}
    assert scores["ALL"]["age_exact"] == 0.5 and scores["ALL"]["invented_share"] == 0.0
    assert scores["ALL"]["gender_accuracy"] == 1.0 and scores["PMC captions"]["n"] == 2
    assert "2: age 7.0 != 6" in res.stdout  # the wrong row is listed
    assert "line 4: not JSON" in res.stderr


def test_eval_demographics_on_the_dev_set_meets_the_targets(tmp_path):
    dev = shared_path("captions", "demographics_dev.jsonl")
    out = tmp_path / "scores.json"
    res = runner.invoke(app, ["eval", "demographics", "--data", str(dev), "--json", str(out)])
    assert res.exit_code == 0, res.output
    scores = {s["category"]: s for s in json.loads(out.read_text())}
    a = scores["ALL"]
    assert a["n"] == sum(s["n"] for k, s in scores.items() if k != "ALL")
    assert a["age_exact"] >= 0.95 and a["gender_accuracy"] >= 0.97 and a["invented_share"] <= 0.02
