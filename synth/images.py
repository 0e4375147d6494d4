"""Procedural image generators for synthetic dermatology-textbook figures.

Every generator has the signature ``make_X(rng, size=(w, h), **options) -> PIL.Image``
(RGB) and is deterministic given the state of ``rng`` (a ``numpy.random.Generator``).
No external images, fonts or data are used: only numpy/OpenCV maths and Pillow's
built-in default font.

Modalities (and their intended colour/texture signature):

- ``clinical``   skin-tone field, low-contrast pore/grain texture, soft lighting and an
                 irregular lesion (plaque, macule, scaly patch, vesicles, nodule, ...).
- ``dermoscopy`` circular field of view on black, bright even illumination, centred
                 pigmented lesion with reticular network/globules, maybe hairs.
- ``pathology``  H&E look: pink eosin fibres, many small purple nuclei, an epidermal band.
- ``diagram``    white background line art with labels.
- ``chart``      bar/line chart with axes.
- ``table_image`` rendered table grid with text.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

Size = Tuple[int, int]

__all__ = [
    "GENERATORS",
    "CLINICAL_KINDS",
    "SKIN_TONES",
    "make_chart",
    "make_clinical",
    "make_dermoscopy",
    "make_diagram",
    "make_image",
    "make_logo",
    "make_pathology",
    "make_table_image",
    "add_overlay",
]

# Fitzpatrick-like skin tones (linear 0..1 RGB, roughly sRGB values / 255).
SKIN_TONES = np.array(
    [
        (0.96, 0.84, 0.76),
        (0.92, 0.75, 0.64),
        (0.84, 0.63, 0.49),
        (0.70, 0.50, 0.35),
        (0.50, 0.34, 0.24),
        (0.34, 0.23, 0.17),
    ],
    dtype=np.float32,
)

CLINICAL_KINDS = ("plaque", "macule", "scaly", "vesicles", "nodule", "annular", "melanoma", "wheals")


# --------------------------------------------------------------------------- helpers
def _font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled default font (no system font dependency)."""
    return ImageFont.load_default(size=size)


def _fbm(rng: np.random.Generator, h: int, w: int, base: float = 4.0, octaves: int = 4,
         persistence: float = 0.5) -> np.ndarray:
    """Fractal value noise, zero mean, unit std, float32 (h, w)."""
    out = np.zeros((h, w), np.float32)
    amp = 1.0
    longest = max(h, w)
    for o in range(octaves):
        cells = base * (2 ** o)
        gh = max(2, int(math.ceil(h * cells / longest)) + 2)
        gw = max(2, int(math.ceil(w * cells / longest)) + 2)
        g = rng.standard_normal((gh, gw)).astype(np.float32)
        out += amp * cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
        amp *= persistence
    out -= out.mean()
    sd = float(out.std())
    return out / (sd if sd > 1e-6 else 1.0)


