"""Scanned pages: deskew, figure regions from pixels, OCR text, boxes on the page as it is."""

import numpy as np
import pymupdf

from pipeline.extract.deskew import estimate_skew, rotate
from pipeline.extract.images import numpy_to_png, pixmap_to_numpy
from pipeline.extract.scanned import process_scanned_page
from pipeline.captions import find_captions
from schemas.settings import ExtractSettings


def page_image(angle: float = 0.0) -> np.ndarray:
    """A rendered book page (150 dpi): body text, a photo, its caption; optionally rotated like a bad scan."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    rng = np.random.default_rng(2)
    photo = (rng.random((200, 300, 3)) * 120 + 80).astype(np.uint8)
    page.insert_image(pymupdf.Rect(150, 250, 450, 450), stream=numpy_to_png(photo))
    page.insert_textbox(pymupdf.Rect(150, 456, 450, 490), "Fig. 2.1 Chronic plaque psoriasis on the extensor surface of the elbow.", fontsize=9)
    body = "Psoriasis is a common inflammatory disease of the skin with well demarcated plaques. " * 8
    page.insert_textbox(pymupdf.Rect(60, 60, 535, 240), body, fontsize=10)
    page.insert_textbox(pymupdf.Rect(60, 520, 535, 760), body, fontsize=10)
    img = pixmap_to_numpy(page.get_pixmap(dpi=150))
    return rotate(img, angle)


def test_estimate_skew_finds_the_rotation():
    for angle in (0.0, 1.5, -2.5):
        assert abs(estimate_skew(page_image(angle), 5.0) - (-angle)) <= 0.3


def test_skewed_scan_gives_figure_box_and_caption_on_the_page():
    settings = ExtractSettings()
    page = process_scanned_page(numpy_to_png(page_image(2.0)), 1, 595, 842, settings)
    assert len(page.images) == 1
    x0, y0, x1, y1 = page.images[0].bbox
    # the photo sits at (150, 250, 450, 450); a 2-degree tilt grows its hull by ~10 pt on each side
    assert abs(x0 - 150) < 18 and abs(y0 - 250) < 18 and abs(x1 - 450) < 18 and abs(y1 - 450) < 18
    caps = find_captions(page)
    assert [c.label for c in caps] == ["Fig. 2.1"]
    assert "plaque psoriasis" in caps[0].text
