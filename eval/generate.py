"""Answers from a LLaVA model for (image, question) pairs, prompted with the conversation template the model
was trained with (training.template; read from the model's mmskin_training.json, else vicuna_v1)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from training.data import image_token_id, load_image, n_image_tokens, pixel_values
from training.template import DEFAULT_TEMPLATE, encode, get_template, prompt
from training.train import ModelError, load_model, read_meta, resolve_precision, torch_dtype


@dataclass
class Loaded:
    model: object
    processor: object
    template: object
    aspect: str
    device: str


def load_for_inference(path: Path, template: str | None = None, precision: str = "auto") -> Loaded:
    """A merged/base LLaVA directory, or a `mmskin train` output (adapter) whose base is found from
    adapter_config.json. On a GPU the model goes to cuda:0 in bf16; on CPU it stays fp32."""
    import torch

    path = Path(path)
    dtype = torch_dtype(resolve_precision(precision))
    if (path / "adapter_config.json").is_file():
        from training.merge import load_adapted

        base = json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path")
        if not base:
            raise ModelError(f"adapter {path}: adapter_config.json names no base model")
        model, processor = load_adapted(Path(base), path, dtype)
    else:
        model, processor = load_model(path, dtype)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    model.eval()
    meta = read_meta(path) or (read_meta(path.parent) if path.name.startswith("checkpoint-") else {})
    tmpl = get_template(template or meta.get("template") or DEFAULT_TEMPLATE)
    return Loaded(model, processor, tmpl, meta.get("image_aspect_ratio", "pad"), device)


def encode_prompt(loaded: Loaded, question: str, image: Path | None) -> tuple[list[int], object]:
    """Token ids of the prompt and the pixel values (or None) for one question."""
    proc, cfg = loaded.processor, loaded.model.config
    pix, n_img = None, 0
    if image is not None:
        pix = pixel_values(proc, load_image(image, loaded.aspect, proc))
        n_img = n_image_tokens(proc, cfg, pix)
    ids, _ = encode(proc.tokenizer, prompt(loaded.template, question, has_image=image is not None),
                    image_token_id(proc, cfg), n_img)
    return ids, pix


def generate(loaded: Loaded, questions: list[tuple[str, Path | None]], max_new_tokens: int, temperature: float,
             seed: int, batch_size: int, on_error: Callable[[int, str], None] | None = None) -> list[str | None]:
    """One answer per (question, image path); greedy when temperature is 0. A question whose image cannot be
    read gets None (and on_error(index, message)); the others are answered."""
    import torch

    torch.manual_seed(seed)
    tok = loaded.processor.tokenizer
    pad = next(t for t in (tok.pad_token_id, tok.unk_token_id, tok.eos_token_id) if t is not None)
    encoded: list[tuple[int, list[int], object]] = []
    answers: list[str | None] = [None] * len(questions)
    for i, (q, img) in enumerate(questions):
        try:
            ids, pix = encode_prompt(loaded, q, img)
            encoded.append((i, ids, pix))
        except (OSError, ValueError) as exc:
            if on_error:
                on_error(i, f"cannot read image {img}: {exc}")
    # batches of equal image/no-image kind (pixel values are stacked per batch)
    for has_img in (True, False):
        group = [e for e in encoded if (e[2] is not None) == has_img]
        for start in range(0, len(group), batch_size):
            chunk = group[start:start + batch_size]
            n = max(len(e[1]) for e in chunk)
            ids = torch.full((len(chunk), n), pad, dtype=torch.long)
            att = torch.zeros((len(chunk), n), dtype=torch.long)
            for k, (_, seq, _) in enumerate(chunk):  # left padding: generation continues at the right edge
                ids[k, n - len(seq):] = torch.tensor(seq)
                att[k, n - len(seq):] = 1
            kwargs = {"input_ids": ids.to(loaded.device), "attention_mask": att.to(loaded.device)}
            if has_img:
                kwargs["pixel_values"] = torch.stack([e[2] for e in chunk]).to(loaded.device, loaded.model.dtype)
            sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
            with torch.no_grad():
                out = loaded.model.generate(**kwargs, max_new_tokens=max_new_tokens, num_beams=1,
                                            pad_token_id=pad, eos_token_id=tok.eos_token_id, **sampling)
            for k, (i, _, _) in enumerate(chunk):
                answers[i] = tok.decode(out[k, n:], skip_special_tokens=True).strip()
    return answers