def _grid(h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return xx, yy


def _blob(rng: np.random.Generator, h: int, w: int, cx: float, cy: float, r: float,
          irregular: float = 0.3, soft: float = 2.0, edge_noise: float = 0.08,
          xx: Optional[np.ndarray] = None, yy: Optional[np.ndarray] = None):
    """Irregular blob. Returns (mask 0..1, normalised radial distance d/r(theta))."""
    if xx is None or yy is None:
        xx, yy = _grid(h, w)
    dx, dy = xx - cx, yy - cy
    theta = np.arctan2(dy, dx)
    d = np.sqrt(dx * dx + dy * dy)
    rad = np.ones_like(theta)
    for k in range(2, 8):
        rad += irregular * float(rng.uniform(0.2, 1.0)) / k * np.sin(k * theta + float(rng.uniform(0, 2 * math.pi)))
    rad = r * np.clip(rad, 0.35, None) * (1.0 + edge_noise * _fbm(rng, h, w, base=6, octaves=3))
    rad = np.maximum(rad, 1.0)
    mask = np.clip((rad - d) / soft + 0.5, 0.0, 1.0)
    return mask.astype(np.float32), (d / rad).astype(np.float32)


def _mix(img: np.ndarray, color, alpha: np.ndarray) -> np.ndarray:
    """img*(1-a) + color*a, where color is RGB triple or (h,w,3) array."""
    a = alpha[..., None] if alpha.ndim == 2 else alpha
    return img * (1.0 - a) + np.asarray(color, np.float32) * a


def _to_image(img: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGB")


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _skin_tone(rng: np.random.Generator, tone: Optional[float]) -> np.ndarray:
    t = float(rng.uniform(0, len(SKIN_TONES) - 1)) if tone is None else float(tone)
    i = int(min(max(math.floor(t), 0), len(SKIN_TONES) - 2))
    f = t - i
    c = SKIN_TONES[i] * (1 - f) + SKIN_TONES[i + 1] * f
    return np.clip(c * rng.uniform(0.97, 1.03, 3).astype(np.float32), 0, 1).astype(np.float32)


# --------------------------------------------------------------------------- clinical
def make_clinical(rng: np.random.Generator, size: Size = (512, 384), kind: Optional[str] = None,
                  tone: Optional[float] = None) -> Image.Image:
    """Clinical photograph of skin with one lesion.

    kind: one of CLINICAL_KINDS (random if None); tone: 0 (very fair) .. 5 (very dark).
    """
    w, h = int(size[0]), int(size[1])
    kind = kind or str(rng.choice(CLINICAL_KINDS))
    if kind not in CLINICAL_KINDS:
        raise ValueError(f"unknown clinical kind {kind!r}")
    base = _skin_tone(rng, tone)
    xx, yy = _grid(h, w)
    xn, yn = (xx - w / 2) / max(w, h), (yy - h / 2) / max(w, h)

    # soft directional light + gentle falloff (curved body surface)
    a = float(rng.uniform(0, 2 * math.pi))
    light = 1.0 + 0.16 * (xn * math.cos(a) + yn * math.sin(a))
    light *= 1.0 - 0.35 * (xn * xn + yn * yn) * float(rng.uniform(0.6, 1.4))
    tex = 0.035 * _fbm(rng, h, w, base=3, octaves=4) + 0.018 * _fbm(rng, h, w, base=40, octaves=2)
    img = base[None, None, :] * (light * (1.0 + tex))[..., None]

    # skin creases: faint oriented lines warped by noise
    ca = float(rng.uniform(0, math.pi))
    period = float(rng.uniform(14, 26)) * max(w, h) / 512
    u = (xx * math.cos(ca) + yy * math.sin(ca)) / period * 2 * math.pi + 2.5 * _fbm(rng, h, w, base=3, octaves=2)
    creases = np.exp(-((np.abs(np.sin(u)) / 0.08) ** 2)) * (0.5 + 0.5 * _fbm(rng, h, w, base=5, octaves=2)).clip(0, 1)
    img *= (1.0 - 0.05 * creases)[..., None]

    # pores / follicular openings
    n_pores = int(w * h / 220)
    pores = np.zeros((h, w), np.float32)
    pores[rng.integers(0, h, n_pores), rng.integers(0, w, n_pores)] = rng.uniform(0.4, 1.0, n_pores).astype(np.float32)
    pores = cv2.GaussianBlur(pores, (0, 0), 0.9) * 3.0
    img *= (1.0 - 0.18 * np.clip(pores, 0, 1))[..., None]

    # ----- lesion
    m = min(w, h)
    cx = w / 2 + float(rng.uniform(-0.12, 0.12)) * w
    cy = h / 2 + float(rng.uniform(-0.12, 0.12)) * h
    r = float(rng.uniform(0.2, 0.3)) * m
    dark_skin = float(base.mean()) < 0.5
    if kind in ("plaque", "scaly"):
        mask, dn = _blob(rng, h, w, cx, cy, r, irregular=0.35, soft=4.0, xx=xx, yy=yy)
        if kind == "plaque":
            ery = base * np.array([1.0, 0.55, 0.55], np.float32) if not dark_skin else base * np.array([0.8, 0.55, 0.62], np.float32)
        else:
            ery = base * np.array([1.0, 0.76, 0.72], np.float32)
        var = 1.0 + 0.1 * _fbm(rng, h, w, base=10, octaves=4)
        img = _mix(img, ery[None, None, :] * var[..., None] * light[..., None], mask * (0.8 + 0.12 * _smoothstep(1.0, 0.7, dn)))
        # raised edge shading
        edge = np.clip(1.0 - np.abs(dn - 0.95) / 0.08, 0, 1) * mask
        img *= (1.0 - 0.12 * edge)[..., None]
        sc = _fbm(rng, h, w, base=28, octaves=3)
        thr = 0.55 if kind == "plaque" else 0.1
        flakes = _smoothstep(thr, thr + 0.6, sc) * mask * _smoothstep(1.0, 0.6, dn)
        img = _mix(img, (0.93, 0.91, 0.88), flakes * (0.75 if kind == "plaque" else 0.85))
        if kind == "scaly":
            cracks = np.exp(-((_fbm(rng, h, w, base=14, octaves=2) / 0.12) ** 2)) * mask
            img *= (1.0 - 0.22 * cracks)[..., None]
    elif kind in ("macule", "melanoma"):
        soft = float(rng.uniform(3, 8)) if kind == "macule" else 2.0
        mask, dn = _blob(rng, h, w, cx, cy, r * (0.8 if kind == "melanoma" else 1.0),
                         irregular=0.25 if kind == "macule" else 0.7, soft=soft, xx=xx, yy=yy)
        brown = base * np.array([0.66, 0.52, 0.42], np.float32)
        var = 1.0 + 0.06 * _fbm(rng, h, w, base=8, octaves=3)
        img = _mix(img, brown[None, None, :] * var[..., None] * light[..., None], mask)
        if kind == "melanoma":
            n1 = _fbm(rng, h, w, base=5, octaves=3)
            dark = _smoothstep(0.0, 1.2, n1) * mask
            img = _mix(img, (0.16, 0.1, 0.08), dark * 0.85)
            blue = _smoothstep(0.9, 1.8, _fbm(rng, h, w, base=4, octaves=2)) * mask
            img = _mix(img, (0.42, 0.45, 0.55), blue * 0.6)
            red = _smoothstep(0.8, 1.6, _fbm(rng, h, w, base=6, octaves=2)) * mask
            img = _mix(img, (0.7, 0.35, 0.35), red * 0.5)
    elif kind == "annular":
        mask_o, dn = _blob(rng, h, w, cx, cy, r * 1.2, irregular=0.2, soft=2.5, xx=xx, yy=yy)
        ring = mask_o * _smoothstep(0.55, 0.85, dn)
        ery = base * np.array([0.98, 0.6, 0.58], np.float32)
        img = _mix(img, ery[None, None, :] * light[..., None], ring * 0.9)
        img = _mix(img, base * np.array([0.97, 0.85, 0.82], np.float32), mask_o * (1 - ring) * 0.5)
        sc = _smoothstep(0.4, 1.2, _fbm(rng, h, w, base=30, octaves=2)) * ring
        img = _mix(img, (0.92, 0.9, 0.86), sc * 0.7)
    elif kind == "nodule":
        mask, dn = _blob(rng, h, w, cx, cy, r * 0.7, irregular=0.15, soft=2.0, xx=xx, yy=yy)
        pearl = np.clip(base * np.array([1.02, 0.86, 0.86], np.float32) + 0.05, 0, 1)
        img = _mix(img, pearl, mask * 0.85)
        # dome shading + specular
        lx, ly = math.cos(a + math.pi), math.sin(a + math.pi)
        dx, dy = (xx - cx) / (r * 0.7), (yy - cy) / (r * 0.7)
        shade = np.clip(1.0 - 0.25 * (dx * -lx + dy * -ly) - 0.15 * dn * dn, 0.6, 1.2)
        img = img * (1 - mask[..., None]) + img * (shade * mask)[..., None]
        spec = np.exp(-(((dx - 0.35 * lx) ** 2 + (dy - 0.35 * ly) ** 2) / 0.03)) * mask
        img = _mix(img, (1.0, 0.98, 0.96), spec * 0.55)
        tel = np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(4, 9))):
            pts = [(cx + float(rng.uniform(-1, 1)) * r * 0.6, cy + float(rng.uniform(-1, 1)) * r * 0.6)]
            ang = float(rng.uniform(0, 2 * math.pi))
            for _s in range(6):
                ang += float(rng.normal(0, 0.5))
                px, py = pts[-1]
                pts.append((px + math.cos(ang) * r * 0.12, py + math.sin(ang) * r * 0.12))
            cv2.polylines(tel, [np.array(pts, np.int32)], False, 1.0, 1, cv2.LINE_AA)
        img = _mix(img, (0.75, 0.2, 0.25), tel * mask * 0.7)
    elif kind == "vesicles":
        mask, dn = _blob(rng, h, w, cx, cy, r * 1.1, irregular=0.4, soft=10.0, xx=xx, yy=yy)
        ery = base * np.array([1.0, 0.65, 0.63], np.float32)
        img = _mix(img, ery, mask * 0.7)
        n_ves = int(rng.integers(10, 26))
        lx, ly = math.cos(a + math.pi), math.sin(a + math.pi)
        for _ in range(n_ves):
            vr = float(rng.uniform(0.018, 0.045)) * m
            ang, dist = float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 0.85)) * r
            vx, vy = cx + math.cos(ang) * dist, cy + math.sin(ang) * dist
            x0, x1 = max(int(vx - 2 * vr), 0), min(int(vx + 2 * vr) + 1, w)
            y0, y1 = max(int(vy - 2 * vr), 0), min(int(vy + 2 * vr) + 1, h)
            if x1 <= x0 or y1 <= y0:
                continue
            sx, sy = (xx[y0:y1, x0:x1] - vx) / vr, (yy[y0:y1, x0:x1] - vy) / vr
            rr = np.sqrt(sx * sx + sy * sy)
            halo = np.clip(1.6 - rr, 0, 1) * 0.5
            sub = _mix(img[y0:y1, x0:x1], (0.8, 0.3, 0.3), halo)
            dome = np.clip((1.0 - rr) * vr / 1.2 + 0.5, 0, 1)
            fluid = np.array((0.95, 0.9, 0.76), np.float32)
            sub = _mix(sub, fluid * (0.9 + 0.1 * (-(sx * lx + sy * ly)))[..., None], dome * 0.75)
            spec = np.exp(-(((sx - 0.4 * lx) ** 2 + (sy - 0.4 * ly) ** 2) / 0.05)) * dome
            img[y0:y1, x0:x1] = _mix(sub, (1.0, 1.0, 1.0), spec * 0.9)
    elif kind == "wheals":
        for _ in range(int(rng.integers(2, 5))):
            wx, wy = float(rng.uniform(0.2, 0.8)) * w, float(rng.uniform(0.2, 0.8)) * h
            mask, dn = _blob(rng, h, w, wx, wy, r * float(rng.uniform(0.4, 0.9)), irregular=0.5, soft=6.0, xx=xx, yy=yy)
            halo = mask * _smoothstep(0.6, 1.0, dn)
            img = _mix(img, base * np.array([1.0, 0.62, 0.62], np.float32), halo * 0.8)
            img = _mix(img, np.clip(base * np.array([1.02, 0.9, 0.88], np.float32) + 0.03, 0, 1),
                       mask * (1 - halo) * 0.7)

    img += rng.normal(0.0, 0.012, (h, w, 1)).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), 0.6)
    return _to_image(img)


