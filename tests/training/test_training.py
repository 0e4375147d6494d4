"""SkinVL training on the tiny random LLaVA (CPU): template masking, LoRA steps, save/reload/merge, resume,
bad-record errors, the train-step benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.llava_data import make_dataset

pytestmark = pytest.mark.xdist_group("tiny_llava")
REPO = Path(__file__).resolve().parents[2]
TINY_YAML = REPO / "training" / "configs" / "tiny_cpu.yaml"


def tiny_config(model: Path, data: Path, out: Path, **changes):
    """training/configs/tiny_cpu.yaml with this test's paths (and changes, dotted keys allowed)."""
    from training.config import TrainConfig

    raw = yaml.safe_load(TINY_YAML.read_text())
    raw.update({"model": str(model), "output_dir": str(out)})
    raw["data"]["train"] = str(data)
    for key, value in changes.items():
        *parents, leaf = key.split(".")
        d = raw
        for p in parents:
            d = d.setdefault(p, {})
        d[leaf] = value
    return TrainConfig.model_validate(raw)


def fixed_batch(model_dir: Path, data: Path):
    """The collated batch of every conversation in ``data`` (what a batch_size >= n step sees)."""
    from training.data import Collator, ConversationDataset, load_samples
    from training.template import get_template
    from training.train import load_model, pad_token_id

    model, processor = load_model(model_dir)
    samples, errors = load_samples(data)
    assert not errors
    ds = ConversationDataset(samples, processor, model.config, get_template("vicuna_v1"), "pad", 512)
    return Collator(pad_token_id(processor.tokenizer))([ds[i] for i in range(len(ds))])


def test_example_configs_carry_mmskin_defaults():
    from training.config import load_config

    cfg = load_config(REPO / "training" / "configs" / "skinvl_mmskin.yaml")
    assert (cfg.lora.r, cfg.lora.alpha, cfg.lora.dropout, cfg.lora.train_projector) == (128, 64, 0.05, True)
    o = cfg.optim
    assert (o.lr, o.projector_lr, o.epochs, o.scheduler, o.warmup_ratio, o.weight_decay) == (5e-5, 2e-5, 1, "cosine",
                                                                                            0.02, 0.01)
    assert cfg.gradient_checkpointing and cfg.precision == "auto" and cfg.template == "vicuna_v1"
    assert load_config(TINY_YAML).precision == "fp32"


def test_bad_config_is_named(tmp_path):
    from training.config import ConfigError, load_config

    p = tmp_path / "c.yaml"
    p.write_text("model: m\ndata: {train: x.json}\noutput_dir: o\nlora: {rank: 4}\n")
    with pytest.raises(ConfigError, match=r"lora\.rank"):
        load_config(p)


def test_template_scores_answers_only_and_prompts_as_trained(tiny_llava):
    from transformers import AutoProcessor

    from training.template import encode, get_template, prompt, render

    tok = AutoProcessor.from_pretrained(tiny_llava).tokenizer
    tmpl = get_template("vicuna_v1")
    turns = [("<image>\nWhat is the most likely diagnosis?", "Chronic plaque psoriasis."),
             ("Where is it?", "On the left elbow.")]
    ids, mask = encode(tok, render(tmpl, turns, has_image=True), image_token_id=4, n_image_tokens=16)
    assert ids[0] == tok.bos_token_id and ids.count(4) == 16
    scored = tok.decode([i for i, m in zip(ids, mask) if m], skip_special_tokens=False)
    assert scored == " Chronic plaque psoriasis.</s> On the left elbow.</s>"
    # the evaluation prompt of the first question is token for token the training prefix before its answer
    p_ids, p_mask = encode(tok, prompt(tmpl, "What is the most likely diagnosis?"), 4, 16)
    assert not any(p_mask) and ids[:len(p_ids)] == p_ids and mask[len(p_ids)]
    assert tok.decode([i for i in p_ids[1:] if i != 4]) == (
        tmpl.system + " USER: \nWhat is the most likely diagnosis? ASSISTANT:")
    first = p_ids.index(4)
    assert p_ids[first:first + 16] == [4] * 16 and tok.decode(p_ids[1:first]).endswith(" USER: ")


def test_lora_targets_language_model_only(tiny_llava):
    from training.config import LoraSettings
    from training.train import apply_lora, load_model

    model, _ = load_model(tiny_llava)
    peft_model = apply_lora(model, LoraSettings(r=4, alpha=8))
    lora_modules = [n for n, _ in peft_model.named_modules() if n.endswith("lora_A")]
    assert lora_modules and all(".language_model." in n for n in lora_modules)
    leaves = {n.split(".")[-2] for n in lora_modules}
    assert leaves == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    assert any("multi_modal_projector" in n for n in trainable)
    assert not any("vision_tower" in n or "lm_head" in n or "embed_tokens" in n for n in trainable)


