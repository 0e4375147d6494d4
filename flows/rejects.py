"""``rejects.html``: a contact sheet of the rejected records of a build, for a quick look.

One self-contained HTML page (inline CSS, no scripts, nothing fetched from elsewhere) beside records.jsonl.
Rejected records are grouped by their first reject reason, so each appears once (groups of page furniture,
``decoration_*``, come last); every card shows the
thumbnail (a relative link to ``images/...``), all its reasons with the filter's score, the source PDF, page,
figure label and caption. Every string that came from a PDF is HTML-escaped.
"""

from __future__ import annotations

import html
from collections import Counter
from urllib.parse import quote

from schemas import Record

FILE = "rejects.html"
CAPTION_CHARS = 400  # longer captions are cut on the sheet (the full text is in the card's title)
THUMB_PX = 180  # thumbnail box side
LAST_PREFIXES = ("decoration_", "vector_uncaptioned")  # not figures: their groups come last

_CSS = f"""
body {{ font: 14px/1.35 system-ui, sans-serif; margin: 1.5em; color: #222; }}
h1 {{ font-size: 1.4em; }} h2 {{ font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }}
table.counts td, table.counts th {{ padding: 2px 10px; text-align: left; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 12px; }}
.card {{ width: {THUMB_PX + 20}px; border: 1px solid #ddd; border-radius: 4px; padding: 8px; background: #fafafa; }}
.card img {{ max-width: {THUMB_PX}px; max-height: {THUMB_PX}px; display: block; margin: 0 auto 6px; }}
.reasons span {{ display: inline-block; background: #fde2e1; border-radius: 3px; padding: 0 4px; margin: 1px;
  font-size: 12px; }}
.meta {{ color: #666; font-size: 12px; overflow-wrap: anywhere; }}
.caption {{ font-size: 12px; margin-top: 4px; }}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _score(value: float) -> str:
    return f"{value:.4g}"


def _card(r: Record) -> str:
    href = _e(quote(r.image, safe="/"))
    reasons = "".join(
        f"<span>{_e(reason)}" + (f" {_score(r.reject_scores[reason])}" if reason in r.reject_scores else "") + "</span>"
        for reason in r.reject_reasons
    )
    caption = r.subcaption or r.caption or ""
    shown = caption if len(caption) <= CAPTION_CHARS else caption[:CAPTION_CHARS].rstrip() + "\u2026"
    meta = [f"{r.source_pdf} p.{r.page}"]
    if r.figure_label:
        meta.append(r.figure_label + (f" ({r.panel})" if r.panel else ""))
    meta.append(f"{r.width}\u00d7{r.height} px")
    if r.duplicate_of:
        meta.append(f"duplicate of {r.duplicate_of}")
    meta_text = " \u00b7 ".join(meta)
    return (
        f'<div class="card" id="{_e(r.id)}" title="{_e(caption)}">'
        f'<a href="{href}"><img src="{href}" alt="{_e(r.id)}" loading="lazy"></a>'
        f'<div class="reasons">{reasons}</div>'
        f'<div class="meta">{_e(meta_text)}<br>{_e(r.id)}</div>'
        f'<div class="caption">{_e(shown)}</div></div>'
    )


def rejects_html(records: list[Record]) -> bytes:
    """The contact sheet of the rejected records (in the given order within each group) as UTF-8 HTML."""
    rejected = [r for r in records if not r.kept]
    groups: dict[str, list[Record]] = {}
    for r in rejected:
        groups.setdefault(r.reject_reasons[0] if r.reject_reasons else "unknown", []).append(r)
    # filter decisions first; page furniture (logos, rules: decoration_*) last
    order = sorted(groups, key=lambda k: (k.startswith(LAST_PREFIXES), -len(groups[k]), k))
    all_reasons = Counter(x for r in rejected for x in r.reject_reasons)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>mmskin rejects ({len(rejected)} of {len(records)} records)</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Rejected records: {len(rejected)} of {len(records)}</h1>",
        "<p>Each rejected record is shown once, under its first reason; all its reasons follow the thumbnail, "
        "with the filter's score where it has one. Images link to the files in <code>images/</code>.</p>",
    ]
    if rejected:
        parts.append('<table class="counts"><tr><th>reason</th><th>records (any reason)</th>'
                     "<th>shown under it</th></tr>")
        for reason in sorted(all_reasons, key=lambda k: (-all_reasons[k], k)):
            parts.append(f'<tr><td><a href="#r-{_e(reason)}">{_e(reason)}</a></td><td>{all_reasons[reason]}</td>'
                         f"<td>{len(groups.get(reason, []))}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>No record was rejected.</p>")
    for reason in order:
        parts.append(f'<h2 id="r-{_e(reason)}">{_e(reason)} ({len(groups[reason])})</h2><div class="grid">')
        parts += [_card(r) for r in groups[reason]]
        parts.append("</div>")
    parts.append("</body></html>\n")
    return "\n".join(parts).encode("utf-8")
