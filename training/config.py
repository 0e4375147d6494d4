"""The training configuration (YAML), with MM-Skin's defaults (finetune_lora.sh of ZwQ803/MM-Skin: LoRA r 128,
alpha 64, mm_projector_lr 2e-5, lr 5e-5, 1 epoch, cosine, warmup 0.02, weight decay 0.01, bf16, gradient
checkpointing, model_max_length 2048, batch 16, save every 100 steps, 3 checkpoints kept).

Relative paths in the file are taken relative to the current directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from training.template import DEFAULT_TEMPLATE, TEMPLATES


class ConfigError(ValueError):
    """A config file that cannot be read or validated."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not a silent default


class DataConfig(_Strict):
    train: Path = Field(description="LLaVA conversation JSON (llava_train.json of `mmskin build`)")
    image_folder: Path | None = Field(None, description="images are relative to this; default: the JSON's directory")
    on_bad_record: Literal["skip", "error"] = Field(
        "skip", description="a record with a missing image or malformed conversation: skip it (reported in "
        "OUTPUT/data_errors.txt and on stderr) or stop before training")
    max_length: int = Field(2048, ge=16, description="tokens per sample (image tokens included); longer ones are cut")
    image_aspect_ratio: Literal["pad", "resize"] = Field(
        "pad", description="pad: pad to a square with the mean colour before the processor (LLaVA/MM-Skin); "
        "resize: the processor's own resize and crop")


class LoraSettings(_Strict):
    r: int = Field(128, ge=1, description="LoRA rank")
    alpha: int = Field(64, ge=1, description="LoRA alpha (scaling alpha / r)")
    dropout: float = Field(0.05, ge=0, lt=1, description="LoRA dropout")
    target_modules: list[str] | None = Field(
        None, description="leaf names of the language model's linear layers to adapt; None = every linear layer "
        "of the language model (not the vision tower, projector or lm_head), as LLaVA's find_all_linear_names")
    train_projector: bool = Field(True, description="train the multimodal projector fully (saved with the adapter)")


class OptimSettings(_Strict):
    lr: float = Field(5e-5, gt=0, description="learning rate of the LoRA weights")
    projector_lr: float = Field(2e-5, gt=0, description="learning rate of the projector")
    epochs: float = Field(1.0, gt=0, description="passes over the data")
    max_steps: int = Field(-1, description="stop after this many optimizer steps (-1: run the epochs)")
    scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = Field(0.02, ge=0, lt=1, description="share of the steps spent warming up")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay (not on biases and norms)")
    batch_size: int = Field(16, ge=1, description="samples per device per step")
    grad_accum: int = Field(1, ge=1, description="gradient accumulation steps")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping")


class TrainConfig(_Strict):
    model: Path = Field(description="local base model in transformers LLaVA format (model + processor files)")
    data: DataConfig
    output_dir: Path = Field(description="adapter, processor, checkpoints (checkpoint-N) and logs go here")
    template: str = Field(DEFAULT_TEMPLATE, description="conversation template: " + ", ".join(TEMPLATES))
    lora: LoraSettings = LoraSettings()
    optim: OptimSettings = OptimSettings()
    precision: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        "auto", description="auto: bf16 on a GPU that supports it, fp32 on CPU")
    gradient_checkpointing: bool = True
    device_map: str | None = Field(None, description="passed to from_pretrained (e.g. 'auto'); None: the Trainer "
                                                     "places the model")
    save_steps: int = Field(100, ge=1, description="checkpoint every this many steps")
    save_total_limit: int | None = Field(3, description="checkpoints kept (oldest removed)")
    logging_steps: int = Field(1, ge=1)
    resume: bool | Path = Field(False, description="true: continue from the last checkpoint in output_dir; a path: "
                                                   "from that checkpoint")
    seed: int = Field(42, description="seed of initialisation, shuffling and dropout")
    dataloader_num_workers: int = Field(0, ge=0)

    def validate_template(self) -> None:
        if self.template not in TEMPLATES:
            raise ConfigError(f"unknown template {self.template!r}; choose from {', '.join(TEMPLATES)}")


def load_config(path: Path | str) -> TrainConfig:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings")
    try:
        cfg = TrainConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"{path}: invalid config:\n" + "\n".join(lines)) from None
    cfg.validate_template()
    return cfg
