"""Regression floors of the layout-variation benchmark (issue 17): a few born-digital books of two fixed seeds,
extracted end to end and scored per variation class (on failure the message names the command that shows the
failures: ``mmskin bench layouts --seed S --books 6 --force scan=digital``). The floors sit below what the
benchmark measures on these seeds (pair F1 1.000 and 0.972): a rule that breaks a whole class of typography or
placement falls far below them, while one unlucky figure in a small class does not.

The seeds are fixed, not drawn anew on each run: other seeds of six books still fall below these floors
(seed 11: pair F1 0.883, columns=3 0.44; seed 14: 0.849, placement=margin 0.40; seed 15: crops IoU >= 0.9 for
0.879), so a random seed would fail on what is not yet fixed rather than on a regression."""

from __future__ import annotations

import pytest

from eval import bench_layouts as bl

BOOKS = 6
OVERALL_FLOOR = 0.9  # born-digital pair F1 over all figures of the run
CLASS_FLOOR = 0.6  # ... and in every class with at least CLASS_MIN_N figures
CLASS_MIN_N = 5
TIGHT_FLOOR = 0.9  # share of matched crops with IoU >= 0.9


@pytest.mark.xdist_group("layout_regression")
@pytest.mark.parametrize("seed", [3, 16])
def test_born_digital_books_score_above_the_floors_in_every_class(seed):
    result = bl.layouts(seed=seed, books=BOOKS, workers=1, force={"scan": "digital"})
    rerun = f"seed {seed}: mmskin bench layouts --seed {seed} --books {BOOKS} --force scan=digital"
    assert not result["errors"], (rerun, result["errors"])
    overall = result["overall"]
    assert overall["f1"] >= OVERALL_FLOOR, (rerun, overall)
    assert overall["tight"] >= TIGHT_FLOOR, (rerun, overall)
    low = [(r["class"], r["n"], r["f1"]) for r in result["classes"] if r["n"] >= CLASS_MIN_N and r["f1"] < CLASS_FLOOR]
    assert not low, (rerun, low, [bl.failure_line(f) for f in result["failures"]][:10])


SCAN_BOOKS = 4
SCAN_OVERALL_FLOOR = 0.6  # JPEG scans of seed 21 (4 books, 21 figures at 150-400 dpi): 0.73 measured at 51b0c68,
# 0.585 before the scanned-book work of that stop (86c9eac)
SCAN_PANEL_FLOOR = 0.45  # panel accuracy: 0.59 measured (0.66 before: one caption OCR now misses at 200 dpi)
SCAN_TIGHT_FLOOR = 0.7  # matched crops with IoU >= 0.9: 0.85 measured


@pytest.mark.xdist_group("layout_regression_scans")
def test_scanned_books_score_above_the_floors():
    # scans are scored as a whole, not per class: with OCR in the loop a class of a few figures swings by a
    # figure's worth (1/n) between tesseract builds; a rule that breaks scans drops the whole run below these
    result = bl.layouts(seed=21, books=SCAN_BOOKS, workers=1, force={"scan": "jpeg"})
    rerun = f"mmskin bench layouts --seed 21 --books {SCAN_BOOKS} --force scan=jpeg"
    assert not result["errors"], (rerun, result["errors"])
    overall = result["overall"]
    assert overall["f1"] >= SCAN_OVERALL_FLOOR, (rerun, overall, [bl.failure_line(f) for f in result["failures"]][:10])
    assert overall["panel_acc"] >= SCAN_PANEL_FLOOR, (rerun, overall)
    assert overall["tight"] >= SCAN_TIGHT_FLOOR, (rerun, overall)
