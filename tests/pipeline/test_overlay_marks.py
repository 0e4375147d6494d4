"""Pen and white marks (pipeline/filters/overlays.py): a blue arrow counts even beside the white gaps of a
tissue section; white gaps in pale stain do not count; a white arrow with a dark outline does."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pipeline.filters.overlays import pen_mark_score
from synth.images import add_annotation, make_pathology

PALE_PINK = (236, 200, 215)


def _section_with_white_gaps() -> np.ndarray:
    """Pale-pink stain with thin pure-white tears, the way the lumens and cracks of an H&E section look."""
    im = Image.new("RGB", (480, 320), PALE_PINK)
    d = ImageDraw.Draw(im)
    d.line([(60, 80), (200, 110), (300, 90)], fill=(250, 250, 250), width=4)
    d.line([(120, 220), (260, 250), (400, 210)], fill=(248, 249, 248), width=5)
    d.arc([300, 120, 420, 220], 20, 300, fill=(252, 252, 252), width=4)
    return np.asarray(im)


def test_white_gaps_in_pale_stain_are_not_marks():
    assert pen_mark_score(_section_with_white_gaps()) == 0.0


def test_a_white_arrow_with_a_dark_outline_is_a_mark():
    im = Image.fromarray(_section_with_white_gaps()).convert("RGB")
    d = ImageDraw.Draw(im)
    d.line([(100, 140), (250, 200)], fill=(0, 0, 0), width=9)  # outline first, white stroke on top
    d.line([(100, 140), (250, 200)], fill=(255, 255, 255), width=4)
    assert pen_mark_score(np.asarray(im)) > 0


def test_a_blue_arrow_beside_white_gaps_is_a_mark():
    im = Image.fromarray(_section_with_white_gaps()).convert("RGB")
    d = ImageDraw.Draw(im)
    d.line([(150, 150), (230, 190)], fill=(20, 70, 255), width=3)  # touches the lower white tear's region
    d.line([(230, 190), (260, 236)], fill=(20, 70, 255), width=3)
    assert pen_mark_score(np.asarray(im)) > 0


@pytest.mark.parametrize("seed", range(6))
def test_procedural_sections_unmarked_and_marked(seed):
    img = make_pathology(np.random.default_rng(seed), (480, 320))
    assert pen_mark_score(np.asarray(img.convert("RGB"))) == 0.0
    marked = add_annotation(img, "blue_arrows", (0.5, 0.4))
    assert pen_mark_score(np.asarray(marked.convert("RGB"))) > 0
