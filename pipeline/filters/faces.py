"""Identifiable faces, by the Haar cascades shipped with opencv-python-headless (frontal and profile)."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from schemas.settings import FilterSettings

CASCADES = ("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml")
DETECT_SIDE = 512  # images are resized to this longer side before detection


_local = threading.local()  # a CascadeClassifier must not be shared between threads


def _cascade(name: str) -> cv2.CascadeClassifier:
    cache = _local.__dict__.setdefault("cascades", {})
    if name not in cache:
        clf = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        if clf.empty():
            raise RuntimeError(f"OpenCV Haar cascade {name} not found in {cv2.data.haarcascades}")
        cache[name] = clf
    return cache[name]


def detect_faces(img: np.ndarray, settings: FilterSettings) -> list[tuple[int, int, int, int]]:
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    scale = min(1.0, DETECT_SIDE / max(h, w))
    if scale < 1:
        gray = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    side = min(gray.shape)
    min_size = max(20, int(side * settings.face_min_frac**0.5))
    faces = []
    for name in CASCADES:
        for flip in (False, True) if "profile" in name else (False,):
            g = gray[:, ::-1].copy() if flip else gray
            found = _cascade(name).detectMultiScale(
                g, scaleFactor=1.1, minNeighbors=settings.face_min_neighbors, minSize=(min_size, min_size)
            )
            faces += [tuple(int(v / scale) for v in f) for f in found]
    return faces


def face_check(img: np.ndarray, settings: FilterSettings) -> tuple[str, float] | None:
    faces = detect_faces(img, settings)
    return ("identifiable_face", float(len(faces))) if faces else None
