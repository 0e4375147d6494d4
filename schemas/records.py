"""Captions, figures, panels and the exported Record (the `records.jsonl` contract)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.document import BBox

Modality = Literal["clinical", "dermoscopy", "pathology", "other"]
Gender = Literal["male", "female"]
AgeGroup = Literal["infant", "child", "adolescent", "adult", "older_adult"]


class _Model(BaseModel):
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64", extra="forbid")


class Caption(_Model):
    """A figure caption found on a page."""

    page: int
    bbox: BBox
    label: str = Field(description='the label as printed, normalised spacing: "Fig. 5.3", "Plate 7"')
    number: str = Field(description='the label number: "5.3", "12.4A"')
    text: str = Field(description="full caption text with its label, de-hyphenated, whitespace collapsed")


class Panel(_Model):
    """One image region of a figure, with its panel letter and subcaption when the figure has several."""

    region_index: int = Field(description="index into the page's images")
    bbox: BBox
    panel: str | None = None
    subcaption: str | None = None


class Figure(_Model):
    """A caption with the image regions it owns (or an image region no caption claimed)."""

    page: int
    caption: Caption | None
    panels: list[Panel]

    @property
    def bbox(self) -> BBox:
        boxes = [p.bbox for p in self.panels]
        return (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )


class VQAPair(_Model):
    question: str
    answer: str


class VQAReject(_Model):
    """A generated pair the VQA guard rejected, with its reason (pipeline/vqa/guard.py)."""

    question: str
    answer: str
    reason: str


class Demographics(_Model):
    """The depicted patient's age and gender as mined from text, with the span that decided."""

    age: float | None = Field(default=None, ge=0, le=120, description="years; 6 months = 0.5")
    age_group: AgeGroup | None = None
    gender: Gender | None = None
    evidence: list[str] = Field(default_factory=list, description="text spans the values came from")


class Record(_Model):
    """One extracted image region (a split panel is its own record). Rejected records stay, with reasons."""

    id: str = Field(description="stable across runs: derived from book, page, box and panel")
    source_pdf: str
    book_id: str
    page: int = Field(description="1-based")
    bbox: BBox = Field(description="PDF points, origin top-left")
    image: str = Field(description="path relative to the output directory")
    figure_label: str | None = None
    figure_id: str | None = Field(default=None, description="groups the panels of one figure")
    panel: str | None = None
    caption: str = ""
    subcaption: str | None = None
    modality: Modality = "other"
    modality_confidence: float = Field(default=0.0, ge=0, le=1)
    modality_evidence: list[str] = Field(default_factory=list)
    needs_review: bool = False
    age: float | None = Field(default=None, ge=0, le=120)
    age_group: AgeGroup | None = None
    gender: Gender | None = None
    demographics_evidence: list[str] = Field(default_factory=list)
    kept: bool = True
    reject_reasons: list[str] = Field(default_factory=list)
    reject_scores: dict[str, float] = Field(
        default_factory=dict,
        description="the score of each filter check that rejected the record, by reason (faces found, overlay "
        "score, shorter side in px, grey-level std, sensitive terms found, phash distance to the kept copy)",
    )
    overruled_reasons: list[str] = Field(
        default_factory=list, description="reject reasons a curator overruled by accepting the record (overrides.jsonl)"
    )
    curated: list[str] = Field(
        default_factory=list, description="fields a curator set in overrides.jsonl (`mmskin review`)"
    )
    notes: list[str] = Field(
        default_factory=list,
        description="what a stage noticed that does not reject the record, e.g. panels_unsplit: the caption names "
        "panels but the pixels did not show sure borders, so the compound figure stays whole",
    )
    duplicate_of: str | None = None
    width: int = 0
    height: int = 0
    region_kind: str = "embedded"
    phash: str | None = None
    split: Literal["train", "test"] | None = None
    vqa: list[VQAPair] = Field(default_factory=list)
    vqa_rejected: list[VQAReject] = Field(default_factory=list, description="generated pairs the guard rejected")
    vqa_error: str | None = Field(
        default=None, description="why a kept record has no VQA (no_vqa_facts, all_pairs_rejected, llm_timeout, ...)"
    )

    def reject(self, reason: str, score: float | None = None) -> None:
        if reason not in self.reject_reasons:
            self.reject_reasons.append(reason)
        if score is not None:
            self.reject_scores[reason] = float(score)
        self.kept = False


class Item(_Model):
    """A record travelling through the per-record stages together with its pixels: RGB PNG, or a source JPEG
    kept as it is (``pipeline.extract.images.image_extension`` tells which)."""

    record: Record
    png: bytes = Field(repr=False)


class StageReport(_Model):
    """What a stage kept and dropped, and why (datatrove-style counters)."""

    stage: str
    seen: int = 0
    kept: int = 0
    dropped: int = 0
    reasons: dict[str, int] = Field(default_factory=dict)

    def drop(self, reason: str, n: int = 1) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + n

    def merge(self, other: "StageReport") -> "StageReport":
        out = self.model_copy(deep=True)
        out.seen += other.seen
        out.kept += other.kept
        out.dropped += other.dropped
        for k, v in other.reasons.items():
            out.drop(k, v)
        return out
