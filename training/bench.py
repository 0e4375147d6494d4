"""One LoRA training step on a randomly initialised LLaVA, for memory and speed: `mmskin bench train-step`.

``--shape 7b`` is LLaVA-Med v1.5's shape (CLIP ViT-L/14 at 336 px, 576 image tokens, a Mistral-7B language
model); it needs a GPU (bf16, about 15 GB of weights). ``--shape tiny`` is the test model's shape and runs
anywhere. The step is the one `mmskin train` takes: LoRA r 128 on every linear layer of the language model,
projector trained, gradient checkpointing, AdamW with the two learning rates.
"""

from __future__ import annotations

import resource
import sys
import time

from training.config import LoraSettings
from training.train import apply_lora, param_groups, quiet_transformers

SHAPES = ("7b", "tiny")


def llava_config(shape: str):
    from transformers import CLIPVisionConfig, LlavaConfig, MistralConfig

    if shape == "7b":
        vision = CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                  num_attention_heads=16, image_size=336, patch_size=14, projection_dim=768)
        text = MistralConfig(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                             num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=32768)
        return LlavaConfig(vision_config=vision, text_config=text, image_token_index=31999, image_seq_length=576)
    if shape == "tiny":
        from training.tiny import TinyShape

        s = TinyShape()
        vision = CLIPVisionConfig(hidden_size=s.vision_hidden, intermediate_size=s.vision_intermediate,
                                  num_hidden_layers=s.vision_layers, num_attention_heads=s.vision_heads,
                                  image_size=s.image_size, patch_size=s.patch_size, projection_dim=s.vision_hidden)
        text = MistralConfig(vocab_size=s.vocab_size, hidden_size=s.text_hidden, intermediate_size=s.text_intermediate,
                             num_hidden_layers=s.text_layers, num_attention_heads=s.text_heads,
                             num_key_value_heads=s.text_kv_heads, max_position_embeddings=s.max_positions)
        return LlavaConfig(vision_config=vision, text_config=text, image_token_index=s.vocab_size - 1,
                           image_seq_length=(s.image_size // s.patch_size) ** 2)
    raise ValueError(f"shape must be one of {', '.join(SHAPES)}")


def _peak_rss_mib() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def train_step(shape: str = "7b", batch_size: int = 4, seq_len: int = 1024, steps: int = 3, seed: int = 0,
               lora: LoraSettings = LoraSettings(), lr: float = 5e-5, projector_lr: float = 2e-5,
               gradient_checkpointing: bool = True, device: str | None = None) -> dict:
    """Build the random model, take ``steps`` optimizer steps on random batches of ``batch_size`` sequences of
    ``seq_len`` tokens (the image tokens included); time the steps after the first. Returns the numbers."""
    import torch
    from transformers import LlavaForConditionalGeneration

    quiet_transformers()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if shape == "7b" and device != "cuda":
        raise RuntimeError("--shape 7b needs a CUDA GPU (run --shape tiny to check the code path on a CPU)")
    bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    dtype = torch.bfloat16 if bf16 else torch.float32
    torch.manual_seed(seed)
    config = llava_config(shape)
    n_img = config.image_seq_length
    if seq_len <= n_img + 2:
        raise ValueError(f"seq_len must exceed the {n_img} image tokens")
    t_build = time.perf_counter()
    with torch.device(device):
        model = LlavaForConditionalGeneration._from_config(config, dtype=dtype)
    model.config.use_cache = False
    build_s = time.perf_counter() - t_build
    peft_model = apply_lora(model, lora)
    if gradient_checkpointing:
        peft_model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    peft_model.train()
    opt = torch.optim.AdamW(param_groups(peft_model, lr, projector_lr, 0.01), lr=lr)
    vc = config.vision_config
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for step in range(steps):
        ids = torch.randint(0, config.text_config.vocab_size - 2, (batch_size, seq_len), device=device)
        ids[:, 1:1 + n_img] = config.image_token_id
        labels = ids.clone()
        labels[:, :1 + n_img + 8] = -100  # the image and the question are not scored
        pix = torch.randn(batch_size, 3, vc.image_size, vc.image_size, device=device, dtype=dtype)
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16):
            loss = peft_model(input_ids=ids, pixel_values=pix, labels=labels,
                              attention_mask=torch.ones_like(ids)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in peft_model.parameters() if p.requires_grad], 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    timed = times[1:] or times
    step_s = sum(timed) / len(timed)
    out = {
        "shape": shape, "device": device if device != "cuda" else torch.cuda.get_device_name(0),
        "dtype": "bf16" if bf16 else "fp32", "gradient_checkpointing": gradient_checkpointing,
        "batch_size": batch_size, "seq_len": seq_len, "image_tokens": n_img, "steps": steps,
        "lora_r": lora.r, "lora_alpha": lora.alpha,
        "total_params": sum(p.numel() for p in peft_model.parameters()),
        "trainable_params": sum(p.numel() for p in peft_model.parameters() if p.requires_grad),
        "build_s": build_s, "step_s": step_s, "first_step_s": times[0],
        "tokens_per_s": batch_size * seq_len / step_s, "last_loss": float(loss.detach()),
    }
    if device == "cuda":
        out["peak_gpu_mem_gib"] = torch.cuda.max_memory_allocated() / 2**30
        out["peak_gpu_reserved_gib"] = torch.cuda.max_memory_reserved() / 2**30
    out["peak_rss_mib"] = _peak_rss_mib()
    return out
