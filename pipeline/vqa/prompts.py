"""The versioned prompt of the LLM generator and the pydantic model of its answer.

Practice followed (LLaVA-Med's instruction-data prompt, MM-Skin's QA generation from textbook captions): the
model reads the caption (with modality and the patient's age and gender) and writes question/answer pairs *as if
it were looking at the image*; it uses only facts the caption states, never refers to the caption, a figure
number, "figure" or "text", asks nothing answerable without the image and gives no medical advice. The output is
JSON validated by ``LLMOutput``.

``PROMPT_VERSION`` is part of every cache key and of manifest.json: change it whenever the wording changes.
"""

from __future__ import annotations

import base64

from pydantic import BaseModel, ConfigDict, Field

from pipeline.vqa.source import caption_text, modality_phrase, patient_phrase
from schemas import Record

PROMPT_VERSION = "mmskin-vqa-1"

SYSTEM_PROMPT = """\
You are a board-certified dermatologist writing visual question-answer pairs to train a medical vision-language \
assistant. You are given the caption of one dermatology image, its imaging modality and, when known, the \
patient's age and gender. Write the questions and answers as if you were looking at the image itself.

Rules:
1. Use only facts stated in the caption, modality or patient line. Never add a diagnosis, location, colour, size, \
count, history or any other detail that is not stated there. Reuse the caption's own words where you can.
2. Ask about what the image shows: the diagnosis, the body site, the morphology, colour and arrangement of \
lesions, dermoscopic or histological features, the imaging modality, the patient's age or gender.
3. Every question must need the image to be answered. No general-knowledge questions (causes, treatment, \
prognosis, definitions, epidemiology).
4. Never mention a figure or plate number, a panel letter, or the words "figure", "caption", "legend", "text" or \
"description"; speak about "the image".
5. Give no medical advice and no treatment recommendations.
6. Questions must differ from each other. Answers are short: one phrase or one sentence.

Reply with JSON only, in exactly this form:
{"pairs": [{"question": "...", "answer": "..."}]}"""

USER_TEMPLATE = """\
Caption: {caption}
Modality: {modality}
Patient: {patient}

Write exactly {n} question-answer pairs about this image."""

REPAIR_PROMPT = """\
Your reply could not be used: {error}. Reply again with JSON only, in exactly this form: \
{{"pairs": [{{"question": "...", "answer": "..."}}]}} with exactly {n} pairs."""


class LLMPair(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=3, max_length=400)
    answer: str = Field(min_length=1, max_length=1000)


class LLMOutput(BaseModel):
    """What the model must return."""

    model_config = ConfigDict(extra="forbid")

    pairs: list[LLMPair] = Field(min_length=1, max_length=20)


# the schema sent as response_format (OpenAI structured outputs: strict, every property required, no extras)
RESPONSE_SCHEMA = {
    "type": "object",
    "properties": {
        "pairs": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"question": {"type": "string"}, "answer": {"type": "string"}},
                "required": ["question", "answer"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["pairs"],
    "additionalProperties": False,
}


def response_format(mode: str) -> dict | None:
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "vqa_pairs", "strict": True, "schema": RESPONSE_SCHEMA}}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def image_mime(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "application/octet-stream"


def user_prompt(rec: Record, n: int) -> str:
    return USER_TEMPLATE.format(
        caption=caption_text(rec) or "(none)",
        modality=modality_phrase(rec) or "not stated",
        patient=patient_phrase(rec) or "not stated",
        n=n,
    )


def build_messages(rec: Record, n: int, image: bytes | None = None) -> list[dict]:
    """Chat messages for one record; with ``image`` the user turn carries it as a base64 data URL."""
    text = user_prompt(rec, n)
    if image is None:
        content: str | list[dict] = text
    else:
        url = f"data:{image_mime(image)};base64,{base64.b64encode(image).decode()}"
        content = [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": url}}]
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": content}]
