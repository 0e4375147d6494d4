"""Filter stage: each check returns (reason code, score); thresholds live in FilterSettings.

Rejected records stay in the output with every reason that applied. The duplicate check runs across all
books (``mark_duplicates``); the others look at one record at a time (``filter_items``).
"""

from __future__ import annotations

from pipeline.extract.images import png_to_numpy
from pipeline.filters.duplicates import mark_duplicates, perceptual_hash
from pipeline.filters.faces import face_check
from pipeline.filters.overlays import overlay_check
from pipeline.filters.quality import blank_check, low_resolution_check, non_photographic_check
from pipeline.filters.sensitive import sensitive_check
from schemas import Item, StageReport
from schemas.settings import FilterSettings

VERSION = "3"
__all__ = ["VERSION", "filter_items", "mark_duplicates"]


def filter_items(items: list[Item], settings: FilterSettings | None = None) -> tuple[list[Item], StageReport]:
    """Run every per-record check on records still kept; add the phash used by duplicate detection."""
    settings = settings or FilterSettings()
    report = StageReport(stage="filter")
    out = []
    for it in items:
        rec = it.record.model_copy(deep=True)
        report.seen += 1
        try:
            img = png_to_numpy(it.png)
        except Exception:
            rec.reject("unreadable_image")
            report.drop("unreadable_image")
            report.dropped += 1
            out.append(Item(record=rec, png=it.png))
            continue
        rec.phash = perceptual_hash(img)
        if rec.kept:
            checks = [
                low_resolution_check(img, settings),
                blank_check(img, settings),
                non_photographic_check(rec),
                sensitive_check(" ".join(t for t in (rec.caption, rec.subcaption) if t), settings),
                face_check(img, settings),
                overlay_check(img, settings),
            ]
            if settings.reject_needs_review and rec.needs_review:
                checks.append(("needs_review", 1.0))
            for result in checks:
                if result is not None:
                    reason, score = result
                    rec.reject(reason, score)
                    report.drop(reason)
            if not rec.kept:
                report.dropped += 1
        report.kept += rec.kept
        out.append(Item(record=rec, png=it.png))
    return out, report
