"""Tesseract OCR of a page image into word boxes and text blocks (PDF points)."""

from __future__ import annotations

import os
import tempfile

import cv2
import numpy as np
import pytesseract

from schemas import OcrWord, TextBlock, TextLine, TextSpan
from schemas.settings import ExtractSettings


def _tesseract_data(img: np.ndarray, settings: ExtractSettings) -> dict:
    """tesseract's word table for an RGB image. The image goes to tesseract as an uncompressed PPM file: given an
    image, pytesseract would write a PNG first (a sixth of a page's OCR time, for nothing: tesseract reads the
    same pixels either way)."""
    ok, ppm = cv2.imencode(".ppm", cv2.cvtColor(np.ascontiguousarray(img, dtype=np.uint8), cv2.COLOR_RGB2BGR))
    if not ok:  # pragma: no cover - OpenCV writes any 8-bit RGB array
        raise ValueError("could not write the page image for tesseract")
    fd, path = tempfile.mkstemp(prefix="mmskin-ocr-", suffix=".ppm")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(ppm.tobytes())
        return pytesseract.image_to_data(
            path, lang=settings.ocr_lang, config=f"--psm {settings.ocr_psm}", output_type=pytesseract.Output.DICT
        )
    finally:
        os.unlink(path)


def ocr_words(img: np.ndarray, scale: float, settings: ExtractSettings) -> list[OcrWord]:
    """OCR an RGB page image; ``scale`` converts pixels to PDF points. Words under the confidence floor drop."""
    data = _tesseract_data(img, settings)
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


COLUMN_GAP_LINES = 2.0  # a gap between words wider than this many line heights separates two columns ...
COLUMN_GAP_SPREAD = 2.0  # ... when it is also this many times the line's median word gap (a justified line
# spreads its words evenly, however wide; a gutter is the one gap far wider than the others)


def _split_line(words: list[OcrWord]) -> list[list[OcrWord]]:
    """Split one OCR line where a wide gap shows it actually runs across two columns."""
    words = sorted(words, key=lambda w: w.bbox[0])
    height = max(1.0, sorted(w.bbox[3] - w.bbox[1] for w in words)[len(words) // 2])
    gaps = sorted(b.bbox[0] - a.bbox[2] for a, b in zip(words, words[1:]))
    usual = gaps[len(gaps) // 2] if len(gaps) >= 3 else 0.0
    limit = max(COLUMN_GAP_LINES * height, COLUMN_GAP_SPREAD * usual)
    segments = [[words[0]]]
    for w in words[1:]:
        if w.bbox[0] - segments[-1][-1].bbox[2] > limit:
            segments.append([w])
        else:
            segments[-1].append(w)
    return segments


def words_to_blocks(words: list[OcrWord]) -> list[TextBlock]:
    """Group OCR words into text blocks: by tesseract's paragraph, and by column where a paragraph's lines
    run across a gutter (side-by-side captions)."""
    paragraphs: dict[tuple[int, int], dict[int, list[OcrWord]]] = {}
    for w in words:
        paragraphs.setdefault((w.block, w.par), {}).setdefault(w.line, []).append(w)
    blocks = []
    for _key, lines in sorted(paragraphs.items()):
        columns: dict[int, list[TextLine]] = {}
        for _ln, ws in sorted(lines.items()):
            for col, seg in enumerate(_split_line(ws)):
                text = " ".join(w.text for w in seg)
                line = TextLine(bbox=_union([w.bbox for w in seg]), text=text, spans=[TextSpan(text=text, font="ocr")])
                columns.setdefault(col, []).append(line)
        for _col, text_lines in sorted(columns.items()):
            blocks.append(TextBlock(bbox=_union([ln.bbox for ln in text_lines]), lines=text_lines, source="ocr"))
    return blocks


def _union(boxes):
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
