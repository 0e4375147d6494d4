"""manifest.json: what went in, what came out, with which versions and settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from schemas.records import StageReport


class BookWarnings(BaseModel):
    """What MuPDF said about a damaged but openable book (it is still built)."""

    repaired: bool = Field(False, description="MuPDF rebuilt the document's structure (a broken xref) to open it")
    counts: dict[str, int] = Field(default_factory=dict, description="messages by kind: repair, format, decode, "
                                   "icc, font, other")
    messages: list[str] = Field(default_factory=list, description="the first distinct messages, in order")

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class SkippedInput(BaseModel):
    path: str
    reason: str


class BookEntry(BaseModel):
    path: str
    source_pdf: str
    book_id: str | None = None
    n_pages: int | None = None
    status: Literal["ok", "error", "duplicate_input"] = "ok"
    error: str | None = None
    duplicate_of: str | None = Field(None, description="status duplicate_input: the input with the same bytes that "
                                     "was built (its path)")
    warnings: BookWarnings = Field(default_factory=BookWarnings)
    computed_stages: list[str] = Field(default_factory=list, description="stages run in this build")
    cached_stages: list[str] = Field(default_factory=list, description="stages taken from the cache")
    n_records: int = 0
    n_kept: int = 0


class VQAUsage(BaseModel):
    """What the VQA stage asked of its generator in one build (LLM calls, cache hits, tokens, cost)."""

    generator: str = "template"
    prompt_version: str | None = None
    model: str | None = None
    with_image: bool = False
    records: int = Field(0, description="kept records the generator worked on in this build (not cached per book)")
    calls: int = Field(0, description="chat-completion requests issued (the SDK's own retries not counted)")
    http_requests: int = Field(0, description="HTTP requests sent, retries included")
    cache_hits: int = Field(0, description="replies taken from the LLM response cache instead of the server")
    failed: int = Field(0, description="records left without an LLM reply (reason in the record's vqa_error)")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated_cost: float = Field(0.0, description="tokens x vqa.price_input/output_per_1k (0 when no price is set)")
    seconds: float = 0.0

    def merge(self, other: "VQAUsage") -> "VQAUsage":
        out = self.model_copy()
        for k in ("records", "calls", "http_requests", "cache_hits", "failed", "prompt_tokens", "completion_tokens"):
            setattr(out, k, getattr(self, k) + getattr(other, k))
        out.estimated_cost = round(self.estimated_cost + other.estimated_cost, 6)
        out.seconds = round(self.seconds + other.seconds, 3)
        return out


class DatasetManifest(BaseModel):
    mmskin_version: str
    created_by: str = "mmskin build"
    stage_versions: dict[str, str]
    settings: dict[str, Any]
    books: list[BookEntry]
    errors: list[str] = Field(default_factory=list, description="one line per input that failed")
    skipped: list[SkippedInput] = Field(default_factory=list, description="files in an input directory that are "
                                        "not PDFs, each with the reason")
    stages: list[StageReport] = Field(default_factory=list)
    counts: dict[str, Any] = Field(default_factory=dict)
    reject_reasons: dict[str, int] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict, description="output file -> sha256")
    timings: dict[str, float] = Field(default_factory=dict, description="seconds spent, e.g. flow_seconds")
    vqa: VQAUsage | None = Field(default=None, description="VQA generator, prompt version, model, calls, tokens, cost")
