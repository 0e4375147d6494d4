"""Embedded rasters of every common kind come out as correct RGB (through a Pixmap, not raw stream bytes)."""

import io

import numpy as np
import pymupdf
import pytest
from PIL import Image

from pipeline.extract import extract_book
from pipeline.extract.images import png_to_numpy
from pipeline.ingest import ingest


def two_tone(mode: str) -> Image.Image:
    """Left half red, right half blue (grey variants for grey modes), 120x80."""
    arr = np.zeros((80, 120, 3), np.uint8)
    arr[:, :60] = (220, 30, 30)
    arr[:, 60:] = (30, 30, 220)
    img = Image.fromarray(arr)
    if mode == "L":
        return img.convert("L")
    if mode == "P":
        return img.convert("P", palette=Image.ADAPTIVE, colors=4)
    if mode == "CMYK":
        return img.convert("CMYK")
    if mode == "RGBA":
        rgba = img.convert("RGBA")
        a = np.array(rgba)
        a[:10, :, 3] = 0  # a transparent band on top: must come out white, not black
        return Image.fromarray(a)
    if mode == "I;16":
        return Image.fromarray((np.asarray(img.convert("L")).astype(np.uint16) * 257))
    return img


def encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


CASES = [
    ("RGB", "JPEG"), ("CMYK", "JPEG"), ("RGBA", "PNG"), ("P", "PNG"), ("L", "PNG"), ("I;16", "PNG"), ("RGB", "JPEG2000"),
]


@pytest.mark.parametrize("mode,fmt", CASES)
def test_embedded_image_decodes_to_rgb(mode, fmt):
    if fmt == "JPEG2000" and "JPEG2000" not in Image.SAVE:
        pytest.skip("Pillow here cannot write JPEG 2000")
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=400)
    page.insert_image(pymupdf.Rect(100, 100, 280, 220), stream=encode(two_tone(mode), fmt))
    data = doc.tobytes()
    pages = extract_book(data, ingest(data, "x.pdf")).pages
    (region,) = pages[0].images
    assert region.bbox == pytest.approx((100.0, 100.0, 280.0, 220.0), abs=1.0)
    img = png_to_numpy(region.png)
    assert img.shape[2] == 3 and img.shape[:2] == (80, 120)
    left, right = img[40:, 5:50].reshape(-1, 3).mean(0), img[40:, 70:115].reshape(-1, 3).mean(0)
    if mode in ("L", "I;16"):
        assert abs(left.mean() - right.mean()) < 40 and np.ptp(left) < 5  # grey stays grey
    else:
        # red stays red and blue stays blue (CMYK goes through MuPDF's ICC conversion, so levels shift)
        assert left[0] > 150 and left[0] > left[2] + 80, left
        assert right[2] > 120 and right[2] > right[0] + 50, right
    if mode == "RGBA":
        assert img[:8].mean() > 245  # transparent -> white
