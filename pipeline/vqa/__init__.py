"""VQA stage: question/answer pairs per kept record. The offline template generator is the default."""

from __future__ import annotations

from pipeline.vqa.template import template_pairs
from schemas import Record, StageReport
from schemas.settings import VQASettings

VERSION = "1"


def generate_vqa(records: list[Record], settings: VQASettings | None = None) -> tuple[list[Record], StageReport]:
    """VQA pairs for every kept record; rejected records get none."""
    settings = settings or VQASettings()
    if settings.generator != "template":
        raise ValueError(f"unknown VQA generator {settings.generator!r} (this version offers 'template')")
    report = StageReport(stage="vqa")
    out = []
    for rec in records:
        rec = rec.model_copy(deep=True)
        report.seen += 1
        rec.vqa = []
        if rec.kept:
            rec.vqa = template_pairs(rec)[: settings.max_pairs]
            if rec.vqa:
                report.kept += 1
            else:
                report.drop("no_vqa_facts")
        out.append(rec)
    return out, report
