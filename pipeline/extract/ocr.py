"""Tesseract OCR of a page image into word boxes and text blocks (PDF points)."""

from __future__ import annotations

import numpy as np
import pytesseract
from PIL import Image

from schemas import OcrWord, TextBlock, TextLine, TextSpan
from schemas.settings import ExtractSettings


def ocr_words(img: np.ndarray, scale: float, settings: ExtractSettings) -> list[OcrWord]:
    """OCR an RGB page image; ``scale`` converts pixels to PDF points. Words under the confidence floor drop."""
    data = pytesseract.image_to_data(
        Image.fromarray(img),
        lang=settings.ocr_lang,
        config=f"--psm {settings.ocr_psm}",
        output_type=pytesseract.Output.DICT,
    )
    words = []
    for i, text in enumerate(data["text"]):
        text = (text or "").strip()
        conf = float(data["conf"][i])
        if not text or conf < settings.ocr_min_conf:
            continue
        x, y, w, h = (data[k][i] for k in ("left", "top", "width", "height"))
        words.append(
            OcrWord(
                bbox=(round(x * scale, 2), round(y * scale, 2), round((x + w) * scale, 2), round((y + h) * scale, 2)),
                text=text,
                conf=conf,
                block=int(data["block_num"][i]),
                par=int(data["par_num"][i]),
                line=int(data["line_num"][i]),
            )
        )
    return words


def words_to_blocks(words: list[OcrWord]) -> list[TextBlock]:
    """Group OCR words by tesseract's paragraph and line numbers into text blocks."""
    paragraphs: dict[tuple[int, int], dict[int, list[OcrWord]]] = {}
    for w in words:
        paragraphs.setdefault((w.block, w.par), {}).setdefault(w.line, []).append(w)
    blocks = []
    for _key, lines in sorted(paragraphs.items()):
        text_lines = []
        for _ln, ws in sorted(lines.items()):
            ws = sorted(ws, key=lambda w: w.bbox[0])
            box = _union([w.bbox for w in ws])
            text = " ".join(w.text for w in ws)
            text_lines.append(TextLine(bbox=box, text=text, spans=[TextSpan(text=text, font="ocr")]))
        blocks.append(TextBlock(bbox=_union([line.bbox for line in text_lines]), lines=text_lines, source="ocr"))
    return blocks


def _union(boxes):
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
