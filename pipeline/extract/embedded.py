"""Embedded raster images of a born-digital page: where each is placed, and its pixels decoded through a
Pixmap to RGB (never the raw stream bytes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymupdf

from pipeline.extract.images import DOWNSCALE_SLACK, JPEG_MAGIC, jpeg_region, make_region, pixmap_to_numpy
from pipeline.ingest import clip_to_page, page_frame
from schemas import ImageRegion
from schemas.document import ImagePlacement
from schemas.settings import ExtractSettings

MAX_RENDER_DPI = 600  # a rendered group never asks for more than this, whatever its sources' resolution


@dataclass(frozen=True)
class Placement:
    """One drawing of an embedded image on the page (an image drawn twice is two placements)."""

    bbox: tuple[float, float, float, float]  # PDF points, clipped to the page
    xref: int  # 0 for inline images
    transform: tuple[float, ...]
    width: int  # source pixels
    height: int
    colorspace: str = ""  # MuPDF's name: "DeviceRGB", "ICCBased(RGB,<profile>)", ...

    @property
    def ppi(self) -> float:
        """Source pixels per inch as placed (the resolution a render must reach to lose nothing)."""
        return self.width / max(1e-6, self.bbox[2] - self.bbox[0]) * 72


def upright(arr: np.ndarray, page: pymupdf.Page) -> np.ndarray:
    """Pixels taken in the unrotated frame, turned as the reader sees them on a page with /Rotate."""
    return np.ascontiguousarray(np.rot90(arr, k=-(page.rotation // 90))) if page.rotation else arr


def _xrefs_by_size(page: pymupdf.Page) -> dict[tuple[int, int], list[int]]:
    out: dict[tuple[int, int], list[int]] = {}
    for img in page.get_images(full=True):
        out.setdefault((img[2], img[3]), []).append(img[0])
    return out


def placements_with_xrefs(page: pymupdf.Page, known: list[ImagePlacement] | None = None) -> list[Placement]:
    """Every placement of an embedded image with the xref it shows, cheap: nothing is decoded. ``known``: the
    placements ingest found (its text analysis already listed them), so the page is not analysed again; an
    empty list: the page draws no image at all.

    ``get_image_info(xrefs=True)`` hashes every image's pixels to find its xref (a third of the page's
    extraction time); an image's pixel size names its xref just as well when no other image on the page
    shares that size, so the hashing is asked for only on pages where sizes repeat."""
    by_size = _xrefs_by_size(page)
    if any(len(v) > 1 for v in by_size.values()):
        infos = page.get_image_info(xrefs=True)
    elif known is not None:
        infos = [{"bbox": p.bbox, "transform": p.transform, "width": p.width, "height": p.height, "cs-name": p.colorspace}
                 for p in known]
    else:
        infos = page.get_image_info()
    out = []
    frame = page_frame(page)
    for info in infos:
        bbox = clip_to_page(info["bbox"], frame)
        if bbox is None:
            continue
        size = (int(info.get("width") or 0), int(info.get("height") or 0))
        xref = info.get("xref")
        if xref is None:
            candidates = by_size.get(size, [])
            xref = candidates[0] if len(candidates) == 1 else 0  # no xref of that size: an inline image
        out.append(Placement(bbox=tuple(bbox), xref=xref or 0, transform=tuple(info["transform"]), width=size[0], height=size[1], colorspace=info.get("cs-name") or ""))
    return out


def _decode(doc: pymupdf.Document, xref: int, smask: int) -> pymupdf.Pixmap:
    pix = pymupdf.Pixmap(doc, xref)
    if smask:
        try:
            mask = pymupdf.Pixmap(doc, smask)
            if pix.alpha:
                pix = pymupdf.Pixmap(pix, 0)
            if pix.colorspace is None or pix.colorspace.n != 3:
                pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
            pix = pymupdf.Pixmap(pix, mask)
        except Exception:
            pass  # a broken mask: keep the colour pixels
    return pix


def render_dpi(box, ppi: float, settings: ExtractSettings) -> int:
    """dpi for rendering ``box``: the sources' own resolution, but never more than the stored image keeps
    (``max_image_px`` on the longer side) nor MAX_RENDER_DPI."""
    longest = max(1e-6, box[2] - box[0], box[3] - box[1])
    cap = settings.max_image_px * 72 / longest
    return int(max(36, min(ppi, cap, MAX_RENDER_DPI)))


def render_region(page: pymupdf.Page, box, dpi: int, kind: str, settings: ExtractSettings,
                  display_list: pymupdf.DisplayList | None = None) -> ImageRegion:
    """What the reader sees in ``box`` (all layers composited, annotations included), rendered at ``dpi``;
    from ``display_list`` when given (what ``page.get_pixmap`` does, without parsing the page again)."""
    rect = pymupdf.Rect(box) & page_frame(page)
    display_list = display_list or page.get_displaylist()
    clip = rect * page.rotation_matrix if page.rotation else rect  # a display list shows the page as turned
    pix = display_list.get_pixmap(matrix=pymupdf.Matrix(dpi / 72, dpi / 72), clip=clip, alpha=False)
    arr = pixmap_to_numpy(pix)
    return make_region(arr, rect, kind, settings.max_image_px)


PLAIN_JPEG_COLORSPACES = ("DeviceRGB", "DeviceGray")


def _plain_colorspace(name: str) -> bool:
    """Device RGB/grey, or any three-channel ICC profile. An ICC RGB image's Pixmap keeps the stream's own
    values (``pixmap_to_rgb`` converts only other channel counts), so its JPEG holds exactly the pixels the
    Pixmap path would store: decoding and re-encoding it would only cost time (it was 80% of a case report's
    extraction, an Adobe RGB photo)."""
    return name in PLAIN_JPEG_COLORSPACES or name.startswith("ICCBased(RGB,")


def plain_jpeg(doc: pymupdf.Document, placement: Placement, settings: ExtractSettings) -> bytes | None:
    """The image's own JPEG bytes when they hold exactly the pixels the Pixmap path gives: a DCT-only stream in
    DeviceRGB, DeviceGray or ICC RGB, 8 bits, no Decode array, no mask, placed upright and unflipped, not larger
    than we store. Anything else (CMYK, masks, turned placements) goes through a Pixmap."""
    if placement.xref <= 0:
        return None
    a, b, c, d = placement.transform[:4]
    if not (a > 0 and d > 0 and abs(b) < 1e-6 and abs(c) < 1e-6):
        return None
    if max(placement.width, placement.height) > settings.max_image_px * DOWNSCALE_SLACK:
        return None
    key = lambda k: doc.xref_get_key(placement.xref, k)  # noqa: E731
    if key("Filter") != ("name", "/DCTDecode") or not _plain_colorspace(placement.colorspace):
        return None
    if key("BitsPerComponent")[1] != "8" or key("Decode")[0] != "null" or key("SMask")[0] != "null" or key("Mask")[0] != "null":
        return None
    data = doc.xref_stream_raw(placement.xref)
    return data if data and data[:3] == JPEG_MAGIC else None


def decode_placement(page: pymupdf.Page, placement: Placement, settings: ExtractSettings, smasks: dict[int, int]) -> ImageRegion:
    """The exact pixels of one placement, turned as placed. An image that cannot be decoded is rendered from
    the page instead; only when MuPDF cannot render it either does this raise."""
    try:
        if placement.xref <= 0:
            raise ValueError("inline image")
        jpeg = plain_jpeg(page.parent, placement, settings) if not page.rotation else None
        if jpeg is not None:
            return jpeg_region(jpeg, placement.bbox, placement.width, placement.height, placement.xref)
        arr = pixmap_to_numpy(_decode(page.parent, placement.xref, smasks.get(placement.xref, 0)))
        # follow the placement's orientation: a flipped/rotated transform shows pixels turned
        a, b, c, d = placement.transform[:4]
        if abs(b) > abs(a):  # rotated by 90 degrees
            arr = arr.transpose(1, 0, 2)
            if b > 0:
                arr = arr[:, ::-1]
            if c > 0:
                arr = arr[::-1]
        else:
            if a < 0:
                arr = arr[:, ::-1]
            if d < 0:
                arr = arr[::-1]
        arr = upright(arr, page)
    except Exception:
        return render_region(page, placement.bbox, settings.vector_render_dpi, "embedded", settings)
    return make_region(arr, placement.bbox, "embedded", settings.max_image_px, placement.xref or None)


def image_smasks(page: pymupdf.Page) -> dict[int, int]:
    return {img[0]: img[1] for img in page.get_images(full=True)}
