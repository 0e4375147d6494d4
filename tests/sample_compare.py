"""Compare a regenerated sample PDF with the committed one by what matters, not by bytes.

The sample images are drawn with numpy + OpenCV, whose SIMD code paths are picked at
run time from the CPU (SSE4 / AVX2 / AVX-512). Different paths round differently, so a
few pixels of an image can come out one or a few levels apart on another CPU (issue 16),
and after JPEG encoding the file bytes differ. Everything else — pages, text, image
placements, drawings, metadata — must still be exactly the same, and the pixels must be
the same up to that rounding noise. ``compare_pdfs`` checks exactly that and returns a
list of human-readable differences (empty when the two files are equivalent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np
import pymupdf


@dataclass(frozen=True)
class PixelTolerance:
    """Bounds on the difference between two decodings of the same embedded image.

    Evidence (decoded with pymupdf.Pixmap, per image; "share" = pixels with any channel differing):

    * CPU-dispatch noise, all measured on an AMD EPYC with AVX-512 against the committed samples
      (which it reproduces byte for byte only with its AVX-512 paths turned off): full dispatch
      differs in 2 images (a 400x400 JPEG: max 1, 42 px = 0.026 %; a 1240x1755 scanned page:
      max 5, 151 px = 0.007 %); OpenCV and
      numpy forced to their baseline dispatch differ in 7 images, worst max 8, worst mean
      0.00065 per channel, worst share 0.041 % (903 px of a scanned page). The rounding flips
      single quantised DCT coefficients, so the noise is sparse, blockwise and small; one flip
      of the coarsest coefficient at the samples' JPEG qualities (80, scanned pages 72) moves a
      channel by at most ~20.
    * Wrong images (tests/test_samples.py): another seed: max 128, mean 26.9, share 100 %;
      tone 1.0 -> 1.1: max 21, mean 3.1, share 99 %; content shifted 1 px: max 53, mean 2.1,
      share 82 %; an annotation left out: max 204, mean 1.9, share 6.6 %; "." -> "," in a
      9 pt caption of a scanned page: max 109, but mean 0.0005 and share 0.003 %, i.e. below the
      CPU noise: only ``max_abs`` catches small high-contrast changes, so it must stay well
      below ink-on-paper contrast (~100).

    So: ``max_abs`` 32 (4x the measured 8, above one worst-case coefficient flip, 3x below the
    smallest local wrong change); ``mean_abs`` 0.1 (150x the measured noise, 8x below the
    smallest global change, +-1 noise on every pixel: mean 0.88, share 64 %); ``share`` 1 %
    (25x the measured noise, 6x below the smallest wrong share).
    """

    max_abs: int = 32  # largest |diff| of any channel value, 0..255
    mean_abs: float = 0.1  # mean |diff| of the worst channel, over all pixels
    share: float = 0.01  # fraction of pixels with any channel differing


DEFAULT_TOLERANCE = PixelTolerance()


def _r(x, nd=2):
    return round(float(x), nd) + 0.0  # + 0.0: -0.0 -> 0.0


def _rect(r) -> Tuple[float, ...]:
    return tuple(_r(v) for v in r)


def _color(c):
    return None if c is None else tuple(_r(v, 3) for v in c)


def image_pixels(doc: pymupdf.Document, xref: int) -> np.ndarray:
    """Decode one embedded image (without its soft mask) to an (h, w, n) uint8 array."""
    pix = pymupdf.Pixmap(doc, xref)
    a = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, pix.n)
    return a.copy()


def smask_xref(doc: pymupdf.Document, xref: int) -> int:
    kind, val = doc.xref_get_key(xref, "SMask")
    return int(val.split()[0]) if kind == "xref" else 0


def pixel_diff(a: np.ndarray, b: np.ndarray) -> Dict[str, float]:
    """max |diff|, largest per-channel mean |diff|, and share of pixels with any channel differing."""
    if a.shape != b.shape:
        raise ValueError(f"shape {a.shape} != {b.shape}")
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return {
        "max": int(d.max()) if d.size else 0,
        "mean": float(d.reshape(-1, d.shape[-1]).mean(axis=0).max()) if d.size else 0.0,
        "share": float((d.max(axis=-1) > 0).mean()) if d.size else 0.0,
        "pixels": int((d.max(axis=-1) > 0).sum()),
        "total": int(d.shape[0] * d.shape[1]),
    }


def _placement(info: Dict) -> Tuple:
    return (
        _rect(info["bbox"]),
        tuple(_r(v) for v in info["transform"]),
        info["width"],
        info["height"],
        info["colorspace"],
        info["cs-name"],
        info["bpc"],
        info["xres"],
        info["yres"],
        bool(info["has-mask"]),
    )


def _drawing(d: Dict) -> Tuple:
    return (
        d["type"],
        _rect(d["rect"]),
        _color(d.get("color")),
        _color(d.get("fill")),
        None if d.get("width") is None else _r(d["width"]),
        len(d["items"]),
        tuple(it[0] for it in d["items"]),
    )


def _words(page: pymupdf.Page) -> List[Tuple]:
    return [(*_rect(w[:4]), w[4]) for w in page.get_text("words")]


def _image_format(doc: pymupdf.Document, xref: int) -> Tuple:
    """What the image stream is (filter, size, bpc), not its bytes (colour space: in the placement's cs-name)."""
    return tuple(doc.xref_get_key(xref, key)[1] for key in ("Filter", "Width", "Height", "BitsPerComponent"))


def compare_pdfs(committed: str, fresh: str, tol: PixelTolerance = DEFAULT_TOLERANCE) -> List[str]:
    """Differences that matter between two PDFs; [] when equivalent.

    Exact: page count, page boxes/rotation, metadata, TOC, per-page text (plain text and
    words with boxes rounded to 0.01 pt), image placements (get_image_info: bbox and
    transform rounded to 0.01, width, height, colour space, bpc, resolution, soft mask),
    image stream kind (filter, size, bpc), drawings (type, rect, colours, width, path ops).
    Within ``tol``: the decoded pixels of every placed image and of its soft mask.
    """
    problems: List[str] = []
    a = pymupdf.open(committed)
    b = pymupdf.open(fresh)
    if a.metadata != b.metadata:
        problems.append(f"metadata: {a.metadata} != {b.metadata}")
    if a.get_toc() != b.get_toc():
        problems.append("table of contents differs")
    if a.page_count != b.page_count:
        problems.append(f"page count {a.page_count} != {b.page_count}")
        return problems
    compared = set()
    for pno in range(a.page_count):
        pa, pb = a[pno], b[pno]
        where = f"page {pno + 1}"
        if (_rect(pa.rect), _rect(pa.mediabox), pa.rotation) != (_rect(pb.rect), _rect(pb.mediabox), pb.rotation):
            problems.append(f"{where}: page box {pa.rect}/{pa.rotation} != {pb.rect}/{pb.rotation}")
        ta, tb = pa.get_text("text").splitlines(), pb.get_text("text").splitlines()
        if ta != tb:
            i = next((i for i, (x, y) in enumerate(zip(ta, tb)) if x != y), min(len(ta), len(tb)))
            problems.append(f"{where}: text differs at line {i + 1}: "
                            f"{ta[i] if i < len(ta) else None!r} != {tb[i] if i < len(tb) else None!r}")
        elif _words(pa) != _words(pb):
            wa, wb = _words(pa), _words(pb)
            first = next((i for i, (x, y) in enumerate(zip(wa, wb)) if x != y), min(len(wa), len(wb)))
            problems.append(f"{where}: word boxes differ at word {first}: "
                            f"{wa[first] if first < len(wa) else None} != {wb[first] if first < len(wb) else None}")
        da, db = [_drawing(d) for d in pa.get_drawings()], [_drawing(d) for d in pb.get_drawings()]
        if da != db:
            problems.append(f"{where}: drawings differ ({len(da)} vs {len(db)} paths; first difference: "
                            f"{next(((x, y) for x, y in zip(da, db) if x != y), None)})")
        ia, ib = pa.get_image_info(xrefs=True), pb.get_image_info(xrefs=True)
        if len(ia) != len(ib):
            problems.append(f"{where}: {len(ia)} image placements != {len(ib)}")
            continue
        for k, (x, y) in enumerate(zip(ia, ib)):
            img = f"{where} image {k} (bbox {_rect(x['bbox'])})"
            if _placement(x) != _placement(y):
                problems.append(f"{img}: placement {_placement(x)} != {_placement(y)}")
                continue
            pairs = [(x["xref"], y["xref"], "")]
            sa, sb = smask_xref(a, x["xref"]), smask_xref(b, y["xref"])
            if bool(sa) != bool(sb):
                problems.append(f"{img}: soft mask present {bool(sa)} != {bool(sb)}")
            elif sa:
                pairs.append((sa, sb, " soft mask"))
            for xa, xb, what in pairs:
                if (xa, xb) in compared:
                    continue  # e.g. the logo, placed on every page
                compared.add((xa, xb))
                if _image_format(a, xa) != _image_format(b, xb):
                    problems.append(f"{img}{what}: stream {_image_format(a, xa)} != {_image_format(b, xb)}")
                    continue
                pxa, pxb = image_pixels(a, xa), image_pixels(b, xb)
                if pxa.shape != pxb.shape:
                    problems.append(f"{img}{what}: decoded shape {pxa.shape} != {pxb.shape}")
                    continue
                s = pixel_diff(pxa, pxb)
                if s["max"] > tol.max_abs or s["mean"] > tol.mean_abs or s["share"] > tol.share:
                    problems.append(
                        f"{img}{what} (xref {xa}/{xb}, {pxa.shape[1]}x{pxa.shape[0]}): pixels differ beyond tolerance: "
                        f"max |diff| {s['max']} (<= {tol.max_abs}), mean |diff| {s['mean']:.4f} (<= {tol.mean_abs}), "
                        f"{s['pixels']} px = {s['share']:.4%} differ (<= {tol.share:.2%})")
    return problems


def image_diffs(committed: str, fresh: str) -> List[Dict]:
    """Per-image pixel_diff stats for every image whose pixels are not identical (for reports)."""
    a, b = pymupdf.open(committed), pymupdf.open(fresh)
    out, seen = [], set()
    for pno in range(min(a.page_count, b.page_count)):
        for k, (x, y) in enumerate(zip(a[pno].get_image_info(xrefs=True), b[pno].get_image_info(xrefs=True))):
            if (x["xref"], y["xref"]) in seen:
                continue
            seen.add((x["xref"], y["xref"]))
            pxa, pxb = image_pixels(a, x["xref"]), image_pixels(b, y["xref"])
            if pxa.shape == pxb.shape and not np.array_equal(pxa, pxb):
                size = f"{pxa.shape[1]}x{pxa.shape[0]}"
                out.append({"page": pno + 1, "image": k, "size": size, **pixel_diff(pxa, pxb)})
    return out