def test_five_lora_steps_lower_the_loss(tiny_llava, tmp_path):
    from training.merge import load_adapted
    from training.train import batch_loss, load_model, train

    data = make_dataset(tmp_path / "data", n_train=2) / "llava_train.json"  # 4 conversations = one batch of 4
    batch = fixed_batch(tiny_llava, data)
    before = batch_loss(load_model(tiny_llava)[0], batch)
    summary = train(tiny_config(tiny_llava, data, tmp_path / "run"), log=lambda m: None)
    assert summary["steps"] == 5 and summary["samples"] == 4 and summary["bad_records"] == 0
    after = batch_loss(load_adapted(tiny_llava, tmp_path / "run")[0], batch)
    print(f"loss on the fixed batch: {before:.4f} before, {after:.4f} after 5 LoRA steps")
    assert after < before - 0.05
    assert summary["losses"][-1] < summary["losses"][0]
    meta = json.loads((tmp_path / "run" / "mmskin_training.json").read_text())
    assert meta["template"] == "vicuna_v1" and meta["image_aspect_ratio"] == "pad"


def test_save_reload_merge_give_the_same_logits(tiny_llava, tmp_path):
    import torch

    from training.config import LoraSettings
    from training.merge import load_adapted, merge
    from training.train import apply_lora, load_model

    data = make_dataset(tmp_path / "data", n_train=2) / "llava_train.json"
    batch = fixed_batch(tiny_llava, data)
    model, processor = load_model(tiny_llava)
    peft_model = apply_lora(model, LoraSettings(r=4, alpha=8))
    torch.manual_seed(1)
    with torch.no_grad():  # a trained-looking adapter: non-zero LoRA B and a changed projector
        for n, p in peft_model.named_parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    peft_model.eval()
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    with torch.no_grad():
        ref = peft_model(**inputs).logits
        base_logits = load_model(tiny_llava)[0](**inputs).logits
    assert (ref - base_logits).abs().max() > 1e-3  # the adapter changes the model
    peft_model.save_pretrained(tmp_path / "adapter")
    processor.save_pretrained(tmp_path / "adapter")
    reloaded, _ = load_adapted(tiny_llava, tmp_path / "adapter")
    merge(tiny_llava, tmp_path / "adapter", tmp_path / "merged", precision="fp32")
    merged, _ = load_model(tmp_path / "merged")
    with torch.no_grad():
        d_reload = (reloaded(**inputs).logits - ref).abs().max().item()
        d_merge = (merged.eval()(**inputs).logits - ref).abs().max().item()
    print(f"max |logit difference|: reload {d_reload:.2e}, merge {d_merge:.2e}")
    assert d_reload <= 1e-5 and d_merge <= 1e-5


