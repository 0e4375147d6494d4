"""The build's inputs, checked before anything starts: paths expanded to PDFs, what was skipped and why, and
inputs whose bytes repeat an earlier one. Free of Prefect, so that a bad command line fails at once."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from schemas.manifest import SkippedInput

PDF_SUFFIX = ".pdf"
HASH_CHUNK = 1 << 20


@dataclass
class InputPlan:
    files: list[Path] = field(default_factory=list)  # the PDFs to build, in order, each once
    duplicates: dict[Path, Path] = field(default_factory=dict)  # a later input -> the earlier one with its bytes
    skipped: list[SkippedInput] = field(default_factory=list)  # files in an input directory that are not PDFs
    problems: list[str] = field(default_factory=list)  # one line per input that cannot be used at all


class InputsError(ValueError):
    """An input path that does not exist, or a directory without a PDF: nothing is built."""


def _skip_reason(path: Path) -> str:
    if path.is_dir():
        return "a directory (input directories are not searched recursively)"
    if not path.is_file():
        return "not a regular file"
    return f"not a PDF (file name ends {path.suffix or 'without a suffix'!r}, not '.pdf')"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _same_bytes(files: list[Path]) -> dict[Path, Path]:
    """Later files whose bytes equal an earlier file's -> that earlier file. Only files of equal size are read."""
    by_size: dict[int, list[Path]] = defaultdict(list)
    for f in files:
        by_size[f.stat().st_size].append(f)
    dups: dict[Path, Path] = {}
    for group in by_size.values():
        first_of: dict[str, Path] = {}
        for f in group if len(group) > 1 else []:
            digest = _sha256(f)
            if digest in first_of:
                dups[f] = first_of[digest]
            else:
                first_of[digest] = f
    return dups


def plan_inputs(paths: list[Path]) -> InputPlan:
    """Expand directories to the PDFs inside (sorted by name); list what a directory holds that is not a PDF; a
    path named twice (or through a link) counts once, and a file with the same bytes as an earlier input is a
    duplicate of it. Missing paths and directories without a PDF are problems."""
    plan = InputPlan()
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            entries = sorted(p.iterdir())
            found = [q for q in entries if q.is_file() and q.suffix.lower() == PDF_SUFFIX]
            if not found:
                plan.problems.append(f"{p}: directory has no PDF files")
            plan.skipped += [SkippedInput(path=str(q), reason=_skip_reason(q)) for q in entries if q not in found]
            files += found
        elif p.is_file():
            files.append(p)
        else:
            plan.problems.append(f"{p}: no such file or directory")
    unique = list(dict.fromkeys(f.resolve() for f in files))
    plan.duplicates = _same_bytes(unique)
    plan.files = [f for f in unique if f not in plan.duplicates]
    return plan


def checked_inputs(paths: list[Path]) -> InputPlan:
    """``plan_inputs``, raising InputsError (one line per problem) when an input cannot be used."""
    plan = plan_inputs(paths)
    if plan.problems:
        raise InputsError("\n".join(plan.problems))
    return plan
