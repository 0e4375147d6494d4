"""Every evaluation report as three files in one directory: report.json (all numbers), report.md (a markdown
table) and report.png (a bar chart)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def bar_chart(path: Path, panels: dict[str, dict[str, dict[str, float | None]]], title: str, ylabel: str) -> None:
    """One panel per key of ``panels``; each panel {group: {metric: value}} drawn as grouped bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(max(6.0, 5.5 * len(panels)), 4.2), squeeze=False)
    for ax, (panel, groups) in zip(axes[0], panels.items()):
        metrics = list(dict.fromkeys(m for g in groups.values() for m in g))
        width = 0.8 / max(1, len(groups))
        for k, (g, vals) in enumerate(groups.items()):
            xs = [i + k * width for i in range(len(metrics))]
            ax.bar(xs, [vals.get(m) or 0.0 for m in metrics], width=width, label=g)
        ax.set_xticks([i + width * (len(groups) - 1) / 2 for i in range(len(metrics))])
        ax.set_xticklabels(metrics, rotation=30, ha="right", fontsize=8)
        ax.set_title(panel, fontsize=10)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(out_dir: Path, data: dict, title: str, header: Sequence[str], rows: Sequence[Sequence],
                 panels: dict[str, dict[str, dict[str, float | None]]], ylabel: str = "percent",
                 notes: Sequence[str] = ()) -> dict[str, Path]:
    """Write report.json, report.md and report.png; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md", "png": out_dir / "report.png"}
    paths["json"].write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    md = f"# {title}\n\n" + markdown_table(header, rows)
    if notes:
        md += "\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    paths["md"].write_text(md)
    bar_chart(paths["png"], panels, title, ylabel)
    return paths
