"""A small LLaVA conversation dataset for the training and evaluation tests: procedural images (our own
pixels) and conversations in the exact format `mmskin build` exports (llava_train.json / llava_test.json)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

# modality -> mean RGB of its procedural images
COLOURS = {"clinical": (200, 120, 100), "dermoscopy": (110, 70, 40), "pathology": (190, 90, 170)}
ANSWERS = {
    "clinical": ("Chronic plaque psoriasis on the extensor aspect of the left elbow.", "Chronic plaque psoriasis."),
    "dermoscopy": ("A pigment network with dots and globules at the periphery.", "Melanocytic naevus."),
    "pathology": ("Acanthosis with parakeratosis and elongated rete ridges.", "Psoriasis."),
}


def write_image(path: Path, modality: str, seed: int, size: tuple[int, int] = (48, 40)) -> None:
    rng = np.random.default_rng(seed)
    base = np.array(COLOURS[modality], dtype=float)
    px = base + rng.normal(0, 18, (size[1], size[0], 3))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(px, 0, 255).astype("uint8")).save(path)


def records(n: int, start: int = 0) -> list[dict]:
    out = []
    mods = list(COLOURS)
    for i in range(start, start + n):
        m = mods[i % len(mods)]
        caption, diagnosis = ANSWERS[m]
        rid = f"book-p{i:04d}-fig"
        out.append({"id": f"{rid}-cap", "image": f"images/{rid}.png", "modality": m,
                    "conversations": [{"from": "human", "value": "<image>\nDescribe this image."},
                                      {"from": "gpt", "value": caption}]})
        out.append({"id": f"{rid}-vqa", "image": f"images/{rid}.png", "modality": m,
                    "conversations": [{"from": "human", "value": "<image>\nWhat is the most likely diagnosis?"},
                                      {"from": "gpt", "value": diagnosis},
                                      {"from": "human", "value": "What modality is this image?"},
                                      {"from": "gpt", "value": f"A {m} image."}]})
    return out


def make_dataset(root: Path, n_train: int = 2, n_test: int = 3) -> Path:
    """root/llava_train.json, root/llava_test.json and root/images/; returns root."""
    root.mkdir(parents=True, exist_ok=True)
    for split, recs in (("train", records(n_train)), ("test", records(n_test, start=100))):
        for r in recs:
            img = root / r["image"]
            if not img.exists():
                write_image(img, r["modality"], seed=zlib.crc32(r["image"].encode()))
        (root / f"llava_{split}.json").write_text(json.dumps(recs, indent=1) + "\n")
    return root


def classification_csv(root: Path, name: str, n_per_class: int, seed: int) -> Path:
    """root/<name>.csv with columns image,label (label = modality) and its images."""
    rows = ["image,label"]
    for m in COLOURS:
        for k in range(n_per_class):
            rel = f"cls_images/{name}-{m}-{k}.png"
            write_image(root / rel, m, seed=seed * 1000 + k * 7 + len(m))
            rows.append(f"{rel},{m}")
    path = root / f"{name}.csv"
    path.write_text("\n".join(rows) + "\n")
    return path
