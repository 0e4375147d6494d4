"""Tests for the committed synthetic sample PDFs (sample_pdfs/) and their truth files."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pymupdf
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from synth.books import Panel, encode_image, rasterize_scanned, save_pdf  # noqa: E402
from tests.sample_compare import PixelTolerance, compare_pdfs, image_diffs  # noqa: E402

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
def test_regeneration_matches_committed(regenerated, stem, suffix):
    """Truth JSON: byte for byte. PDF: same pages, text, placements, drawings, metadata, and
    pixels within sample_compare.DEFAULT_TOLERANCE (CPU-dependent SIMD rounding, issue 16)."""
    committed = SAMPLES / f"{stem}{suffix}"
    fresh = regenerated / f"{stem}{suffix}"
    assert committed.exists(), f"missing committed sample {committed}; run sample_pdfs/make_samples.py"
    if suffix == ".truth.json":
        assert fresh.read_bytes() == committed.read_bytes(), f"{stem}{suffix} differs from a fresh regeneration"
    else:
        problems = compare_pdfs(str(committed), str(fresh))
        assert problems == [], f"{stem}.pdf differs from a fresh regeneration:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- the comparison itself
def _jpeg(panel: Panel, mutate=None) -> bytes:
    """A panel encoded the way synth.books does it; mutate(np.ndarray) -> np.ndarray changes its pixels first."""
    im = panel.render()
    if mutate is not None:
        im = Image.fromarray(mutate(np.asarray(im).copy()))
    return encode_image(im, panel.fmt)


def _sparse_noise(seed, frac, amp):
    """Change ``frac`` of the pixels by +-1..amp in one channel: what CPU-dispatch rounding does (few, small)."""
    def mutate(a):
        rng = np.random.default_rng(seed)
        n = int(frac * a.shape[0] * a.shape[1])
        ys, xs, cs = rng.integers(0, a.shape[0], n), rng.integers(0, a.shape[1], n), rng.integers(0, 3, n)
        d = rng.integers(1, amp + 1, n) * rng.choice([-1, 1], n)
        a[ys, xs, cs] = np.clip(a[ys, xs, cs].astype(int) + d, 0, 255).astype(np.uint8)
        return a
    return mutate


def _with_image(tmp_path, stem, pno, index, data, name):
    """Copy of a committed sample with the image placed as (page pno, placement index) replaced by ``data``."""
    doc = pymupdf.open(SAMPLES / f"{stem}.pdf")
    page = doc[pno - 1]
    page.replace_image(page.get_image_info(xrefs=True)[index]["xref"], stream=data)
    out = tmp_path / f"{name}.pdf"
    doc.save(out, garbage=4, deflate=True)
    return str(out)


# Fig. 1.1 of derm_atlas_digital (page 1, placement 1 after the logo) and Fig. 4.3 of derm_face_annotated
# (page 2, placement 1), exactly as make_samples.py builds them.
FIG_1_1 = ("derm_atlas_digital", 1, 1, Panel("clinical", 111, (480, 360), "jpeg", {"kind": "plaque", "tone": 1.0}))
FIG_4_3 = ("derm_face_annotated", 2, 1, Panel("clinical", 403, (480, 360), "jpeg", {"kind": "plaque", "tone": 1.2},
                                              overlay={"style": "circle", "target": (0.5, 0.5)}))


@pytest.mark.parametrize("fig", [FIG_1_1, FIG_4_3], ids=["fig1.1", "fig4.3"])
def test_compare_accepts_rerendered_image_and_dispatch_like_noise(tmp_path, fig):
    stem, pno, index, panel = fig
    committed = str(SAMPLES / f"{stem}.pdf")
    # control: the same image rendered again here matches (the image swap itself changes nothing that matters)
    assert compare_pdfs(committed, _with_image(tmp_path, stem, pno, index, _jpeg(panel), "same")) == []
    # sparse rounding noise like a CPU-dispatch difference (0.05 % of the pixels, up to +-3), then JPEG: passes ...
    noisy = _with_image(tmp_path, stem, pno, index, _jpeg(panel, _sparse_noise(7, 0.0005, 3)), "noisy")
    assert compare_pdfs(committed, noisy) == []
    # ... although its pixels do differ (so the tolerance was needed), and a zero tolerance would flag it
    diffs = [d for d in image_diffs(committed, noisy) if (d["page"], d["image"]) == (pno, index)]
    assert diffs and diffs[0]["pixels"] > 0, diffs
    strict = compare_pdfs(committed, noisy, PixelTolerance(max_abs=0, mean_abs=0.0, share=0.0))
    assert len(strict) == 1 and f"page {pno} image {index}" in strict[0], strict


def _shift(px):
    return lambda a: np.roll(a, px, axis=1)


@pytest.mark.parametrize("fig,what,data", [
    (FIG_1_1, "other seed", lambda: _jpeg(Panel("clinical", 112, (480, 360), "jpeg", {"kind": "plaque", "tone": 1.0}))),
    (FIG_1_1, "other tone", lambda: _jpeg(Panel("clinical", 111, (480, 360), "jpeg", {"kind": "plaque", "tone": 1.1}))),
    (FIG_1_1, "content shifted 1 px", lambda: _jpeg(FIG_1_1[3], _shift(1))),
    (FIG_4_3, "annotation missing",
     lambda: _jpeg(Panel("clinical", 403, (480, 360), "jpeg", {"kind": "plaque", "tone": 1.2}))),
    # not CPU noise: +-1 on (nearly) every pixel, as a changed codec or colour conversion would give
    (FIG_1_1, "dense +-1 noise", lambda: _jpeg(FIG_1_1[3], _sparse_noise(7, 3.0, 1))),
], ids=["other-seed", "other-tone", "shift-1px", "no-annotation", "dense-noise"])
def test_compare_flags_a_wrong_image(tmp_path, fig, what, data):
    stem, pno, index, _ = fig
    problems = compare_pdfs(str(SAMPLES / f"{stem}.pdf"), _with_image(tmp_path, stem, pno, index, data(), "wrong"))
    assert len(problems) == 1, (what, problems)
    assert problems[0].startswith(f"page {pno} image {index} ") and "pixels differ beyond tolerance" in problems[0], (
        what, problems)


def _mini(path, *, text="Fig. 9.1 A plaque on the elbow.", img_rect=(72, 100, 312, 280), seed=111,
          title="mini", rule=(72, 300, 312, 300), pages=1):
    """A small born-digital page: a text line, one JPEG image, one rule, fixed metadata."""
    doc = pymupdf.open()
    data = _jpeg(Panel("clinical", seed, (480, 360), "jpeg", {"kind": "plaque", "tone": 1.0}))
    for _ in range(pages):
        page = doc.new_page(width=595, height=842)
        page.insert_image(pymupdf.Rect(img_rect), stream=data)
        page.insert_text((72, 320), text, fontsize=9)
        page.draw_line(rule[:2], rule[2:], color=(0.5, 0.5, 0.5), width=0.5)
    doc.set_metadata({"title": title, "author": "mmskin test", "creationDate": "D:20240101000000Z",
                      "modDate": "D:20240101000000Z"})
    doc.save(path, garbage=4, deflate=True, no_new_id=True)
    return str(path)


@pytest.mark.parametrize("change,expect", [
    ({"text": "Fig. 9.1 A plaque on the knee."}, "page 1: text differs"),
    ({"text": "Fig. 9.1  A plaque on the elbow."}, "page 1: text differs"),
    ({"img_rect": (75, 100, 315, 280)}, "page 1 image 0 (bbox (72.0, 100.0, 312.0, 280.0)): placement"),
    ({"img_rect": (72, 100, 312, 281)}, "page 1 image 0 (bbox (72.0, 100.0, 312.0, 280.0)): placement"),
    ({"seed": 112}, "page 1 image 0 (bbox (72.0, 100.0, 312.0, 280.0)) (xref"),
    ({"rule": (72, 302, 312, 302)}, "page 1: drawings differ"),
    ({"title": "other"}, "metadata:"),
    ({"pages": 2}, "page count 1 != 2"),
], ids=["word", "spacing", "image-moved", "image-resized", "image-seed", "rule-moved", "metadata", "pages"])
def test_compare_flags_what_matters(tmp_path, change, expect):
    base = _mini(tmp_path / "a.pdf")
    assert compare_pdfs(base, _mini(tmp_path / "same.pdf")) == []
    problems = compare_pdfs(base, _mini(tmp_path / "b.pdf", **change))
    assert problems and any(p.startswith(expect) for p in problems), problems


def test_compare_flags_a_text_change_on_a_scanned_page(tmp_path):
    """A scanned page has no text layer: a changed word must show up in the pixels (a small, high-contrast change)."""
    def scanned(name, text):
        src = pymupdf.open(_mini(tmp_path / f"src_{name}.pdf", text=text))
        out = tmp_path / f"{name}.pdf"
        save_pdf(rasterize_scanned(src, seed=3333, dpi=150, quality=72), str(out), "scan")
        return str(out)

    a = scanned("a", "Fig. 9.1 A plaque on the elbow.")
    assert compare_pdfs(a, scanned("same", "Fig. 9.1 A plaque on the elbow.")) == []
    problems = compare_pdfs(a, scanned("b", "Fig. 9.1 A plaque on the elbow,"))
    assert len(problems) == 1 and problems[0].startswith("page 1 image 0 ") and "beyond tolerance" in problems[0], (
        problems)


# --------------------------------------------------------------------------- baseline CPU dispatch
def _numpy_cpu_module():
    try:
        from numpy._core import _multiarray_umath as m  # numpy 2.x
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import _multiarray_umath as m
    return m


def baseline_dispatch_env() -> dict:
    """Environment that turns off every run-time-dispatched SIMD path of OpenCV and numpy.

    OpenCV reads OPENCV_CPU_DISABLE (comma-separated, its own names: "SSE4.1", "AVX512-SKX") when it is
    imported; the dispatched features are the ``*`` entries of cv2.getCPUFeaturesLine(), the others are
    its compiled-in baseline. numpy reads NPY_DISABLE_CPU_FEATURES (space-separated) and raises if a
    baseline feature is named; its dispatch targets are __cpu_dispatch__ (numpy 2.4: X86_V3, X86_V4,
    AVX512_ICL, AVX512_SPR). All of them are listed, also ones already off, so an inherited setting
    cannot leave one on.
    """
    import cv2

    cv_dispatched = [t[1:].rstrip("?") for t in cv2.getCPUFeaturesLine().split() if t.startswith("*")]
    m = _numpy_cpu_module()
    np_dispatched = [f for f in m.__cpu_dispatch__ if f not in m.__cpu_baseline__]
    env = dict(os.environ)
    env["OPENCV_CPU_DISABLE"] = ",".join(cv_dispatched)
    env["NPY_DISABLE_CPU_FEATURES"] = " ".join(np_dispatched)
    return env


# Runs make_samples.py as __main__ (argv: --out DIR) after recording what OpenCV and numpy enabled in this
# very process, so the test can check that the generation really ran on baseline dispatch.
_BASELINE_RUNNER = """
import json, runpy, sys
import cv2
try:
    from numpy._core import _multiarray_umath as m
