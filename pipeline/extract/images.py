"""Small pixel helpers shared by the extractors: Pixmap -> RGB, numpy <-> PNG, digests."""

from __future__ import annotations

import hashlib
import io

import cv2
import numpy as np
import pymupdf
from PIL import Image

from schemas import ImageRegion

PNG_LEVEL = 1  # zlib level of region PNGs: level 6 cost 4x the time (a third of born-digital extraction) for ~15% smaller files
# one PNG row filter ("Up": each row minus the one above) instead of trying all five per row: half the time of
# Pillow's adaptive filtering at the same level, files within a few per cent of its size (photos and drawings)
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
DOWNSCALE_SLACK = 1.1  # images up to this factor over max_image_px are kept as they are: resampling 2050 px to
# 2048 px costs more than it saves and blurs the pixels
JPEG_MAGIC = b"\xff\xd8\xff"


def image_extension(data: bytes) -> str:
    """File extension for a region's encoded pixels: the source JPEG kept as it is, or our PNG."""
    return ".jpg" if data[:3] == JPEG_MAGIC else ".png"


def pixmap_to_rgb(pix: pymupdf.Pixmap) -> pymupdf.Pixmap:
    """Any Pixmap (gray, CMYK, indexed, with alpha) -> RGB without alpha, composited on white."""
    if pix.alpha:
        # composite on white so transparent areas do not turn black
        arr = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n)
        alpha = arr[..., -1:].astype(np.float32) / 255.0
        colour = pymupdf.Pixmap(pix, 0)  # drop alpha
        if colour.colorspace is None or colour.colorspace.n != 3:
            colour = pymupdf.Pixmap(pymupdf.csRGB, colour)
        rgb = np.frombuffer(colour.samples, dtype=np.uint8).reshape(colour.height, colour.width, 3)
        out = (rgb.astype(np.float32) * alpha + 255.0 * (1 - alpha)).round().astype(np.uint8)
        return numpy_to_pixmap(out)
    if pix.colorspace is None or pix.colorspace.n != 3:
        return pymupdf.Pixmap(pymupdf.csRGB, pix)
    return pix


def pixmap_to_numpy(pix: pymupdf.Pixmap) -> np.ndarray:
    pix = pixmap_to_rgb(pix)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3).copy()


def numpy_to_pixmap(arr: np.ndarray) -> pymupdf.Pixmap:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    h, w = arr.shape[:2]
    return pymupdf.Pixmap(pymupdf.csRGB, w, h, arr.tobytes(), False)


def _fit(arr: np.ndarray, max_side: int | None) -> np.ndarray:
    """RGB uint8 pixels, shrunk to ``max_side`` on the longer side when more than DOWNSCALE_SLACK over it."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    elif arr.shape[2] == 4:
        arr = np.ascontiguousarray(arr[..., :3])
    h, w = arr.shape[:2]
    if max_side and max(h, w) > max_side * DOWNSCALE_SLACK:
        scale = max_side / max(h, w)
        # area averaging: the right filter for shrinking, and several times faster than PIL's Lanczos
        arr = cv2.resize(arr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return arr


def _encode_png(arr: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(arr, cv2.COLOR_RGB2BGR), PNG_PARAMS)
    if not ok:  # pragma: no cover - OpenCV encodes any 8-bit RGB array
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def numpy_to_png(arr: np.ndarray, max_side: int | None = None) -> bytes:
    """RGB (or grey, or RGBA: alpha dropped) pixels as PNG, downscaled to ``max_side``."""
    return _encode_png(_fit(arr, max_side))


def png_to_numpy(png: bytes) -> np.ndarray:
    """RGB pixels of a stored region image (PNG, or a source JPEG kept as is). OpenCV decodes about twice as
    fast as Pillow; EXIF orientation is ignored, as PDF viewers ignore it; Pillow reads what OpenCV cannot."""
    arr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if arr is not None:
        return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    with Image.open(io.BytesIO(png)) as img:
        return np.asarray(img.convert("RGB"))


def pixel_digest(arr: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(str(arr.shape).encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def jpeg_region(data: bytes, bbox, width: int, height: int, xref: int) -> ImageRegion:
    """An ImageRegion holding a source JPEG unchanged (exact pixels, nothing decoded or re-encoded); the
    digest is of the JPEG bytes (the same image placed twice has the same bytes)."""
    return ImageRegion(
        bbox=tuple(round(float(v), 2) for v in bbox),
        kind="embedded",
        png=data,
        width=width,
        height=height,
        xref=xref,
        digest=hashlib.sha256(data).hexdigest(),
    )


def make_region(arr: np.ndarray, bbox, kind: str, max_side: int, xref: int | None = None) -> ImageRegion:
    """An ImageRegion from RGB pixels: PNG (downscaled to ``max_side``), its size, and a pixel digest."""
    fitted = _fit(arr, max_side)
    png = _encode_png(fitted)
    h, w = fitted.shape[:2]
    return ImageRegion(
        bbox=tuple(round(float(v), 2) for v in bbox),
        kind=kind,
        png=png,
        width=w,
        height=h,
        xref=xref,
        digest=pixel_digest(arr),
    )
