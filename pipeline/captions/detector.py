"""Which text blocks start a figure caption (not an in-text reference, not a table)."""

from __future__ import annotations

import re

from pipeline.captions.builder import caption_lines, join_lines, mend_lines
from pipeline.captions.columns import continuation
from pipeline.captions.labels import label_regex, match_label
from pipeline.captions.split import legend
from pipeline.captions.style import running_style
from schemas import Caption, Page
from schemas.settings import CaptionSettings

LABEL_GAP_LH = 0.8  # a gap over a line this many of its heights tall sets it apart from the line above
INDENT_LH = 2.0  # a line above that starts more than this many line heights to the right is not its paragraph


def find_captions(page: Page, settings: CaptionSettings | None = None) -> list[Caption]:
    """Captions on a page, in reading order of their blocks. A caption starts a block (or a line of one
    after a gap) with a figure label; references inside running text ("see Fig. 5.3") never do. A caption
    goes on where the page sends it: a head over its figure takes the legend under the figure
    (``split.legend``), a caption cut by the foot of its column goes on at the top of the next column
    (``columns.continuation``); both need the page's running-text style, read from the lines outside the
    captions."""
    settings = settings or CaptionSettings()
    pattern = label_regex(settings.labels)
    blocks = sorted((mend_lines(b) for b in page.text_blocks), key=lambda b: (round(b.bbox[0] / 50), b.bbox[1]))
    found = []  # (label match, lines, box)
    consumed: set[int] = set()  # ids of lines already inside a caption

    word_only = re.compile(r"^\s*(?:" + "|".join(re.escape(w) for w in settings.labels) + r")s?\.?\s*$", re.IGNORECASE)

    def starts(text: str) -> bool:
        return match_label(text, pattern) is not None

    for bi, block in enumerate(blocks):
        for li, line in enumerate(block.lines):
            if id(line) in consumed:
                continue
            m = match_label(line.text, pattern)
            label_end = m.end if m else 0
            if not m and li + 1 < len(block.lines) and word_only.match(line.text):
                # a narrow column (the outer margin) wraps the label: "FIGURE" / "18-1—Vitiligo on ..."
                m = match_label(line.text + " " + block.lines[li + 1].text, pattern)
                label_end = len(line.text)
            if not m:
                continue
            # a label inside a block only starts a caption on a line that follows a full stop, or a gap (OCR
            # blocks run a paragraph and a label centred under it together), or a line that starts well to its
            # right (beyond a paragraph's indent: not running text of its column, e.g. a drawing's call-outs)
            if li > 0 and id(block.lines[li - 1]) not in consumed:
                prev = block.lines[li - 1]
                gap = line.bbox[1] - prev.bbox[3]
                lh = line.bbox[3] - line.bbox[1]
                if (not prev.text.rstrip().endswith((".", ":")) and gap <= LABEL_GAP_LH * lh
                        and prev.bbox[0] <= line.bbox[0] + INDENT_LH * lh):
                    continue
            lines = caption_lines(block, li, blocks[bi + 1 :], starts, label_end=label_end)
            consumed.update(id(ln) for ln in lines)
            box = (  # the part under the label: the caption's place next to its figure
                min(ln.bbox[0] for ln in lines),
                min(ln.bbox[1] for ln in lines),
                max(ln.bbox[2] for ln in lines),
                max(ln.bbox[3] for ln in lines),
            )
            found.append((m, lines, box))
    if not found:
        return []
    body = running_style(ln for b in blocks for ln in b.lines if id(ln) not in consumed)

    def go_on(nxt) -> list:
        nb, ni = nxt
        after = next(k for k, b in enumerate(blocks) if b is nb) + 1
        part = caption_lines(nb, ni, blocks[after:], starts)
        consumed.update(id(ln) for ln in part)
        return part

    captions = []
    for m, lines, box in found:
        part = lines
        if (nxt := legend(blocks, page.images, part, consumed, starts, body)) is not None:
            part = go_on(nxt)
            lines = lines + part
        # cut by the foot of its column, it goes on at the top of the next one (each to the right: it ends)
        while (nxt := continuation(blocks, page.images, part, consumed, starts, body)) is not None:
            part = go_on(nxt)
            lines = lines + part
        text = join_lines([ln.text for ln in lines])[: settings.max_caption_chars]
        captions.append(Caption(page=page.number, bbox=box, label=m.label, number=m.number, text=text))
    return captions
