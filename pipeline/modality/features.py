"""Image features for the modality classifier: colour, stain, texture, dermoscopy and drawing cues.

Every image is first decoded to 8-bit RGB (:func:`to_rgb`: grey, palette, CMYK, 16-bit and float images are
converted, transparency is composited on white) and resized so that its longer side is ``WORK_SIDE`` pixels
(:func:`prepare`), so features are fast (~40 ms per image on one core, decoding included) and do not depend on the source resolution.
:func:`image_features` returns a fixed-length float32 vector in the order of ``FEATURE_NAMES``; ``FEATURES``
documents each feature (what it measures) and the closed range it lies in (values are clipped to it).

Groups (the prefix of each name):

- ``hsv_`` / ``lab_`` / ``col_``: colour. Hue histogram of coloured pixels, saturation/value moments,
  CIE Lab moments and lightness histogram, colourfulness, share of skin, purple/pink, white and black pixels.
- ``hed_``: stain separation by colour deconvolution (``skimage.color.rgb2hed``: haematoxylin, eosin, DAB
  optical densities). H&E sections have high H and E densities; photos of skin have little H.
- ``lbp_`` / ``glcm_`` / ``tex_`` / ``fft_``: texture. Uniform local binary pattern histograms at two radii,
  grey-level co-occurrence (Haralick) statistics at two distances, edge density, gradient strength,
  sharpness (variance of the Laplacian), spectral energy in low/mid/high radial frequency bands and on the
  horizontal/vertical axes (ruled lines, stripes).
- ``derm_``: dermoscopy. Dark corners, brightness by ring from the centre outwards (vignetting and the round
  field of view), darkness of the inscribed-circle outside vs inside, a dark lesion in the centre (contrast,
  centroid offset, spread), thin dark hairs (morphological black-hat), periodic ruler ticks along the borders.
- ``fg_``: the same colour, stain and texture cues over the foreground only (pixels that are not paper-white),
  so that a tissue section on a mostly empty slide still looks like H&E, and a drawing's fills look flat.
- ``draw_``: photo versus drawing. Number of distinct colours, share of the most frequent colours, flat
  (constant) regions, achromatic pixels, line art on a white ground, straight horizontal/vertical rules,
  text-like connected components, grey-level bimodality. Diagrams, charts and tables score high here.
"""

from __future__ import annotations

import io
import math
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps

FEATURE_VERSION = "2"  # bump when any feature changes: models trained on another version refuse to load
WORK_SIDE = 256  # images are resized so that their longer side is this many pixels
MIN_SIDE = 8  # the shorter side is stretched to at least this many pixels (very elongated images)
MAX_DECODE_PIXELS = 200_000_000  # refuse to decode larger images (decompression bombs)

# name -> (description, low, high). Values are clipped to [low, high]; the table is the documentation.
FEATURES: dict[str, tuple[str, float, float]] = {}


def _doc(name: str, text: str, lo: float = 0.0, hi: float = 1.0) -> None:
    FEATURES[name] = (text, lo, hi)


HUE_BINS = 12
_doc("hsv_coloured", "share of coloured pixels (S > 0.15, V > 0.15)")
for _i in range(HUE_BINS):
    _doc(f"hsv_hue_{_i:02d}", f"share of the coloured pixels with hue in [{_i * 30}, {_i * 30 + 30}) degrees")
_doc("hsv_sat_mean", "mean HSV saturation")
_doc("hsv_sat_std", "standard deviation of HSV saturation", 0, 0.5)
_doc("hsv_val_mean", "mean HSV value (brightness)")
_doc("hsv_val_std", "standard deviation of HSV value", 0, 0.5)
for _c, _lo in (("L", 0.0), ("a", -1.0), ("b", -1.0)):
    _doc(f"lab_{_c}_mean", f"mean of CIE Lab {_c} ({'L/100' if _c == 'L' else _c + '/128'})", _lo, 1)
    _doc(f"lab_{_c}_std", f"standard deviation of Lab {_c} (same scale)", 0, 1)
    _doc(f"lab_{_c}_skew", f"skewness of Lab {_c}, clipped", -5, 5)
