"""manifest.json: what went in, what came out, with which versions and settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from schemas.records import StageReport


class BookEntry(BaseModel):
    path: str
    source_pdf: str
    book_id: str | None = None
    n_pages: int | None = None
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    computed_stages: list[str] = Field(default_factory=list, description="stages run in this build")
    cached_stages: list[str] = Field(default_factory=list, description="stages taken from the cache")
    n_records: int = 0
    n_kept: int = 0


class DatasetManifest(BaseModel):
    mmskin_version: str
    created_by: str = "mmskin build"
    stage_versions: dict[str, str]
    settings: dict[str, Any]
    books: list[BookEntry]
    errors: list[str] = Field(default_factory=list, description="one line per input that failed")
    stages: list[StageReport] = Field(default_factory=list)
    counts: dict[str, Any] = Field(default_factory=dict)
    reject_reasons: dict[str, int] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict, description="output file -> sha256")
    timings: dict[str, float] = Field(default_factory=dict, description="seconds spent, e.g. flow_seconds")