# --------------------------------------------------------------------------- dermoscopy
def make_dermoscopy(rng: np.random.Generator, size: Size = (512, 512), hairs: Optional[int] = None,
                    pattern: Optional[str] = None) -> Image.Image:
    """Dermoscopy: circular field of view, black corners, centred pigmented lesion.

    pattern: "reticular", "globular" or "atypical" (random if None).
    """
    w, h = int(size[0]), int(size[1])
    pattern = pattern or str(rng.choice(["reticular", "globular", "atypical"]))
    xx, yy = _grid(h, w)
    m = min(w, h)
    fx, fy = w / 2 + float(rng.uniform(-0.02, 0.02)) * w, h / 2 + float(rng.uniform(-0.02, 0.02)) * h
    R = 0.5 * m * float(rng.uniform(0.93, 1.0))
    dfov = np.sqrt((xx - fx) ** 2 + (yy - fy) ** 2) / R

    skin = np.array((0.9, 0.7, 0.62), np.float32) * rng.uniform(0.95, 1.04, 3).astype(np.float32)
    img = skin[None, None, :] * (1.0 + 0.04 * _fbm(rng, h, w, base=4, octaves=3))[..., None]
    img *= (1.0 - 0.45 * np.clip(dfov, 0, 1) ** 3)[..., None]
    # faint skin furrow pattern
    furrow = np.exp(-((_fbm(rng, h, w, base=10, octaves=2) / 0.1) ** 2))
    img *= (1.0 - 0.06 * furrow)[..., None]

    cx, cy = fx + float(rng.uniform(-0.06, 0.06)) * m, fy + float(rng.uniform(-0.06, 0.06)) * m
    r = float(rng.uniform(0.22, 0.32)) * m
    mask, dn = _blob(rng, h, w, cx, cy, r, irregular=0.3 if pattern != "atypical" else 0.65, soft=7.0, xx=xx, yy=yy)
    light_brown = np.array((0.68, 0.45, 0.3), np.float32)
    dark_brown = np.array((0.36, 0.2, 0.12), np.float32)
    t = np.clip(1.0 - dn, 0, 1) ** 0.7
    t = np.clip(t + 0.15 * _fbm(rng, h, w, base=6, octaves=3), 0, 1)
    pig = light_brown[None, None, :] * (1 - t[..., None]) + dark_brown[None, None, :] * t[..., None]
    fade = _smoothstep(1.0, 0.75, dn)
    img = _mix(img, pig, mask * (0.55 + 0.4 * fade))

    # reticular pigment network: Voronoi cell borders of jittered seeds (honeycomb mesh)
    spacing = float(rng.uniform(10, 15)) * m / 512
    seeds = np.full((h, w), 255, np.uint8)
    gy_, gx_ = np.mgrid[0:h:spacing, 0:w:spacing]
    sx_ = np.clip(gx_ + rng.uniform(-0.45, 0.45, gx_.shape) * spacing, 0, w - 1).astype(int).ravel()
    sy_ = np.clip(gy_ + rng.uniform(-0.45, 0.45, gy_.shape) * spacing, 0, h - 1).astype(int).ravel()
    seeds[sy_, sx_] = 0
    _, labels = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    border = np.zeros((h, w), np.float32)
    border[:, 1:] += labels[:, 1:] != labels[:, :-1]
    border[1:, :] += labels[1:, :] != labels[:-1, :]
    net = np.clip(cv2.GaussianBlur(np.clip(border, 0, 1), (0, 0), 0.9 * m / 512) * 2.2, 0, 1)
    strength = 0.7 if pattern in ("reticular", "atypical") else 0.3
    strength = strength * np.clip(0.75 + 0.35 * _fbm(rng, h, w, base=5, octaves=2), 0.15, 1.2)
    if pattern == "atypical":
        strength = strength * np.clip(0.6 + 0.6 * _fbm(rng, h, w, base=4, octaves=2), 0.1, 1.2)
    img = _mix(img, (0.25, 0.14, 0.09), net * mask * strength * _smoothstep(1.05, 0.5, dn))

    # globules / dots
    n_glob = int(rng.integers(30, 70)) if pattern == "globular" else int(rng.integers(5, 25))
    glob = np.zeros((h, w), np.float32)
    placed = 0
    for _ in range(n_glob * 6):
        if placed >= n_glob:
            break
        gx, gy = int(rng.integers(0, w)), int(rng.integers(0, h))
        if mask[gy, gx] < 0.9 or (pattern != "globular" and dn[gy, gx] > 0.85 and rng.random() < 0.5):
            continue
        gr = float(rng.uniform(1.5, 4.5)) * m / 512
        cv2.circle(glob, (gx, gy), max(1, int(round(gr))), float(rng.uniform(0.6, 1.0)), -1, cv2.LINE_AA)
        placed += 1
    glob = cv2.GaussianBlur(glob, (0, 0), 0.8)
    img = _mix(img, (0.2, 0.1, 0.07), np.clip(glob, 0, 1) * 0.9)
    if pattern == "atypical":
        veil = _smoothstep(0.7, 1.6, _fbm(rng, h, w, base=4, octaves=2)) * mask
        img = _mix(img, (0.5, 0.56, 0.68), veil * 0.65)
        reg = _smoothstep(0.9, 1.7, _fbm(rng, h, w, base=5, octaves=2)) * mask
        img = _mix(img, (0.93, 0.88, 0.88), reg * 0.6)

    # hairs
    n_hairs = int(rng.integers(0, 5)) if hairs is None else int(hairs)
    hair = np.zeros((h, w), np.float32)
    for _ in range(n_hairs):
        p0 = np.array((rng.uniform(0, w), rng.uniform(0, h)))
        ang_h = float(rng.uniform(0, 2 * math.pi))
        length = float(rng.uniform(0.5, 1.2)) * m
        p3 = p0 + length * np.array((math.cos(ang_h), math.sin(ang_h)))
        c1 = p0 + (p3 - p0) / 3 + rng.normal(0, 0.1 * m, 2)
        c2 = p0 + 2 * (p3 - p0) / 3 + rng.normal(0, 0.1 * m, 2)
        ts = np.linspace(0, 1, 40)[:, None]
        pts = ((1 - ts) ** 3) * p0 + 3 * ((1 - ts) ** 2) * ts * c1 + 3 * (1 - ts) * ts * ts * c2 + ts ** 3 * p3
        cv2.polylines(hair, [pts.astype(np.int32)], False, 1.0, int(rng.integers(1, 4)), cv2.LINE_AA)
    img = _mix(img, (0.1, 0.07, 0.05), hair * 0.92)

    # specular noise, field of view and black corners
    img += rng.normal(0.0, 0.01, (h, w, 1)).astype(np.float32)
    fov = np.clip((1.0 - dfov) * R / 2.0 + 0.5, 0, 1)
    img = img * fov[..., None] + 0.015 * (1 - fov[..., None])
    img = cv2.GaussianBlur(img, (0, 0), 0.5)
    return _to_image(img)


