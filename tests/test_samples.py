"""Tests for the committed synthetic sample PDFs (sample_pdfs/) and their truth files."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pymupdf
import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_pdfs"
STEMS = sorted(p.name.removesuffix(".truth.json") for p in SAMPLES.glob("*.truth.json"))
SCANNED = ["derm_atlas_scanned"]
BORN_DIGITAL = [s for s in STEMS if s not in SCANNED]
MODALITIES = {"clinical", "dermoscopy", "pathology", "other"}


def _load_make_samples():
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _truth(stem):
    return json.loads((SAMPLES / f"{stem}.truth.json").read_text(encoding="utf-8"))


def _iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _block_text(block):
    """Join a text block's lines, undoing end-of-line soft hyphenation (not 'word-' + digit)."""
    out = ""
    for line in block["lines"]:
        t = "".join(s["text"] for s in line["spans"])
        if out.endswith("-") and re.search(r"[a-z]-$", out) and t[:1].islower():
            out = out[:-1] + t
        else:
            out = f"{out} {t}" if out else t
    return re.sub(r"\s+", " ", out).strip()


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("samples")
    _load_make_samples().build(str(out))
    return out


def test_generator_writes_exactly_the_committed_books(regenerated):
    committed = sorted(p.name for p in SAMPLES.iterdir() if p.name.endswith((".pdf", ".truth.json")))
    assert sorted(p.name for p in regenerated.iterdir()) == committed


@pytest.mark.parametrize("stem", STEMS)
@pytest.mark.parametrize("suffix", [".pdf", ".truth.json"])
def test_regeneration_is_byte_identical(regenerated, stem, suffix):
    committed = SAMPLES / f"{stem}{suffix}"
    fresh = regenerated / f"{stem}{suffix}"
    assert committed.exists(), f"missing committed sample {committed}; run sample_pdfs/make_samples.py"
    assert fresh.read_bytes() == committed.read_bytes(), f"{stem}{suffix} differs from a fresh regeneration"


@pytest.mark.parametrize("stem", STEMS)
def test_truth_structure_and_bboxes_within_page(stem):
    t = _truth(stem)
    doc = pymupdf.open(SAMPLES / f"{stem}.pdf")
    assert t["schema"] == "mmskin-sample-truth/1"
    assert t["pdf"] == f"{stem}.pdf"
    assert t["page_count"] == doc.page_count
    assert t["scanned"] == (stem in SCANNED)
    ids = [f["id"] for f in t["figures"]]
    assert len(ids) == len(set(ids))
    for f in t["figures"]:
        assert 1 <= f["page"] <= doc.page_count
        rect = doc[f["page"] - 1].rect
        x0, y0, x1, y1 = f["bbox"]
        assert rect.x0 <= x0 < x1 <= rect.x1 and rect.y0 <= y0 < y1 <= rect.y1, f
        assert f["caption"].startswith(f["label"] + " ")
        assert f["caption_position"] in ("below", "above")
        assert f["modality"] in MODALITIES
        assert f["gender"] in (None, "male", "female")
        assert f["age"] is None or isinstance(f["age"], float)
        assert isinstance(f["face"], bool) and isinstance(f["overlay"], bool)
        assert not f["face"] or f["modality"] == "clinical"
        for p in f["panels"]:
            px0, py0, px1, py1 = p["bbox"]
            assert x0 - 0.01 <= px0 < px1 <= x1 + 0.01 and y0 - 0.01 <= py0 < py1 <= y1 + 0.01
            assert p["modality"] in MODALITIES and p["subcaption"]
    for d in t["decorations"]:
        rect = doc[d["page"] - 1].rect
        assert rect.contains(pymupdf.Rect(d["bbox"]))


def test_book_contents():
    dig = _truth("derm_atlas_digital")
    mods = [f["modality"] for f in dig["figures"]]
    assert len(dig["figures"]) >= 8
    assert mods.count("clinical") >= 3 and mods.count("dermoscopy") >= 2 and mods.count("pathology") >= 2
    assert "other" in mods
    assert sum(f["caption_position"] == "above" for f in dig["figures"]) >= 2
    assert any(len(f["panels"]) >= 2 for f in dig["figures"])
    assert any(n["text"].startswith("Table 1.1") for n in dig["non_figure_captions"])
    vec = _truth("derm_vector_overlay")
    assert any(f["vector"] for f in vec["figures"]) and any(f["overlay"] for f in vec["figures"])
    faces = _truth("derm_face_annotated")["figures"]
    assert sum(f["face"] for f in faces) >= 6 and sum(f["overlay"] for f in faces) >= 6
    assert any(not f["face"] and not f["overlay"] for f in faces)  # and a plain photograph
    scn = _truth("derm_atlas_scanned")
    assert len(scn["figures"]) >= 5
    assert {"clinical", "dermoscopy", "pathology"} <= {f["modality"] for f in scn["figures"]}


def test_scanned_book_has_no_text_layer():
    doc = pymupdf.open(SAMPLES / "derm_atlas_scanned.pdf")
    for page in doc:
        assert page.get_text().strip() == ""
        infos = page.get_image_info()
        assert len(infos) == 1
        assert _iou(infos[0]["bbox"], tuple(page.rect)) > 0.99


@pytest.mark.parametrize("stem", BORN_DIGITAL)
def test_raster_figure_bboxes_match_image_info(stem):
    t = _truth(stem)
    doc = pymupdf.open(SAMPLES / f"{stem}.pdf")
    n = 0
    for f in t["figures"]:
        if f["vector"]:
            continue
        infos = doc[f["page"] - 1].get_image_info()
        boxes = [p["bbox"] for p in f["panels"]] or [f["bbox"]]
        for b in boxes:
            best = max((_iou(b, i["bbox"]) for i in infos), default=0.0)
            assert best > 0.95, (f["id"], b, best)
            n += 1
    assert n > 0


@pytest.mark.parametrize("stem", BORN_DIGITAL)
def test_each_caption_is_its_own_text_block(stem):
    t = _truth(stem)
    doc = pymupdf.open(SAMPLES / f"{stem}.pdf")
    captions = [(f["page"], f["caption"]) for f in t["figures"]] + [(c["page"], c["text"]) for c in t["non_figure_captions"]]
    for pno, cap in captions:
        blocks = [b for b in doc[pno - 1].get_text("dict")["blocks"] if b["type"] == 0]
        texts = [_block_text(b) for b in blocks]
        assert cap in texts, (pno, cap)
