"""Cut a compound raster into its panels: where the borders are, and whether the evidence is good enough.

A panel border is drawn, not photographed: a straight line across the whole raster (or across the whole band
of a raster already cut the other way), at one pixel position along its full length, with sharp edges.
Photographs have no such lines: their edges wander, tilt and are blurred by the optics; what is straight in
them (a ruler, a horizon, the edge of a sheet) is either out of focus, or a band with two edges, or ends in a
blank strip. All measurements are on profiles of block means along the border direction (~48 blocks along its
length, from integral images; a block's own texture cannot fake a border, and a border hidden for a few blocks
by a letter box or an arrow still counts). A border candidate's score is the share of blocks that support it.

Kinds of border:

- ``gutter``: a white run (grey >= 235 in >= 98.5% of the pixels) at least 1.2% of the side wide: the old rule
  (``split_by_gutters`` before issue 17), score 1.
- ``rule``: a run of columns (rows) of one colour, any colour (white, grey, black), up to 6% of the side wide,
  whose edges are straight and sharp: just outside it (within 2 px, one of them a resampled blend) the content
  differs from it by > 20 grey levels in most blocks. A band darker than one side and brighter than the other
  counts only with a plateau (>= 2 px) and sharp edges on both sides (a mid-grey line); otherwise it is a step
  of an out-of-focus edge (a blurred horizon, each row its own 'band').
  Both edges straight: the band is a separator, its pixels belong to no panel. One edge straight: the band is
  the background of the panel on its ragged side (a slide's white, the black around a dermoscopy field) and
  the border is the straight edge (unless it is <= 6 px: a drawn line running into a background of its
  colour).
- ``line``: a thin (1-3 px) line brighter or darker than both sides at 2-3 px in most blocks: a drawn border
  blurred by resampling or JPEG so much that it is no longer of one colour; not one of a comb of such lines
  (lines as strong within 12 px on both sides: a print screen, a ruler's ticks, a chart's grid).
- ``seam``: two photographs touching with no gutter: a colour step at one position (or through one resampled
  pixel) in most blocks, > 14 levels and 3x the steps just beside it.

Borders a scan has blurred: a band of one colour with a seam on each edge, or two seams with an even band
between them, is a separator (``_seam_bounded``: a scan spreads a drawn edge over 2-3 px, more than the rule
test calls sharp, not more than a seam's step through one pixel); a scanned region is measured at no more than
``AlignSettings.scan_panel_dpi`` (150), where its blur is about a pixel. Two borders with a strip of paper
between them (a panel letter printed in the gutter) are one gutter (``_label_gutters``).

Rules that hold for every kind: one candidate per place (a separator before a panel's background band before
a seam); two parallel candidates closer than a panel (but more than 6 px apart) are the two edges of an object
(a ruler, a strip) and neither is a border; a panel is at least ``MIN_PANEL_FRAC`` (15%) of the raster's side,
at most 4:1 without its paper-white margins (a strip is part of a picture), and not blank (grey std >= 3: not
a sheet or slide glass); a grid line that is certain (STRONG) in one piece of the raster and goes on (a faint
seam, or a band of background) in the other piece is a border (panels of a grid share their borders; a tall photograph beside two stacked ones
shows nothing there). A screened raster (a halftone or dithered print, scanned: neighbouring pixels differ by
>= 15 levels on average, and are mostly near black/white or repeat every 2-10 px; noise does neither) is
measured on a blurred copy at a third of its size. A panel's box loses its paper-white margins and a label
strip printed beyond a white run near its edge ("(a)" under the photograph). A raster that needs more than
MAX_NODES boxes measured (a table or chart of many straight lines) is left whole.

Panels are found by recursive guillotine cuts (XY-cut): the best partition into exactly the number of panels
the caption names, scored by its weakest cut, with no STRONG border between two pictures left inside a panel
(that would be a panel the count missed). Weakest cut >= ``ACCEPT``: split. Between ``MAYBE`` and ``ACCEPT``:
panel letters read by tesseract in the panels' corners (one call on a strip of the corner glyphs) must confirm
it (all panels but at most one lettered, distinct, in the caption's order). Otherwise the raster stays whole
(``PANELS_UNSPLIT``): a photograph is never cut on a guess. Without a count, every ACCEPTed border is cut.

Pure numpy/OpenCV: 20-60 ms CPU for a typical 700-1000 px figure (about 110 ms for a 2x2 of 1000 px with
histology); tesseract (~0.15 s) only for a doubtful split.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

import cv2
import numpy as np

PANELS_UNSPLIT = "panels_unsplit"

# the old white-gutter rule (pipeline.panels before issue 17)
GUTTER_WHITE = 235  # grey level above which a gutter pixel counts as white
GUTTER_FILL = 0.985  # share of white pixels a row/column needs to be part of a gutter
GUTTER_MIN_FRAC = 0.012  # a gutter is at least this fraction of the image side wide
LABEL_FRAC = 0.15  # a label strip under a panel is at most this fraction of the panel's side ...
LABEL_WHITE = 0.85  # ... and at least this share white
PAPER_WHITE = 250  # a panel's margin of this white (>= GUTTER_FILL of a row/column) is trimmed

MIN_PANEL_FRAC = 0.15  # a panel is at least this fraction of the raster's side (and MIN_PANEL_PX)
MIN_PANEL_PX = 16
BLANK_STD = 3.0  # a box whose grey levels vary less than this (std) is blank, not a panel (photos: >= 5)
MAX_PANEL_ASPECT = 4.0  # a panel is no longer than this many times its width (a strip is part of a picture)
HALFTONE_STEP = 15  # mean grey step between neighbouring pixels of a screened raster (photos: <= 10) ...
HALFTONE_EXTREME = 0.35  # ... and the share of its pixels near black (<= 40) or white (>= 215) ...
HALFTONE_PERIODIC = 0.35  # ... or the autocorrelation of its steps at a lag of 2-10 px (photos' steps: < 15)
MAX_WORK_SIDE = 1200  # larger rasters are measured on a copy scaled down to this longer side

MAX_NODES = 120  # boxes measured for one raster at most (a photo composite needs < 40); beyond: left whole
MAX_PEAKS = 10  # candidates of one kind per axis of a node (the best; texture gives many weak ones)
BLOCKS = 48  # blocks along a border's length (fewer when the length is short: blocks of >= 6 px)
MIN_BLOCK = 6

UNIFORM_STD = 8.0  # a block of a rule column has at most this grey-level std ...
UNIFORM_TOL = 14.0  # ... and is within this of the rule's colour
UNIFORM_SHARE = 0.85  # share of blocks that must be uniform for a column to be part of a rule
RULE_MAX_FRAC = 0.06  # a rule is at most this fraction of the side wide (wider white gutters: the old rule)
RULE_CONTRAST = 20.0  # content beside a rule differs from it by this much in a supporting block ...
SHARP = 0.8  # ... and sharply: within 2 px outside it, this share of the difference reached 4 px outside
EDGE_STRAIGHT = 0.6  # a band's edge is straight when this share of its blocks support it
THIN = 6  # px: a band this thin is a drawn line; two borders closer than a panel but further apart: an object
COMB = 12  # px: a thin line with lines as strong (half its share) within this on both sides is a comb
LINE_CONTRAST = 16.0  # a thin line is this much brighter (darker) than both sides in a supporting block
SEAM_STEP = 14.0  # a seam's step (largest channel difference) in a supporting block ...
SEAM_RATIO = 3.0  # ... is this many times the largest step just beside it
SEAM_SLACK = 2  # px: a band between two seams is read this far inside them (but the last), its sides this far outside

NMS_BONUS = 0.1  # per rank (separator 2, a panel's background band 1, seam 0): what a lower rank must score more
ACCEPT = 0.6  # a cut supported by this share of its blocks is a border (the count-free split takes these)
MAYBE = 0.25  # ... one between MAYBE and ACCEPT needs panel letters (OCR) to confirm it
FAINT = 0.1  # a grid line goes on into the next panel at least this faintly (share of blocks)
STRONG = 0.8  # a cut this strong must not be left inside a panel (the count missed a panel)

GLYPH_RANGE = 120  # a corner whose grey levels span this much (2nd-98th percentile) is also cut at its middle
CORNER_FRAC = 0.22  # corner crops for letters: this fraction of the panel's shorter side (24..140 px)
LETTERS = "ABCDEFGHIJabcdefghij"


class _TooMany(Exception):
    """More than MAX_NODES boxes measured: a raster full of straight lines (a table, a chart), not photographs."""


@dataclass(frozen=True)
class Cut:
    axis: int  # 0: a vertical border (cuts the x axis), 1: a horizontal border
    start: int  # the border's pixels along the axis, [start, end) in raster coordinates; start == end: a seam
    end: int
    kind: str  # gutter | rule | line | seam
    score: float
    band: tuple[int, int] | None = None  # the whole band of one colour, when the border is only one of its edges

    @property
    def extent(self) -> tuple[int, int]:
        return self.band or (self.start, self.end)


@dataclass
class PanelSplit:
    """Result of ``split_compound``: panel boxes (x0, y0, x1, y1) in pixels in reading order, one box (the whole
    raster) when it is not split; ``letters`` read in the panels' corners (None where none was read or no OCR
    ran); ``reason`` is PANELS_UNSPLIT when the caption names panels but the pixels do not support that many;
    ``evidence`` names the kinds of the cuts used (and "letters" when OCR confirmed them)."""

    boxes: list[tuple[int, int, int, int]]
    letters: list[str | None]
    reason: str | None = None
    evidence: list[str] = field(default_factory=list)

    @property
    def split(self) -> bool:
        return len(self.boxes) > 1


# --------------------------------------------------------------------------- profiles


def _screened(rows: np.ndarray) -> bool:
    """Are these (sampled) rows of a screened print: neighbouring pixels differ by a lot almost everywhere
    (mean step >= HALFTONE_STEP), and the dots are either near black or white (a 1-bit halftone or dither) or
    regular (a grey screen: the steps repeat every 2-10 px)? Noise steps as much, but neither way."""
    g = rows.astype(np.float32)
    d = np.diff(g, axis=1)
    if d.size == 0 or float(np.abs(d).mean()) < HALFTONE_STEP:
        return False
    if float(((g <= 40) | (g >= 215)).mean()) >= HALFTONE_EXTREME:
        return True
    d -= d.mean(axis=1, keepdims=True)
    power = (d * d).mean(axis=1) + 1e-6
    return max(float(((d[:, :-k] * d[:, k:]).mean(axis=1) / power).mean()) for k in range(2, 11)) >= HALFTONE_PERIODIC


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of runs of True in a 1-D boolean array."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.flatnonzero(m[1:] != m[:-1])
    return [(int(a), int(b)) for a, b in zip(d[::2], d[1::2])]


class _Raster:
    """The working copy of a raster (scaled down when large) with its integral images: block profiles of any
    node along either axis cost O(blocks x positions), whatever the node's area."""

    def __init__(self, img: np.ndarray, min_panel_frac: float = MIN_PANEL_FRAC, max_scale: float = 1.0):
        img = np.ascontiguousarray(img, dtype=np.uint8)
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        elif img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_RGBA2RGB)
        self.full_shape = img.shape[:2]
        h, w = self.full_shape
        self.scale = min(1.0, max_scale, MAX_WORK_SIDE / max(h, w))
        # a screened raster (a halftone or dithered print, scanned) is measured on a blurred copy at a third
        # of its size, where its dots are grey again
        if h >= 30 and w >= 30 and _screened(img[:: max(1, h // 64), :, 1]):
            img = cv2.GaussianBlur(img, (0, 0), 2.0)  # screens of up to ~6 px period, no moire left
            self.scale = min(self.scale, 1.0 / 3.0)
        if self.scale < 1.0:
            img = cv2.resize(img, (max(1, round(w * self.scale)), max(1, round(h * self.scale))),
                             interpolation=cv2.INTER_AREA)
        self.gray_u8 = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        self.h, self.w = self.gray_u8.shape
        self.sum, self.sqsum = cv2.integral2(self.gray_u8, sdepth=cv2.CV_32S, sqdepth=cv2.CV_64F)
        self.csum = cv2.integral(img, sdepth=cv2.CV_32S)  # (h+1, w+1, 3); 255 * 1200 * 1200 < 2**31
        self.wsum = cv2.integral((self.gray_u8 >= GUTTER_WHITE).astype(np.uint8), sdepth=cv2.CV_32S)
        self.min_panel = (max(MIN_PANEL_PX, min_panel_frac * self.w), max(MIN_PANEL_PX, min_panel_frac * self.h))
        self._cands: dict = {}
        self._raw: dict = {}
        self.nodes = 0  # boxes measured so far (MAX_NODES at most)
        self._panel_like: dict = {}

    @staticmethod
    def _blocks(integral, node, axis, nb):
        """Block sums and block sizes: (nb, positions[, ch]) sums over nb blocks along the border direction."""
        x0, y0, x1, y1 = node
        if axis == 0:
            edges = np.linspace(y0, y1, nb + 1).round().astype(int)
            sub = integral[edges][:, x0 : x1 + 1]
            sums = np.diff(np.diff(sub, axis=0), axis=1)
        else:
            edges = np.linspace(x0, x1, nb + 1).round().astype(int)
            sub = integral[y0 : y1 + 1][:, edges]
            sums = np.diff(np.diff(sub, axis=1), axis=0).swapaxes(0, 1)
        return sums.astype(np.float64), np.diff(edges).astype(np.float64)

    def profiles(self, node, axis):
        """Block means (grey), block std (grey) and block means (colour) of ``node``, blocks along the border
        direction: arrays (blocks, positions[, 3]) where positions run along ``axis``."""
        x0, y0, x1, y1 = node
        length = (y1 - y0) if axis == 0 else (x1 - x0)
        nb = int(max(1, min(BLOCKS, length // MIN_BLOCK)))
        s, size = self._blocks(self.sum, node, axis, nb)
        s2, _ = self._blocks(self.sqsum, node, axis, nb)
        sc, _ = self._blocks(self.csum, node, axis, nb)
        m = s / size[:, None]
        std = np.sqrt(np.maximum(s2 / size[:, None] - m * m, 0.0))
        return m.astype(np.float32), std.astype(np.float32), (sc / size[:, None, None]).astype(np.float32)

    def white_share(self, node, axis):
        """Share of white pixels (>= GUTTER_WHITE) of each column (axis 0) or row (axis 1) of ``node``."""
        s, size = self._blocks(self.wsum, node, axis, 1)
        return s[0] / size[0]

    def panel_like(self, node) -> bool:
        """Could ``node`` be a panel: without its paper-white margins, not a strip (aspect over MAX_PANEL_ASPECT:
        the sky above a horizon, a ruler, the epidermis under a slide's white) and not blank (grey std under
        BLANK_STD over the whole box: a sheet, a slide's glass)?"""
        if node not in self._panel_like:
            x0, y0, x1, y1 = _trim_white(self, node)  # what is left of it without paper-white margins
            w, h = x1 - x0, y1 - y0
            ok = w > 0 and h > 0 and max(w, h) <= MAX_PANEL_ASPECT * min(w, h)
            if ok:
                n = float(w * h)
                s = float(self.sum[y1, x1]) - self.sum[y0, x1] - self.sum[y1, x0] + self.sum[y0, x0]
                s2 = self.sqsum[y1, x1] - self.sqsum[y0, x1] - self.sqsum[y1, x0] + self.sqsum[y0, x0]
                ok = s2 / n - (s / n) ** 2 >= BLANK_STD**2
            self._panel_like[node] = ok
        return self._panel_like[node]

    def goes_on(self, node, cut: Cut) -> bool:
        """Does a border at the cut's place (+-1 px) go on across ``node``: at least a faint seam there (share
        >= FAINT), or an even band of one colour across the whole node (the background between two pictures)?"""
        x0, y0, x1, y1 = node
        off, size = (x0, x1 - x0) if cut.axis == 0 else (y0, y1 - y0)
        lo, hi = cut.start - off - 1, cut.end - off + 2
        if size < 8 or lo < 0 or hi > size:
            return False
        m, std, mc = self.profiles(node, cut.axis)
        if float(_seam_share(mc, size)[0][lo:hi].max()) >= FAINT:
            return True
        colour = np.median(m[:, lo:hi], axis=0)
        even = ((std[:, lo:hi] <= UNIFORM_STD) & (np.abs(m[:, lo:hi] - colour) <= UNIFORM_TOL)).mean(axis=0)
        return float(even.max()) >= UNIFORM_SHARE

    def candidates(self, node, aligned: bool = True) -> list[Cut]:
        """Border candidates of ``node`` (cached); ``aligned``: with grid lines promoted (``_aligned``)."""
        if node not in self._raw:
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise _TooMany
            self._raw[node] = _candidates(self, node)
        if not aligned:
            return self._raw[node]
        if node not in self._cands:
            self._cands[node] = _aligned(self, node, self._raw[node])
        return self._cands[node]


def _edge_support(m, a: int, b: int, colour: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per block: does the content just outside each edge of the band [a, b) differ from the band's colour, and
    sharply (within 2 px outside, one of them a resampled blend, at least SHARP of the difference reached within
    4 px: a drawn edge, not an out-of-focus one)? (before, after). A band darker than one side and brighter
    than the other is either a drawn line of a middle grey (then it is at least 2 px wide and both its edges
    are sharp) or a step of an edge (a blurred horizon, the rows of a gradient, each a 'band' of its own):
    those blocks support neither edge."""
    signed, sharp = [], []
    for lo, hi, near in ((max(0, a - 4), a, slice(max(0, a - 2), a)), (b, min(size, b + 4), slice(b, b + 2))):
        if hi > lo:
            d = m[:, lo:hi] - colour
            far = d[np.arange(len(d)), np.abs(d).argmax(axis=1)]
            signed.append(far)
            sharp.append(np.abs(m[:, near] - colour[..., None] if np.ndim(colour) else m[:, near] - colour)
                         .max(axis=1) >= SHARP * np.abs(far))
        else:
            signed.append(np.zeros(len(m), np.float32))
            sharp.append(np.zeros(len(m), bool))
    before, after = (np.abs(d) > RULE_CONTRAST for d in signed)
    step = before & after & (np.sign(signed[0]) != np.sign(signed[1]))
    if b - a >= 2:
        step &= ~(sharp[0] & sharp[1])
    return before & sharp[0] & ~step, after & sharp[1] & ~step


def _band(m, a: int, b: int, colour: float, off: int, size: int, axis: int, kind: str) -> Cut | None:
    """The border a band of one colour makes. Both edges straight: the band is a separator (its pixels belong to
    no panel). One edge straight: the band is the background of the panel on its ragged side (a slide's white,
    the black around a dermoscopy field), and the border is the straight edge. Neither: for a white gutter the
    old rule (a separator all the same), for another colour a weak one. A band no wider than THIN with one
    straight edge is a drawn line whose other side runs into a panel's background of its colour."""
    before, after = _edge_support(m, a, b, colour, size)
    sb, sa = float(before.mean()), float(after.mean())
    either = float((before | after).mean())
    if sb >= EDGE_STRAIGHT and sa >= EDGE_STRAIGHT:
        return Cut(axis, off + a, off + b, kind, 1.0 if kind == "gutter" else either)
    if (sb >= EDGE_STRAIGHT or sa >= EDGE_STRAIGHT) and b - a <= THIN:
        return Cut(axis, off + a, off + b, kind, 1.0 if kind == "gutter" else max(sb, sa))  # a drawn line
    if sb >= EDGE_STRAIGHT or sa >= EDGE_STRAIGHT:
        at = a if sb >= sa else b
        return Cut(axis, off + at, off + at, kind, 1.0 if kind == "gutter" else max(sb, sa), (off + a, off + b))
    if kind == "gutter":
        return Cut(axis, off + a, off + b, kind, 1.0)
    return Cut(axis, off + a, off + b, kind, either)


def _gutters(r: _Raster, node, axis, m) -> list[Cut]:
    """The old rule: interior white runs >= GUTTER_MIN_FRAC of the raster side wide."""
    x0, y0, x1, y1 = node
    share = r.white_share(node, axis)
    size, off = (x1 - x0, x0) if axis == 0 else (y1 - y0, y0)
    side = r.w if axis == 0 else r.h
    out = []
    for a, b in runs(share >= GUTTER_FILL):
        if b - a >= max(2, GUTTER_MIN_FRAC * side) and a > 0 and b < size:
            out.append(_band(m, a, b, float(np.median(m[:, a:b])), off, size, axis, "gutter"))
    return out


def _rules(m, std, off, size, axis) -> list[Cut]:
    """Runs of one colour (any: white, grey, black) that make a border (``_band``)."""
    colour = m.mean(axis=0)  # (a mean: a median per position costs more than the rest together)
    uniform = (std <= UNIFORM_STD) & (np.abs(m - colour) <= UNIFORM_TOL)
    out = []
    # runs of uniform columns, broken where the colour changes (a white gutter between black backgrounds)
    even = uniform.mean(axis=0) >= UNIFORM_SHARE
    jump = np.abs(np.diff(colour)) > UNIFORM_TOL
    even_runs = []
    for a, b in runs(even):
        cuts = [a] + [int(i) + 1 for i in np.flatnonzero(jump[a : b - 1]) + a] + [b]
        even_runs += [(p, q) for p, q in zip(cuts, cuts[1:]) if q > p]
    for a, b in even_runs:
        if a == 0 or b == size or b - a > RULE_MAX_FRAC * size:
            continue  # a frame or margin at the raster's edge, or an even region (background, smooth skin)
        out.append(_band(m, a, b, float(np.median(colour[a:b])), off, size, axis, "rule"))
    return out


def _lines(m, off, size, axis) -> list[Cut]:
    """Thin lines (1-3 px) brighter or darker than both sides at 2-3 px in most blocks (blurred borders)."""
    out = []
    if size < 8:
        return out
    best = np.zeros(size)
    sign = np.zeros(size)
    for d in (2, 3):
        left, mid, right = m[:, : size - 2 * d], m[:, d : size - d], m[:, 2 * d :]
        bright = (mid - np.maximum(left, right) > LINE_CONTRAST).mean(axis=0)
        dark = (np.minimum(left, right) - mid > LINE_CONTRAST).mean(axis=0)
        for share, s in ((bright, 1), (dark, -1)):
            padded = np.zeros(size)
            padded[d : size - d] = share
            better = padded > best
            best[better], sign[better] = padded[better], s
    prof = m.mean(axis=0)
    for p in _peaks(best, MAYBE):
        # one of a comb of lines (a print screen, a ruler's ticks, a grid on a chart): texture, not a border
        before, after = best[max(0, p - COMB): max(0, p - 3)], best[p + 4: p + COMB + 1]
        if len(before) and len(after) and min(before.max(), after.max()) >= 0.5 * best[p]:
            continue
        # the line's extent: neighbours still at least half as far from the background as the peak
        s = sign[p]
        bg = (prof[max(0, p - 3)] + prof[min(size - 1, p + 3)]) / 2
        half = s * (prof[p] - bg) / 2
        a = p
        while a > 0 and p - a < 3 and s * (prof[a - 1] - bg) > half:
            a -= 1
        b = p + 1
        while b < size and b - p < 3 and s * (prof[b] - bg) > half:
            b += 1
        out.append(Cut(axis, off + a, off + b, "line", float(best[p])))
    return out


def _seams(mc, off, size, axis) -> list[Cut]:
    """Steps of colour at one position (or through one resampled pixel), much larger than the steps beside."""
    if size < 8:
        return []
    share, one_px = _seam_share(mc, size)
    # where a sharp step also shows as 2-px steps beside it, the 1-px position wins the tie
    return [Cut(axis, off + pk, off + pk, "seam", float(share[pk])) for pk in _peaks(share + 0.01 * one_px, MAYBE)]


def _seam_share(mc, size):
    """Per position: the share of blocks with a seam there (1 or 2 px step), and with a 1-px step."""
    d1 = np.abs(np.diff(mc, axis=1)).max(axis=2)  # d1[:, i]: step between positions i and i+1
    n = d1.shape[1]
    # one-pixel step at boundary p (between p-1 and p): d1[:, p-1]; beside it d1[:, p-2] and d1[:, p]
    p = np.arange(2, n - 1)
    step1 = d1[:, p - 1]
    ctrl1 = np.maximum(d1[:, p - 2], d1[:, p])
    ok1 = (step1 > SEAM_STEP) & (step1 > SEAM_RATIO * ctrl1)
    # two-pixel step through pixel p (a resampled border): |m[p+1] - m[p-1]|; beside it d1[:, p-2] and d1[:, p+1]
    q = np.arange(2, n - 2)
    step2 = np.abs(mc[:, q + 1] - mc[:, q - 1]).max(axis=2)
    ctrl2 = np.maximum(d1[:, q - 2], d1[:, q + 1])
    ok2 = (step2 > SEAM_STEP) & (step2 > SEAM_RATIO * ctrl2)
    support = np.zeros((len(mc), size), bool)
    support[:, p] |= ok1
    support[:, q] |= ok2
    support[:, q + 1] |= ok2  # the seam may be taken on either side of the resampled pixel
    one_px = np.zeros(size)
    one_px[p] = ok1.mean(axis=0)
    return support.mean(axis=0), one_px


def _peaks(score: np.ndarray, floor: float, radius: int = 3, most: int = MAX_PEAKS) -> list[int]:
    """Positions of the ``most`` highest local maxima >= floor, at least ``radius`` apart (the higher wins)."""
    order = np.argsort(-score, kind="stable")
    taken: list[int] = []
    for i in order:
        if score[i] < floor or len(taken) >= most:
            break
        if all(abs(int(i) - t) > radius for t in taken):
            taken.append(int(i))
    return sorted(taken)


def _rank(c: Cut) -> int:
    """2: a separator (a band with both edges straight, a line); 1: one edge of a panel's background band; 0: a
    seam."""
    return 0 if c.kind == "seam" else 1 if c.band is not None else 2


def _gap(a: Cut, b: Cut) -> int:
    """Pixels between two parallel cuts' bands."""
    return max(a.extent[0], b.extent[0]) - min(a.extent[1], b.extent[1])


def _candidates(r: _Raster, node) -> list[Cut]:
    """Border candidates (score >= MAYBE) of a node, both axes, with panels of at least the minimum size on
    both sides; one per place (the best kind); seams that are one edge of a band are dropped."""
    x0, y0, x1, y1 = node
    out: list[Cut] = []
    for axis in (0, 1):
        off, size = (x0, x1 - x0) if axis == 0 else (y0, y1 - y0)
        min_panel = r.min_panel[axis]
        if size < 2 * min_panel:
            continue
        m, std, mc = r.profiles(node, axis)
        cuts = _gutters(r, node, axis, m) + _rules(m, std, off, size, axis) + _lines(m, off, size, axis)
        cuts = [c for c in _seam_bounded(m, cuts + _seams(mc, off, size, axis), off, min_panel) if c.score >= MAYBE]
        cuts = [c for c in cuts if c.start - off >= min_panel and off + size - c.end >= min_panel]
        # one candidate per place (a seam is also each edge of a rule or line; the background band of a panel
        # beside a gutter is one too): the best, a separator (both edges straight) before a panel's own
        # background band before a seam, unless clearly better scored
        cuts.sort(key=lambda c: -(c.score + NMS_BONUS * _rank(c)))
        kept: list[Cut] = []
        for c in cuts:
            if not any(c.extent[0] <= k.extent[1] + 3 and k.extent[0] <= c.extent[1] + 3 for k in kept):
                kept.append(c)
        kept = _label_gutters(r, node, axis, kept, min_panel)
        # two parallel borders closer than a panel: the two edges of an object (a ruler, a strip), no border
        band = {c for c in kept for o in kept if o is not c and THIN < _gap(o, c) < min_panel
                and o.score >= min(ACCEPT, c.score)}
        kept = [c for c in kept if c not in band]
        out += kept
    return out


def _label_gutters(r: "_Raster", node, axis: int, cuts: list[Cut], min_panel: float) -> list[Cut]:
    """Two parallel borders closer than a panel with a strip of paper between them (>= LABEL_WHITE of its pixels
    white: a panel letter or a short label printed under a panel, in the gutter) are one gutter, from the first's
    start to the second's end, scored by the stronger (the strip adds paper, not doubt); otherwise they would be
    taken for the two edges of an object and both dropped."""
    cuts = sorted(cuts, key=lambda c: c.extent[0])
    share = None
    off = node[0] if axis == 0 else node[1]
    out: list[Cut] = []
    for c in cuts:
        prev = out[-1] if out else None
        if prev is not None and prev.kind != "seam" and c.kind != "seam" and THIN < _gap(prev, c) < min_panel:
            if share is None:
                share = r.white_share(node, axis)
            strip = share[prev.extent[1] - off: c.extent[0] - off]
            if len(strip) and float(strip.mean()) >= LABEL_WHITE:
                out[-1] = Cut(axis, prev.extent[0], c.extent[1], "gutter", max(prev.score, c.score))
                continue
        out.append(c)
    return out


def _seam_bounded(m, cuts: list[Cut], off: int, min_panel: float) -> list[Cut]:
    """``cuts`` and the separators that pairs of seams make: a band of one colour found by ``_rules`` or
    ``_gutters`` with a seam of score >= EDGE_STRAIGHT at each edge; or two such seams, closer than a panel,
    with a band of one colour between them (its grey levels within UNIFORM_TOL) that differs from both sides
    by RULE_CONTRAST, in EDGE_STRAIGHT of the blocks. Either is a gutter or a drawn line whose edges a scan has
    blurred over 2-3 px, beyond what ``_edge_support`` calls sharp but not beyond a seam's step through one
    resampled pixel (a 150 dpi scan of a 2x2 grid with a 3 pt gutter: seams of 0.98 and 1.0 on its two edges;
    without this, the pair would be dropped as the two edges of an object). Scored by the weaker seam."""
    seams = sorted((c for c in cuts if c.kind == "seam" and c.score >= EDGE_STRAIGHT), key=lambda c: c.start)
    size = m.shape[1]
    out = []
    for c in cuts:  # a band of one colour already found (``_rules``, ``_gutters``), a seam at each of its edges
        if c.kind in ("gutter", "rule"):
            lo, hi = c.extent
            before = [s.score for s in seams if abs(s.start - lo) <= SEAM_SLACK]
            after = [s.score for s in seams if abs(s.start - hi) <= SEAM_SLACK]
            if before and after and hi - lo > SEAM_SLACK:
                c = Cut(c.axis, lo, hi, c.kind, max(c.score, min(max(before), max(after))))
        out.append(c)
    for s1, s2 in zip(seams, seams[1:]):
        a, b = s1.start - off, s2.start - off  # the band: [a + 2, b - 1), off the seams' blended pixels
        if not (2 * SEAM_SLACK <= b - a < min_panel) or a - SEAM_SLACK < 0 or b + SEAM_SLACK >= size:
            continue
        band = m[:, a + SEAM_SLACK: b - SEAM_SLACK + 1]
        colour = band.mean(axis=1)
        even = band.max(axis=1) - band.min(axis=1) <= UNIFORM_TOL
        apart = ((np.abs(m[:, a - SEAM_SLACK] - colour) > RULE_CONTRAST)
                 & (np.abs(m[:, b + SEAM_SLACK] - colour) > RULE_CONTRAST))
        if float((even & apart).mean()) >= EDGE_STRAIGHT:
            out.append(Cut(s1.axis, s1.start, s2.start, "rule", min(s1.score, s2.score)))
    return out


def _aligned(r: "_Raster", node, cuts: list[Cut]) -> list[Cut]:
    """Grid lines: a doubtful border (MAYBE <= score < ACCEPT) across the node is taken as a border (score
    ACCEPT) when a certain border of the other direction (between two pictures, not a blank strip) cuts the
    node into two pieces, in one of which it is STRONG at the same place (+-2 px), and it goes on in the other
    (a faint seam, or an even band of background). Panels of a grid share their borders: the border is certain
    where two unlike photographs meet, and goes on straight where two alike ones do (two dermoscopy fields,
    black against black). A photograph's own straight edge does not end at a panel border and go on in the
    next panel; a tall photograph beside two stacked ones shows nothing there."""
    certain = [c for c in cuts if c.score >= ACCEPT and all(r.panel_like(ch) for ch in _children(node, c))]
    out = []
    for c in cuts:
        if MAYBE <= c.score < ACCEPT and c.kind != "gutter":
            for o in certain:
                if o.axis == c.axis:
                    continue
                pieces = _children(node, o)
                sure = [any(k.axis == c.axis and k.score >= STRONG and abs(k.start - c.start) <= 2
                            for k in r.candidates(piece, aligned=False)) for piece in pieces]
                if any(sure) and all(ok or r.goes_on(piece, c) for ok, piece in zip(sure, pieces)):
                    c = Cut(c.axis, c.start, c.end, c.kind, ACCEPT, c.band)
                    break
        out.append(c)
    return out


# --------------------------------------------------------------------------- partitions


def _children(node, cut: Cut):
    x0, y0, x1, y1 = node
    if cut.axis == 0:
        return (x0, y0, cut.start, y1), (cut.end, y0, x1, y1)
    return (x0, y0, x1, cut.start), (x0, cut.end, x1, y1)


def _best(r: _Raster, node, k: int, memo: dict):
    """Best partition of ``node`` into exactly ``k`` panels: (weakest cut score, sum of scores, cuts, leaves),
    or None. Every panel must look like a picture (``_Raster.panel_like``) and may not contain a STRONG border
    candidate between two such pictures (that would be a panel the count missed)."""
    key = (node, k)
    if key in memo:
        return memo[key]
    cands = r.candidates(node)
    if k == 1:
        inner = any(c.score >= STRONG and all(r.panel_like(ch) for ch in _children(node, c)) for c in cands)
        res = (2.0, 0.0, [], [node]) if r.panel_like(node) and not inner else None
        memo[key] = res
        return res
    res = None
    for cut in sorted(cands, key=lambda c: -c.score):
        if res is not None and cut.score < res[0]:
            break  # the weakest cut would be weaker than the best partition's: no better one from here on
        a, b = _children(node, cut)
        for k1 in range(1, k):
            left = _best(r, a, k1, memo)
            if left is None or (res is not None and left[0] < res[0]):
                continue
            right = _best(r, b, k - k1, memo)
            if right is None:
                continue
            cand = (min(cut.score, left[0], right[0]), cut.score + left[1] + right[1],
                    [cut] + left[2] + right[2], left[3] + right[3])
            if res is None or cand[:2] > res[:2]:
                res = cand
    memo[key] = res
    return res


def _strong_leaves(r: _Raster, node, depth: int = 0):
    """Count-free split: cut at the best ACCEPTed candidate, recursively (XY-cut)."""
    strong = [c for c in r.candidates(node)
              if c.score >= ACCEPT and all(r.panel_like(ch) for ch in _children(node, c))]
    if not strong or depth > 6:
        return [node], set()
    cut = max(strong, key=lambda c: c.score)
    leaves, kinds = [], {cut.kind}
    for child in _children(node, cut):
        sub, k = _strong_leaves(r, child, depth + 1)
        leaves += sub
        kinds |= k
    return leaves, kinds


def reading_order(items: list, box=lambda b: b) -> list:
    """``items`` (boxes, or things whose ``box(item)`` is one) sorted into rows (vertical overlap of more than
    half the smaller height) top to bottom, then left to right inside a row."""
    rows: list[list] = []
    for it in sorted(items, key=lambda it: (box(it)[1], box(it)[0])):
        b = box(it)
        for row in rows:
            ref = box(row[0])
            inter = min(ref[3], b[3]) - max(ref[1], b[1])
            if inter > 0.5 * min(ref[3] - ref[1], b[3] - b[1]):
                row.append(it)
                break
        else:
            rows.append([it])
    return [it for row in rows for it in sorted(row, key=lambda q: box(q)[0])]


def _trim_white(r: _Raster, box):
    """A panel without its own paper-white margins (rows/columns >= 98.5% of pixels >= PAPER_WHITE), as the old
    gutter split did. Paper white, not the gutter's 235: a slide's background (~240-250) is part of its panel."""
    x0, y0, x1, y1 = box
    white = r.gray_u8[y0:y1, x0:x1] >= PAPER_WHITE
    rows = np.flatnonzero(white.mean(axis=1) < GUTTER_FILL)
    cols = np.flatnonzero(white.mean(axis=0) < GUTTER_FILL)
    if not len(rows) or not len(cols):
        return box
    return (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1)


def _trim_labels(r: _Raster, box):
    """A panel without a label strip printed under (over, beside) it inside the raster: beyond a white run
    (rows >= GUTTER_FILL white, >= 2 px) within LABEL_FRAC of the box from an edge, a strip that is mostly white
    (>= LABEL_WHITE of its pixels: a few letters, "(a)"), as the old gutter split dropped it."""
    x0, y0, x1, y1 = box
    white = r.gray_u8[y0:y1, x0:x1] >= GUTTER_WHITE
    for axis in (1, 0):  # rows (top/bottom), then columns (left/right)
        share = white.mean(axis=axis)
        n = len(share)
        reach = int(LABEL_FRAC * n)
        lo, hi = 0, n
        gutters = [(a, b) for a, b in runs(share >= GUTTER_FILL) if b - a >= 2]
        for a, b in gutters:  # a strip at the far end
            if b < n and n - b <= reach and a > 0 and _mostly_white(white, axis, b, n):
                hi = min(hi, a)
        for a, b in gutters:  # ... and at the near end
            if a > 0 and a <= reach and b < n and _mostly_white(white, axis, 0, a):
                lo = max(lo, b)
        if hi - lo < n and hi - lo > n // 2:
            if axis == 1:
                y0, y1 = y0 + lo, y0 + hi
                white = white[lo:hi]
            else:
                x0, x1 = x0 + lo, x0 + hi
                white = white[:, lo:hi]
    return (x0, y0, x1, y1)


def _mostly_white(white: np.ndarray, axis: int, a: int, b: int) -> bool:
    part = white[a:b] if axis == 1 else white[:, a:b]
    return part.size > 0 and float(part.mean()) >= LABEL_WHITE


def _to_full(r: _Raster, box):
    if r.scale == 1.0:
        return tuple(int(v) for v in box)
    h, w = r.full_shape
    x0, y0, x1, y1 = box
    s = 1.0 / r.scale
    return (max(0, round(x0 * s)), max(0, round(y0 * s)), min(w, round(x1 * s)), min(h, round(y1 * s)))


# --------------------------------------------------------------------------- letters


def _glyph(crop: np.ndarray):
    """The most letter-like blob of a corner crop (grey): a compact connected component of near-white (>= 200)
    or near-black (<= 60) pixels, of letter size, with high contrast to its surroundings (which are even: its
    box, or a plain corner of the photo). Returns the glyph alone as a binary image (glyph 0 on 255) cut to its
    box, and its box in the crop; or None."""
    s = min(crop.shape)
    if s < 12:
        return None
    found = []
    # near-white or near-black; and, for a glyph a scan has blurred (its strokes mid-grey where they are thin,
    # so a fixed threshold keeps only the stem of a "B"), either side of the middle of the crop's range
    lo, hi = np.percentile(crop, (2, 98))
    mid = (float(lo) + float(hi)) / 2
    masks = [(crop >= 200, False), (crop <= 60, True)]
    if hi - lo >= GLYPH_RANGE:
        masks += [(crop <= mid, True), (crop > mid, False)]
    for fg, dark in masks:
        n, lab, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
        for i in range(1, n):
            x, y, w, h, area = (int(v) for v in stats[i])
            if not (0.15 * s <= h <= 0.75 * s and 0.06 * s <= w <= 0.75 * s and 0.12 <= area / (w * h) <= 0.85):
                continue
            if h < 7:
                continue
            pad = max(2, h // 4)
            ys, xs = slice(max(0, y - pad), y + h + pad), slice(max(0, x - pad), x + w + pad)
            mask = lab[ys, xs] == i
            around = crop[ys, xs][~mask].astype(np.float32)
            if not len(around):
                continue
            inside = crop[y: y + h, x: x + w][lab[y: y + h, x: x + w] == i]
            contrast = abs(float(inside.mean()) - float(np.median(around)))
            spread = float(np.percentile(around, 75) - np.percentile(around, 25))
            if contrast < 80 or spread > 0.5 * contrast:
                continue
            glyph = np.where(lab[y: y + h, x: x + w] == i, 0, 255).astype(np.uint8)
            found.append((contrast - spread, glyph, (x, y, w, h), dark))
    # a box around a letter (a white box on a dark photo) is a blob too: the letter inside it is the glyph; a
    # blob inside one of its own shade is a piece of it (the stem of a blurred "B" at a stricter threshold)
    keep = [f for f in found
            if not any(o is not f and ((o[3] != f[3] and _holds(f[2], o[2])) or (o[3] == f[3] and _holds(o[2], f[2])))
                       for o in found)]
    best = max(keep, key=lambda f: f[0], default=None)
    return None if best is None else best[1:3]


def _holds(a, b) -> bool:
    """Does box ``a`` (x, y, w, h) hold box ``b`` inside it, with a margin on every side?"""
    return a[0] < b[0] and a[1] < b[1] and b[0] + b[2] < a[0] + a[2] and b[1] + b[3] < a[1] + a[3]


def _corner_boxes(box, s):
    x0, y0, x1, y1 = box
    return {"tl": (x0, y0, x0 + s, y0 + s), "tr": (x1 - s, y0, x1, y0 + s),
            "bl": (x0, y1 - s, x0 + s, y1), "br": (x1 - s, y1 - s, x1, y1)}


def read_letters(gray: np.ndarray, boxes) -> list[str | None]:
    """The panel letter in a corner of each box (grey pixels), read by tesseract in one call on a strip of the
    corner glyphs (each rendered black on white at 40 px height). None for a panel without one."""
    glyphs = []  # (panel index, corner, glyph image)
    for i, box in enumerate(boxes):
        s = int(np.clip(CORNER_FRAC * min(box[2] - box[0], box[3] - box[1]), 24, 140))
        for corner, (cx0, cy0, cx1, cy1) in _corner_boxes(box, s).items():
            g = _glyph(gray[cy0:cy1, cx0:cx1])
            if g is not None:
                glyphs.append((i, corner, g[0]))
    if not glyphs:
        return [None] * len(boxes)
    height, gap = 40, 80
    tiles = []
    for _i, _c, g in glyphs:
        h, w = g.shape
        w2 = max(4, round(w * height / h))
        tiles.append(cv2.resize(g, (w2, height), interpolation=cv2.INTER_NEAREST))
    width = sum(t.shape[1] for t in tiles) + gap * (len(tiles) + 1)
    strip = np.full((height + 2 * gap, width), 255, np.uint8)
    xs = []
    x = gap
    for t in tiles:
        strip[gap: gap + height, x: x + t.shape[1]] = t
        xs.append((x, x + t.shape[1]))
        x += t.shape[1] + gap
    letters: list[str | None] = [None] * len(boxes)
    corners: list[str | None] = [None] * len(boxes)
    for text, left, right in _ocr(strip):
        for (i, corner, _g), (a, b) in zip(glyphs, xs):
            if left < b and right > a and letters[i] is None:
                letters[i], corners[i] = text.lower(), corner
    return letters


def _ocr(strip: np.ndarray) -> list[tuple[str, int, int]]:
    """Characters tesseract reads on the strip, with their x extent (left, right) in strip pixels."""
    try:
        import pytesseract

        boxes = pytesseract.image_to_boxes(strip, config="--psm 11 -c tessedit_char_whitelist=" + LETTERS)
    except Exception:  # noqa: BLE001 - no tesseract: no letters, the figure stays whole when unsure
        return []
    out = []
    for line in boxes.splitlines():
        parts = line.split()
        if len(parts) >= 5 and len(parts[0]) == 1:
            out.append((parts[0], int(parts[1]), int(parts[3])))
    return out


def _letters_confirm(letters: list[str | None], expected: list[str]) -> bool:
    """Letters read in the panels confirm a split when all but at most one panel has one, they are distinct, and
    each is one the caption names, in reading order (a, b, c ... or the caption's own)."""
    read = [x for x in letters if x]
    if len(read) < max(2, len(letters) - 1) or len(set(read)) != len(read):
        return False
    order = expected or list(string.ascii_lowercase[: len(letters)])
    pos = [order.index(x) if x in order else -1 for x in letters if x]
    return all(p >= 0 for p in pos) and pos == sorted(pos)


# --------------------------------------------------------------------------- entry points


def split_compound(img: np.ndarray, n_named: int | None = None, letters: list[str] | None = None,
                   ocr: bool = True, min_panel_frac: float = MIN_PANEL_FRAC, max_scale: float = 1.0) -> PanelSplit:
    """Panels of a compound raster (RGB or grey uint8).

    ``n_named``: the number of panels its caption names. With it, the raster is cut into exactly that many
    panels when the pixels support it (every cut ACCEPTed, or above MAYBE and confirmed by panel letters read
    in the panels' corners when ``ocr``), and otherwise kept whole with reason PANELS_UNSPLIT. Without it
    (None), every ACCEPTed border is cut. ``letters``: the caption's panel letters, in order, to check what OCR
    reads against. A raster that needs more than MAX_NODES boxes measured (a table or chart full of straight
    lines) is left whole. ``max_scale``: the raster is measured on a copy at most this scale (a scan, at the
    resolution where its blur is about a pixel); boxes are given at full size."""
    r = _Raster(img, min_panel_frac, max_scale)
    whole = [(0, 0, r.full_shape[1], r.full_shape[0])]
    root = (0, 0, r.w, r.h)
    memo: dict = {}
    if n_named is None:
        try:
            leaves, kinds = _strong_leaves(r, root)
        except _TooMany:
            return PanelSplit(whole, [None])
        if len(leaves) < 2:
            return PanelSplit(whole, [None])
        boxes = reading_order([_trim_white(r, _trim_labels(r, b)) for b in leaves])
        return PanelSplit([_to_full(r, b) for b in boxes], [None] * len(boxes), evidence=sorted(kinds))
    if n_named < 2:
        return PanelSplit(whole, [None])
    try:
        res = _best(r, root, n_named, memo)
    except _TooMany:
        res = None
    if res is None or res[0] < MAYBE:
        return PanelSplit(whole, [None], PANELS_UNSPLIT)
    boxes = reading_order([_trim_white(r, _trim_labels(r, b)) for b in res[3]])
    evidence = sorted({c.kind for c in res[2]})
    read: list[str | None] = [None] * len(boxes)
    if res[0] < ACCEPT:
        read = read_letters(r.gray_u8, boxes) if ocr else read
        if not _letters_confirm(read, [x.lower() for x in (letters or [])]):
            return PanelSplit(whole, [None], PANELS_UNSPLIT)
        evidence.append("letters")
    return PanelSplit([_to_full(r, b) for b in boxes], read, evidence=evidence)