# --------------------------------------------------------------------------- pathology
def make_pathology(rng: np.random.Generator, size: Size = (512, 384), epidermis: bool = True,
                   infiltrate: Optional[bool] = None) -> Image.Image:
    """H&E-like section: eosin fibres, haematoxylin nuclei, epidermal band near the top."""
    w, h = int(size[0]), int(size[1])
    xx, yy = _grid(h, w)
    sc = max(w, h) / 512.0

    # dermal collagen: noise blurred along a random direction, warped
    ang = float(rng.uniform(0, math.pi))
    klen = max(5, int(17 * sc)) | 1
    kern = np.zeros((klen, klen), np.float32)
    c = klen // 2
    cv2.line(kern, (int(c - math.cos(ang) * c), int(c - math.sin(ang) * c)),
             (int(c + math.cos(ang) * c), int(c + math.sin(ang) * c)), 1.0, 1)
    kern /= kern.sum()
    raw = rng.standard_normal((h, w)).astype(np.float32)
    fib = cv2.filter2D(raw, -1, kern)
    mx = (xx + 6 * sc * _fbm(rng, h, w, base=3, octaves=2)).astype(np.float32)
    my = (yy + 6 * sc * _fbm(rng, h, w, base=3, octaves=2)).astype(np.float32)
    fib = cv2.remap(fib, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    fib = fib / (fib.std() + 1e-6)
    pale = np.array((0.97, 0.8, 0.88), np.float32)
    deep = np.array((0.86, 0.44, 0.64), np.float32)
    t = np.clip(0.5 + 0.28 * fib + 0.12 * _fbm(rng, h, w, base=4, octaves=3), 0, 1)
    img = pale[None, None, :] * (1 - t[..., None]) + deep[None, None, :] * t[..., None]
    clefts = _smoothstep(1.0, 1.6, _fbm(rng, h, w, base=7, octaves=3))
    img = _mix(img, (0.98, 0.95, 0.97), clefts * 0.9)

    nuc = np.zeros((h, w), np.float32)

    def ellipses(xs, ys, ax0, ax1, angs, vals):
        for x, y, a0, a1, an, vv in zip(xs, ys, ax0, ax1, angs, vals):
            cv2.ellipse(nuc, (int(x), int(y)), (max(1, int(round(a0))), max(1, int(round(a1)))),
                        float(an), 0, 360, float(vv), -1, cv2.LINE_AA)

    if epidermis:
        y0 = float(rng.uniform(0.12, 0.3)) * h
        xs1 = np.arange(w, dtype=np.float32)
        top = y0 + 6 * sc * np.sin(xs1 / (w / float(rng.uniform(1, 3))) * 2 * math.pi + float(rng.uniform(0, 6)))
        thick = float(rng.uniform(0.12, 0.2)) * h
        bottom = top + thick
        spacing = float(rng.uniform(40, 70)) * sc
        x_r = float(rng.uniform(0, spacing))
        while x_r < w + spacing:
            depth = float(rng.uniform(0.6, 1.4)) * thick * 0.9
            width = float(rng.uniform(8, 16)) * sc
            bottom = bottom + depth * np.exp(-(((xs1 - x_r) / width) ** 2))
            x_r += spacing * float(rng.uniform(0.7, 1.3))
        corneum = float(rng.uniform(0.04, 0.08)) * h
        Y = yy
        epi = np.clip((Y - top[None, :]) / 1.5 + 0.5, 0, 1) * np.clip((bottom[None, :] - Y) / 1.5 + 0.5, 0, 1)
        corn = np.clip((Y - (top - corneum)[None, :]) / 1.5 + 0.5, 0, 1) * (1 - np.clip((Y - top[None, :]) / 1.5 + 0.5, 0, 1))
        above = 1 - np.clip((Y - (top - corneum)[None, :]) / 1.5 + 0.5, 0, 1)
        img = _mix(img, np.array((0.87, 0.6, 0.8), np.float32) * (1 + 0.04 * _fbm(rng, h, w, base=20, octaves=2))[..., None], epi)
        lam = 0.5 + 0.5 * np.sin((Y - top[None, :]) / (2.2 * sc) + 1.5 * _fbm(rng, h, w, base=8, octaves=2))
        img = _mix(img, np.array((0.93, 0.55, 0.72), np.float32) * (0.92 + 0.1 * lam)[..., None], corn)
        img = _mix(img, (0.96, 0.95, 0.97), above)
        # keratinocyte nuclei: dense; basal layer darker
        n = int((epi.sum()) / (42 * sc * sc))
        ex = rng.uniform(0, w, n * 3)
        ey = rng.uniform(0, h, n * 3)
        ok = epi[np.clip(ey.astype(int), 0, h - 1), np.clip(ex.astype(int), 0, w - 1)] > 0.9
        ex, ey = ex[ok][:n], ey[ok][:n]
        k = len(ex)
        ellipses(ex, ey, rng.uniform(2.0, 3.4, k) * sc, rng.uniform(1.6, 2.6, k) * sc, rng.uniform(0, 180, k),
                 rng.uniform(0.55, 0.85, k))
        # basal row along the bottom contour
        bx = np.arange(0, w, 5 * sc) + rng.uniform(-1, 1, len(np.arange(0, w, 5 * sc)))
        bx = np.clip(bx, 0, w - 1)
        by = bottom[bx.astype(int)] - rng.uniform(2, 5, len(bx)) * sc
        k = len(bx)
        ellipses(bx, by, rng.uniform(2.5, 3.5, k) * sc, rng.uniform(1.4, 2.0, k) * sc, rng.uniform(60, 120, k),
                 rng.uniform(0.85, 1.0, k))
        dermis = 1 - np.clip(epi + corn + above, 0, 1)
    else:
        dermis = np.ones((h, w), np.float32)

    # dermal fibroblasts (elongated, along fibres)
    n = int(dermis.sum() / (700 * sc * sc))
    dx_, dy_ = rng.uniform(0, w, n * 2), rng.uniform(0, h, n * 2)
    ok = dermis[dy_.astype(int), dx_.astype(int)] > 0.9
    dx_, dy_ = dx_[ok][:n], dy_[ok][:n]
    k = len(dx_)
    ellipses(dx_, dy_, rng.uniform(3.5, 6.5, k) * sc, rng.uniform(1.0, 1.8, k) * sc,
             math.degrees(ang) + rng.normal(0, 15, k), rng.uniform(0.6, 0.9, k))
    # inflammatory infiltrate: clusters of small round dark nuclei
    if infiltrate is None:
        infiltrate = bool(rng.random() < 0.8)
    if infiltrate:
        for _ in range(int(rng.integers(1, 4))):
            for _try in range(20):
                ix, iy = float(rng.uniform(0.1, 0.9)) * w, float(rng.uniform(0.35, 0.9)) * h
                if dermis[int(iy), int(ix)] > 0.9:
                    break
            k = int(rng.integers(80, 220))
            px = rng.normal(ix, float(rng.uniform(15, 45)) * sc, k)
            py = rng.normal(iy, float(rng.uniform(10, 25)) * sc, k)
            ok = (px >= 0) & (px < w) & (py >= 0) & (py < h)
            px, py = px[ok], py[ok]
            ok = dermis[py.astype(int), px.astype(int)] > 0.5
            px, py = px[ok], py[ok]
            k = len(px)
            ellipses(px, py, rng.uniform(1.8, 2.6, k) * sc, rng.uniform(1.6, 2.4, k) * sc, rng.uniform(0, 180, k),
                     rng.uniform(0.85, 1.0, k))
    # a few vessels with red cells
    for _ in range(int(rng.integers(1, 4))):
        vx, vy = float(rng.uniform(0.1, 0.9)) * w, float(rng.uniform(0.45, 0.95)) * h
        if dermis[min(int(vy), h - 1), int(vx)] < 0.9:
            continue
        vr = float(rng.uniform(6, 12)) * sc
        ring = np.zeros((h, w), np.float32)
        cv2.ellipse(ring, (int(vx), int(vy)), (int(vr * 1.4), int(vr)), float(rng.uniform(0, 180)), 0, 360, 1.0, -1, cv2.LINE_AA)
        img = _mix(img, (0.97, 0.93, 0.95), ring * 0.9)
        for _k in range(int(rng.integers(3, 8))):
            rx, ry = vx + float(rng.uniform(-0.6, 0.6)) * vr, vy + float(rng.uniform(-0.5, 0.5)) * vr
            cv2.circle(img, (int(rx), int(ry)), max(1, int(2.5 * sc)), (0.85, 0.28, 0.38), -1, cv2.LINE_AA)
        ellipses([vx + vr * 1.4], [vy], [3 * sc], [1.3 * sc], [90], [0.8])

    nuc = np.clip(cv2.GaussianBlur(nuc, (0, 0), 0.7), 0, 1)
    hema = np.array((0.32, 0.17, 0.5), np.float32) * (1 + 0.12 * _fbm(rng, h, w, base=30, octaves=1))[..., None]
    img = _mix(img, hema, nuc)
    img += rng.normal(0.0, 0.012, (h, w, 1)).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), 0.55)
    return _to_image(img)


