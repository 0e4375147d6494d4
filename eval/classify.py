"""`mmskin eval classify`: MM-Skin's two classification benchmarks.

``sft``: a linear probe on the vision tower's features (the layer the model feeds its projector, CLS dropped as
the model does, mean over image tokens): StandardScaler + LogisticRegression, C chosen by stratified k-fold
cross-validation on the training set, then accuracy, macro-F1, balanced accuracy and AUROC (one-vs-rest, macro
over classes present) on the test set.

``zeroshot``: the model is asked a question listing the classes; the class name found first in its answer
(case-insensitive, whole words; the longer name when two start at the same place) is its prediction, an answer
naming none counts as wrong. AUROC needs scores and is not reported.

Datasets are CSV files with columns ``image,label``, or MM-Skin's classification files (``image,atributes,
categories`` with categories like ``['Malignant']``); image paths are relative to --images (default: the CSV's
directory).
"""

from __future__ import annotations

import ast
import csv
import re
import time
import warnings
from pathlib import Path
from typing import Callable

from eval.report import write_report
from training.data import DataError

METRICS = ("accuracy", "macro_f1", "balanced_accuracy", "auroc")
METRIC_LABELS = {"accuracy": "accuracy", "macro_f1": "macro-F1", "balanced_accuracy": "balanced accuracy",
                 "auroc": "AUROC"}


