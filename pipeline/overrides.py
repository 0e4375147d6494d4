"""Curator corrections (``overrides.jsonl``, written by ``mmskin review``) applied to built records.

Runs in the build after duplicate marking and before VQA, on records that came out of the per-book stage cache,
so a correction never recomputes extraction, modality, demographics or filters, and an edited caption gets
fresh VQA pairs. Lines are applied in order; a later line wins, field by field. What each field does:

- ``modality``: the record's modality; confidence 1.0; ``modality_evidence`` starts with ``curator:<modality>``
  (the model's evidence is kept after it); ``needs_review`` is cleared.
- ``age``: the age in years, and ``age_group`` recomputed from it with the demographics stage's own rule
  (:func:`pipeline.demographics.age_group_for`); ``null`` clears both. ``gender``: the gender, ``null`` clears it.
  Either adds a ``curator:...`` line to ``demographics_evidence``.
- ``caption``: replaces the text the dataset exports for the image: the panel's ``subcaption`` when it has one,
  else ``caption``. Demographics and filters are not mined again from it (correct them with the fields above).
- ``decision``: ``reject`` adds the line's reason (``curator_rejected`` unless it names another ``curator_*``
  code) and sets ``kept`` false; ``accept`` keeps the record: the reject reasons it had move to
  ``overruled_reasons`` (so ``kept == not reject_reasons`` still holds and nothing is hidden). Either clears
  ``needs_review`` (a person has looked at it).

Every changed field is listed in the record's ``curated``. Lines naming a record that is not in the build are
counted (``unknown_record``), never an error.
"""

from __future__ import annotations

from pipeline.demographics import age_group_for
from schemas import Override, Record, StageReport

VERSION = "1"

__all__ = ["VERSION", "apply_overrides", "effective_changes"]


def effective_changes(overrides: list[Override]) -> dict[str, dict]:
    """record id -> the fields set for it, each from the latest line that sets it. A decision carries its reason."""
    out: dict[str, dict] = {}
    for ov in overrides:
        changes = ov.changes()
        cur = out.setdefault(ov.record_id, {})
        if "decision" in changes:
            cur.pop("reason", None)
        cur.update(changes)
    return out


def _mark(rec: Record, field: str) -> None:
    if field not in rec.curated:
        rec.curated.append(field)


def _apply(rec: Record, ch: dict) -> None:
    if "modality" in ch:
        before = f"was {rec.modality} at {rec.modality_confidence:.2f}"
        rec.modality_evidence = [f"curator:{ch['modality']} ({before})"] + [
            e for e in rec.modality_evidence if not e.startswith("curator:")
        ]
        rec.modality, rec.modality_confidence, rec.needs_review = ch["modality"], 1.0, False
        _mark(rec, "modality")
    for key in ("age", "gender"):
        if key in ch:
            value = ch[key]
            setattr(rec, key, value)
            if key == "age":
                rec.age_group = None if value is None else age_group_for(value)
            rec.demographics_evidence = [e for e in rec.demographics_evidence if not e.startswith(f"curator:{key}=")]
            rec.demographics_evidence.insert(0, f"curator:{key}={'unknown' if value is None else value}")
            _mark(rec, key)
    if "caption" in ch:
        if rec.subcaption is not None:
            rec.subcaption = ch["caption"]
        else:
            rec.caption = ch["caption"]
        _mark(rec, "caption")
    decision = ch.get("decision")
    if decision == "reject":
        rec.reject(ch["reason"])
        rec.needs_review = False
        _mark(rec, "decision")
    elif decision == "accept":
        for reason in rec.reject_reasons:
            if reason not in rec.overruled_reasons:
                rec.overruled_reasons.append(reason)
        rec.reject_reasons, rec.kept, rec.needs_review = [], True, False
        _mark(rec, "decision")


def apply_overrides(records: list[Record], overrides: list[Override]) -> tuple[list[Record], StageReport]:
    """Records with the curator's corrections applied (inputs are not changed), in the same order.

    The report (stage ``overrides``): ``seen`` override lines, ``kept`` lines naming a record of this build,
    ``dropped`` lines naming none (reason ``unknown_record``); the other reasons count records changed per
    field (``modality``, ``age``, ``gender``, ``caption``, ``accept``, ``reject``)."""
    report = StageReport(stage="overrides", seen=len(overrides))
    ids = {r.id for r in records}
    for ov in overrides:
        if ov.record_id in ids:
            report.kept += 1
        else:
            report.dropped += 1
            report.drop("unknown_record")
    changes = effective_changes(overrides)
    out: list[Record] = []
    for rec in records:
        ch = changes.get(rec.id)
        if not ch:
            out.append(rec)
            continue
        rec = rec.model_copy(deep=True)
        _apply(rec, ch)
        for key in ("modality", "age", "gender", "caption"):
            if key in ch:
                report.drop(key)
        if "decision" in ch:
            report.drop(ch["decision"])
        out.append(rec)
    return out, report
