"""The face and overlay checks on the figures of the committed sample books (their embedded images, as the
truth JSON marks them): every drawn face is found by the Haar cascades, no other photograph is taken for a
face, every annotated image is found by the overlay check."""

from __future__ import annotations

import io
import json

import numpy as np
import pymupdf
import pytest
from PIL import Image

from pipeline.filters.faces import face_check
from pipeline.filters.overlays import overlay_check
from schemas.settings import FilterSettings
from tests.conftest import SAMPLES


def _iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union if union > 0 else 0.0


def _born_digital_figures():
    """(truth figure, RGB pixels of its embedded image) for every single-image raster figure."""
    out = []
    for tj in sorted(SAMPLES.glob("*.truth.json")):
        t = json.loads(tj.read_text())
        if t["scanned"]:
            continue
        doc = pymupdf.open(SAMPLES / t["pdf"])
        for f in t["figures"]:
            if f["vector"] or f["panels"]:
                continue
            page = doc[f["page"] - 1]
            info = max(page.get_image_info(xrefs=True), key=lambda i: _iou(i["bbox"], f["bbox"]))
            assert _iou(info["bbox"], f["bbox"]) > 0.95
            pix = pymupdf.Pixmap(doc, info["xref"])
            if pix.colorspace and pix.colorspace.n != 3:  # the CMYK JPEG of Fig. 1.7
                pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
            img = Image.open(io.BytesIO(pix.tobytes("png"))).convert("RGB")
            out.append((f, np.asarray(img)))
    return out


@pytest.fixture(scope="module")
def figures():
    return _born_digital_figures()


def test_the_samples_have_enough_faces_and_annotated_images(figures):
    truth = [f for tj in SAMPLES.glob("*.truth.json") for f in json.loads(tj.read_text())["figures"]]
    assert sum(f.get("face", False) for f in truth) >= 6
    assert sum(f.get("overlay", False) for f in truth) >= 6
    assert all("face" in f for f in truth)  # every figure says whether it is a face
    assert sum(f["face"] for f, _ in figures) == sum(f.get("face", False) for f in truth)


def test_every_drawn_face_is_found_and_no_other_photo(figures):
    st = FilterSettings()
    flagged = {f["id"]: face_check(img, st) for f, img in figures}
    faces = [f["id"] for f, _ in figures if f["face"]]
    assert faces and all(flagged[i] and flagged[i][0] == "identifiable_face" for i in faces), flagged
    others = [f["id"] for f, _ in figures if not f["face"] and f["modality"] != "other"]
    assert others and not [i for i in others if flagged[i]]


def test_every_annotated_image_is_found(figures):
    st = FilterSettings()
    marked = [(f["id"], img) for f, img in figures if f["overlay"]]
    assert len(marked) >= 6
    missed = [i for i, img in marked if not overlay_check(img, st)]
    assert not missed
    plain = [(f["id"], f["modality"], img) for f, img in figures
             if not f["overlay"] and f["modality"] != "other" and not f["face"]]
    assert {m for _, m, _ in plain} == {"clinical", "dermoscopy", "pathology"}
    assert not [i for i, _, img in plain if overlay_check(img, st)]  # no plain photograph or section is flagged
