"""A tiny random LLaVA (CLIP vision tower + Mistral language model, LLaVA-Med v1.5's architecture) with a
tokenizer trained here and a CLIP image processor, saved with save_pretrained. Offline, seconds on a CPU:
tests train, save, reload, merge and generate with it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from training.template import IMAGE_PLACEHOLDER, VICUNA_V1_SYSTEM

REPO = Path(__file__).resolve().parents[1]
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", IMAGE_PLACEHOLDER]

# Text the tokenizer is trained on besides the sample books' captions (our own words).
BASE_CORPUS = [
    VICUNA_V1_SYSTEM,
    "USER: ASSISTANT: [INST] [/INST] Describe this image. What does this image show?",
    "What is the most likely diagnosis? Where on the body is the finding located?",
    "What are the visible features of the lesion? What colours are seen in the lesion?",
    "clinical dermoscopy pathology other. The image shows a lesion on the skin of the arm, leg, face or trunk.",
    "Is this benign or malignant? Which of these classes does the image belong to? Answer with one class.",
]


@dataclass(frozen=True)
class TinyShape:
    vocab_size: int = 800
    text_hidden: int = 64
    text_layers: int = 2
    text_heads: int = 4
    text_kv_heads: int = 2
    text_intermediate: int = 128
    vision_hidden: int = 32
    vision_layers: int = 2
    vision_heads: int = 2
    vision_intermediate: int = 64
    image_size: int = 32
    patch_size: int = 8
    max_positions: int = 1024


def sample_captions() -> list[str]:
    """Captions of the committed sample books' truth files (our own text)."""
    out = []
    for f in sorted((REPO / "sample_pdfs").glob("*.truth.json")):
        d = json.loads(f.read_text())
        out += [x["caption"] for x in d.get("figures", []) if x.get("caption")]
        out += [x.get("text", "") for x in d.get("non_figure_captions", []) if isinstance(x, dict)]
    return [t for t in out if t]


def corpus_texts(extra_files: list[Path] | None = None) -> list[str]:
    """BASE_CORPUS + the sample captions + the answers and questions of any LLaVA JSON files given."""
    texts = BASE_CORPUS + sample_captions()
    for f in extra_files or []:
        for rec in json.loads(Path(f).read_text()):
            texts += [t.get("value", "") for t in rec.get("conversations", []) if isinstance(t, dict)]
    return texts


def train_tokenizer(texts: list[str], vocab_size: int, max_length: int):
    """A byte-level BPE (any text encodes, nothing is unknown) as a fast tokenizer with an image token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>",
        extra_special_tokens={"image_token": IMAGE_PLACEHOLDER}, model_max_length=max_length,
    )


def build_tiny(out: Path, seed: int = 0, shape: TinyShape = TinyShape(), corpus_files: list[Path] | None = None) -> Path:
    """Write a tiny LlavaForConditionalGeneration + LlavaProcessor to ``out``; returns ``out``."""
    import torch
    from transformers import (CLIPImageProcessorPil, CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration,
                              LlavaProcessor, MistralConfig)

    from training.train import quiet_transformers

    quiet_transformers()
    out = Path(out)
    tokenizer = train_tokenizer(corpus_texts(corpus_files), shape.vocab_size, shape.max_positions)
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": shape.image_size},
                                            crop_size={"height": shape.image_size, "width": shape.image_size})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=shape.patch_size,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1)
    n_img = (shape.image_size // shape.patch_size) ** 2
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=shape.vision_hidden, intermediate_size=shape.vision_intermediate,
            num_hidden_layers=shape.vision_layers, num_attention_heads=shape.vision_heads,
            image_size=shape.image_size, patch_size=shape.patch_size, projection_dim=shape.vision_hidden),
        text_config=MistralConfig(
            vocab_size=len(tokenizer), hidden_size=shape.text_hidden, intermediate_size=shape.text_intermediate,
            num_hidden_layers=shape.text_layers, num_attention_heads=shape.text_heads,
            num_key_value_heads=shape.text_kv_heads, max_position_embeddings=shape.max_positions,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id),
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_PLACEHOLDER), image_seq_length=n_img,
        vision_feature_layer=-2, vision_feature_select_strategy="default",
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    processor.save_pretrained(str(out))
    (out / "tiny_shape.json").write_text(json.dumps({"seed": seed, **asdict(shape)}, indent=1) + "\n")
    return out
