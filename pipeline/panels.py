"""Panels of a compound figure: reading order, letters a, b, ... and subcaptions parsed from the caption; the
split of a compound raster into the panels its caption names (``pipeline.panel_split``: white gutters, drawn
lines of any colour, photographs touching edge to edge, panel letters read in the corners)."""

from __future__ import annotations

import re
import string

from pipeline.panel_split import PANELS_UNSPLIT, PanelSplit, split_compound
from pipeline.panel_split import reading_order as boxes_in_reading_order
from schemas import Figure, ImageRegion, Panel
from schemas.settings import AlignSettings

VERSION = "4"

__all__ = [
    "PANELS_UNSPLIT", "PanelSplit", "assign_panels", "named_panels", "parse_subcaptions", "reading_order",
    "split_by_gutters", "split_for_caption", "split_region",
]

# "(a) ...", "(a, b) ...", "(A and B) ...", "(a-c) ..."
PAREN_MARK = re.compile(r"\(\s*([a-hA-H])(?:\s*(?:,|and|&|-|–)\s*([a-hA-H]))*\s*\)")
# "A) ...", "C and D) ..." at the start of a clause (journals that print only the closing bracket)
CLOSE_MARK = re.compile(r"(?:(?<=^)|(?<=[.;:]\s))([a-hA-H])(?:\s*(?:,|and|&|-|–)\s*([a-hA-H]))*\s*\)")
# "A–D ..." at the start of a clause: a range of panels without brackets
RANGE_MARK = re.compile(r"(?:(?<=^)|(?<=[.;:]\s))([A-H])\s*[-–—]\s*([A-H])\b(?!\))")
# "A, ...; B, ..." or "A: ..." or "D and E, ..." at the start of a clause
LETTER_MARK = re.compile(r"(?:(?<=^)|(?<=[.;]\s))([A-H])((?:\s*(?:,|and|&)\s*[A-H]\b)*)[,:.]\s")
SIDE_MARK = re.compile(r"\b(Left|Right|Top|Bottom|Upper|Lower|Middle|Centre|Center)\s*(?:panel)?\s*:", re.IGNORECASE)
PUNCT = " ;,.:—–-"  # what a subcaption never starts or ends with
SIDE_ORDER = {"left": 0, "top": 0, "upper": 0, "middle": 1, "centre": 1, "center": 1, "right": 2, "bottom": 2, "lower": 2}


def reading_order(panels: list[Panel]) -> list[Panel]:
    """Sort panels into rows (vertical overlap) top to bottom, then left to right inside a row."""
    return boxes_in_reading_order(panels, box=lambda p: p.bbox)


def _letters(first: str, others: tuple) -> list[str]:
    letters = [first.lower()] + [o.lower() for o in others if o]
    return letters


def parse_subcaptions(caption: str) -> dict[str, str]:
    """Map panel letters to their text. Shared text before the first marker is not repeated per panel.

    Handles "(a) ... (b) ...", "(a,b) ...", "(A and B) ...", "A) ... B) ...", "A–D ...", "A, ...; B, ..." and
    "Left: ... Right: ..."."""
    body = re.sub(r"^\s*\S+\.?\s*[\d.\-–A-Za-z]*[.:]?\s*", "", caption, count=1) if caption else ""
    marks = []  # (start, end, [letters])
    found_marks = sorted([*PAREN_MARK.finditer(body), *CLOSE_MARK.finditer(body)], key=lambda m: m.start())
    for m in found_marks:
        inner = m.group(0).lstrip("(")[:-1]
        found = re.findall(r"\b[a-hA-H]\b", inner)
        if re.search(r"[-–]", inner) and len(found) == 2:
            a, b = found[0].lower(), found[1].lower()
            found = [chr(c) for c in range(ord(a), ord(b) + 1)]
        marks.append((m.start(), m.end(), [f.lower() for f in found]))
    if not marks:
        for m in RANGE_MARK.finditer(body):
            a, b = m.group(1).lower(), m.group(2).lower()
            marks.append((m.start(), m.end(), [chr(c) for c in range(ord(a), ord(b) + 1)]))
    if not marks:
        for m in LETTER_MARK.finditer(body):
            marks.append((m.start(), m.end(), [m.group(1).lower()] + [x.lower() for x in re.findall(r"[A-H]", m.group(2))]))
    if not marks:
        for m in SIDE_MARK.finditer(body):
            marks.append((m.start(), m.end(), [string.ascii_lowercase[SIDE_ORDER[m.group(1).lower()]]]))
        if marks:  # re-letter sides in their order of appearance
            marks = [(s, e, [string.ascii_lowercase[k]]) for k, (s, e, _l) in enumerate(marks)]
    out: dict[str, str] = {}
    # markers after their text ("rash on the trunk (a) with bullae on both thighs (b).") describe the text before
    # them: the last marker closes the caption and the first one has text before it
    suffix = bool(marks) and not body[marks[-1][1]:].strip(PUNCT) and bool(body[:marks[0][0]].strip(PUNCT))
    for k, (start, end, letters) in enumerate(marks):
        if suffix:
            text = body[marks[k - 1][1] if k else 0:start].strip(PUNCT)
        else:
            text = body[end:marks[k + 1][0] if k + 1 < len(marks) else len(body)].strip(PUNCT)
        for letter in letters:
            if text:
                out[letter] = (out.get(letter, "") + " " + text).strip()
    return out