def test_resume_from_checkpoint_continues_the_run(tiny_llava, tmp_path):
    import shutil

    from safetensors.torch import load_file

    from training.train import ModelError, train

    data = make_dataset(tmp_path / "data", n_train=2) / "llava_train.json"
    common = {"optim.batch_size": 2, "optim.max_steps": 6, "save_steps": 2, "save_total_limit": None}
    straight = train(tiny_config(tiny_llava, data, tmp_path / "a", **common), lambda m: None)
    assert straight["steps"] == 6 and (tmp_path / "a" / "checkpoint-4").is_dir()
    # resume: a path -> steps 5 and 6 only, ending where the uninterrupted run ended
    resumed = train(tiny_config(tiny_llava, data, tmp_path / "b", resume=str(tmp_path / "a" / "checkpoint-4"),
                                **common), lambda m: None)
    assert resumed["resumed_from"].endswith("checkpoint-4") and resumed["steps"] == 6
    # the log history of steps 1-4 comes from the checkpoint; steps 5-6 are recomputed and agree
    assert resumed["losses"][:4] == straight["losses"][:4] and len(resumed["losses"]) == 6
    assert resumed["losses"][4:] == pytest.approx(straight["losses"][4:], abs=1e-5)
    a = load_file(tmp_path / "a" / "adapter_model.safetensors")
    b = load_file(tmp_path / "b" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    diff = max((a[k] - b[k]).abs().max().item() for k in a)
    print(f"resumed vs uninterrupted 6-step adapter: max |weight difference| {diff:.2e}")
    assert diff < 1e-5
    # resume: true -> the last checkpoint-N of output_dir
    (tmp_path / "c").mkdir()
    for k in (2, 4):
        shutil.copytree(tmp_path / "a" / f"checkpoint-{k}", tmp_path / "c" / f"checkpoint-{k}")
    again = train(tiny_config(tiny_llava, data, tmp_path / "c", resume=True, **common), lambda m: None)
    assert again["resumed_from"].endswith("checkpoint-4") and again["steps"] == 6
    with pytest.raises(ModelError, match="no checkpoint"):
        train(tiny_config(tiny_llava, data, tmp_path / "empty", resume=True), lambda m: None)


def test_missing_image_and_bad_json_are_named(tiny_llava, tmp_path):
    from training.data import DataError, load_samples, read_json_list
    from training.train import train

    root = make_dataset(tmp_path / "data", n_train=2)
    recs = json.loads((root / "llava_train.json").read_text())
    recs[1]["image"] = "images/gone.png"
    recs.append({"id": "no-answer", "image": recs[0]["image"],
                 "conversations": [{"from": "human", "value": "<image>\nWhat?"}]})
    bad = root / "bad.json"
    bad.write_text(json.dumps(recs))
    samples, errors = load_samples(bad)
    assert len(samples) == 3 and len(errors) == 2
    assert f"record 1 (id {recs[1]['id']!r})" in errors[0] and "images/gone.png" in errors[0]
    assert "'no-answer'" in errors[1] and "no answer" in errors[1]
    # skip (default): trains on the good records, reports the bad ones
    s = train(tiny_config(tiny_llava, bad, tmp_path / "skip", **{"optim.max_steps": 1}), lambda m: None)
    assert s["samples"] == 3 and s["bad_records"] == 2
    assert "images/gone.png" in (tmp_path / "skip" / "data_errors.txt").read_text()
    with pytest.raises(DataError, match=r"record 1 \(id '.*-vqa'\): image 'images/gone.png' not found"):
        train(tiny_config(tiny_llava, bad, tmp_path / "err", **{"data.on_bad_record": "error"}), lambda m: None)
    (root / "broken.json").write_text('[{"id": "a",\n "image": }]')
    with pytest.raises(DataError, match=r"broken.json: not valid JSON \(line 2, column 11\)"):
        read_json_list(root / "broken.json")


def test_cli_train_and_merge_errors_are_clear(tiny_llava, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    data = make_dataset(tmp_path / "data", n_train=1) / "llava_train.json"
    cfg = yaml.safe_load(TINY_YAML.read_text())
    cfg.update({"model": str(tmp_path / "no-model"), "output_dir": str(tmp_path / "out")})
    cfg["data"]["train"] = str(data)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(app, ["train", "--config", str(tmp_path / "c.yaml")])
    assert r.exit_code == 2 and f"{tmp_path / 'no-model'}: no such directory" in r.output
    r = CliRunner().invoke(app, ["merge", "--base", str(tiny_llava), "--adapter", str(tmp_path / "nothing"),
                                 "--out", str(tmp_path / "m")])
    assert r.exit_code == 2 and "adapter" in r.output and "nothing" in r.output
    cfg["model"] = str(tiny_llava)
    cfg["optim"]["max_steps"] = 2
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(app, ["train", "--config", str(tmp_path / "c.yaml")])
    assert r.exit_code == 0, r.output
    assert "trained 2 steps on 2 conversations" in r.output
    r = CliRunner().invoke(app, ["merge", "--base", str(tiny_llava), "--adapter", str(tmp_path / "out"),
                                 "--out", str(tmp_path / "merged")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "merged" / "mmskin_training.json").is_file()


def test_bench_train_step_tiny(tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app
    from training.bench import train_step

    r = train_step("tiny", batch_size=2, seq_len=64, steps=2)
    assert r["dtype"] == "fp32" and r["tokens_per_s"] > 0 and 0 < r["trainable_params"] < r["total_params"]
    assert r["image_tokens"] == 16 and r["lora_r"] == 128 and r["last_loss"] == r["last_loss"]  # not NaN
    res = CliRunner().invoke(app, ["bench", "train-step", "--shape", "tiny", "--random", "--batch-size", "1",
                                   "--seq-len", "48", "--steps", "2", "--json", str(tmp_path / "b.json")])
    assert res.exit_code == 0, res.output
    assert "tokens/s" in res.output and json.loads((tmp_path / "b.json").read_text())["seq_len"] == 48
    import torch

    if not torch.cuda.is_available():
        res = CliRunner().invoke(app, ["bench", "train-step", "--shape", "7b", "--random"])
        assert res.exit_code == 2 and "needs a CUDA GPU" in res.output
