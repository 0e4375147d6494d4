"""Image quality checks: too small, blank, not a photograph."""

from __future__ import annotations

import numpy as np

from schemas import Record
from schemas.settings import FilterSettings

Check = tuple[str, float] | None


def low_resolution_check(img: np.ndarray, settings: FilterSettings) -> Check:
    side = min(img.shape[:2])
    return ("low_resolution", float(side)) if side < settings.min_side_px else None


def blank_check(img: np.ndarray, settings: FilterSettings) -> Check:
    std = float(img.astype(np.float32).mean(axis=2).std())
    return ("blank", std) if std < settings.blank_std else None


def non_photographic_check(rec: Record) -> Check:
    """Diagrams, charts and tables (modality "other") are not part of an MM-Skin-style dataset."""
    return ("non_photographic", rec.modality_confidence) if rec.modality == "other" else None
