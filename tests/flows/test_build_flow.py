"""The build flow end to end on the sample books, inside one shared Prefect test harness."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pymupdf
import pytest

from schemas import DatasetManifest, Record, Settings
from tests.badpdfs import write_bad_inputs
from tests.conftest import SAMPLES

pytestmark = [pytest.mark.flow, pytest.mark.xdist_group("flow")]


def build(inputs, out: Path, settings: Settings | None = None):
    from flows.build import build_dataset

    return build_dataset([str(p) for p in inputs], str(out), settings or Settings(), workers=2)


def computed(manifest: dict) -> dict[str, list[str]]:
    return {b["source_pdf"]: b["computed_stages"] for b in manifest["books"]}


@pytest.fixture(scope="module")
def first_build(sample_build):
    return sample_build  # one build of the sample books per test session (tests/conftest.py)


def test_outputs_follow_the_contract(first_build):
    out, result = first_build
    for name in ("records.jsonl", "mmskin_c.json", "mmskin_o.json", "mmskin_d.json", "llava_train.json",
                 "llava_test.json", "manifest.json"):
        assert (out / name).exists(), name
    records = [Record.model_validate_json(line) for line in (out / "records.jsonl").read_text().splitlines()]
    manifest = DatasetManifest.model_validate_json((out / "manifest.json").read_text())
    assert len(records) == manifest.counts["records"] > 0
    assert {b.status for b in manifest.books} == {"ok"}
    assert {b.source_pdf for b in manifest.books} == {p.name for p in SAMPLES.glob("*.pdf")}
    # every record has its image; rejected ones say why
    for r in records:
        assert (out / r.image).exists()
        assert r.kept == (not r.reject_reasons)
        assert r.page >= 1 and r.bbox[0] < r.bbox[2] and r.bbox[1] < r.bbox[3]
    kept = [r for r in records if r.kept]
    assert kept and all(r.caption and r.vqa and r.split in ("train", "test") for r in kept)
    # the split is by figure: all panels of a figure on one side
    sides: dict[str, set] = {}
    for r in kept:
        sides.setdefault(r.figure_id, set()).add(r.split)
    assert all(len(s) == 1 for s in sides.values())
    # LLaVA conversation format
    train = json.loads((out / "llava_train.json").read_text())
    assert train and all(
        c["conversations"][0]["from"] == "human" and c["conversations"][0]["value"].startswith("<image>\n")
        and c["conversations"][1]["from"] == "gpt" and (out / c["image"]).exists()
        for c in train
    )
    test_ids = {r.image for r in kept if r.split == "test"}
    assert not test_ids & {c["image"] for c in train}
    # per-stage counters and reject reasons are in the manifest
    stages = {s.stage for s in manifest.stages}
    assert {"figures", "modality", "demographics", "filter", "duplicates", "vqa"} <= stages
    assert sum(manifest.reject_reasons.values()) >= manifest.counts["rejected"]


def test_second_identical_run_recomputes_nothing_and_is_byte_identical(first_build, tmp_path):
    out, _ = first_build
    copy = tmp_path / "again"
    shutil.copytree(out, copy)
    before = (copy / "records.jsonl").read_bytes()
    result = build([SAMPLES], copy)
    assert all(stages == [] for stages in computed(result.manifest).values()), computed(result.manifest)
    assert (copy / "records.jsonl").read_bytes() == before


def test_adding_a_book_computes_only_that_book(first_build, tmp_path):
    out, _ = first_build
    copy = tmp_path / "more"
    shutil.copytree(out, copy)
    extra = tmp_path / "extra_book.pdf"
    doc = pymupdf.open(next(SAMPLES.glob("*digital*.pdf")))
    doc.select([0, 1])  # a new book (different bytes) made of two sample pages
    doc.save(extra)
    result = build([SAMPLES, extra], copy)
    done = computed(result.manifest)
    assert done.pop("extra_book.pdf")[:2] == ["ingest", "extract"]
    assert all(stages == [] for stages in done.values()), done


def test_changing_a_later_setting_recomputes_from_that_stage(first_build, tmp_path):
    out, _ = first_build
    copy = tmp_path / "filter"
    shutil.copytree(out, copy)
    settings = Settings()
    settings.filter.min_side_px = 4000  # everything becomes low resolution
    result = build([SAMPLES], copy, settings)
    assert all(stages == ["filter"] for stages in computed(result.manifest).values()), computed(result.manifest)
    records = [json.loads(x) for x in (copy / "records.jsonl").read_text().splitlines()]
    assert records and not any(r["kept"] for r in records)
    assert result.manifest["reject_reasons"]["low_resolution"] > 0


def test_bad_inputs_are_reported_and_the_rest_is_built(prefect_harness, tmp_path):
    bad = write_bad_inputs(tmp_path / "in")
    good = next(SAMPLES.glob("*vector*.pdf"))
    out = tmp_path / "out"
    result = build([tmp_path / "in", good], out)
    m = result.manifest
    status = {b["source_pdf"]: (b["status"], b["error"]) for b in m["books"]}
    assert status[good.name] == ("ok", None)
    for kind, needle in [("corrupt", "corrupt"), ("encrypted", "encrypted"), ("zero_pages", "no pages"),
                         ("not_pdf", "not a PDF"), ("empty", "empty")]:
        st, err = status[bad[kind].name]
        assert st == "error" and needle in err and "\n" not in err
    assert m["counts"]["books_ok"] == 1 and m["counts"]["kept"] > 0
    saved = json.loads((out / "manifest.json").read_text())
    assert len(saved["errors"]) == 5


def test_missing_inputs_stop_the_build_before_it_writes_anything(prefect_harness, tmp_path):
    from flows.inputs import InputsError

    good = next(SAMPLES.glob("*vector*.pdf"))
    empty_dir = tmp_path / "empty_dir"
    empty_dir.mkdir()
    out = tmp_path / "out"
    with pytest.raises(InputsError) as err:
        build([good, tmp_path / "no_such_dir", empty_dir], out)
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert "no_such_dir" in lines[0] and "no such file" in lines[0]
    assert "empty_dir" in lines[1] and "no PDF" in lines[1]
    assert not out.exists()


def _truncated(data: bytes, share: float = 0.6) -> bytes:
    return data[: int(len(data) * share)]


def test_damaged_duplicate_and_skipped_inputs_are_reported_not_printed(prefect_harness, tmp_path, capfd):
    from typer.testing import CliRunner

    from flows.cli import app

    inp = tmp_path / "in"
    inp.mkdir()
    good = next(SAMPLES.glob("*vector*.pdf"))
    (inp / "a_book.pdf").write_bytes(good.read_bytes())
    (inp / "b_same_book.pdf").write_bytes(good.read_bytes())  # the same file under another name
    (inp / "c_truncated.pdf").write_bytes(_truncated(good.read_bytes()))
    (inp / "notes.txt").write_text("not a book")
    (inp / "sub").mkdir()
    out = tmp_path / "out"
    capfd.readouterr()
    res = CliRunner().invoke(app, ["build", str(inp), "--out", str(out)])
    assert res.exit_code == 0, res.output
    raw = capfd.readouterr()
    for stream in (res.output, raw.out, raw.err):  # MuPDF's own lines never reach the terminal
        assert "format error" not in stream and "MuPDF" not in stream and "broken xref" not in stream
    m = json.loads((out / "manifest.json").read_text())
    books = {b["source_pdf"]: b for b in m["books"]}
    # the damaged book is built, and says what MuPDF met
    t = books["c_truncated.pdf"]
    assert t["status"] == "ok" and t["error"] is None
    assert t["warnings"]["repaired"] is True
    assert t["warnings"]["counts"]["repair"] >= 1 and t["warnings"]["counts"]["format"] >= 1
    assert 0 < len(t["warnings"]["messages"]) <= Settings().warning_messages
    assert any("xref" in msg for msg in t["warnings"]["messages"])
    assert books["a_book.pdf"]["warnings"] == {"repaired": False, "counts": {}, "messages": []}
    # the second copy is a duplicate of the first, with no records of its own
    d = books["b_same_book.pdf"]
    assert d["status"] == "duplicate_input" and d["duplicate_of"] == str(inp.resolve() / "a_book.pdf")
    assert d["n_records"] == 0 and d["book_id"] == books["a_book.pdf"]["book_id"]
    records = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert {r["source_pdf"] for r in records} == {"a_book.pdf", "c_truncated.pdf"}
    assert len({r["id"] for r in records}) == len(records)
    # what is not a PDF is listed with the reason
    skipped = {Path(s["path"]).name: s["reason"] for s in m["skipped"]}
    assert set(skipped) == {"notes.txt", "sub"} and "not a PDF" in skipped["notes.txt"]
    assert m["counts"]["duplicate_inputs"] == 1 and m["counts"]["skipped_files"] == 2
    # the summary table has a warnings column; `mmskin info` lists the warnings, the duplicate and the skipped
    assert "warnings" in res.output and "repaired" in res.output and "duplicate_input of a_book.pdf" in res.output
    assert "skipped" in res.output and "notes.txt" in res.output
    info = CliRunner().invoke(app, ["info", str(out)])
    assert info.exit_code == 0, info.output
    assert "MuPDF warnings" in info.output and "c_truncated.pdf" in info.output and "xref" in info.output
    assert "b_same_book.pdf: duplicate_input of a_book.pdf" in info.output and "notes.txt" in info.output


def test_output_files_follow_the_umask(prefect_harness, tmp_path):
    import os
    import stat

    good = next(SAMPLES.glob("*vector*.pdf"))
    old = os.umask(0o022)
    try:
        build([good], tmp_path / "out")
    finally:
        os.umask(old)
    paths = [p for p in (tmp_path / "out").rglob("*")]
    assert any(p.suffix in (".png", ".jpg") for p in paths) and any(p.name == "records.jsonl" for p in paths)
    for p in paths:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o755 if p.is_dir() else 0o644), (p, oct(mode))


def test_cli_exit_code_nonzero_only_when_nothing_processed(prefect_harness, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    bad = write_bad_inputs(tmp_path / "in")
    runner = CliRunner()
    res = runner.invoke(app, ["build", str(bad["corrupt"]), str(bad["encrypted"]), "--out", str(tmp_path / "o1")])
    assert res.exit_code == 1, res.output
    assert "corrupt" in res.output and "encrypted" in res.output
    good = next(SAMPLES.glob("*vector*.pdf"))
    res = runner.invoke(app, ["build", str(bad["corrupt"]), str(good), "--out", str(tmp_path / "o2")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["info", str(tmp_path / "o2")])
    assert res.exit_code == 0 and "reject reasons" in res.output


@pytest.mark.parametrize("runner", ["processes", "dask"])
def test_other_runners_build_the_same_records(prefect_harness, tmp_path, runner):
    from flows.build import build_dataset

    books = [next(SAMPLES.glob("*vector*.pdf")), next(SAMPLES.glob("*digital*.pdf"))]
    ref = build_dataset([str(b) for b in books], str(tmp_path / "threads"), Settings(), workers=2)
    other = build_dataset([str(b) for b in books], str(tmp_path / runner), Settings(), workers=2, runner=runner)
    assert {b["status"] for b in other.manifest["books"]} == {"ok"}
    assert (tmp_path / runner / "records.jsonl").read_bytes() == (tmp_path / "threads" / "records.jsonl").read_bytes()
    assert ref.manifest["counts"]["kept"] > 0


def test_template_vqa_covers_the_kept_sample_records_with_grounded_answers(first_build):
    """Issue 6 acceptance: >= 3 valid pairs for >= 95% of kept records; no answer content word outside the
    caption text itself (pipeline/vqa/guard.py's grounding rule, re-checked on the exported files); LLaVA gets
    one multi-turn conversation per record with VQA."""
    from pipeline.vqa.guard import unsupported_words
    from pipeline.vqa.source import caption_text

    out, _ = first_build
    records = [Record.model_validate_json(line) for line in (out / "records.jsonl").read_text().splitlines()]
    kept = [r for r in records if r.kept]
    assert sum(len(r.vqa) >= 3 for r in kept) >= 0.95 * len(kept)
    assert all(r.vqa or r.vqa_error for r in kept)
    assert [(r.id, p.answer) for r in kept for p in r.vqa if unsupported_words(p.answer, caption_text(r))] == []
    llava = json.loads((out / "llava_train.json").read_text()) + json.loads((out / "llava_test.json").read_text())
    multi = {c["id"]: c for c in llava if c["id"].endswith("-vqa")}
    assert set(multi) == {f"{r.id}-vqa" for r in kept if r.vqa}
    for r in kept:
        if r.vqa:
            assert len(multi[f"{r.id}-vqa"]["conversations"]) == 2 * len(r.vqa)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["vqa"]["generator"] == "template" and manifest["counts"]["vqa_pairs"] == sum(len(r.vqa) for r in kept)
