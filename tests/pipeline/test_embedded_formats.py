"""Embedded rasters of every common kind come out as correct RGB (through a Pixmap, not raw stream bytes)."""

import io

import numpy as np
import pymupdf
import pytest
from PIL import Image

from pipeline.extract import extract_book
from pipeline.extract.images import png_to_numpy
from pipeline.ingest import ingest
from schemas.settings import ExtractSettings


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


def test_tiles_are_stitched_but_separate_panels_are_not():
    rng = np.random.default_rng(5)
    photo = (rng.random((120, 160, 3)) * 200 + 30).astype(np.uint8)
    doc = pymupdf.open()
    page = doc.new_page(width=500, height=500)
    # one picture cut into 2x2 tiles placed edge to edge
    for ty in range(2):
        for tx in range(2):
            tile = photo[ty * 60 : (ty + 1) * 60, tx * 80 : (tx + 1) * 80]
            rect = pymupdf.Rect(50 + tx * 80, 50 + ty * 60, 50 + (tx + 1) * 80, 50 + (ty + 1) * 60)
            page.insert_image(rect, stream=encode(Image.fromarray(np.ascontiguousarray(tile)), "PNG"))
    # two panels with a gutter
    page.insert_image(pymupdf.Rect(50, 300, 200, 400), stream=encode(Image.fromarray(photo), "PNG"), keep_proportion=False)
    page.insert_image(pymupdf.Rect(210, 300, 360, 400), stream=encode(Image.fromarray(photo[::-1].copy()), "PNG"), keep_proportion=False)
    page.insert_text((50, 450), "Body text so that this page has a text layer of its own, as books do.", fontsize=9)
    data = doc.tobytes()
    regions = extract_book(data, ingest(data, "t.pdf")).pages[0].images
    boxes = sorted(tuple(round(v) for v in r.bbox) for r in regions)
    assert boxes == [(50, 50, 210, 170), (50, 300, 200, 400), (210, 300, 360, 400)]
    stitched = next(r for r in regions if round(r.bbox[1]) == 50)
    img = png_to_numpy(stitched.png).astype(int)
    small = np.asarray(Image.fromarray(img.astype(np.uint8)).resize((160, 120)), dtype=int)
    assert np.abs(small - photo.astype(int)).mean() < 25  # the stitched picture is the original


def test_plain_jpeg_is_kept_as_is_and_cmyk_or_flipped_jpeg_is_decoded():
    rgb_jpeg, cmyk_jpeg = encode(two_tone("RGB"), "JPEG"), encode(two_tone("CMYK"), "JPEG")
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=400)
    page.insert_image(pymupdf.Rect(20, 20, 200, 140), stream=rgb_jpeg)
    page.insert_image(pymupdf.Rect(220, 20, 400, 140), stream=cmyk_jpeg)
    page.insert_image(pymupdf.Rect(420, 20, 580, 140), stream=rgb_jpeg, rotate=180)
    page.insert_text((20, 300), "Body text so that this page has a text layer of its own.", fontsize=9)
    data = doc.tobytes()
    regions = sorted(extract_book(data, ingest(data, "j.pdf")).pages[0].images, key=lambda r: r.bbox[0])
    assert regions[0].png == rgb_jpeg  # exact source bytes: nothing decoded or re-encoded
    assert regions[1].png.startswith(b"\x89PNG")  # CMYK goes through a Pixmap to RGB
    turned = png_to_numpy(regions[2].png)  # turned by its placement: decoded, and shown as placed
    assert regions[2].png.startswith(b"\x89PNG") and turned[40:, 70:115].mean(axis=(0, 1))[0] > 150  # red on the right


