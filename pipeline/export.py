"""Export: the MM-Skin-style views of the records (C, O, D), LLaVA conversations and the train/test split.

Pure: returns the documents to write; the flow writes them.
"""

from __future__ import annotations

import hashlib

from schemas import Record
from schemas.settings import ExportSettings

VERSION = "2"


def split_for(figure_key: str, settings: ExportSettings) -> str:
    """Deterministic split by figure: all panels and QA of one figure land on the same side."""
    h = int(hashlib.sha256(f"{settings.split_seed}:{figure_key}".encode()).hexdigest()[:8], 16)
    return "test" if (h % 10000) < settings.test_fraction * 10000 else "train"


def assign_splits(records: list[Record], settings: ExportSettings) -> list[Record]:
    out = []
    for r in records:
        r = r.model_copy()
        r.split = split_for(r.figure_id or r.id, settings) if r.kept else None
        out.append(r)
    return out


def mmskin_views(records: list[Record]) -> dict[str, list[dict]]:
    kept = [r for r in records if r.kept]
    c = [{"id": r.id, "image": r.image, "caption": r.subcaption or r.caption, "modality": r.modality} for r in kept]
    o = [
        {"id": f"{r.id}-q{k}", "image": r.image, "question": qa.question, "answer": qa.answer, "modality": r.modality}
        for r in kept
        for k, qa in enumerate(r.vqa)
    ]
    d = [
        {"id": r.id, "image": r.image, "age": r.age, "age_group": r.age_group, "gender": r.gender}
        for r in kept
        if r.age is not None or r.gender is not None
    ]
    return {"mmskin_c.json": c, "mmskin_o.json": o, "mmskin_d.json": d}


def llava_conversations(records: list[Record], split: str) -> list[dict]:
    """LLaVA format, per kept record: a captioning conversation (``<id>-cap``) and one multi-turn conversation
    holding all its QA pairs (``<id>-vqa``; the image token only in the first human turn, as LLaVA expects)."""
    out = []
    for r in records:
        if not r.kept or r.split != split:
            continue
        caption = r.subcaption or r.caption
        if caption:
            out.append(
                {
                    "id": f"{r.id}-cap",
                    "image": r.image,
                    "modality": r.modality,
                    "conversations": [
                        {"from": "human", "value": "<image>\nDescribe this image."},
                        {"from": "gpt", "value": caption},
                    ],
                }
            )
        if r.vqa:
            turns = []
            for k, qa in enumerate(r.vqa):
                turns.append({"from": "human", "value": ("<image>\n" if k == 0 else "") + qa.question})
                turns.append({"from": "gpt", "value": qa.answer})
            out.append({"id": f"{r.id}-vqa", "image": r.image, "modality": r.modality, "conversations": turns})
    return out
