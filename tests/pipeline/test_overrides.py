"""Curator overrides: the line schema (strict) and apply_overrides (later lines win per field)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from pipeline.demographics import age_group_for
from pipeline.overrides import apply_overrides, effective_changes
from schemas import Override, OverrideChange, Record
from schemas.overrides import MAX_CAPTION_CHARS

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc)


def rec(rid: str, **kw) -> Record:
    base = dict(id=rid, source_pdf="b.pdf", book_id="b", page=1, bbox=(0, 0, 10, 10), image=f"images/{rid}.png",
                caption=f"Fig. 1 caption of {rid}", modality="clinical", modality_confidence=0.55,
                modality_evidence=["image:clinical=0.55"], needs_review=True)
    base.update(kw)
    return Record(**base)


def ov(rid: str, i: int = 0, **kw) -> Override:
    return Override(ts=T0 + timedelta(seconds=i), record_id=rid, image=f"images/{rid}.png", **kw)


# ---- the line schema ----

@pytest.mark.parametrize("bad", [
    {"modality": "xray"},
    {"age": 300},
    {"age": -1},
    {"gender": "other"},
    {"decision": "maybe"},
    {"colour": "red"},  # unknown field
    {},  # no change at all
    {"modality": None},
    {"decision": "accept", "reason": "curator_rejected"},  # a reason goes with reject only
    {"decision": "reject", "reason": "low_resolution"},  # curator reasons are curator_*
    {"caption": "x" * (MAX_CAPTION_CHARS + 1)},
])
def test_bad_changes_are_refused(bad):
    with pytest.raises(ValidationError):
        OverrideChange(record_id="r1", **bad)


def test_bad_record_ids_are_refused():
    for rid in ("", "a b", "../x", "a/b"):
        with pytest.raises(ValidationError):
            OverrideChange(record_id=rid, modality="other")


def test_a_line_keeps_only_the_fields_set_and_needs_a_timestamp_with_zone():
    line = ov("r1", age=None)
    dumped = line.model_dump(exclude_unset=True, mode="json")
    assert set(dumped) == {"ts", "record_id", "image", "age"} and dumped["age"] is None
    assert line.changes() == {"age": None}
    assert ov("r1", decision="reject").changes() == {"decision": "reject", "reason": "curator_rejected"}
    with pytest.raises(ValidationError):
        Override(ts=datetime(2026, 1, 1), record_id="r1", image="images/r1.png", modality="other")  # naive
    with pytest.raises(ValidationError):
        Override(record_id="r1", image="images/r1.png", modality="other")  # no ts


# ---- apply_overrides ----

def test_modality_override_sets_confidence_evidence_and_clears_review():
    records = [rec("r1"), rec("r2")]
    out, report = apply_overrides(records, [ov("r1", modality="dermoscopy")])
    r1, r2 = out
    assert (r1.modality, r1.modality_confidence, r1.needs_review) == ("dermoscopy", 1.0, False)
    assert r1.modality_evidence[0].startswith("curator:dermoscopy") and "clinical" in r1.modality_evidence[0]
    assert "image:clinical=0.55" in r1.modality_evidence and r1.curated == ["modality"]
    assert r2 == records[1]  # untouched
    assert records[0].modality == "clinical" and records[0].needs_review  # inputs not changed
    assert (report.stage, report.seen, report.kept, report.dropped) == ("overrides", 1, 1, 0)
    assert report.reasons == {"modality": 1}


def test_later_lines_win_per_field():
    lines = [ov("r1", 0, modality="pathology", age=30), ov("r1", 1, modality="other"), ov("r1", 2, gender="female")]
    (r1,), _ = apply_overrides([rec("r1")], lines)
    assert (r1.modality, r1.age, r1.gender) == ("other", 30, "female")
    assert sorted(r1.curated) == ["age", "gender", "modality"]
    assert effective_changes(lines) == {"r1": {"modality": "other", "age": 30, "gender": "female"}}


def test_age_recomputes_the_group_with_the_demographics_rule_and_null_clears_it():
    for age in (0.5, 7, 15, 40, 80):
        (r,), _ = apply_overrides([rec("r1", age=40, age_group="adult")], [ov("r1", age=age)])
        assert r.age == age and r.age_group == age_group_for(age)
        assert r.demographics_evidence[0] == f"curator:age={float(age)}"
    (r,), _ = apply_overrides([rec("r1", age=40, age_group="adult", gender="male")], [ov("r1", age=None, gender=None)])
    assert (r.age, r.age_group, r.gender) == (None, None, None)


def test_reject_and_accept():
    kept, rejected = rec("k"), rec("x", kept=False, reject_reasons=["low_resolution", "duplicate"])
    out, report = apply_overrides([kept, rejected], [ov("k", decision="reject"), ov("x", decision="accept")])
    k, x = out
    assert not k.kept and k.reject_reasons == ["curator_rejected"] and not k.needs_review
    assert x.kept and x.reject_reasons == [] and x.overruled_reasons == ["low_resolution", "duplicate"]
    assert report.reasons == {"reject": 1, "accept": 1}
    # the latest decision wins; a reject keeps the pipeline's own reasons beside the curator's
    (x2,), _ = apply_overrides([rejected], [ov("x", 0, decision="accept"),
                                            ov("x", 1, decision="reject", reason="curator_bad_crop")])
    assert not x2.kept and x2.reject_reasons == ["low_resolution", "duplicate", "curator_bad_crop"]
    assert x2.overruled_reasons == []
    (k2,), _ = apply_overrides([kept], [ov("k", 0, decision="reject"), ov("k", 1, decision="accept")])
    assert k2.kept and k2.reject_reasons == [] and k2.overruled_reasons == []


def test_caption_edit_replaces_the_exported_text():
    (r,), _ = apply_overrides([rec("r1")], [ov("r1", caption="Fig. 1 Edited <b>text</b>")])
    assert r.caption == "Fig. 1 Edited <b>text</b>" and r.subcaption is None and r.curated == ["caption"]
    panel = rec("r2", caption="Fig. 2 (a) one; (b) two", subcaption="one", panel="a")
    (p,), _ = apply_overrides([panel], [ov("r2", caption="a better panel text")])
    assert p.subcaption == "a better panel text" and p.caption == panel.caption


def test_unknown_records_are_counted_not_an_error():
    out, report = apply_overrides([rec("r1")], [ov("nope", modality="other"), ov("r1", gender="male"),
                                                ov("gone", decision="reject")])
    assert out[0].gender == "male"
    assert (report.seen, report.kept, report.dropped) == (3, 1, 2)
    assert report.reasons["unknown_record"] == 2


def test_applying_is_idempotent_on_the_same_input():
    records = [rec("r1", kept=False, reject_reasons=["blank"])]
    lines = [ov("r1", decision="accept"), ov("r1", 1, modality="other")]
    once, _ = apply_overrides(records, lines)
    twice, _ = apply_overrides(records, lines)
    assert once == twice and once[0].modality_evidence.count(once[0].modality_evidence[0]) == 1
