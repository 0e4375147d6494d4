"""Curator corrections: one line of a dataset's ``overrides.jsonl`` (written by ``mmskin review``, applied by the
next ``mmskin build``).

A line holds only the fields the curator set (``model_dump_json(exclude_unset=True)``), so ``"age": null``
(age unknown) differs from a line that says nothing about the age. Later lines win, field by field.
``image`` and ``modality`` are the keys ``mmskin modality fit --overrides`` reads to retrain the image model::

    {"ts":"2026-01-05T10:00:00.000001Z","record_id":"1e04138a50-p0001-9b99c626",
     "image":"images/1e04138a50-p0001-9b99c626.png","modality":"dermoscopy"}
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.records import Gender, Modality
from schemas.settings import CaptionSettings

#: an edited caption is at most as long as the longest caption the builder keeps
MAX_CAPTION_CHARS: int = CaptionSettings.model_fields["max_caption_chars"].default
#: the reject reason a curator's reject gets unless it names another ``curator_*`` code
CURATOR_REJECTED = "curator_rejected"
#: the fields of a line that change a record (the rest say which record, and when)
CHANGE_FIELDS = ("modality", "age", "gender", "decision", "reason", "caption")

Decision = Literal["accept", "reject"]


class OverrideChange(BaseModel):
    """What a curator sends for one record (``POST /api/overrides``): the record and at least one change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    record_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")
    modality: Modality | None = Field(default=None, description="the image's modality (null is not allowed)")
    age: float | None = Field(default=None, ge=0, le=120, description="years; null = unknown")
    gender: Gender | None = Field(default=None, description="null = unknown")
    decision: Decision | None = Field(
        default=None, description="accept: keep the record (overruling reject reasons); reject: drop it with `reason`"
    )
    reason: str | None = Field(
        default=None, pattern=r"^curator_[a-z0-9_]{1,40}$",
        description=f"reject reason code (only with decision=reject; default {CURATOR_REJECTED!r})",
    )
    caption: str | None = Field(
        default=None, max_length=MAX_CAPTION_CHARS,
        description="the text the dataset exports for the image: the panel's subcaption when it has one, "
        "else the caption",
    )

    @model_validator(mode="after")
    def _one_change(self):
        set_ = self.model_fields_set
        if not set_ & set(CHANGE_FIELDS):
            raise ValueError(f"an override changes at least one of {', '.join(CHANGE_FIELDS)}")
        if "modality" in set_ and self.modality is None:
            raise ValueError("modality cannot be null: choose clinical, dermoscopy, pathology or other")
        if "decision" in set_ and self.decision is None:
            raise ValueError("decision cannot be null: choose accept or reject")
        if "caption" in set_ and self.caption is None:
            raise ValueError("caption cannot be null (an empty string clears it)")
        if "reason" in set_:
            if self.decision != "reject":
                raise ValueError("reason goes with decision=reject only")
            if self.reason is None:
                raise ValueError("reason cannot be null")
        return self

    def changes(self) -> dict:
        """The fields this line sets, with their values (a decision=reject always carries its reason)."""
        out = {k: getattr(self, k) for k in CHANGE_FIELDS if k in self.model_fields_set}
        if out.get("decision") == "reject":
            out["reason"] = self.reason or CURATOR_REJECTED
        return out


class Override(OverrideChange):
    """One line of ``overrides.jsonl``: a change plus the server-side timestamp and the record's image path."""

    ts: AwareDatetime = Field(description="when the server appended the line (UTC)")
    image: str = Field(min_length=1, max_length=500, description="the record's image, relative to the dataset")
