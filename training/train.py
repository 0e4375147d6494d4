"""LoRA fine-tuning of a LLaVA model (transformers ``LlavaForConditionalGeneration`` + peft) on LLaVA
conversations, as MM-Skin trains SkinVL: LoRA on every linear layer of the language model, the projector trained
fully with its own learning rate, cosine schedule with warm-up, AdamW with weight decay.

We use transformers' ``Trainer`` with our own collator (``training.data.Collator``) rather than TRL's SFTTrainer:
the prompt/answer masking and the image-token count come from ``training.template``, the same module evaluation
uses, instead of the processor's chat template.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from pathlib import Path
from typing import Callable

from training.config import TrainConfig
from training.data import Collator, ConversationDataset, DataError, load_samples
from training.template import get_template

META_FILE = "mmskin_training.json"  # template and image handling of a trained model, read by `mmskin eval`
PROJECTOR = "multi_modal_projector"


class ModelError(ValueError):
    """A base model or adapter that cannot be found or loaded."""


def quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    # peft 0.21 still calls transformers' deprecated gradient-checkpointing names; nothing for a user to act on
    warnings.filterwarnings("ignore", message=r".*is deprecated and will be removed in v6.*", category=FutureWarning)


def resolve_precision(precision: str) -> str:
    """'auto' -> 'bf16' on a CUDA GPU with bf16 support, else 'fp32'."""
    import torch

    if precision != "auto":
        return precision
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"


def torch_dtype(precision: str):
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[precision]


def check_model_dir(path: Path, what: str = "base model") -> None:
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"{what} {path}: no such directory (a local transformers LLaVA model is needed; nothing is "
                         "downloaded)")
    if not (path / "config.json").is_file():
        raise ModelError(f"{what} {path}: no config.json (expected a model saved with save_pretrained)")
    try:
        cfg = json.loads((path / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{what} {path}: config.json cannot be read: {exc}") from None
    if cfg.get("model_type") != "llava":
        raise ModelError(f"{what} {path}: model_type is {cfg.get('model_type')!r}, expected 'llava' "
                         "(LlavaForConditionalGeneration; convert LLaVA-Med checkpoints to the transformers format)")


def load_model(path: Path, dtype=None, device_map: str | None = None):
    """(LlavaForConditionalGeneration, processor) from a local directory, offline."""
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    quiet_transformers()
    check_model_dir(path)
    try:
        model = LlavaForConditionalGeneration.from_pretrained(str(path), dtype=dtype, device_map=device_map,
                                                              local_files_only=True)
        processor = AutoProcessor.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(f"model {path}: cannot be loaded: {exc}") from None
    return model, processor


def language_model_linear_names(model) -> list[str]:
    """Leaf names of the nn.Linear layers of the language model (q_proj, ..., down_proj)."""
    import torch

    return sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules()
                   if isinstance(m, torch.nn.Linear) and ".language_model." in f".{n}."})


def lora_target_regex(model, names: list[str] | None = None) -> str:
    """A regex peft matches against full module names: the given leaf names (default: all linear layers) inside
    the language model only, so the vision tower's q/k/v and the projector are left alone."""
    leaves = names or language_model_linear_names(model)
    if not leaves:
        raise ModelError("the model has no linear layer under language_model to adapt")
    return r".*\.language_model\..*\.(?:" + "|".join(re.escape(x) for x in leaves) + r")"


def apply_lora(model, lora, dtype_upcast: bool = True):
    """Wrap in a PeftModel: LoRA on the language model, the projector as a fully trained module."""
    import torch
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, bias="none",
        target_modules=lora_target_regex(model, lora.target_modules),
        modules_to_save=[PROJECTOR] if lora.train_projector else None,
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, config)
    if dtype_upcast:  # trainable weights in fp32 (the optimizer state too); compute follows autocast
        for p in peft_model.parameters():
            if p.requires_grad and p.dtype != torch.float32:
                p.data = p.data.float()
    return peft_model


def param_groups(model, lr: float, projector_lr: float, weight_decay: float) -> list[dict]:
    """AdamW groups: LoRA and projector weights at their own learning rates; no decay on biases and norms."""
    groups: dict[tuple[bool, bool], list] = {}
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        proj = PROJECTOR in n
        decay = not (n.endswith(".bias") or "norm" in n.lower())
        groups.setdefault((proj, decay), []).append(p)
    return [{"params": ps, "lr": projector_lr if proj else lr, "weight_decay": weight_decay if decay else 0.0}
            for (proj, decay), ps in sorted(groups.items())]


def _trainer_class():
    from transformers import Trainer

    class SkinVLTrainer(Trainer):
        """Trainer whose optimizer has a separate learning rate for the projector (LLaVA's mm_projector_lr)."""

        projector_lr: float = 2e-5

        def create_optimizer(self, model=None):
            if self.optimizer is None:
                opt_model = self.model if model is None else model
                cls, kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
                kwargs.pop("lr", None)
                self.optimizer = cls(param_groups(opt_model, self.args.learning_rate, self.projector_lr,
                                                  self.args.weight_decay), **kwargs)
            return self.optimizer

    return SkinVLTrainer


def pad_token_id(tokenizer) -> int:
    for tid in (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.eos_token_id):
        if tid is not None:
            return tid
    raise ModelError("the tokenizer has no pad, unk or eos token to pad with")