for _i in range(8):
    _doc(f"lab_L_hist_{_i}", f"share of pixels with lightness L in [{_i * 12.5:g}, {(_i + 1) * 12.5:g})")
_doc("lab_chroma_mean", "mean Lab chroma sqrt(a^2+b^2)/128")
_doc("col_colourfulness", "Hasler-Suesstrunk colourfulness / 100", 0, 2)
_doc("col_skin", "share of coloured pixels with red-orange skin hues (<= 40 or >= 345 degrees)")
_doc("col_purple", "share of coloured pixels with haematoxylin-eosin purple/pink hues (250-345 degrees)")
_doc("col_white", "share of paper-white pixels (V > 0.92, S < 0.08)")
_doc("col_black", "share of black pixels (V < 0.12)")
for _s, _nm in (("H", "haematoxylin"), ("E", "eosin"), ("D", "DAB")):
    _doc(f"hed_{_s}_mean", f"mean {_nm} optical density from rgb2hed, clipped", -0.5, 1)
    _doc(f"hed_{_s}_std", f"standard deviation of the {_nm} density", 0, 0.5)
_doc("hed_H_frac", "share of pixels with a strong haematoxylin density (nuclei)")
_doc("hed_E_frac", "share of pixels with a strong eosin density (stroma)")
_doc("hed_HE_corr", "correlation of the H and E densities over the image", -1, 1)
for _r in (1, 3):
    for _i in range(10):
        _doc(f"lbp_r{_r}_{_i}", f"share of uniform LBP class {_i} (8 neighbours on the square ring at distance {_r}; class = number of "
                                 f"brighter neighbours, 9 = non-uniform) on the grey image")
for _d in (1, 4):
    _doc(f"glcm_contrast_d{_d}", f"log1p of GLCM contrast (32 grey levels, distance {_d}, mean of 4 angles)", 0, 7)
    _doc(f"glcm_dissimilarity_d{_d}", f"GLCM dissimilarity / 31 (distance {_d})")
    _doc(f"glcm_homogeneity_d{_d}", f"GLCM homogeneity (distance {_d})")
    _doc(f"glcm_energy_d{_d}", f"GLCM energy (distance {_d})")
    _doc(f"glcm_correlation_d{_d}", f"GLCM correlation (distance {_d})", -1, 1)
_doc("tex_edge_density", "share of Canny edge pixels (thresholds 50/150)")
_doc("tex_grad_mean", "mean Sobel gradient magnitude / 255", 0, 6)
_doc("tex_sharpness", "log10(1 + variance of the Laplacian)", 0, 7)
_doc("tex_noise", "median absolute difference between the grey image and its 3x3 median, / 255")
_doc("fft_low", "share of spectral energy (DC removed) at radial frequency < 0.1 of Nyquist")
_doc("fft_mid", "share of spectral energy at radial frequency 0.1-0.35 of Nyquist")
_doc("fft_high", "share of spectral energy at radial frequency >= 0.35 of Nyquist")
_doc("fft_axes", "share of spectral energy on the horizontal and vertical frequency axes (rules, stripes)")
_doc("fft_anisotropy", "|horizontal - vertical| axis energy / their sum (stripes in one direction)")
_doc("derm_corner_dark", "share of dark pixels (V < 0.15) in the four corner squares")
_doc("derm_centre_minus_corner", "mean value V of the centre minus that of the corners", -1, 1)
for _i, (_a, _b) in enumerate(((0, 0.3), (0.3, 0.6), (0.6, 0.85), (0.85, 1.0), (1.0, 1.5))):
    _doc(f"derm_ring_{_i}", f"mean V at normalised radius [{_a}, {_b}) from the centre (1 = inscribed ellipse, "
                            f"beyond 1 = corners) divided by the overall mean V, clipped", 0, 3)
_doc("derm_fov_round", "share of dark pixels outside the inscribed ellipse minus inside (round field of view)", -1, 1)
_doc("derm_centre_contrast", "Lab L of the periphery minus L of the centre, / 100 (dark centred lesion)", -1, 1)
_doc("derm_dark_offset", "distance of the centroid of the darkest 15% (inside the ellipse) from the centre, "
                         "/ half-diagonal")
