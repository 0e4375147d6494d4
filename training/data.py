"""LLaVA conversation JSON (``llava_train.json`` / ``llava_test.json`` of ``mmskin build``) -> model batches.

An entry is ``{"id", "image" (relative to the image folder, optional), "modality" (optional), "conversations":
[{"from": "human", "value": "<image>\\n..."}, {"from": "gpt", "value": ...}, ...]}``. Every problem names the
file and the record (index and id); a bad record is reported and left out, the others are used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from training.template import IMAGE_PLACEHOLDER, Template, TemplateError, encode, render

IGNORE_INDEX = -100  # label of tokens that are not scored


class DataError(ValueError):
    """A data file or record that cannot be used; the message names the file and the record."""


@dataclass
class Sample:
    id: str
    image: Path | None  # absolute path, None for a text-only conversation
    turns: list[tuple[str, str]]  # (question, answer)
    modality: str | None = None
    extra: dict = field(default_factory=dict)


def record_name(path: Path | str, index: int, rec) -> str:
    rid = rec.get("id") if isinstance(rec, dict) else None
    return f"{path} record {index}" + (f" (id {rid!r})" if rid is not None else "")


def read_json_list(path: Path) -> list:
    """The JSON array of a LLaVA file; a DataError naming the file (and line/column) when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc})") from None
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON array of conversations, found {type(data).__name__}")
    return data


def parse_record(rec, image_root: Path, name: str) -> Sample:
    """One LLaVA entry -> Sample; DataError naming the record for anything missing or malformed."""
    if not isinstance(rec, dict):
        raise DataError(f"{name}: not a JSON object")
    rid = rec.get("id")
    if rid is None:
        raise DataError(f"{name}: no 'id'")
    conv = rec.get("conversations")
    if not isinstance(conv, list) or not conv:
        raise DataError(f"{name}: 'conversations' missing or empty")
    turns: list[tuple[str, str]] = []
    for k in range(0, len(conv), 2):
        pair = conv[k:k + 2]
        if len(pair) != 2 or not all(isinstance(t, dict) for t in pair):
            raise DataError(f"{name}: conversation turn {k + 1} has no answer")
        (h, g) = pair
        if h.get("from") != "human" or g.get("from") != "gpt":
            raise DataError(f"{name}: turns {k + 1}-{k + 2} are from {h.get('from')!r}/{g.get('from')!r}, "
                            "expected 'human' then 'gpt'")
        q, a = h.get("value"), g.get("value")
        if not isinstance(q, str) or not isinstance(a, str) or not q.strip() or not a.strip():
            raise DataError(f"{name}: turn {k // 2 + 1} has an empty or non-text question or answer")
        if k and IMAGE_PLACEHOLDER in q:
            raise DataError(f"{name}: {IMAGE_PLACEHOLDER} in turn {k // 2 + 1}; only the first question may hold it")
        turns.append((q, a))
    image = None
    if rec.get("image"):
        if not isinstance(rec["image"], str):
            raise DataError(f"{name}: 'image' is not a path")
        image = (image_root / rec["image"]).resolve()
        if not image.is_file():
            raise DataError(f"{name}: image {rec['image']!r} not found (looked for {image})")
    elif IMAGE_PLACEHOLDER in turns[0][0]:
        raise DataError(f"{name}: {IMAGE_PLACEHOLDER} in the question but no 'image'")
    extra = {k: v for k, v in rec.items() if k not in ("id", "image", "modality", "conversations")}
    return Sample(str(rid), image, turns, rec.get("modality"), extra)


def load_samples(path: Path, image_folder: Path | None = None) -> tuple[list[Sample], list[str]]:
    """All usable samples of a LLaVA JSON file and one error line per record left out. Images are looked up
    under ``image_folder`` (default: the JSON file's directory, the layout `mmskin build` writes)."""
    path = Path(path)
    root = Path(image_folder) if image_folder else path.parent
    samples, errors = [], []
    for i, rec in enumerate(read_json_list(path)):
        try:
            samples.append(parse_record(rec, root, record_name(path, i, rec)))
        except DataError as exc:
            errors.append(str(exc))
    return samples, errors


# ---- images ---------------------------------------------------------------------------------------------------