def assign_panels(figure: Figure) -> Figure:
    """Order a figure's panels and give them letters and subcaptions (single-region figures: no letter)."""
    panels = reading_order(figure.panels)
    if len(panels) < 2:
        return figure.model_copy(update={"panels": panels})
    subs = parse_subcaptions(figure.caption.text if figure.caption else "")
    out = []
    for k, p in enumerate(panels):
        letter = string.ascii_lowercase[k] if k < 26 else None
        out.append(p.model_copy(update={"panel": letter, "subcaption": subs.get(letter) if letter else None}))
    return figure.model_copy(update={"panels": out})


def split_by_gutters(img) -> list[tuple[int, int, int, int]]:
    """Panels of a composite raster without knowing how many there are: boxes in pixels (x0, y0, x1, y1) in
    reading order (rows, then columns within a row), cut at every border the pixels clearly show (a white
    gutter, a drawn line of any colour, a seam where two photographs touch; ``panel_split.ACCEPT``). One box,
    the whole raster, when there is none. (The name is the old one: it cut at white gutters only.) With the
    caption's count, ``split_for_caption`` is the better call."""
    return split_compound(img).boxes


def split_for_caption(img, caption: str, settings: AlignSettings | None = None,
                      scan_px_per_pt: float | None = None) -> PanelSplit:
    """The raster cut into exactly the panels ``caption`` names, when the pixels support that many; otherwise
    the whole raster with reason PANELS_UNSPLIT (a photograph is never cut on a guess). Panel letters are read
    in the panels' corners (tesseract, one call) only when a border is doubtful (``panel_letters_ocr``).
    ``scan_px_per_pt``: the raster is a scan at this many pixels per point; it is measured at no more than
    ``scan_panel_dpi``."""
    settings = settings or AlignSettings()
    letters = named_panels(caption)
    max_scale = 1.0
    if scan_px_per_pt:
        max_scale = min(1.0, settings.scan_panel_dpi / 72.0 / scan_px_per_pt)
    return split_compound(img, len(letters), letters, ocr=settings.panel_letters_ocr,
                          min_panel_frac=settings.panel_min_frac, max_scale=max_scale)


def split_region(png: bytes, bbox, kind: str, caption: str,
                 settings: AlignSettings | None = None) -> tuple[list[ImageRegion] | None, str | None]:
    """A compound raster region cut into one region per panel the caption names (boxes in page points, pixels
    cropped from the region's own), or (None, PANELS_UNSPLIT) when the pixels do not support the split. The
    worker-side job of ``pipeline.figures`` (decode, split, encode), taking the caption's panel count."""
    from pipeline.extract.images import make_region, png_to_numpy

    img = png_to_numpy(png)
    x0, y0, x1, y1 = bbox
    scan = img.shape[1] / (x1 - x0) if kind == "scan_region" and x1 > x0 else None
    split = split_for_caption(img, caption, settings, scan)
    if not split.split:
        return None, split.reason
    sx, sy = (x1 - x0) / img.shape[1], (y1 - y0) / img.shape[0]
    return [
        make_region(img[by0:by1, bx0:bx1], (x0 + bx0 * sx, y0 + by0 * sy, x0 + bx1 * sx, y0 + by1 * sy), kind,
                    max(img.shape[:2]))
        for bx0, by0, bx1, by1 in split.boxes
    ], None


def named_panels(caption: str) -> list[str]:
    """Panel letters a caption names, in order ("(a) ... (b) ..." -> ["a", "b"])."""
    return sorted(parse_subcaptions(caption))
