"""More procedural non-photographic figures ("other" modality) and print/scan degradations, for training and
testing the modality classifier. Our own pixels only: numpy/OpenCV maths and Pillow's default font.

Generators (``make_X(rng, size=(w, h)) -> PIL RGB``): pie chart, scatter plot, survival (step) curve, grouped
bar chart with legend, text panel (boxed key points), coloured flow chart, grey line drawing (anatomical
outline with hatching), flat-colour illustration (cartoon skin section). ``OTHER_KINDS`` also lists the
generators of ``synth.images`` (diagram, chart, table_image, logo). :func:`degrade` imitates reproduction in
a book: resampling blur, JPEG artefacts, a scanned paper tint with grain, grey printing, a thin frame.
:func:`training_image` makes one reproducible image of a kind from an integer seed.
"""

from __future__ import annotations

import io
import math
from typing import Callable, Dict, Tuple

import cv2
import numpy as np
from PIL import Image, ImageDraw

from synth import images as _im

Size = Tuple[int, int]
_WORDS = ("lesion", "plaque", "erythema", "scale", "papule", "pruritus", "onset", "site", "therapy", "topical",
          "systemic", "biopsy", "follow-up", "response", "relapse", "severity", "index", "dose", "weeks", "score")
_PALETTES = [[(52, 101, 164), (204, 85, 60), (78, 154, 6), (117, 80, 123), (237, 212, 0)],
             [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)],
             [(90, 90, 90), (150, 150, 150), (200, 200, 200), (40, 40, 40), (120, 120, 120)]]


def _phrase(rng: np.random.Generator, n: int) -> str:
    return " ".join(str(w) for w in rng.choice(_WORDS, n)).capitalize()


def _canvas(size: Size, bg=(255, 255, 255)):
    im = Image.new("RGB", (int(size[0]), int(size[1])), bg)
    return im, ImageDraw.Draw(im)


