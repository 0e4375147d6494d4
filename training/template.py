"""The conversation template: one module, used by training (`training.data`) and evaluation (`eval.vqa`,
`eval.classify`), so a model is asked questions exactly as it was taught.

A conversation is rendered as *segments*: pieces of text that are either prompt (never scored) or target (the
assistant's answers, which the loss is computed on). Segments are tokenized one by one and concatenated, so the
prompt of an evaluation question is token for token the prompt the model saw in training.

``vicuna_v1`` is LLaVA's ``conv_vicuna_v1``, which MM-Skin trains with (``--version v1`` in finetune_lora.sh):
``SYSTEM USER: <image>\\nQ ASSISTANT: A</s>USER: Q2 ASSISTANT: A2</s>``. ``mistral_instruct`` is LLaVA-Med
v1.5's ``[INST] Q [/INST] A</s>`` form. The end-of-sequence token is appended as a token id, not as text.
"""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_PLACEHOLDER = "<image>"


class TemplateError(ValueError):
    """A conversation that the template cannot render (wrong roles, empty turns, several images)."""


@dataclass(frozen=True)
class Template:
    name: str
    system: str  # text before the first turn ("" for none)
    user_prefix: str  # before each question
    user_suffix: str  # after each question, ends the prompt (generation starts right after it)
    answer_prefix: str  # before each answer, part of the target
    first_user_prefix: str | None = None  # for the first turn, when it differs (e.g. after the system text)

    def turn_prompt(self, question: str, first: bool) -> str:
        prefix = self.first_user_prefix if first and self.first_user_prefix is not None else self.user_prefix
        return (self.system if first else "") + prefix + question + self.user_suffix


VICUNA_V1_SYSTEM = (
    "A chat between a curious human and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the human's questions."
)

TEMPLATES: dict[str, Template] = {
    "vicuna_v1": Template("vicuna_v1", VICUNA_V1_SYSTEM, user_prefix="USER: ", user_suffix=" ASSISTANT:",
                          answer_prefix=" ", first_user_prefix=" USER: "),
    "mistral_instruct": Template("mistral_instruct", "", user_prefix="[INST] ", user_suffix=" [/INST]",
                                 answer_prefix=" "),
}
DEFAULT_TEMPLATE = "vicuna_v1"


def get_template(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise TemplateError(f"unknown conversation template {name!r}; choose from {', '.join(TEMPLATES)}") from None


@dataclass(frozen=True)
class Segment:
    text: str
    target: bool  # True: an answer (scored in training, followed by the end-of-sequence token)


def with_image_placeholder(question: str) -> str:
    """The first question of an image conversation carries the placeholder; add it in front when it is missing
    (as LLaVA does)."""
    return question if IMAGE_PLACEHOLDER in question else f"{IMAGE_PLACEHOLDER}\n{question}"


def render(template: Template, turns: list[tuple[str, str]], has_image: bool) -> list[Segment]:
    """A whole training conversation: [(question, answer), ...] -> segments."""
    if not turns:
        raise TemplateError("conversation has no question/answer turn")
    segments: list[Segment] = []
    for k, (q, a) in enumerate(turns):
        if not q.strip() or not a.strip():
            raise TemplateError(f"turn {k + 1} has an empty question or answer")
        if has_image and k == 0:
            q = with_image_placeholder(q)
        segments.append(Segment(template.turn_prompt(q, first=k == 0), False))
        segments.append(Segment(template.answer_prefix + a.strip(), True))
    n_img = sum(s.text.count(IMAGE_PLACEHOLDER) for s in segments)
    if n_img != (1 if has_image else 0):
        raise TemplateError(f"conversation has {n_img} {IMAGE_PLACEHOLDER} placeholders, expected "
                            f"{1 if has_image else 0}")
    return segments


def prompt(template: Template, question: str, has_image: bool = True) -> list[Segment]:
    """One question to answer (evaluation): the prompt segments; generation continues after them."""
    q = with_image_placeholder(question) if has_image else question
    return [Segment(template.turn_prompt(q, first=True), False)]


def encode(tokenizer, segments: list[Segment], image_token_id: int, n_image_tokens: int) -> tuple[list[int], list[bool]]:
    """Token ids and a target mask. Each segment is tokenized alone; the image placeholder becomes
    ``n_image_tokens`` copies of the image token (what the vision tower fills in); each target ends with the
    end-of-sequence token; a beginning-of-sequence token starts the sequence when the tokenizer has one."""
    ids: list[int] = []
    mask: list[bool] = []
    if tokenizer.bos_token_id is not None:
        ids.append(tokenizer.bos_token_id)
        mask.append(False)
    for seg in segments:
        pieces = seg.text.split(IMAGE_PLACEHOLDER)
        for k, piece in enumerate(pieces):
            if k:
                ids += [image_token_id] * n_image_tokens
                mask += [False] * n_image_tokens
            if piece:
                toks = tokenizer(piece, add_special_tokens=False)["input_ids"]
                ids += toks
                mask += [seg.target] * len(toks)
        if seg.target:
            ids.append(tokenizer.eos_token_id)
            mask.append(True)
    return ids, mask