_doc("derm_dark_spread", "spread (rms distance) of the darkest 15% around their centroid, / half-diagonal")
_doc("derm_hair", "share of pixels with a strong thin-dark-line (black-hat) response (hairs)")
_doc("derm_ruler", "strongest periodicity of the brightness profile along a border strip (ruler ticks)")
_doc("fg_share", "share of foreground (not paper-white) pixels")
_doc("fg_purple", "share of the foreground with haematoxylin-eosin purple/pink hues (tissue on a white slide)")
_doc("fg_skin", "share of the foreground with skin hues")
_doc("fg_hed_H", "mean haematoxylin density of the foreground, clipped", -0.5, 1)
_doc("fg_hed_E", "mean eosin density of the foreground, clipped", -0.5, 1)
_doc("fg_flat", "share of the foreground that is flat (3x3 range <= 3): drawings are filled with flat colour")
_doc("fg_edges", "share of the foreground on Canny edges")
_doc("fg_grey_std", "standard deviation of grey levels in the foreground / 128")
_doc("draw_n_colours", "log2(distinct colours on a 16x16x16 grid) / 12")
_doc("draw_top1", "share of the most frequent exact colour (5 bits per channel)")
_doc("draw_top5", "share of the 5 most frequent exact colours (5 bits per channel)")
_doc("draw_flat", "share of pixels whose 3x3 neighbourhood varies by <= 3 grey levels in every channel")
_doc("draw_achromatic", "share of pixels with Lab chroma < 6 (grey, black or white)")
_doc("draw_nonwhite_sat", "mean saturation of the pixels that are not paper-white")
_doc("draw_line_art", "share of edge pixels that touch a paper-white pixel (ink lines on a white ground)")
_doc("draw_rules", "share of edge pixels on long straight horizontal or vertical lines (tables, axes, boxes)")
_doc("draw_text", "text-like dark connected components on a light ground per 1000 pixels / 10")
_doc("draw_bimodal", "share of pixels in the two most populated of 16 grey-level bins")

FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)
N_FEATURES = len(FEATURE_NAMES)
_LO = np.array([FEATURES[n][1] for n in FEATURE_NAMES], np.float32)
_HI = np.array([FEATURES[n][2] for n in FEATURE_NAMES], np.float32)


class ImageDecodeError(ValueError):
    """The bytes are not an image this module can read."""


# --------------------------------------------------------------------------------------------- decoding
def to_rgb(img: Image.Image) -> np.ndarray:
    """Any PIL image -> HxWx3 uint8 RGB. 16-bit/32-bit/float greys are scaled by their own range (not
    clipped), transparency is composited on white, CMYK/YCbCr/palette go through Pillow's converters."""
    img = ImageOps.exif_transpose(img) if hasattr(img, "getexif") else img
    mode = img.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        a = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        a = np.zeros_like(a) if hi <= lo else (a - lo) / (hi - lo) * 255.0
        g = np.nan_to_num(a).round().astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2)
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    elif mode in ("PA", "La", "LA", "RGBa"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, img)
    arr = np.asarray(img.convert("RGB"))
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ImageDecodeError(f"unsupported image layout {arr.shape}")
    return np.ascontiguousarray(arr)


