"""Near-duplicates across all books by perceptual hash: the largest copy stays, the others point to it."""

from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

from schemas import Record, StageReport


def perceptual_hash(img: np.ndarray) -> str:
    return str(imagehash.phash(Image.fromarray(img)))


def mark_duplicates(records: list[Record], max_distance: int) -> tuple[list[Record], StageReport]:
    """Among records still kept, group those whose phash differs by at most ``max_distance`` bits; keep the
    largest (ties: first in input order) and reject the rest as ``duplicate`` with ``duplicate_of``."""
    report = StageReport(stage="duplicates")
    out = [r.model_copy(deep=True) for r in records]
    candidates = [r for r in out if r.kept and r.phash]
    order = sorted(range(len(candidates)), key=lambda k: (-(candidates[k].width * candidates[k].height), k))
    hashes = [imagehash.hex_to_hash(r.phash) for r in candidates]
    keepers: list[int] = []
    for k in order:
        rec = candidates[k]
        match = next((j for j in keepers if hashes[k] - hashes[j] <= max_distance), None)
        if match is None:
            keepers.append(k)
        else:
            rec.reject("duplicate", float(hashes[k] - hashes[match]))
            rec.duplicate_of = candidates[match].id
            report.drop("duplicate")
            report.dropped += 1
    report.seen = len(out)
    report.kept = sum(r.kept for r in out)
    return out, report
