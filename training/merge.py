"""Merge a trained adapter (LoRA + projector) into its base model and save a plain LLaVA model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from training.train import META_FILE, ModelError, load_model, quiet_transformers, resolve_precision, torch_dtype


def check_adapter_dir(path: Path) -> None:
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"adapter {path}: no such directory")
    if not (path / "adapter_config.json").is_file():
        raise ModelError(f"adapter {path}: no adapter_config.json (expected the output_dir of `mmskin train` or one "
                         "of its checkpoint-N directories)")


def load_adapted(base: Path, adapter: Path, dtype=None, device_map: str | None = None):
    """(PeftModel over the base, processor). The processor saved with the adapter is preferred."""
    from peft import PeftModel
    from transformers import AutoProcessor

    check_adapter_dir(adapter)
    model, processor = load_model(base, dtype, device_map)
    try:
        peft_model = PeftModel.from_pretrained(model, str(adapter), is_trainable=False)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"adapter {adapter} does not fit base {base}: {exc}") from None
    if (Path(adapter) / "processor_config.json").is_file() or (Path(adapter) / "tokenizer_config.json").is_file():
        processor = AutoProcessor.from_pretrained(str(adapter), local_files_only=True)
    return peft_model, processor


def merge(base: Path, adapter: Path, out: Path, precision: str = "auto") -> Path:
    """base + adapter -> out (model weights, processor, and the training meta for `mmskin eval`)."""
    quiet_transformers()
    dtype = torch_dtype(resolve_precision(precision))
    peft_model, processor = load_adapted(base, adapter, dtype)
    merged = peft_model.merge_and_unload()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out))
    processor.save_pretrained(str(out))
    meta_src = Path(adapter) / META_FILE
    if not meta_src.is_file():  # a checkpoint-N directory: the meta lies in its parent
        meta_src = Path(adapter).parent / META_FILE
    if meta_src.is_file():
        shutil.copyfile(meta_src, out / META_FILE)
    (out / "merged_from.json").write_text(json.dumps({"base": str(base), "adapter": str(adapter)}, indent=1) + "\n")
    return out