def decode_image(data: bytes, draft_side: int = 2 * WORK_SIDE) -> np.ndarray:
    """Encoded image bytes (PNG, JPEG, TIFF, ...) -> RGB uint8. JPEGs are decoded at a reduced scale when
    they are much larger than needed (Pillow's draft mode), which makes features of big photos cheap."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > MAX_DECODE_PIXELS:
                    raise ImageDecodeError(f"image too large ({im.width}x{im.height})")
                if im.format == "JPEG" and im.mode in ("RGB", "L", "CMYK"):
                    im.draft(im.mode, (draft_side, draft_side))
                im.load()
                return to_rgb(im)
    except ImageDecodeError:
        raise
    except Exception as exc:  # Pillow raises many types for bad bytes
        raise ImageDecodeError(f"cannot decode image: {type(exc).__name__}: {exc}") from None


def prepare(img: np.ndarray) -> np.ndarray:
    """RGB uint8 -> the working copy: longer side WORK_SIDE (area-averaged down, bilinear up), shorter side
    at least MIN_SIDE."""
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4) or img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {img.shape}")
    img = img[..., :3]
    if img.dtype != np.uint8:
        a = img.astype(np.float64)
        hi = float(a.max()) if a.size else 1.0
        img = (np.clip(a / (hi if hi > 255 else 255.0), 0, 1) * 255 if hi > 1 else np.clip(a, 0, 1) * 255).astype(np.uint8)
    h, w = img.shape[:2]
    scale = WORK_SIDE / max(h, w)
    nw, nh = max(MIN_SIDE, round(w * scale)), max(MIN_SIDE, round(h * scale))
    if (nw, nh) != (w, h):
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        img = cv2.resize(np.ascontiguousarray(img), (nw, nh), interpolation=interp)
    return np.ascontiguousarray(img)


# --------------------------------------------------------------------------------------------- features
def _moments(x: np.ndarray) -> tuple[float, float, float]:
    m = float(x.mean())
    s = float(x.std())
    sk = float(((x - m) ** 3).mean() / (s ** 3)) if s > 1e-6 else 0.0
    return m, s, sk


def _colour(img: np.ndarray, hsv: np.ndarray, lab: np.ndarray) -> list[float]:
    hue = hsv[..., 0].astype(np.float32) * 2.0
    sat = hsv[..., 1].astype(np.float32) / 255.0
    val = hsv[..., 2].astype(np.float32) / 255.0
    n = hue.size
    coloured = (sat > 0.15) & (val > 0.15)
    n_col = int(coloured.sum())
    hist = np.bincount((hue[coloured] // 30).astype(np.int64).clip(0, HUE_BINS - 1), minlength=HUE_BINS) / max(1, n_col)
    out = [n_col / n] + hist.tolist() + [float(sat.mean()), float(sat.std()), float(val.mean()), float(val.std())]
    L = lab[..., 0].astype(np.float32) * (100.0 / 255.0)
    a = lab[..., 1].astype(np.float32) - 128.0
    b = lab[..., 2].astype(np.float32) - 128.0
    for ch, scale in ((L, 100.0), (a, 128.0), (b, 128.0)):
        out += list(_moments(ch.ravel() / scale))
    out += (np.bincount((L.ravel() // 12.5).astype(np.int64).clip(0, 7), minlength=8) / n).tolist()
    chroma = np.sqrt(a * a + b * b)
    out.append(float(chroma.mean() / 128.0))
    r, g, bl = (img[..., k].astype(np.float32) for k in range(3))
    rg, yb = r - g, 0.5 * (r + g) - bl
    out.append(float((math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean())) / 100.0))
    out.append(float((coloured & ((hue <= 40) | (hue >= 345))).mean()))
    out.append(float((coloured & (hue >= 250) & (hue < 345)).mean()))
    out.append(float(((val > 0.92) & (sat < 0.08)).mean()))
    out.append(float((val < 0.12).mean()))
    return out


def _stain(hed: np.ndarray) -> list[float]:
    out = []
    for k in range(3):
        out += [float(hed[..., k].mean()), float(hed[..., k].std())]
    h, e = hed[..., 0].ravel(), hed[..., 1].ravel()
    out.append(float((h > 0.1).mean()))
    out.append(float((e > 0.02).mean()))
    hs, es = float(h.std()), float(e.std())
    out.append(float(np.mean((h - h.mean()) * (e - e.mean())) / (hs * es)) if hs > 1e-6 and es > 1e-6 else 0.0)
    return out


def _texture(gray: np.ndarray) -> list[float]:
    from skimage.feature import graycomatrix, graycoprops

    out: list[float] = []
    for r in (1, 3):
        out += _lbp_hist(gray, r).tolist()
    q = (gray // 8).astype(np.uint8)  # 32 levels
    glcm = graycomatrix(q, distances=[1, 4], angles=[0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=32,
                        symmetric=True, normed=True)
    props = {p: graycoprops(glcm, p).mean(axis=1) for p in ("contrast", "dissimilarity", "homogeneity", "energy", "correlation")}
    for di in range(2):
        out += [float(np.log1p(props["contrast"][di])), float(props["dissimilarity"][di] / 31.0),
                float(props["homogeneity"][di]), float(props["energy"][di]),
                float(np.nan_to_num(props["correlation"][di], nan=1.0))]
    edges = cv2.Canny(gray, 50, 150)
    out.append(float((edges > 0).mean()))
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    out.append(float(np.sqrt(gx * gx + gy * gy).mean() / 255.0))
    out.append(float(np.log10(1.0 + cv2.Laplacian(gray, cv2.CV_32F).var())))
    out.append(float(np.median(np.abs(gray.astype(np.int16) - cv2.medianBlur(gray, 3).astype(np.int16))) / 255.0))
    out += _spectrum(gray)
    return out


def _uniform_lut() -> np.ndarray:
    """8-bit LBP code -> rotation-invariant uniform class: number of set bits (0-8) when the circular bit
    string has at most two 0/1 transitions, else 9 (as skimage's ``method="uniform"``)."""
    lut = np.empty(256, np.uint8)
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(8)]
        transitions = sum(bits[i] != bits[(i + 1) % 8] for i in range(8))
        lut[code] = sum(bits) if transitions <= 2 else 9
    return lut