except ImportError:
    from numpy.core import _multiarray_umath as m
report, script, out = sys.argv[1:4]
with open(report, "w") as f:
    json.dump({"cv2": cv2.getCPUFeaturesLine(),
               "numpy": {k: bool(m.__cpu_features__.get(k)) for k in m.__cpu_dispatch__}}, f)
sys.argv = [script, "--out", out]
runpy.run_path(script, run_name="__main__")
"""


def test_regeneration_on_baseline_cpu_dispatch_matches_committed(tmp_path):
    """Issue 16 on our own machine: generate with OpenCV and numpy forced to their baseline SIMD paths (as on a
    CPU without SSE4/AVX2/AVX-512) and check that the result still matches the committed samples."""
    out, report = tmp_path / "out", tmp_path / "features.json"
    env = baseline_dispatch_env()
    proc = subprocess.run([sys.executable, "-c", _BASELINE_RUNNER, str(report), str(SAMPLES / "make_samples.py"),
                           str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "unknown CPU feature" not in proc.stderr, proc.stderr[-3000:]
    seen = json.loads(report.read_text())
    # the settings took effect: every dispatched OpenCV feature reads "unavailable" ("?"), every numpy target off
    dispatched = [t for t in seen["cv2"].split() if t.startswith("*")]
    assert all(t.endswith("?") for t in dispatched), seen["cv2"]
    assert not any(seen["numpy"].values()), seen["numpy"]

    committed = sorted(p.name for p in SAMPLES.iterdir() if p.name.endswith((".pdf", ".truth.json")))
    assert sorted(p.name for p in out.iterdir()) == committed
    problems = []
    for name in committed:
        if name.endswith(".truth.json"):
            if (out / name).read_bytes() != (SAMPLES / name).read_bytes():
                problems.append(f"{name}: differs")
        else:
            problems += [f"{name}: {p}" for p in compare_pdfs(str(SAMPLES / name), str(out / name))]
    assert problems == [], "regenerated on baseline CPU dispatch:\n" + "\n".join(problems)


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
