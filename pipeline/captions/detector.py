"""Which text blocks start a figure caption (not an in-text reference, not a table)."""

from __future__ import annotations

from pipeline.captions.builder import caption_lines, join_lines
from pipeline.captions.labels import label_regex, match_label
from schemas import Caption, Page
from schemas.settings import CaptionSettings


def find_captions(page: Page, settings: CaptionSettings | None = None) -> list[Caption]:
    """Captions on a page, in reading order of their blocks. A caption starts a block (or a line of one
    after a gap) with a figure label; references inside running text ("see Fig. 5.3") never do."""
    settings = settings or CaptionSettings()
    pattern = label_regex(settings.labels)
    blocks = sorted(page.text_blocks, key=lambda b: (round(b.bbox[0] / 50), b.bbox[1]))
    captions = []
    consumed: set[int] = set()  # ids of lines already inside a caption

    def starts(text: str) -> bool:
        return match_label(text, pattern) is not None

    for bi, block in enumerate(blocks):
        for li, line in enumerate(block.lines):
            if id(line) in consumed:
                continue
            m = match_label(line.text, pattern)
            if not m:
                continue
            # a label inside a block only starts a caption on a line that follows a full stop
            if li > 0 and id(block.lines[li - 1]) not in consumed:
                if not block.lines[li - 1].text.rstrip().endswith((".", ":")):
                    continue
            lines = caption_lines(block, li, blocks[bi + 1 :], starts, label_end=m.end)
            consumed.update(id(ln) for ln in lines)
            text = join_lines([ln.text for ln in lines])[: settings.max_caption_chars]
            box = (
                min(ln.bbox[0] for ln in lines),
                min(ln.bbox[1] for ln in lines),
                max(ln.bbox[2] for ln in lines),
                max(ln.bbox[3] for ln in lines),
            )
            captions.append(Caption(page=page.number, bbox=box, label=m.label, number=m.number, text=text))
    return captions
