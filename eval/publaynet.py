"""PubLayNet pages as PDFs: wrap each COCO page image into a one-page, image-only PDF and write its truth.

PubLayNet has page images, not PDFs. ``wrap_images`` makes ``<image stem>.pdf`` per image: one page whose size
is the image size at ``dpi`` (72 by default, so one pixel = one point; PubLayNet pages are PMC pages rendered
at about that resolution), holding the image over the whole page and no text layer. Beside it goes
``<image stem>.truth.json`` in our sample truth format (``eval.extraction`` reads it): the "figure" boxes in
points of that page, captions null (PubLayNet labels captions as text, not as part of the figure).
"""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
from PIL import Image

from eval.extraction import COCO_DPI, TruthFigure, coco_pdf_name, read_coco_truth

SCHEMA = "mmskin-sample-truth/1"


def page_size_points(image: Path, dpi: float) -> tuple[float, float]:
    with Image.open(image) as im:
        w, h = im.size
    return w * 72.0 / dpi, h * 72.0 / dpi


def write_image_pdf(image: Path, pdf: Path, dpi: float = COCO_DPI) -> None:
    """A one-page PDF holding only ``image``, the page sized to the image at ``dpi``."""
    width, height = page_size_points(image, dpi)
    doc = pymupdf.open()
    page = doc.new_page(width=width, height=height)
    page.insert_image(page.rect, filename=str(image))
    doc.set_metadata({})
    doc.save(pdf, garbage=3, deflate=True, no_new_id=True)
    doc.close()


def truth_json(pdf_name: str, figures: list[TruthFigure], source: str) -> dict:
    stem = Path(pdf_name).stem
    return {
        "schema": SCHEMA,
        "pdf": pdf_name,
        "scanned": True,
        "page_count": 1,
        "source": source,
        "figures": [
            {"id": f"{stem}-F{n}", "page": f.page, "bbox": list(f.bbox), "caption": None}
            for n, f in enumerate(figures, 1)
        ],
    }


def wrap_images(coco: Path, out_dir: Path, dpi: float = COCO_DPI) -> list[Path]:
    """Write ``<stem>.pdf`` and ``<stem>.truth.json`` under ``out_dir`` for every image of a COCO file (the
    images are looked up beside it). Returns the PDFs written."""
    doc = json.loads(coco.read_text())
    truth = read_coco_truth(doc, coco, dpi=dpi)
    out_dir.mkdir(parents=True, exist_ok=True)
    pdfs = []
    for img in doc["images"]:
        name = coco_pdf_name(img["file_name"])
        pdf = out_dir / name
        write_image_pdf(coco.parent / img["file_name"], pdf, dpi)
        source = f"COCO {coco.name}, image {img['file_name']} at {dpi:g} dpi"
        (out_dir / f"{pdf.stem}.truth.json").write_text(
            json.dumps(truth_json(name, truth[name], source), indent=2, sort_keys=True) + "\n"
        )
        pdfs.append(pdf)
    return pdfs