def test_icc_rgb_jpeg_is_kept_as_is_with_the_pixels_a_pixmap_gives():
    """A JPEG tagged with any RGB ICC profile (not only sRGB: books carry Adobe RGB photos) is stored as its own
    bytes, and those bytes decode to exactly the pixels its Pixmap holds."""
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    name = "sRGB".encode("utf-16-be")  # the profile's description (a UTF-16 text tag)
    assert name in profile
    profile = profile.replace(name, "Wide".encode("utf-16-be"))  # same length: another RGB profile's name
    rng = np.random.default_rng(3)
    buf = io.BytesIO()
    # 4:4:4: no chroma upsampling, where decoders may differ; what is compared is the colour handling
    Image.fromarray((rng.random((80, 120, 3)) * 255).astype(np.uint8)).save(buf, "JPEG", icc_profile=profile, subsampling=0)
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=400)
    page.insert_image(pymupdf.Rect(20, 20, 200, 140), stream=buf.getvalue())
    page.insert_text((20, 300), "Body text so that this page has a text layer of its own.", fontsize=9)
    info = page.get_image_info(xrefs=True)[0]
    assert info["cs-name"].startswith("ICCBased(RGB,") and "sRGB" not in info["cs-name"]
    data = doc.tobytes()
    region = extract_book(data, ingest(data, "icc.pdf")).pages[0].images[0]
    assert region.png == doc.xref_stream_raw(info["xref"])
    pix = pymupdf.Pixmap(doc, info["xref"])
    diff = np.abs(png_to_numpy(region.png).astype(int)
                  - np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, 3))
    assert diff.max() <= 1 and diff.mean() < 0.01  # the same pixels, up to two decoders' IDCT rounding


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_figures_on_a_turned_page_keep_their_boxes_and_are_upright_as_the_reader_sees_them(rotation):
    """On a page with /Rotate, boxes stay in the frame of the page's text (unrotated), and pixels (the exact decode
    and the render of a drawing) come out as the turned page shows them."""
    from pipeline.figures import build_records

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    photo = np.zeros((120, 160, 3), np.uint8)
    photo[:, :80] = (220, 30, 30)
    photo[:, 80:] = (30, 30, 220)
    page.insert_image(pymupdf.Rect(60, 80, 380, 320), stream=encode(Image.fromarray(photo), "PNG"))
    page.insert_text((60, 336), "Figure 1 Red plaque beside a blue one.", fontsize=9)
    for i in range(8):  # a drawn chart: bars and a curve
        page.draw_rect(pymupdf.Rect(80 + 30 * i, 600 - 20 * i, 100 + 30 * i, 700), color=(0, 0, 0), fill=(0.2, 0.5, 0.2))
    page.draw_bezier((80, 560), (150, 450), (250, 620), (330, 440), color=(0.8, 0, 0), width=2)
    page.insert_text((80, 720), "Figure 2 Lesion counts by week.", fontsize=9)
    page.set_rotation(rotation)
    data = doc.tobytes()
    extracted = extract_book(data, ingest(data, "turned.pdf"))
    (pg,) = extracted.pages
    assert (pg.width, pg.height) == (595, 842)
    regions = sorted(pg.images, key=lambda r: r.bbox[1])
    assert [tuple(round(v) for v in r.bbox) for r in regions][0] == (60, 80, 380, 320)
    assert regions[1].bbox[0] <= 80 and regions[1].bbox[3] >= 700 and regions[1].kind == "vector"
    for region in regions:  # the pixels are the reader's view of the box
        shown = doc[0].get_pixmap(dpi=72, clip=pymupdf.Rect(region.bbox) * doc[0].rotation_matrix, alpha=False)
        want = np.frombuffer(shown.samples, np.uint8).reshape(shown.height, shown.width, 3)
        got = np.asarray(Image.fromarray(png_to_numpy(region.png)).resize((shown.width, shown.height)), dtype=int)
        assert np.abs(got - want).mean() < 20, (rotation, region.kind)
    records = [it.record for it in build_records(extracted)[0]]
    assert sorted(r.caption for r in records if r.kept) == ["Figure 1 Red plaque beside a blue one.",
                                                            "Figure 2 Lesion counts by week."]


def test_an_inline_image_is_found_and_the_text_read_as_without_it():
    """A page without image xrefs is analysed once, its inline images looked for in the same pass: an inline
    image drawn between two pieces of text is still a region, and the text is what a text-only analysis reads."""
    from pipeline.extract import digital_page, text_blocks

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "Text above the picture, a line of its own.", fontsize=10)
    xref = page.get_contents()[0]
    inline = b"\nq 200 0 0 150 100 300 cm BI /W 8 /H 8 /CS /RGB /BPC 8 ID " + bytes([200, 30, 30] * 64) + b" EI Q\n"
    doc.update_stream(xref, doc.xref_stream(xref) + inline)
    page.insert_text((72, 84), "Text below it, drawn after the picture.", fontsize=10)  # one block with the first
    assert not page.get_images() and page.get_image_info()
    got = digital_page(page, ExtractSettings())
    assert [r.kind for r in got.images] == ["embedded"]
    want = text_blocks(page, page.get_textpage(flags=pymupdf.TEXTFLAGS_TEXT))
    assert len(want) == 1 and got.text_blocks == want  # (an image's block would cut the text in two)