def make_pie(rng: np.random.Generator, size: Size = (420, 360)) -> Image.Image:
    im, d = _canvas(size)
    w, h = im.size
    pal = _PALETTES[int(rng.integers(len(_PALETTES)))]
    vals = rng.uniform(0.1, 1.0, int(rng.integers(3, 6)))
    vals = vals / vals.sum() * 360
    r = min(w * 0.3, h * 0.38)
    cx, cy = w * 0.35, h * 0.55
    a0 = float(rng.uniform(0, 360))
    font = _im._font(max(10, h // 26))
    for i, v in enumerate(vals):
        d.pieslice([cx - r, cy - r, cx + r, cy + r], a0, a0 + float(v), fill=pal[i % len(pal)], outline=(255, 255, 255))
        a0 += float(v)
        y = h * 0.25 + i * h * 0.09
        d.rectangle([w * 0.72, y, w * 0.72 + 12, y + 12], fill=pal[i % len(pal)])
        d.text((w * 0.72 + 18, y - 1), f"{_phrase(rng, 1)} {v / 3.6:.0f}%", fill=(30, 30, 30), font=font)
    d.text((w * 0.1, h * 0.04), _phrase(rng, 3), fill=(20, 20, 20), font=_im._font(max(11, h // 22)))
    return im


def _axes(d: ImageDraw.ImageDraw, w: int, h: int, rng: np.random.Generator):
    left, right, top, bottom = int(w * 0.14), int(w * 0.95), int(h * 0.12), int(h * 0.82)
    ink = (30, 30, 30)
    small = _im._font(max(9, h // 30))
    d.line([(left, top), (left, bottom), (right, bottom)], fill=ink, width=2)
    for k in range(6):
        y = bottom - (bottom - top) * k / 5
        d.line([(left - 5, y), (left, y)], fill=ink)
        d.text((left - 30, y - 6), f"{k * 20}", fill=ink, font=small)
        x = left + (right - left) * k / 5
        d.line([(x, bottom), (x, bottom + 5)], fill=ink)
        d.text((x - 6, bottom + 8), f"{k * int(rng.integers(2, 12))}", fill=ink, font=small)
    d.text(((left + right) / 2 - 30, h * 0.91), _phrase(rng, 2), fill=ink, font=small)
    return left, right, top, bottom


def make_scatter(rng: np.random.Generator, size: Size = (480, 360)) -> Image.Image:
    im, d = _canvas(size)
    w, h = im.size
    left, right, top, bottom = _axes(d, w, h, rng)
    pal = _PALETTES[int(rng.integers(len(_PALETTES)))]
    for g in range(int(rng.integers(1, 4))):
        n = int(rng.integers(15, 60))
        x = rng.uniform(0, 1, n)
        y = np.clip(0.2 + 0.6 * x * rng.uniform(0.5, 1.2) + rng.normal(0, 0.1, n), 0.02, 0.98)
        for xi, yi in zip(x, y):
            px, py = left + (right - left) * xi, bottom - (bottom - top) * yi
            rad = 3 + g
            d.ellipse([px - rad, py - rad, px + rad, py + rad], fill=pal[g], outline=(30, 30, 30) if g == 2 else None)
    d.text((left + 10, h * 0.03), _phrase(rng, 3), fill=(20, 20, 20), font=_im._font(max(11, h // 24)))
    return im


def make_survival(rng: np.random.Generator, size: Size = (480, 360)) -> Image.Image:
    im, d = _canvas(size)
    w, h = im.size
    left, right, top, bottom = _axes(d, w, h, rng)
    pal = _PALETTES[int(rng.integers(len(_PALETTES)))]
    for g in range(int(rng.integers(1, 4))):
        x, y = left, top
        pts = [(x, y)]
        while x < right:
            nx = min(right, x + float(rng.uniform(5, 40)))
            pts += [(nx, y)]
            y = min(bottom - 5, y + float(rng.uniform(0, 18)) * (1 + g * 0.5))
            pts += [(nx, y)]
            x = nx
        d.line(pts, fill=pal[g], width=2)
    return im


def make_grouped_bars(rng: np.random.Generator, size: Size = (520, 360)) -> Image.Image:
    im, d = _canvas(size)
    w, h = im.size
    left, right, top, bottom = _axes(d, w, h, rng)
    pal = _PALETTES[int(rng.integers(len(_PALETTES)))]
    groups, series = int(rng.integers(2, 6)), int(rng.integers(2, 4))
    slot = (right - left) / groups
    bw = slot * 0.7 / series
    for gi in range(groups):
        for si in range(series):
            v = float(rng.uniform(0.1, 0.95))
            x0 = left + gi * slot + slot * 0.15 + si * bw
            d.rectangle([x0, bottom - (bottom - top) * v, x0 + bw - 2, bottom - 1], fill=pal[si],
                        outline=(30, 30, 30) if rng.random() < 0.5 else None)
    font = _im._font(max(9, h // 30))
    for si in range(series):
        d.rectangle([right - 90, top + si * 16, right - 80, top + si * 16 + 10], fill=pal[si])
        d.text((right - 75, top + si * 16 - 2), _phrase(rng, 1), fill=(30, 30, 30), font=font)
    return im


def make_text_panel(rng: np.random.Generator, size: Size = (480, 320)) -> Image.Image:
    bg = (255, 255, 255) if rng.random() < 0.6 else tuple(int(v) for v in rng.integers(225, 256, 3))
    im, d = _canvas(size, bg)
    w, h = im.size
    fs = max(10, int(h / rng.uniform(14, 22)))
    font = _im._font(fs)
    if rng.random() < 0.7:
        d.rectangle([3, 3, w - 4, h - 4], outline=(40, 60, 110), width=2)
        d.rectangle([3, 3, w - 4, 3 + fs * 2], fill=(40, 60, 110))
        d.text((12, 3 + fs * 0.45), _phrase(rng, 3), fill=(255, 255, 255), font=font)
    y = fs * 3
    while y < h - fs * 1.5:
        d.text((14, y), ("- " if rng.random() < 0.6 else "") + _phrase(rng, int(rng.integers(3, 9))),
               fill=(20, 20, 20), font=font)
        y += fs * float(rng.uniform(1.3, 1.8))
    return im


def make_flowchart(rng: np.random.Generator, size: Size = (520, 420)) -> Image.Image:
    im, d = _canvas(size)
    w, h = im.size
    ink = (30, 30, 40)
    font = _im._font(max(10, h // 30))
    fills = [tuple(int(v) for v in rng.integers(170, 256, 3)) for _ in range(3)]
    rows = int(rng.integers(3, 5))
    centres = []
    for r in range(rows):
        n = int(rng.integers(1, 4))
        row = []
        for c in range(n):
            x, y = w * (c + 0.5) / n, h * (r + 0.5) / rows
            bw, bh = w / n * 0.7, h / rows * 0.45
            shape = rng.random()
            box = [x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2]
            if shape < 0.6:
                d.rounded_rectangle(box, radius=int(rng.integers(0, 12)), fill=fills[r % 3], outline=ink, width=2)
            elif shape < 0.8:
                d.ellipse(box, fill=fills[r % 3], outline=ink, width=2)
            else:
                d.polygon([(x, box[1]), (box[2], y), (x, box[3]), (box[0], y)], fill=fills[r % 3], outline=ink)
            d.text((box[0] + 8, y - 6), _phrase(rng, 2), fill=ink, font=font)
            row.append((x, y, bh))
        for px, py, pbh in (centres[-1] if centres else []):
            for x, y, bh in row:
                _im._arrow(d, (px, py + pbh / 2), (x, y - bh / 2 - 2), ink, width=2)
        centres.append(row)
    return im


def make_line_drawing(rng: np.random.Generator, size: Size = (440, 440)) -> Image.Image:
    """Grey/black pen drawing: outline of a limb or face-like shape, hatching, leader lines and labels."""
    bg = (255, 255, 255) if rng.random() < 0.7 else (248, 246, 240)
    im, d = _canvas(size, bg)
    w, h = im.size
    ink = tuple([int(rng.integers(0, 80))] * 3)
    lw = int(rng.integers(1, 4))
    pts = []
    for t in np.linspace(0, 2 * math.pi, 80):
        rr = 0.32 + 0.06 * math.sin(3 * t + float(rng.uniform(0, 6))) + 0.03 * math.sin(7 * t)
        pts.append((w * (0.45 + rr * math.cos(t) * float(rng.uniform(0.95, 1.05))), h * (0.5 + rr * 1.2 * math.sin(t))))
    d.line(pts + [pts[0]], fill=ink, width=lw, joint="curve")
    for k in range(int(rng.integers(5, 25))):
        x = w * float(rng.uniform(0.3, 0.6))
        y = h * float(rng.uniform(0.3, 0.7))
        d.line([(x, y), (x + 12, y - 12)], fill=ink, width=1)
    for k in range(int(rng.integers(2, 6))):
        ex, ey = w * float(rng.uniform(0.35, 0.55)), h * float(rng.uniform(0.25, 0.75))
        r = float(rng.uniform(4, 14))
        d.ellipse([ex - r, ey - r, ex + r, ey + r], outline=ink, width=lw)
        d.line([(ex + r, ey), (w * 0.8, ey)], fill=ink, width=1)
        d.text((w * 0.81, ey - 6), _phrase(rng, 1), fill=ink, font=_im._font(max(10, h // 30)))
    return im


def make_illustration(rng: np.random.Generator, size: Size = (480, 360)) -> Image.Image:
    """Flat-colour textbook illustration: layered skin block with hair follicles, glands and vessels."""
    im, d = _canvas(size)
    w, h = im.size
    tone = _im.SKIN_TONES[int(rng.integers(len(_im.SKIN_TONES)))]
    epi = tuple(int(v * 255) for v in tone)
    layers = [epi, (246, 200, 190), (250, 226, 170)]
    y = h * 0.15
    for i, col in enumerate(layers):
        y1 = y + h * (0.12, 0.38, 0.3)[i]
        d.rectangle([w * 0.05, y, w * 0.75, y1], fill=col, outline=(60, 40, 40), width=2)
        d.line([(w * 0.75, (y + y1) / 2), (w * 0.8, (y + y1) / 2)], fill=(60, 60, 60))
        d.text((w * 0.81, (y + y1) / 2 - 6), _phrase(rng, 1), fill=(20, 20, 20), font=_im._font(max(10, h // 28)))
        y = y1
    for k in range(int(rng.integers(2, 6))):
        x = w * float(rng.uniform(0.1, 0.7))
        d.line([(x, h * 0.05), (x + 8, h * 0.6)], fill=(70, 40, 20), width=3)
        d.ellipse([x - 6, h * 0.55, x + 18, h * 0.66], fill=(230, 170, 120), outline=(70, 40, 20))
    for k in range(int(rng.integers(1, 4))):
        yy = h * float(rng.uniform(0.4, 0.7))
        d.line([(w * 0.05, yy), (w * 0.75, yy + float(rng.uniform(-20, 20)))], fill=(200, 30, 30) if k % 2 == 0
               else (40, 60, 200), width=4)
    return im


def make_logo_large(rng: np.random.Generator, size: Size = (200, 200)) -> Image.Image:
    col = tuple(int(v) for v in rng.integers(0, 200, 3))
    return _im.make_logo(rng, size=size, color=col)


def make_pathology_slide(rng: np.random.Generator, size: Size = (512, 384)) -> Image.Image:
    """An H&E section that covers only part of the field: tissue with an irregular edge on a white slide."""
    img = np.asarray(_im.make_pathology(rng, size=size, epidermis=bool(rng.random() < 0.5))).astype(np.float32)
    h, w = img.shape[:2]
    noise = _im._fbm(rng, h, w, base=2.0, octaves=3)
    xx, yy = np.meshgrid(np.linspace(-1, 1, w), np.linspace(-1, 1, h))
    ang = float(rng.uniform(0, 2 * math.pi))
    ramp = (xx * math.cos(ang) + yy * math.sin(ang)).astype(np.float32)
    cover = float(rng.uniform(-0.6, 0.6))
    mask = cv2.GaussianBlur(((ramp + 0.35 * noise) > cover).astype(np.float32), (0, 0), 1.2)[..., None]
    slide = np.array([float(rng.uniform(238, 252))] * 3, np.float32) + rng.normal(0, 1.5, (h, w, 1)).astype(np.float32)
    return Image.fromarray(np.clip(img * mask + slide * (1 - mask), 0, 255).astype(np.uint8), "RGB")


OTHER_KINDS: Dict[str, Callable[..., Image.Image]] = {
    "diagram": _im.make_diagram,
    "chart": _im.make_chart,
    "table_image": _im.make_table_image,
    "logo": make_logo_large,
    "pie": make_pie,
    "scatter": make_scatter,
    "survival": make_survival,
    "grouped_bars": make_grouped_bars,
    "text_panel": make_text_panel,
    "flowchart": make_flowchart,
    "line_drawing": make_line_drawing,
    "illustration": make_illustration,
}
PHOTO_KINDS: Dict[str, Callable[..., Image.Image]] = {
    "clinical": _im.make_clinical,
    "dermoscopy": _im.make_dermoscopy,
    "pathology": _im.make_pathology,
    "pathology_slide": make_pathology_slide,
}
KIND_MODALITY: Dict[str, str] = {**{k: "other" for k in OTHER_KINDS}, "clinical": "clinical",
                                 "dermoscopy": "dermoscopy", "pathology": "pathology", "pathology_slide": "pathology"}


def degrade(img: Image.Image, rng: np.random.Generator, strength: float = 1.0) -> Image.Image:
    """Random reproduction effects: resampling (blur), grey printing, scan (paper tint, blur, grain), a thin
    frame, JPEG compression. ``strength`` 0 leaves the image as it is."""
    if strength <= 0:
        return img
    a = np.asarray(img.convert("RGB")).astype(np.float32)
    h, w = a.shape[:2]
    if rng.random() < 0.4 * strength:
        f = float(rng.uniform(0.35, 0.8))
        small = cv2.resize(a, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
        a = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.1 * strength:
        a = np.repeat(a.mean(axis=2, keepdims=True), 3, axis=2)
    if rng.random() < 0.3 * strength:
        a = cv2.GaussianBlur(a, (0, 0), float(rng.uniform(0.4, 1.0)))
        a = a * (np.array((0.985, 0.968, 0.925), np.float32) * rng.uniform(0.98, 1.01, 3).astype(np.float32))
        a = a + rng.normal(0, float(rng.uniform(1, 4)), (h, w, 1)).astype(np.float32)
    if rng.random() < 0.15 * strength:
        t = int(rng.integers(1, 4))
        a[:t], a[-t:], a[:, :t], a[:, -t:] = 0, 0, 0, 0
    out = Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8), "RGB")
    if rng.random() < 0.6 * strength:
        buf = io.BytesIO()
        out.save(buf, "JPEG", quality=int(rng.integers(35, 95)))
        out = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return out


def rotate_hue(img: Image.Image, degrees: float) -> Image.Image:
    """The same picture in other colours: hue turned by ``degrees`` (greys and white stay as they are)."""
    hsv = cv2.cvtColor(np.asarray(img.convert("RGB")), cv2.COLOR_RGB2HSV)
    hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + int(round(degrees / 2))) % 180).astype(np.uint8)
    return Image.fromarray(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), "RGB")


def random_size(rng: np.random.Generator, base: int = 480) -> Size:
    aspect = float(np.exp(rng.uniform(math.log(0.55), math.log(1.9))))
    side = float(rng.uniform(0.55, 1.4)) * base
    return (max(64, int(side * math.sqrt(aspect))), max(64, int(side / math.sqrt(aspect))))


def training_image(kind: str, seed: int, degrade_strength: float = 1.0) -> Image.Image:
    """One reproducible image of ``kind`` (a key of OTHER_KINDS or PHOTO_KINDS) from ``seed``: random size
    and aspect, the generator's own random variant, then :func:`degrade`."""
    rng = np.random.default_rng(seed)
    fn = OTHER_KINDS.get(kind) or PHOTO_KINDS.get(kind)
    if fn is None:
        raise ValueError(f"unknown kind {kind!r}; known: {sorted(OTHER_KINDS) + sorted(PHOTO_KINDS)}")
    size = random_size(rng, 200 if kind == "logo" else 480)
    if kind == "dermoscopy":
        size = (size[0], size[0]) if rng.random() < 0.6 else size
    img = fn(rng, size=size)
    if kind in OTHER_KINDS and rng.random() < 0.5:
        img = rotate_hue(img, float(rng.uniform(0, 360)))
    if kind == "clinical" and rng.random() < 0.25:
        img = _im.add_overlay(img, (float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.3, 0.7))),
                              letter=str(rng.choice(list("ABCD"))))
    return degrade(img, rng, degrade_strength)