def training_meta(cfg: TrainConfig) -> dict:
    return {"template": cfg.template, "image_aspect_ratio": cfg.data.image_aspect_ratio,
            "max_length": cfg.data.max_length, "base_model": str(cfg.model)}


def read_meta(model_dir: Path) -> dict:
    """The template and image handling a model was trained with (empty when it was not trained here)."""
    p = Path(model_dir) / META_FILE
    return json.loads(p.read_text()) if p.is_file() else {}


def _resume_path(cfg: TrainConfig) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    if cfg.resume is False:
        return None
    if cfg.resume is True:
        last = get_last_checkpoint(str(cfg.output_dir)) if cfg.output_dir.is_dir() else None
        if last is None:
            raise ModelError(f"resume: true, but {cfg.output_dir} holds no checkpoint-N directory")
        return last
    if not Path(cfg.resume).is_dir():
        raise ModelError(f"resume: checkpoint {cfg.resume} not found")
    return str(cfg.resume)


def train(cfg: TrainConfig, log: Callable[[str], None] = print) -> dict:
    """Train, save the adapter (with the projector), the processor and META_FILE in cfg.output_dir.
    Returns a summary: steps, losses, data errors, seconds."""
    import torch
    from transformers import TrainingArguments, set_seed

    quiet_transformers()
    t0 = time.perf_counter()
    template = get_template(cfg.template)
    resume = _resume_path(cfg)
    precision = resolve_precision(cfg.precision)
    if precision in ("bf16", "fp16") and not torch.cuda.is_available():
        raise ModelError(f"precision {precision} needs a CUDA GPU; use fp32 (or auto) on CPU")
    set_seed(cfg.seed)

    samples, errors = load_samples(cfg.data.train, cfg.data.image_folder)
    model, processor = load_model(cfg.model, torch_dtype(precision), cfg.device_map)
    dataset = ConversationDataset(samples, processor, model.config, template, cfg.data.image_aspect_ratio,
                                  cfg.data.max_length)
    ok, enc_errors = dataset.check()
    errors += enc_errors
    dataset.samples = ok
    cfg.output_dir.mkdir(parents=True, exist_ok=True)
    (cfg.output_dir / META_FILE).write_text(json.dumps(training_meta(cfg), indent=1) + "\n")
    (cfg.output_dir / "data_errors.txt").write_text("".join(e + "\n" for e in errors))
    for e in errors:
        log(f"bad record: {e}")
    if errors and cfg.data.on_bad_record == "error":
        raise DataError(f"{len(errors)} bad record(s) in {cfg.data.train}; first: {errors[0]}")
    if not ok:
        raise DataError(f"{cfg.data.train}: no usable record ({len(errors)} bad)")
    log(f"{len(ok)} conversations ({len(errors)} left out), precision {precision}")

    model.config.use_cache = False
    peft_model = apply_lora(model, cfg.lora)
    n_train = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    n_all = sum(p.numel() for p in peft_model.parameters())
    log(f"trainable parameters: {n_train:,} of {n_all:,} ({100 * n_train / n_all:.2f}%)")

    o = cfg.optim
    args = TrainingArguments(
        output_dir=str(cfg.output_dir), per_device_train_batch_size=o.batch_size,
        gradient_accumulation_steps=o.grad_accum, num_train_epochs=o.epochs, max_steps=o.max_steps,
        learning_rate=o.lr, weight_decay=o.weight_decay, warmup_steps=o.warmup_ratio, lr_scheduler_type=o.scheduler,
        max_grad_norm=o.max_grad_norm, bf16=precision == "bf16", fp16=precision == "fp16",
        activation_checkpointing=cfg.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if cfg.gradient_checkpointing else None,
        save_strategy="steps", save_steps=cfg.save_steps, save_total_limit=cfg.save_total_limit,
        logging_steps=cfg.logging_steps, logging_strategy="steps", report_to=[], seed=cfg.seed, data_seed=cfg.seed,
        remove_unused_columns=False, dataloader_num_workers=cfg.dataloader_num_workers, disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
    )
    trainer_cls = _trainer_class()
    trainer_cls.projector_lr = o.projector_lr
    trainer = trainer_cls(model=peft_model, args=args, train_dataset=dataset, processing_class=processor,
                          data_collator=Collator(pad_token_id(processor.tokenizer)))
    result = trainer.train(resume_from_checkpoint=resume)
    peft_model.save_pretrained(str(cfg.output_dir))
    processor.save_pretrained(str(cfg.output_dir))
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    summary = {
        "output_dir": str(cfg.output_dir), "steps": trainer.state.global_step, "resumed_from": resume,
        "samples": len(ok), "bad_records": len(errors), "precision": precision,
        "trainable_params": n_train, "total_params": n_all, "losses": losses,
        "train_loss": result.training_loss, "seconds": time.perf_counter() - t0,
    }
    (cfg.output_dir / "train_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def batch_loss(model, batch: dict) -> float:
    """Mean token loss of the model on one collated batch (no gradient)."""
    import torch

    model.eval()
    with torch.no_grad():
        out = model(**{k: v.to(model.device) for k, v in batch.items()})
    return float(out.loss)