_LBP_LUT = _uniform_lut()


def _lbp_hist(gray: np.ndarray, r: int) -> np.ndarray:
    """Histogram of uniform local binary patterns with 8 neighbours on the square ring at distance ``r``
    (edge pixels replicated): 10 shares summing to 1."""
    g = gray.astype(np.int16)
    p = np.pad(g, r, mode="edge")
    h, w = g.shape
    code = np.zeros((h, w), np.uint8)
    for bit, (dy, dx) in enumerate(((0, r), (-r, r), (-r, 0), (-r, -r), (0, -r), (r, -r), (r, 0), (r, r))):
        code |= ((p[r + dy : r + dy + h, r + dx : r + dx + w] >= g).astype(np.uint8) << bit)
    return np.bincount(_LBP_LUT[code].ravel(), minlength=10)[:10] / code.size


def _spectrum(gray: np.ndarray) -> list[float]:
    g = gray.astype(np.float32)
    g -= g.mean()
    h, w = g.shape
    win = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32) if min(h, w) > 2 else np.ones_like(g)
    p = np.abs(np.fft.fftshift(np.fft.fft2(g * win))) ** 2
    cy, cx = h // 2, w // 2
    p[cy, cx] = 0.0
    total = float(p.sum())
    if total <= 0:
        return [0.0] * 5
    fy = (np.arange(h) - cy) / max(1, h / 2)
    fx = (np.arange(w) - cx) / max(1, w / 2)
    rad = np.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    low = float(p[rad < 0.1].sum() / total)
    mid = float(p[(rad >= 0.1) & (rad < 0.35)].sum() / total)
    high = float(p[rad >= 0.35].sum() / total)
    horiz = float(p[cy, :].sum())  # energy of patterns varying along x (vertical stripes / vertical rules)
    vert = float(p[:, cx].sum())
    axes = (horiz + vert) / total
    aniso = abs(horiz - vert) / (horiz + vert) if horiz + vert > 0 else 0.0
    return [low, mid, high, axes, aniso]