def load_image(path: Path, aspect: str, processor):
    """RGB PIL image; ``aspect='pad'`` pads to a square with the processor's mean colour (LLaVA's
    ``--image_aspect_ratio pad``, which MM-Skin uses), ``'resize'`` leaves it to the processor."""
    from PIL import Image

    with Image.open(path) as im:
        img = im.convert("RGB")
    if aspect == "pad":
        w, h = img.size
        if w != h:
            mean = getattr(processor.image_processor, "image_mean", None) or (0.5, 0.5, 0.5)
            bg = tuple(int(round(255 * m)) for m in mean)
            side = max(w, h)
            sq = Image.new("RGB", (side, side), bg)
            sq.paste(img, ((side - w) // 2, (side - h) // 2))
            img = sq
    return img


def pixel_values(processor, image) -> "torch.Tensor":
    """(3, H, W) float tensor of one image."""
    return processor.image_processor(images=[image], return_tensors="pt")["pixel_values"][0]


def n_image_tokens(processor, model_config, pixels) -> int:
    """How many image tokens the model fills for this image (as LlavaProcessor counts them)."""
    patch = getattr(processor, "patch_size", None) or model_config.vision_config.patch_size
    strategy = getattr(processor, "vision_feature_select_strategy", None) or model_config.vision_feature_select_strategy
    extra = getattr(processor, "num_additional_image_tokens", 0) or 0
    h, w = pixels.shape[-2:]
    n = (h // patch) * (w // patch) + extra
    return n - 1 if strategy == "default" else n


# ---- encoding and batching ------------------------------------------------------------------------------------

def image_token_id(processor, model_config) -> int:
    tid = getattr(processor, "image_token_id", None)
    return tid if tid is not None else model_config.image_token_id


def encode_sample(sample: Sample, processor, model_config, template: Template, aspect: str, max_length: int,
                  n_img_known: int | None = None) -> dict:
    """input_ids, labels (answers only; IGNORE_INDEX elsewhere) and pixel_values (or None). With
    ``n_img_known`` the image is only opened (header), not processed, and pixel_values is None: a cheap check."""
    import torch

    name = f"record {sample.id!r}"
    try:
        segments = render(template, sample.turns, has_image=sample.image is not None)
    except TemplateError as exc:
        raise DataError(f"{name}: {exc}") from None
    pix, n_img = None, 0
    if sample.image is not None:
        try:
            if n_img_known is None:
                pix = pixel_values(processor, load_image(sample.image, aspect, processor))
                n_img = n_image_tokens(processor, model_config, pix)
            else:
                from PIL import Image

                with Image.open(sample.image) as im:
                    im.size  # noqa: B018 - reads the header: not an image -> error
                n_img = n_img_known
        except (OSError, ValueError) as exc:
            raise DataError(f"{name}: cannot read image {sample.image}: {exc}") from None
    ids, mask = encode(processor.tokenizer, segments, image_token_id(processor, model_config), n_img)
    if len(ids) > max_length:
        last_image = max((i for i, t in enumerate(ids) if t == image_token_id(processor, model_config)), default=-1)
        if last_image >= max_length:
            raise DataError(f"{name}: the image tokens do not fit in max_length {max_length}")
        ids, mask = ids[:max_length], mask[:max_length]
    if not any(mask):
        raise DataError(f"{name}: no answer token left within max_length {max_length}")
    labels = [t if m else IGNORE_INDEX for t, m in zip(ids, mask)]
    return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "pixel_values": pix}


class ConversationDataset:
    """A torch-style dataset of encoded samples (images read lazily, one sample at a time)."""

    def __init__(self, samples: list[Sample], processor, model_config, template: Template, aspect: str,
                 max_length: int):
        self.samples = samples
        self.processor, self.model_config = processor, model_config
        self.template, self.aspect, self.max_length = template, aspect, max_length

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict:
        return encode_sample(self.samples[i], self.processor, self.model_config, self.template, self.aspect,
                             self.max_length)

    def check(self) -> tuple[list[Sample], list[str]]:
        """(usable samples, error lines), before training starts: every image is opened (header only; the first
        one is processed to learn the image-token count, fixed by the processor's crop size) and every text
        encoded, so unreadable images and samples whose answers fall past max_length are named up front."""
        ok, errors = [], []
        n_img = None
        for s in self.samples:
            try:
                if n_img is None and s.image is not None:
                    enc = encode_sample(s, self.processor, self.model_config, self.template, self.aspect,
                                        self.max_length)
                    n_img = int((enc["input_ids"] == image_token_id(self.processor, self.model_config)).sum())
                else:
                    encode_sample(s, self.processor, self.model_config, self.template, self.aspect, self.max_length,
                                  n_img_known=n_img or 0)
                ok.append(s)
            except DataError as exc:
                errors.append(str(exc))
        return ok, errors


class Collator:
    """Right-pads input_ids (pad id), labels (IGNORE_INDEX) and the attention mask; stacks the pixel values of
    the samples that have an image (the model fills image tokens in batch order)."""

    def __init__(self, pad_token_id: int):
        self.pad = pad_token_id

    def __call__(self, batch: list[dict]) -> dict:
        import torch

        n = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), n), self.pad, dtype=torch.long)
        labels = torch.full((len(batch), n), IGNORE_INDEX, dtype=torch.long)
        att = torch.zeros((len(batch), n), dtype=torch.long)
        for i, b in enumerate(batch):
            k = len(b["input_ids"])
            ids[i, :k], labels[i, :k], att[i, :k] = b["input_ids"], b["labels"], 1
        out = {"input_ids": ids, "labels": labels, "attention_mask": att}
        pix = [b["pixel_values"] for b in batch if b["pixel_values"] is not None]
        if pix:
            out["pixel_values"] = torch.stack(pix)
        return out
