"""Colour and texture features that separate clinical photos, dermoscopy, H&E pathology and drawings."""

from __future__ import annotations

import cv2
import numpy as np

WORK_SIDE = 256  # images are resized to this longer side before features are computed


def prepare(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    scale = WORK_SIDE / max(h, w)
    if scale < 1:
        img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return img


def image_features(img: np.ndarray) -> dict[str, float]:
    """A small named feature set (documented in each key) used by the rule-based classifier."""
    img = prepare(img)
    h, w = img.shape[:2]
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    hue, sat, val = hsv[..., 0].astype(np.float32) * 2, hsv[..., 1] / 255.0, hsv[..., 2] / 255.0
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    c = max(2, min(h, w) // 10)
    corners = np.concatenate(
        [gray[:c, :c].ravel(), gray[:c, -c:].ravel(), gray[-c:, :c].ravel(), gray[-c:, -c:].ravel()]
    )
    centre = gray[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
    coloured = sat > 0.12
    purple = coloured & (hue >= 250) & (hue <= 345)
    skin = coloured & ((hue <= 40) | (hue >= 345))
    quant = (img // 32).reshape(-1, 3)
    n_colours = len(np.unique(quant[:, 0] * 64 + quant[:, 1] * 8 + quant[:, 2]))
    edges = cv2.Canny(gray, 80, 160)
    return {
        "corner_dark": float((corners < 40).mean()),  # fraction of corner pixels that are black (vignette)
        "centre_brightness": float(centre.mean() / 255.0),
        "white_frac": float(((val > 0.92) & (sat < 0.08)).mean()),  # paper-white background (drawings)
        "purple_frac": float(purple.mean()),  # haematoxylin/eosin hues
        "skin_frac": float(skin.mean()),  # red-orange hues of skin
        "sat_mean": float(sat.mean()),
        "n_colours": float(n_colours),  # distinct colours on a coarse 8x8x8 grid
        "edge_density": float((edges > 0).mean()),
    }


def rule_scores(f: dict[str, float]) -> dict[str, float]:
    """Unnormalised evidence per modality from the features (first version; issue 4 trains a model)."""
    scores = {
        "dermoscopy": 3.0 * f["corner_dark"] * (f["centre_brightness"] > 0.25),
        "pathology": 4.0 * f["purple_frac"],
        "other": 2.5 * f["white_frac"] + (1.0 if f["n_colours"] < 40 else 0.0),
        "clinical": 2.0 * f["skin_frac"] * (1 - f["white_frac"]),
    }
    return scores