def read_dataset(path: Path, image_root: Path | None = None) -> tuple[list[tuple[Path, str]], list[str]]:
    """[(image path, label)] and one error line per row left out (missing image, no label)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    root = Path(image_root) if image_root else path.parent
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        cols = set(reader.fieldnames or [])
        if "image" not in cols or not ({"label", "categories"} & cols):
            raise DataError(f"{path}: need columns image,label (or MM-Skin's image,atributes,categories)")
        rows = list(reader)
    out, errors = [], []
    for i, r in enumerate(rows, start=1):
        name = f"{path} row {i} (image {r.get('image')!r})"
        label = (r.get("label") or "").strip()
        if not label and r.get("categories"):
            try:
                cats = ast.literal_eval(r["categories"])
            except (ValueError, SyntaxError):
                cats = [r["categories"]]
            cats = [cats] if isinstance(cats, str) else list(cats)
            if len(cats) != 1:
                errors.append(f"{name}: expected one category, found {cats}")
                continue
            label = str(cats[0]).strip()
        if not label:
            errors.append(f"{name}: no label")
            continue
        img = (root / (r.get("image") or "")).resolve()
        if not r.get("image") or not img.is_file():
            errors.append(f"{name}: image not found (looked for {img})")
            continue
        out.append((img, label))
    return out, errors


# ---- metrics --------------------------------------------------------------------------------------------------

def metrics(y_true: list[str], y_pred: list[str | None], classes: list[str], proba=None) -> dict:
    """Accuracy, macro-F1 (over the classes in the truth or the predictions), balanced accuracy, AUROC (one-vs-rest, mean over classes that have
    positives and negatives in y_true; None without probabilities), in percent. A None prediction is wrong."""
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score

    if not y_true:
        return {m: None for m in METRICS}
    pred = [p if p is not None else "\0none" for p in y_pred]
    present = [c for c in classes if c in set(y_true) or c in set(pred)]  # macro over classes seen in truth or answers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true" is expected here
        out = {
            "accuracy": 100 * float(np.mean([t == p for t, p in zip(y_true, pred)])),
            "macro_f1": 100 * float(f1_score(y_true, pred, labels=present, average="macro", zero_division=0)),
            "balanced_accuracy": 100 * float(balanced_accuracy_score(y_true, pred)),
            "auroc": None,
        }
    if proba is not None:
        y = np.asarray(y_true)
        aucs = [roc_auc_score(y == c, proba[:, k]) for k, c in enumerate(classes) if 0 < (y == c).sum() < len(y)]
        out["auroc"] = 100 * float(np.mean(aucs)) if aucs else None
    return out


def confusion(y_true: list[str], y_pred: list[str | None], classes: list[str]) -> list[list[int]]:
    """Rows: truth; columns: classes, then 'none' (no class named)."""
    idx = {c: k for k, c in enumerate(classes)}
    m = [[0] * (len(classes) + 1) for _ in classes]
    for t, p in zip(y_true, y_pred):
        if t in idx:
            m[idx[t]][idx.get(p, len(classes)) if p is not None else len(classes)] += 1
    return m


# ---- SFT: linear probe ----------------------------------------------------------------------------------------

def vision_tower(model):
    for name, module in model.named_modules():
        if name.endswith("vision_tower"):
            return module
    raise ValueError("the model has no vision_tower")


def features(loaded, images: list[Path], batch_size: int, on_error: Callable[[int, str], None]) -> tuple:
    """Mean-pooled vision-tower features (n_ok, d) and the indices of the images that could be read."""
    import numpy as np
    import torch

    from training.data import load_image, pixel_values

    cfg = loaded.model.config
    layer = cfg.vision_feature_layer if isinstance(cfg.vision_feature_layer, int) else cfg.vision_feature_layer[-1]
    tower = vision_tower(loaded.model)
    feats, ok = [], []
    pix_batch: list = []

    def flush():
        if not pix_batch:
            return
        px = torch.stack(pix_batch).to(loaded.device, loaded.model.dtype)
        with torch.no_grad():
            hs = tower(px, output_hidden_states=True, return_dict=True).hidden_states[layer]
        if cfg.vision_feature_select_strategy == "default":
            hs = hs[:, 1:]
        feats.append(hs.float().mean(dim=1).cpu().numpy())
        pix_batch.clear()

    for i, img in enumerate(images):
        try:
            pix_batch.append(pixel_values(loaded.processor, load_image(img, loaded.aspect, loaded.processor)))
            ok.append(i)
        except (OSError, ValueError) as exc:
            on_error(i, f"cannot read image {img}: {exc}")
        if len(pix_batch) >= batch_size:
            flush()
    flush()
    return (np.concatenate(feats) if feats else np.zeros((0, 0))), ok


def fit_probe(x, y: list[str], settings) -> tuple:
    """GridSearchCV over C (stratified folds, shuffled with the seed), refit on all of x. Returns (model, info)."""
    from collections import Counter

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    counts = Counter(y)
    if len(counts) < 2:
        raise DataError(f"the training set has {len(counts)} class(es); a probe needs at least 2")
    folds = min(settings.probe_folds, min(counts.values()))
    if folds < 2:
        rare = sorted(c for c, n in counts.items() if n < 2)
        raise DataError(f"class(es) {rare} have a single training image; cross-validation needs 2 per class")
    pipe = Pipeline([("scale", StandardScaler()),
                     ("clf", LogisticRegression(max_iter=settings.probe_max_iter, random_state=settings.seed))])
    search = GridSearchCV(pipe, {"clf__C": list(settings.probe_c_grid)},
                          cv=StratifiedKFold(folds, shuffle=True, random_state=settings.seed),
                          scoring=settings.probe_scoring, refit=True)
    search.fit(x, y)
    return search.best_estimator_, {"C": float(search.best_params_["clf__C"]), "cv_folds": folds,
                                    "cv_scoring": settings.probe_scoring, "cv_score": float(search.best_score_),
                                    "c_grid": list(settings.probe_c_grid)}


# ---- zero-shot ------------------------------------------------------------------------------------------------

def first_class(answer: str, classes: list[str]) -> str | None:
    """The class whose name appears first in the answer (whole words, any case; the longer name on a tie)."""
    best = None
    text = answer.lower()
    for c in classes:
        m = re.search(r"(?<![a-z0-9])" + re.escape(c.lower()) + r"(?![a-z0-9])", text)
        if m and (best is None or (m.start(), -len(c)) < (best[0], -len(best[1]))):
            best = (m.start(), c)
    return best[1] if best else None


# ---- run ------------------------------------------------------------------------------------------------------

def run(mode: str, model: Path, test: Path, out: Path, settings, train: Path | None = None,
        images: Path | None = None, template: str | None = None, log: Callable[[str], None] = lambda m: None) -> dict:
    from eval.generate import load_for_inference

    if mode not in ("sft", "zeroshot"):
        raise ValueError(f"mode must be sft or zeroshot, not {mode!r}")
    if mode == "sft" and train is None:
        raise ValueError("--mode sft needs --train CSV")
    t0 = time.perf_counter()
    errors: list[str] = []
    test_rows, e = read_dataset(test, images)
    errors += e
    train_rows: list = []
    if mode == "sft":
        train_rows, e = read_dataset(train, images)
        errors += e
    for err in errors:
        log(f"bad row: {err}")
    loaded = load_for_inference(model, template)
    report: dict = {"mode": mode, "model": str(model), "test": str(test), "train": str(train) if train else None,
                    "seed": settings.seed}
    if mode == "sft":
        xtr, ok_tr = features(loaded, [p for p, _ in train_rows], settings.batch_size,
                              lambda i, m: errors.append(f"train {train_rows[i][0]}: {m}"))
        ytr = [train_rows[i][1] for i in ok_tr]
        classes = sorted(set(ytr))
        unseen = [(p, lab) for p, lab in test_rows if lab not in classes]
        for p, lab in unseen:
            errors.append(f"test {p}: label {lab!r} has no training image; left out")
        test_rows = [(p, lab) for p, lab in test_rows if lab in classes]
        xte, ok_te = features(loaded, [p for p, _ in test_rows], settings.batch_size,
                              lambda i, m: errors.append(f"test {test_rows[i][0]}: {m}"))
        yte = [test_rows[i][1] for i in ok_te]
        probe, info = fit_probe(xtr, ytr, settings)
        pred = list(probe.predict(xte)) if len(yte) else []
        proba = probe.predict_proba(xte) if len(yte) else None
        order = [list(probe.classes_).index(c) for c in classes]
        scores = metrics(yte, pred, classes, proba[:, order] if proba is not None else None)
        report.update({"probe": info, "feature_dim": int(xtr.shape[1]), "n_train": len(ytr)})
    else:
        classes = sorted({lab for _, lab in test_rows})
        question = settings.zeroshot_prompt.format(classes=", ".join(classes))
        from eval.generate import generate

        answers = generate(loaded, [(question, p) for p, _ in test_rows], settings.zeroshot_max_new_tokens,
                           settings.temperature, settings.seed, settings.batch_size,
                           on_error=lambda i, m: errors.append(f"test {test_rows[i][0]}: {m}"))
        kept = [(row, a) for row, a in zip(test_rows, answers) if a is not None]
        yte = [row[1] for row, _ in kept]
        pred = [first_class(a, classes) for _, a in kept]
        scores = metrics(yte, pred, classes)
        report.update({"prompt": question, "template": loaded.template.name,
                       "no_class_named": sum(p is None for p in pred),
                       "answers": [{"image": str(row[0]), "label": row[1], "answer": a} for row, a in kept][:200]})
    report.update({"classes": classes, "n_test": len(yte), "units": "percent", "scores": scores,
                   "confusion": {"rows": classes, "columns": classes + ["none"],
                                 "matrix": confusion(yte, pred, classes)},
                   "errors": errors, "seconds": time.perf_counter() - t0})
    rows = [[METRIC_LABELS[m], scores[m]] for m in METRICS]
    notes = [f"{len(yte)} test images, {len(classes)} classes, scores in percent"]
    if mode == "sft":
        notes.append(f"probe: C = {report['probe']['C']:g} by {report['probe']['cv_folds']}-fold CV "
                     f"({report['probe']['cv_scoring']} {report['probe']['cv_score']:.3f}), {report['n_train']} "
                     "training images")
    else:
        notes.append(f"{report['no_class_named']} answer(s) named no class (counted wrong); AUROC needs scores: "
                     "not reported")
    if errors:
        notes.append(f"{len(errors)} row(s) left out: see report.json 'errors'")
    write_report(out, report, f"classification ({mode}): {Path(test).name}", ["metric", "value"], rows,
                 {mode: {Path(test).stem: {METRIC_LABELS[m]: scores[m] for m in METRICS}}}, notes=notes)
    return report
