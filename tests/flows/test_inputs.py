"""Inputs are checked before Prefect starts; output files follow the umask; record ids are unique at export."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cache import atomic_write_bytes
from flows.inputs import InputsError, checked_inputs, plan_inputs
from schemas import Record, Settings
from tests.conftest import REPO, SAMPLES

BOOK = next(SAMPLES.glob("*vector*.pdf"))


def test_plan_lists_pdfs_skips_the_rest_and_finds_repeated_bytes(tmp_path):
    d = tmp_path / "books"
    d.mkdir()
    (d / "b.pdf").write_bytes(BOOK.read_bytes())
    (d / "A.PDF").write_bytes(BOOK.read_bytes()[:-10] + b"different!")  # same size, other bytes
    (d / "c.pdf").write_bytes(BOOK.read_bytes())  # b.pdf's bytes under another name
    (d / "README").write_text("x")
    (d / "scan.png").write_bytes(b"\x89PNG")
    (d / "more").mkdir()
    plan = plan_inputs([d, d / "b.pdf", tmp_path / "books" / ".." / "books" / "c.pdf"])
    assert [f.name for f in plan.files] == ["A.PDF", "b.pdf"]
    assert {k.name: v.name for k, v in plan.duplicates.items()} == {"c.pdf": "b.pdf"}
    reasons = {Path(s.path).name: s.reason for s in plan.skipped}
    assert set(reasons) == {"README", "scan.png", "more"}
    assert "not a PDF" in reasons["scan.png"] and "'.png'" in reasons["scan.png"]
    assert "directory" in reasons["more"]
    assert plan.problems == []


def test_missing_paths_and_directories_without_a_pdf_are_problems(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("x")
    with pytest.raises(InputsError) as err:
        checked_inputs([tmp_path / "missing.pdf", tmp_path / "empty", tmp_path / "texts", BOOK])
    assert str(err.value).splitlines() == [
        f"{tmp_path / 'missing.pdf'}: no such file or directory",
        f"{tmp_path / 'empty'}: directory has no PDF files",
        f"{tmp_path / 'texts'}: directory has no PDF files",
    ]


@pytest.mark.parametrize("bad", ["missing", "empty_dir"])
def test_build_with_a_bad_input_fails_with_one_line_before_prefect_and_writes_nothing(tmp_path, bad):
    """In a fresh interpreter: the command exits 2 with one line, creates no output folder, and never imports
    Prefect (whose server start alone takes 10-20 s)."""
    target = tmp_path / "missing.pdf"
    if bad == "empty_dir":
        target = tmp_path / "no_pdfs"
        target.mkdir()
    out = tmp_path / "out"
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from flows.cli import app\n"
        f"res = CliRunner().invoke(app, ['build', {str(target)!r}, {str(BOOK)!r}, '--out', {str(out)!r}])\n"
        "print(repr(res.exit_code)); print(repr(res.output)); print('prefect' in sys.modules)\n"
    )
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home")}
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    exit_code, output, imported = run.stdout.strip().splitlines()
    assert exit_code == "2"
    lines = eval(output).strip().splitlines()  # noqa: S307 - our own repr
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(target) in lines[0]
    assert imported == "False"
    assert not out.exists() and not (tmp_path / "prefect-home").exists()


@pytest.mark.parametrize("umask,file_mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_written_files_follow_the_umask(tmp_path, umask, file_mode):
    from flows.overrides import append_override
    from schemas import OverrideChange

    old = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / "sub" / "records.jsonl", b"{}\n")
        append_override(tmp_path / "overrides.jsonl", OverrideChange(record_id="r1", modality="clinical"), "images/r1.png")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "sub" / "records.jsonl").stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "overrides.jsonl").stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "sub").stat().st_mode) == 0o777 & ~umask
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["records.jsonl"]  # no temporary file left


def test_export_refuses_two_records_with_one_id(tmp_path):
    from flows.outputs import DuplicateRecordIds, export_dataset

    rec = Record(id="book-p1-r1", source_pdf="a.pdf", book_id="b" * 64, page=1, bbox=(0, 0, 10, 10),
                 image="images/book-p1-r1.png")
    other = rec.model_copy(update={"source_pdf": "b.pdf"})
    with pytest.raises(DuplicateRecordIds, match="book-p1-r1"):
        export_dataset(tmp_path, [rec, other], books=[], skipped=[], stage_reports=[], settings=Settings(),
                       versions={"mmskin": "test"})
    assert list(tmp_path.iterdir()) == []
    export_dataset(tmp_path, [rec], books=[], skipped=[], stage_reports=[], settings=Settings(), versions={"mmskin": "t"})
    assert json.loads((tmp_path / "records.jsonl").read_text())["id"] == "book-p1-r1"
