"""VQA stage: question/answer pairs per kept record, from one of two generators behind one interface.

- ``template`` (default): offline and deterministic, questions from the caption's own facts (``template.py``);
- ``openai``: any OpenAI-compatible chat-completions server (``llm.py``, prompt in ``prompts.py``).

Both go through the same guard (``guard.py``): rejected pairs stay on the record (``vqa_rejected``, with their
reason) and a kept record left without pairs says why (``vqa_error``). The stage does no file I/O: the LLM
response cache and the images (for ``with_image``) are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.vqa import guard, llm
from pipeline.vqa.llm import RETRYABLE, MemoryCache, ResponseCache
from pipeline.vqa.prompts import PROMPT_VERSION
from pipeline.vqa.source import source_text
from pipeline.vqa.template import template_pairs
from schemas import Record, StageReport, VQAPair, VQAReject, VQAUsage
from schemas.settings import VQASettings

VERSION = "3"
GENERATORS = ("template", "openai")

__all__ = [
    "GENERATORS", "PROMPT_VERSION", "RETRYABLE", "VERSION", "MemoryCache", "ResponseCache", "VQAResult",
    "generate_vqa", "is_retryable", "run_vqa", "vqa_report",
]


@dataclass
class VQAResult:
    records: list[Record]
    report: StageReport
    usage: VQAUsage


def is_retryable(rec: Record) -> bool:
    """True when the record's VQA failed for a reason a later run may not meet (timeouts, 429, circuit open)."""
    return rec.vqa_error in RETRYABLE


def vqa_report(records: list[Record]) -> StageReport:
    """seen: records; kept: kept records with pairs; dropped: kept records without; reasons: their ``vqa_error``
    and, as ``pair:<reason>``, every pair the guard rejected."""
    report = StageReport(stage="vqa")
    for r in records:
        report.seen += 1
        for rej in r.vqa_rejected:
            report.drop(f"pair:{rej.reason}")
        if not r.kept:
            continue
        if r.vqa:
            report.kept += 1
        else:
            report.dropped += 1
            report.drop(r.vqa_error or "no_vqa")
    return report


def run_vqa(
    records: list[Record],
    settings: VQASettings | None = None,
    *,
    cache: ResponseCache | None = None,
    images: Mapping[str, bytes] | None = None,
) -> VQAResult:
    """VQA for every kept record (rejected records get none). ``cache``: LLM replies kept between runs;
    ``images``: record id -> image bytes, read only when ``settings.with_image``."""
    settings = settings or VQASettings()
    if settings.generator not in GENERATORS:
        raise ValueError(f"unknown VQA generator {settings.generator!r}: choose one of {', '.join(GENERATORS)}")
    out = []
    for rec in records:
        rec = rec.model_copy(deep=True)
        rec.vqa, rec.vqa_rejected, rec.vqa_error = [], [], None
        out.append(rec)
    todo = [r for r in out if r.kept]
    raw: list[tuple[list[VQAPair] | None, str | None]]
    if settings.generator == "template":
        raw = [(template_pairs(r), None) for r in todo]
        usage = VQAUsage(generator="template", records=len(todo))
    else:
        raw, usage = llm.generate(todo, settings, cache=cache, images=images)
    for rec, (pairs, error) in zip(todo, raw):
        if error is not None:
            rec.vqa_error = error
            continue
        kept, rejected = guard.filter_pairs(pairs or [], source_text(rec), settings.grounding_min_share, rec.figure_label)
        rec.vqa = kept[: settings.max_pairs]
        rec.vqa_rejected = [VQAReject(question=p.question, answer=p.answer, reason=why) for p, why in rejected]
        if not rec.vqa:
            rec.vqa_error = "all_pairs_rejected" if pairs else "no_vqa_facts"
    return VQAResult(records=out, report=vqa_report(out), usage=usage)


def generate_vqa(
    records: list[Record],
    settings: VQASettings | None = None,
    *,
    cache: ResponseCache | None = None,
    images: Mapping[str, bytes] | None = None,
) -> tuple[list[Record], StageReport]:
    """``run_vqa`` without the usage figures."""
    result = run_vqa(records, settings, cache=cache, images=images)
    return result.records, result.report
