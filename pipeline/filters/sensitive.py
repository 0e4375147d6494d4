"""Sensitive anatomical sites named in the caption (configurable term list)."""

from __future__ import annotations

import re

from schemas.settings import FilterSettings


def sensitive_check(text: str, settings: FilterSettings) -> tuple[str, float] | None:
    if not settings.sensitive_terms or not text:
        return None
    pattern = r"\b(?:" + "|".join(re.escape(t) for t in settings.sensitive_terms) + r")\b"
    hits = re.findall(pattern, text, flags=re.IGNORECASE)
    return ("sensitive_site", float(len(hits))) if hits else None