# --------------------------------------------------------------------------- diagram
_DIAGRAM_LABELS = [
    "Epidermis", "Dermis", "Subcutis", "Hair follicle", "Sebaceous gland", "Eccrine gland", "Basal layer",
    "Melanocyte", "Keratinocyte", "Vessel", "Nerve", "Arrector pili",
]


def _arrow(draw: ImageDraw.ImageDraw, p0, p1, fill, width=2, head=9):
    draw.line([p0, p1], fill=fill, width=width)
    ang = math.atan2(p1[1] - p0[1], p1[0] - p0[0])
    a1, a2 = ang + math.radians(150), ang - math.radians(150)
    draw.polygon([p1, (p1[0] + head * math.cos(a1), p1[1] + head * math.sin(a1)),
                  (p1[0] + head * math.cos(a2), p1[1] + head * math.sin(a2))], fill=fill)


def make_diagram(rng: np.random.Generator, size: Size = (560, 360), variant: Optional[str] = None) -> Image.Image:
    """White-background line-art schematic with text labels.

    variant: "lesions" (primary lesions in cross-section), "flow" (diagnostic flow chart)
    or "layers" (skin layers with leader-line labels); random if None.
    """
    w, h = int(size[0]), int(size[1])
    variant = variant or str(rng.choice(["lesions", "flow", "layers"]))
    im = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(im)
    ink = (30, 30, 40)
    fs = max(10, int(h / 24))
    font = _font(fs)
    lw = max(1, int(round(w / 280)))
    if variant == "lesions":
        names = ["Macule", "Papule", "Plaque", "Nodule", "Vesicle", "Bulla"]
        surf = int(h * 0.45)
        cw = w / len(names)
        d.rectangle([0, surf, w, int(h * 0.78)], fill=(250, 232, 222))
        d.rectangle([0, int(h * 0.78), w, h - int(h * 0.12)], fill=(252, 246, 214))
        for i, name in enumerate(names):
            x0, x1 = i * cw + cw * 0.18, (i + 1) * cw - cw * 0.18
            xm = (x0 + x1) / 2
            if name == "Macule":
                d.rectangle([x0, surf - 2, x1, surf + 3], fill=(150, 100, 70))
            elif name == "Papule":
                d.pieslice([xm - cw * 0.18, surf - cw * 0.18, xm + cw * 0.18, surf + cw * 0.18], 180, 360, fill=(220, 150, 140), outline=ink, width=lw)
            elif name == "Plaque":
                d.rectangle([x0 - cw * 0.08, surf - cw * 0.12, x1 + cw * 0.08, surf], fill=(210, 130, 125), outline=ink, width=lw)
            elif name == "Nodule":
                d.ellipse([xm - cw * 0.3, surf - cw * 0.28, xm + cw * 0.3, surf + cw * 0.42], fill=(215, 160, 150), outline=ink, width=lw)
            elif name == "Vesicle":
                d.pieslice([xm - cw * 0.15, surf - cw * 0.15, xm + cw * 0.15, surf + cw * 0.15], 180, 360, fill=(235, 240, 250), outline=ink, width=lw)
            else:
                d.pieslice([xm - cw * 0.32, surf - cw * 0.3, xm + cw * 0.32, surf + cw * 0.3], 180, 360, fill=(235, 240, 250), outline=ink, width=lw)
            tw = d.textlength(name, font=font)
            d.text((xm - tw / 2, h * 0.16), name, fill=ink, font=font)
            d.line([(xm, h * 0.16 + fs * 1.3), (xm, surf - cw * 0.34)], fill=(120, 120, 130), width=1)
        d.line([(0, surf), (w, surf)], fill=ink, width=lw)
        d.line([(0, int(h * 0.78)), (w, int(h * 0.78))], fill=ink, width=lw)
        d.text((6, surf + 6), "Epidermis / dermis", fill=(90, 90, 100), font=_font(max(9, fs - 3)))
        d.text((6, int(h * 0.78) + 6), "Subcutis", fill=(90, 90, 100), font=_font(max(9, fs - 3)))
    elif variant == "flow":
        steps = ["Pigmented lesion", "Dermoscopy", "Network present?", "Melanocytic", "Non-melanocytic", "Follow-up", "Excision"]
        bw, bh = w * 0.28, h * 0.13
        pos = {0: (w / 2, h * 0.1), 1: (w / 2, h * 0.3), 2: (w / 2, h * 0.5), 3: (w * 0.25, h * 0.72),
               4: (w * 0.75, h * 0.72), 5: (w * 0.15, h * 0.91), 6: (w * 0.45, h * 0.91)}
        fills = [(232, 240, 250), (240, 248, 236), (255, 243, 220)]
        for i, s in enumerate(steps):
            x, y = pos[i]
            box = [x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2]
            if i == 2:
                d.polygon([(x, box[1] - 6), (box[2] + 10, y), (x, box[3] + 6), (box[0] - 10, y)], fill=fills[2], outline=ink)
            else:
                d.rounded_rectangle(box, radius=6, fill=fills[i % 2], outline=ink, width=lw)
            tw = d.textlength(s, font=font)
            d.text((x - tw / 2, y - fs / 2 - 1), s, fill=ink, font=font)
        for a_, b_ in [(0, 1), (1, 2), (2, 3), (2, 4), (3, 5), (3, 6)]:
            (x0, y0), (x1, y1) = pos[a_], pos[b_]
            _arrow(d, (x0, y0 + bh / 2 + (6 if a_ == 2 else 0)), (x1, y1 - bh / 2 - 2), ink, width=lw)
        d.text((w * 0.3, h * 0.58), "yes", fill=(40, 110, 40), font=font)
        d.text((w * 0.64, h * 0.58), "no", fill=(150, 40, 40), font=font)
    else:  # layers
        bands = [("Epidermis", (248, 222, 214), 0.12), ("Dermis", (250, 238, 230), 0.45), ("Subcutis", (252, 246, 214), 0.35)]
        x_r = int(w * 0.62)
        y = int(h * 0.06)
        for name, col, frac in bands:
            y1 = y + int(h * 0.88 * frac)
            d.rectangle([int(w * 0.04), y, x_r, y1], fill=col, outline=ink, width=lw)
            d.line([(x_r, (y + y1) // 2), (x_r + 30, (y + y1) // 2)], fill=(110, 110, 120), width=1)
            d.text((x_r + 36, (y + y1) // 2 - fs // 2), name, fill=ink, font=font)
            y = y1
        fx = float(rng.uniform(0.18, 0.4)) * w
        d.line([(fx, int(h * 0.02)), (fx, int(h * 0.55))], fill=(60, 40, 30), width=lw + 1)
        d.ellipse([fx - 14, int(h * 0.52), fx + 14, int(h * 0.62)], outline=ink, width=lw)
        d.ellipse([fx + 10, int(h * 0.32), fx + 40, int(h * 0.4)], fill=(255, 240, 200), outline=ink, width=lw)
        for k, lab in enumerate(rng.choice(_DIAGRAM_LABELS[3:], 3, replace=False)):
            ty = int(h * (0.22 + 0.22 * k))
            d.line([(fx + 20, ty), (x_r + 30, ty)], fill=(150, 150, 160), width=1)
            d.text((x_r + 36, ty - fs // 2), str(lab), fill=(70, 70, 90), font=_font(max(9, fs - 2)))
    return im


# --------------------------------------------------------------------------- chart
def make_chart(rng: np.random.Generator, size: Size = (520, 360), kind: Optional[str] = None,
               title: Optional[str] = None, categories: Optional[Sequence[str]] = None) -> Image.Image:
    """Bar or line chart with axes, ticks, tick labels and a title."""
    w, h = int(size[0]), int(size[1])
    kind = kind or str(rng.choice(["bar", "line"]))
    im = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(im)
    fs = max(10, int(h / 26))
    font, small = _font(fs), _font(max(9, fs - 2))
    ink = (30, 30, 30)
    left, right, top, bottom = int(w * 0.13), int(w * 0.96), int(h * 0.13), int(h * 0.83)
    cats = list(categories) if categories else ["<20", "20-39", "40-59", "60-79", "80+"]
    n = len(cats)
    vals = rng.uniform(0.15, 1.0, n)
    ymax = 10 * int(math.ceil(float(rng.uniform(40, 160)) / 10))
    vals = vals / vals.max() * ymax * float(rng.uniform(0.7, 0.95))
    for k in range(6):
        yv = top + (bottom - top) * k / 5
        d.line([(left, yv), (right, yv)], fill=(225, 225, 230), width=1)
        lab = str(int(round(ymax * (5 - k) / 5)))
        d.text((left - 6 - d.textlength(lab, font=small), yv - fs / 2), lab, fill=ink, font=small)
    d.line([(left, top), (left, bottom)], fill=ink, width=2)
    d.line([(left, bottom), (right, bottom)], fill=ink, width=2)
    palette = [(52, 101, 164), (204, 85, 60), (78, 154, 6), (117, 80, 123)]
    col = palette[int(rng.integers(0, len(palette)))]
    slot = (right - left) / n
    pts = []
    for i, (c, v) in enumerate(zip(cats, vals)):
        xm = left + slot * (i + 0.5)
        yv = bottom - (bottom - top) * v / ymax
        if kind == "bar":
            d.rectangle([xm - slot * 0.32, yv, xm + slot * 0.32, bottom - 1], fill=col)
        pts.append((xm, yv))
        d.line([(xm, bottom), (xm, bottom + 5)], fill=ink, width=1)
        d.text((xm - d.textlength(c, font=small) / 2, bottom + 8), c, fill=ink, font=small)
    if kind == "line":
        d.line(pts, fill=col, width=3)
        for x, y in pts:
            d.ellipse([x - 4, y - 4, x + 4, y + 4], fill=col)
    title = title or "Cases by age group"
    d.text(((w - d.textlength(title, font=font)) / 2, h * 0.03), title, fill=ink, font=font)
    xl = "Age (years)"
    d.text(((left + right) / 2 - d.textlength(xl, font=small) / 2, h * 0.92), xl, fill=ink, font=small)
    yl = Image.new("RGB", (int(d.textlength("Patients (n)", font=small)) + 4, fs + 4), (255, 255, 255))
    ImageDraw.Draw(yl).text((2, 0), "Patients (n)", fill=ink, font=small)
    yl = yl.rotate(90, expand=True)
    im.paste(yl, (2, int((top + bottom) / 2 - yl.size[1] / 2)))
    return im


# --------------------------------------------------------------------------- table image
def make_table_image(rng: np.random.Generator, size: Size = (520, 300), rows: Optional[Sequence[Sequence[str]]] = None) -> Image.Image:
    """A rendered table: shaded header row, grid lines, text cells."""
    w, h = int(size[0]), int(size[1])
    if rows is None:
        pool = [("Psoriasis", "Plaque", "Extensor"), ("Atopic eczema", "Patch", "Flexural"),
                ("Tinea corporis", "Annular", "Trunk"), ("Urticaria", "Wheal", "Any site"),
                ("Lichen planus", "Papule", "Wrist"), ("Vitiligo", "Macule", "Periorificial"),
                ("Acne vulgaris", "Comedone", "Face"), ("Scabies", "Burrow", "Finger webs")]
        idx = rng.permutation(len(pool))[: int(rng.integers(4, 8))]
        rows = [("Diagnosis", "Lesion", "Typical site")] + [pool[i] for i in idx]
    im = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(im)
    nr, nc = len(rows), len(rows[0])
    rh = (h - 2) / nr
    cw = (w - 2) / nc
    fs = max(9, int(min(rh * 0.5, 20)))
    font = _font(fs)
    d.rectangle([1, 1, w - 2, 1 + rh], fill=(214, 226, 240))
    for r_ in range(1, nr):
        if r_ % 2 == 0:
            d.rectangle([1, 1 + rh * r_, w - 2, 1 + rh * (r_ + 1)], fill=(246, 246, 248))
    for r_ in range(nr + 1):
        d.line([(1, 1 + rh * r_), (w - 2, 1 + rh * r_)], fill=(60, 60, 70), width=2 if r_ in (0, 1, nr) else 1)
    for c_ in range(nc + 1):
        d.line([(1 + cw * c_, 1), (1 + cw * c_, h - 2)], fill=(60, 60, 70), width=1)
    for r_, row in enumerate(rows):
        for c_, txt in enumerate(row):
            d.text((1 + cw * c_ + 6, 1 + rh * r_ + (rh - fs) / 2 - 1), str(txt), fill=(20, 20, 20), font=font)
    return im


# --------------------------------------------------------------------------- logo & overlay
def make_logo(rng: np.random.Generator, size: Size = (96, 96), color=(40, 90, 140)) -> Image.Image:
    """Small publisher emblem used as a running-header decoration."""
    w, h = int(size[0]), int(size[1])
    im = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.ellipse([2, 2, w - 3, h - 3], fill=tuple(color))
    inner = [(250, 225, 215), (235, 180, 170), (250, 235, 190)]
    for k, c in enumerate(inner):
        y0 = int(h * (0.3 + 0.14 * k))
        d.rectangle([int(w * 0.22), y0, int(w * 0.78), y0 + int(h * 0.12)], fill=c)
    d.line([(int(w * 0.5), int(h * 0.18)), (int(w * 0.5), int(h * 0.6))], fill=(60, 40, 30), width=max(1, w // 40))
    return im


def add_overlay(img: Image.Image, target: Tuple[float, float], letter: str = "A",
                color=(255, 255, 255), outline=(200, 20, 20)) -> Image.Image:
    """Burn an arrow pointing at ``target`` (fractional x, y) and a letter into the raster."""
    im = img.copy()
    w, h = im.size
    d = ImageDraw.Draw(im)
    tx, ty = target[0] * w, target[1] * h
    sx, sy = tx - 0.22 * w, ty - 0.24 * h
    lw = max(3, w // 90)
    for col, extra in ((outline, 3), (color, 0)):
        _arrow(d, (sx, sy), (tx, ty), col, width=lw + extra, head=max(14, w // 22) + extra)
    f = _font(max(18, h // 9))
    d.text((w * 0.05, h * 0.04), letter, fill=color, font=f, stroke_width=3, stroke_fill=outline)
    return im


ANNOTATION_STYLES = ("circle", "dashed", "green_arrow", "labels", "text", "blue_arrows")


def add_annotation(img: Image.Image, style: str, target: Tuple[float, float] = (0.5, 0.5),
                   text: str = "crust") -> Image.Image:
    """Burn a textbook-style annotation around ``target`` (fractional x, y) into the raster.

    circle: a yellow ring around the lesion; dashed: a cyan dashed outline; green_arrow: a green arrow and an
    asterisk; labels: white capital letters with black outlines beside two white arrows; text: a white word
    (``text``) with a leader line; blue_arrows: three blue arrowheads pointing at the target.
    """
    if style not in ANNOTATION_STYLES:
        raise ValueError(f"unknown annotation style {style!r}; known: {ANNOTATION_STYLES}")
    im = img.copy()
    w, h = im.size
    m = min(w, h)
    d = ImageDraw.Draw(im)
    tx, ty = target[0] * w, target[1] * h
    lw = max(3, m // 80)
    if style == "circle":
        r = 0.2 * m
        d.ellipse([tx - 1.25 * r, ty - r, tx + 1.25 * r, ty + r], outline=(255, 225, 0), width=lw)
    elif style == "dashed":
        r = 0.22 * m
        box = [tx - 1.2 * r, ty - r, tx + 1.2 * r, ty + r]
        for a0 in range(0, 360, 20):
            d.arc(box, a0, a0 + 12, fill=(0, 210, 255), width=lw)
    elif style == "green_arrow":
        _arrow(d, (tx + 0.28 * w, ty - 0.26 * h), (tx + 0.04 * w, ty - 0.03 * h), (40, 225, 70), width=lw + 1,
               head=max(14, m // 14))
        d.text((tx - 0.2 * w, ty + 0.1 * h), "*", fill=(40, 225, 70), font=_font(max(28, m // 6)))
    elif style == "labels":
        f = _font(max(20, m // 9))
        for (ox, oy), letter in (((-0.3, -0.28), "B"), ((0.22, 0.2), "C")):
            sx, sy = tx + ox * w, ty + oy * h
            ex, ey = tx + 0.35 * ox * w, ty + 0.35 * oy * h
            _arrow(d, (sx, sy), (ex, ey), (0, 0, 0), width=lw + 3, head=max(16, m // 12) + 3)
            _arrow(d, (sx, sy), (ex, ey), (255, 255, 255), width=lw, head=max(16, m // 12))
            d.text((sx - (0.09 * w if ox < 0 else -0.02 * w), sy - 0.06 * h), letter, fill=(255, 255, 255), font=f,
                   stroke_width=3, stroke_fill=(0, 0, 0))
    elif style == "text":
        f = _font(max(18, m // 12))
        lx, ly = tx - 0.42 * w, ty - 0.36 * h
        lx, ly = max(lx, 0.04 * w), max(ly, 0.04 * h)
        d.text((lx, ly), text, fill=(255, 255, 255), font=f, stroke_width=2, stroke_fill=(0, 0, 0))
        tb = d.textbbox((lx, ly), text, font=f)
        d.line([((tb[0] + tb[2]) / 2, tb[3] + 4), (tx - 0.03 * w, ty - 0.03 * h)], fill=(255, 255, 255), width=lw)
    elif style == "blue_arrows":
        for k in range(3):
            ang = math.radians(200 + 55 * k)
            ex, ey = tx + 0.09 * m * math.cos(ang), ty + 0.09 * m * math.sin(ang)
            sx, sy = tx + 0.3 * m * math.cos(ang), ty + 0.3 * m * math.sin(ang)
            _arrow(d, (sx, sy), (ex, ey), (20, 70, 255), width=lw, head=max(14, m // 14))
    return im


# --------------------------------------------------------------------------- registry
GENERATORS: Dict[str, Callable[..., Image.Image]] = {
    "clinical": make_clinical,
    "dermoscopy": make_dermoscopy,
    "pathology": make_pathology,
    "diagram": make_diagram,
    "chart": make_chart,
    "table_image": make_table_image,
}


def make_image(name: str, rng: np.random.Generator, /, size: Size = (512, 384), **kw) -> Image.Image:
    """Dispatch to ``make_<name>`` (name in GENERATORS); extra keywords go to the generator."""
    try:
        fn = GENERATORS[name]
    except KeyError:
        raise ValueError(f"unknown image kind {name!r}; known: {sorted(GENERATORS)}") from None
    return fn(rng, size=size, **kw)