def _dermoscopy(gray: np.ndarray, val: np.ndarray, L: np.ndarray) -> list[float]:
    h, w = gray.shape
    c = max(2, min(h, w) // 8)
    corners = np.concatenate([val[:c, :c].ravel(), val[:c, -c:].ravel(), val[-c:, :c].ravel(), val[-c:, -c:].ravel()])
    centre = val[h // 4 : h - h // 4, w // 4 : w - w // 4]
    out = [float((corners < 0.15).mean()), float(centre.mean() - corners.mean()) if centre.size else 0.0]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ny = (yy - (h - 1) / 2) / (h / 2)
    nx = (xx - (w - 1) / 2) / (w / 2)
    r = np.sqrt(nx * nx + ny * ny)
    mean_v = float(val.mean()) + 1e-3
    for a, b in ((0, 0.3), (0.3, 0.6), (0.6, 0.85), (0.85, 1.0), (1.0, 1.5)):
        m = (r >= a) & (r < b)
        out.append(float(val[m].mean() / mean_v) if m.any() else 1.0)
    inside, outside = r < 0.9, r > 1.02
    dark = val < 0.15
    out.append(float(dark[outside].mean() - dark[inside].mean()) if outside.any() and inside.any() else 0.0)
    cen, per = r < 0.35, (r >= 0.5) & (r < 0.9)
    out.append(float((L[per].mean() - L[cen].mean()) / 100.0) if cen.any() and per.any() else 0.0)
    ins = L[inside]
    if ins.size > 10:
        thr = np.percentile(ins, 15)
        m = inside & (L <= thr) & ~dark
        if m.sum() > 3:
            my, mx = float(ny[m].mean()), float(nx[m].mean())
            out.append(min(1.0, math.hypot(my, mx) / math.sqrt(2)))
            out.append(min(1.0, float(np.sqrt(((ny[m] - my) ** 2 + (nx[m] - mx) ** 2).mean())) / math.sqrt(2)))
        else:
            out += [0.0, 0.0]
    else:
        out += [0.0, 0.0]
    k = max(5, (min(h, w) // 32) | 1)
    bh = np.zeros_like(gray)
    for kern in (np.ones((1, k), np.uint8), np.ones((k, 1), np.uint8), np.eye(k, dtype=np.uint8),
                 np.fliplr(np.eye(k, dtype=np.uint8)).copy()):
        bh = np.maximum(bh, cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kern))
    out.append(float((bh > 30).mean()))
    out.append(_ruler(gray))
    return out


def _ruler(gray: np.ndarray) -> float:
    """Strongest periodic component (period 3-32 px) of the brightness profile along any border strip."""
    h, w = gray.shape
    s = max(2, min(h, w) // 10)
    best = 0.0
    for prof in (gray[:s].mean(0), gray[-s:].mean(0), gray[:, :s].mean(1), gray[:, -s:].mean(1)):
        n = prof.size
        if n < 32:
            continue
        x = prof.astype(np.float64) - prof.mean()
        x = x - np.convolve(x, np.ones(33) / 33, mode="same")  # remove slow trends
        p = np.abs(np.fft.rfft(x * np.hanning(n))) ** 2
        tot = p[1:].sum()
        if tot <= 0:
            continue
        f = np.arange(p.size) / n
        band = (f > 1 / 32) & (f <= 1 / 3)
        if band.any():
            best = max(best, float(p[band].max() / tot))
    return best


def _foreground(gray: np.ndarray, hsv: np.ndarray, hed: np.ndarray, flat: np.ndarray, edges: np.ndarray) -> list[float]:
    hue = hsv[..., 0].astype(np.float32) * 2.0
    sat = hsv[..., 1].astype(np.float32) / 255.0
    val = hsv[..., 2].astype(np.float32) / 255.0
    fg = ~((val > 0.92) & (sat < 0.08))
    n_fg = int(fg.sum())
    if n_fg < 16:
        return [n_fg / gray.size, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    coloured = fg & (sat > 0.15) & (val > 0.15)
    return [
        n_fg / gray.size,
        float((coloured & (hue >= 250) & (hue < 345)).sum() / n_fg),
        float((coloured & ((hue <= 40) | (hue >= 345))).sum() / n_fg),
        float(hed[..., 0][fg].mean()),
        float(hed[..., 1][fg].mean()),
        float(flat[fg].mean()),
        float(edges[fg].mean()),
        float(gray[fg].std() / 128.0),
    ]


def _flat(img: np.ndarray) -> np.ndarray:
    k = np.ones((3, 3), np.uint8)
    return (cv2.dilate(img, k) - cv2.erode(img, k)).max(axis=2) <= 3


def _drawing(img: np.ndarray, gray: np.ndarray, hsv: np.ndarray, lab: np.ndarray) -> list[float]:
    n = gray.size
    q4 = (img >> 4).astype(np.int32)
    n_col = len(np.unique(q4[..., 0] * 256 + q4[..., 1] * 16 + q4[..., 2]))
    q5 = (img >> 3).astype(np.int32)
    counts = np.sort(np.bincount((q5[..., 0] * 1024 + q5[..., 1] * 32 + q5[..., 2]).ravel()))[::-1]
    out = [math.log2(max(1, n_col)) / 12.0, float(counts[0] / n), float(counts[:5].sum() / n)]
    k = np.ones((3, 3), np.uint8)
    out.append(float(_flat(img).mean()))
    a = lab[..., 1].astype(np.float32) - 128.0
    b = lab[..., 2].astype(np.float32) - 128.0
    out.append(float((np.sqrt(a * a + b * b) < 6).mean()))
    sat = hsv[..., 1].astype(np.float32) / 255.0
    val = hsv[..., 2].astype(np.float32) / 255.0
    white = (val > 0.92) & (sat < 0.08)
    nonwhite = ~white
    out.append(float(sat[nonwhite].mean()) if nonwhite.any() else 0.0)
    edges = cv2.Canny(gray, 50, 150) > 0
    n_e = int(edges.sum())
    near_white = cv2.dilate(white.astype(np.uint8), k) > 0
    out.append(float((edges & near_white).sum() / n_e) if n_e else 0.0)
    h, w = gray.shape
    e8 = edges.astype(np.uint8)
    lh = cv2.morphologyEx(e8, cv2.MORPH_OPEN, np.ones((1, max(3, w // 5)), np.uint8))
    lv = cv2.morphologyEx(e8, cv2.MORPH_OPEN, np.ones((max(3, h // 5), 1), np.uint8))
    out.append(float(((lh | lv) > 0).sum() / n_e) if n_e else 0.0)
    out.append(_text_density(gray))
    hist = np.sort(np.bincount((gray >> 4).ravel(), minlength=16))[::-1]
    out.append(float(hist[:2].sum() / n))
    return out


def _text_density(gray: np.ndarray) -> float:
    """Dark, small, roughly glyph-shaped components on a light ground, per 1000 pixels (/10, clipped)."""
    if float(np.median(gray)) < 150:
        return 0.0
    ink = (gray < min(140, int(np.median(gray)) - 60)).astype(np.uint8)
    n, _lab, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return 0.0
    st = stats[1:]
    ww, hh, area = st[:, 2], st[:, 3], st[:, 4]
    glyph = (hh >= 2) & (hh <= 16) & (ww >= 1) & (ww <= 3 * hh + 2) & (area >= 2) & (area <= 0.9 * ww * hh + 1)
    return float(glyph.sum() / (gray.size / 1000.0) / 10.0)


def features_of_prepared(img: np.ndarray) -> np.ndarray:
    """Features of an already :func:`prepare`-d RGB uint8 image, in ``FEATURE_NAMES`` order (float32)."""
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB)
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    val = hsv[..., 2].astype(np.float32) / 255.0
    L = lab[..., 0].astype(np.float32) * (100.0 / 255.0)
    from skimage.color import rgb2hed

    hed = rgb2hed(img).astype(np.float32)  # optical densities, ~0 for white
    fg = _foreground(gray, hsv, hed, _flat(img), cv2.Canny(gray, 50, 150) > 0)
    vec = (_colour(img, hsv, lab) + _stain(hed) + _texture(gray) + _dermoscopy(gray, val, L) + fg
           + _drawing(img, gray, hsv, lab))
    if len(vec) != N_FEATURES:  # pragma: no cover - a programming error caught by the tests
        raise AssertionError(f"{len(vec)} features computed, {N_FEATURES} documented")
    x = np.nan_to_num(np.asarray(vec, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(x, _LO, _HI)


def image_features(img: np.ndarray) -> np.ndarray:
    """RGB image (any size, uint8 preferred) -> feature vector in ``FEATURE_NAMES`` order."""
    return features_of_prepared(prepare(img))


def features_from_bytes(data: bytes) -> np.ndarray:
    """Encoded image bytes -> feature vector (raises :class:`ImageDecodeError` for unreadable bytes)."""
    return image_features(decode_image(data))


def as_dict(vec: np.ndarray) -> dict[str, float]:
    """Feature vector -> {name: value}, for inspection."""
    return {n: float(v) for n, v in zip(FEATURE_NAMES, vec)}
