"""The trained image classifier of the modality stage: features -> StandardScaler -> model.

The model (logistic regression and its C, or a random forest / extra-trees ensemble) is chosen by stratified
5-fold cross-validation (:func:`select_and_fit`) and saved by :func:`save` as a compressed ``.npz`` whose
members are plain numeric arrays plus the metadata as UTF-8 JSON bytes: :func:`load` reads it with
``numpy.load(allow_pickle=False)`` and rebuilds a small numpy predictor (:class:`ModalityModel`), so a model file
can never execute code and loading needs neither scikit-learn nor pickle (scikit-learn is only used to fit).
Only models whose fitted parameters are arrays are candidates: the scaler's mean and scale, the logistic
regression's coefficients and intercepts, the trees' node arrays (children, feature, threshold, class
fractions per node). (skops, which can store any scikit-learn model safely, installs beside our pins, but
importing it takes 5-7 s, since it imports every scikit-learn estimator and torch: more than the whole
``mmskin modality predict`` budget for 100 images.)

The metadata (``ModalityModel.meta``) holds the format, feature version and names, classes, library versions,
every candidate's CV scores and confusion matrices, data sources and licences, seed and date.

:func:`load_cached` loads a file once per process (keyed by path, size and mtime; thread-safe): the build calls
the modality stage once per book, in threads. A missing, unreadable or incompatible file (other format or
feature version, wrong array shapes) raises :class:`ModelError`, whose message says how to make a new one
(``mmskin modality fit``). The model file is the one file ``pipeline`` reads: it is a parameter of the stage,
like the settings.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from pipeline.modality.features import FEATURE_NAMES, FEATURE_VERSION

FORMAT = "mmskin-modality-model/1"
CLASSES: tuple[str, ...] = ("clinical", "dermoscopy", "pathology", "other")
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL_PATH = REPO_ROOT / "models" / "modality" / "default.npz"
FIT_HINT = ("make one with `mmskin modality fit --images DIR --labels CSV --out PATH` (see `mmskin modality fit "
            "--help`), or set modality.model_path (MMSKIN_MODALITY__MODEL_PATH) to a model made by it")
MAX_MODEL_BYTES = 64 * 1024 * 1024


class ModelError(RuntimeError):
    """The modality model cannot be used: missing, unreadable or made for other features."""


@dataclass
class ModalityModel:
    """A fitted predictor: standardisation, then a linear softmax model or a tree ensemble, as arrays.
    ``predict_proba`` returns columns in ``CLASSES`` order (classes the model never saw get 0)."""

    kind: str  # "logreg" | "forest"
    arrays: dict[str, np.ndarray]
    classes: tuple[str, ...]
    meta: dict = field(default_factory=dict)
    path: str | None = None
    sha256: str | None = None
    sklearn_pipeline: Any = field(default=None, repr=False, compare=False)  # only right after fitting

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        X = np.array(np.atleast_2d(X), dtype=np.float32)  # a copy, as StandardScaler.transform works on float32
        if X.shape[1] != len(FEATURE_NAMES):
            raise ModelError(f"expected {len(FEATURE_NAMES)} features, got {X.shape[1]}")
        a = self.arrays
        X -= a["scaler_mean"].astype(np.float32)  # as StandardScaler.transform does on float32 input
        X /= a["scaler_scale"].astype(np.float32)
        if self.kind == "logreg":
            raw = _logreg_proba(X, a["coef"], a["intercept"])
        else:
            raw = _forest_proba(X, a)
        out = np.zeros((X.shape[0], len(CLASSES)), np.float64)
        for j, c in enumerate(self.classes):
            out[:, CLASSES.index(c)] = raw[:, j]
        return out

    def describe(self) -> str:
        return f"{self.meta.get('model', self.kind)} ({(self.sha256 or '')[:12]})"


def _logreg_proba(X: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    # float32 throughout, as LogisticRegression.predict_proba on the scaler's float32 output
    d = X @ coef.T.astype(np.float32) + intercept.astype(np.float32)
    if coef.shape[0] == 1:  # two classes
        p = 1.0 / (1.0 + np.exp(-d[:, 0]))
        return np.column_stack([1.0 - p, p]).astype(np.float64)
    d -= d.max(axis=1, keepdims=True)
    e = np.exp(d)
    e /= e.sum(axis=1, keepdims=True)
    return e.astype(np.float64)


def _forest_proba(X: np.ndarray, a: dict[str, np.ndarray]) -> np.ndarray:
    """Mean over trees of the class fractions at the leaf each sample reaches (x[feature] <= threshold goes
    left, as scikit-learn's trees, which also compare in float32)."""
    offsets, left, right, feat, thr, value = (a[k] for k in ("tree_offsets", "left", "right", "feature",
                                                              "threshold", "value"))
    n = X.shape[0]
    rows = np.arange(n)
    total = np.zeros((n, value.shape[1]), np.float64)
    for t in range(len(offsets) - 1):
        node = np.full(n, offsets[t], np.int64)
        while True:
            is_leaf = left[node] < 0
            if is_leaf.all():
                break
            go_left = X[rows, np.maximum(feat[node], 0)].astype(np.float64) <= thr[node]
            nxt = np.where(go_left, left[node], right[node]) + offsets[t]
            node = np.where(is_leaf, node, nxt)
        total += value[node]
    return total / (len(offsets) - 1)


# --------------------------------------------------------------------------------------------- fitting
def candidates(seed: int = 0) -> dict[str, Any]:
    """Model candidates compared by cross-validation, simplest first (a tie keeps the earlier one). All of
    them export to arrays (:func:`export`)."""
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    out: dict[str, Any] = {}
    for C in (0.03, 0.1, 0.3, 1.0, 3.0):
        out[f"logreg_C{C:g}"] = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    out["random_forest_200"] = RandomForestClassifier(n_estimators=200, min_samples_leaf=2, max_features="sqrt",
                                                      class_weight="balanced", random_state=seed, n_jobs=1)
    out["extra_trees_200"] = ExtraTreesClassifier(n_estimators=200, min_samples_leaf=2, max_features="sqrt",
                                                  class_weight="balanced", random_state=seed, n_jobs=1)
    return out


def make_pipeline(estimator: Any):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("model", estimator)])


def _scores(y: np.ndarray, pred: np.ndarray) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    labels = [c for c in CLASSES if c in set(y.tolist()) | set(pred.tolist())]
    present = [c for c in CLASSES if c in set(y.tolist())]
    return {
        "n": int(len(y)),
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "macro_f1": round(float(f1_score(y, pred, labels=present, average="macro", zero_division=0)), 4),
        "labels": labels,
        "confusion": [[int(((y == t) & (pred == p)).sum()) for p in labels] for t in labels],
        "recall": {c: round(float((pred[y == c] == c).mean()), 4) for c in present},
    }


def cross_validate(X: np.ndarray, y: np.ndarray, *, sample_weight: np.ndarray | None = None,
                   groups: np.ndarray | None = None, seed: int = 0, folds: int = 5,
                   only: Sequence[str] | None = None) -> dict[str, dict]:
    """Stratified k-fold out-of-fold predictions of every candidate. ``groups`` names each sample's data
    source ("dev", "synthetic", ...): folds are stratified by source and class, and scores are given over all
    samples and per source. Returns {candidate: {"all": scores, "by_source": {source: scores}}}."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y).astype(str)
    groups = np.asarray(groups if groups is not None else ["all"] * len(y)).astype(str)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    strata = np.char.add(np.char.add(groups, ":"), y)
    k = max(2, min(folds, int(min(np.unique(y, return_counts=True)[1]))))
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    split_on = strata if min(np.unique(strata, return_counts=True)[1]) >= k else y
    results: dict[str, dict] = {}
    for name, est in candidates(seed).items():
        if only and name not in only:
            continue
        pred = np.empty(len(y), dtype=object)
        for tr, te in skf.split(X, split_on):
            pipe = make_pipeline(clone(est))
            pipe.fit(X[tr], y[tr], model__sample_weight=w[tr])
            pred[te] = pipe.predict(X[te])
        pred = pred.astype(str)
        results[name] = {"folds": k, "all": _scores(y, pred),
                         "by_source": {g: _scores(y[groups == g], pred[groups == g]) for g in sorted(set(groups))}}
    return results


def choose(results: dict[str, dict], prefer_source: str | None = None) -> str:
    """The candidate with the best macro-F1 (on ``prefer_source`` when given and present, then on all
    samples), then accuracy; ties keep the earlier (simpler) candidate."""

    def key(name: str):
        r = results[name]
        src = r["by_source"].get(prefer_source) if prefer_source else None
        first = src or r["all"]
        return (first["macro_f1"], first["accuracy"], r["all"]["macro_f1"], r["all"]["accuracy"])

    names = list(results)
    return max(names, key=lambda n: (key(n), -names.index(n)))


def select_and_fit(X: np.ndarray, y: np.ndarray, *, sample_weight: np.ndarray | None = None,
                   groups: np.ndarray | None = None, seed: int = 0, folds: int = 5,
                   only: Sequence[str] | None = None, prefer_source: str | None = None,
                   meta: dict | None = None) -> ModalityModel:
    """Cross-validate the candidates, refit the best on all samples, return it with its metadata."""
    import sklearn
    from sklearn.base import clone

    y = np.asarray(y).astype(str)
    unknown = sorted(set(y.tolist()) - set(CLASSES))
    if unknown:
        raise ValueError(f"unknown modality labels {unknown}; expected {list(CLASSES)}")
    if len(set(y.tolist())) < 2:
        raise ValueError("training needs at least two modalities")
    results = cross_validate(X, y, sample_weight=sample_weight, groups=groups, seed=seed, folds=folds, only=only)
    best = choose(results, prefer_source)
    pipe = make_pipeline(clone(candidates(seed)[best]))
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    pipe.fit(np.asarray(X, np.float32), y, model__sample_weight=w)
    counts = {g: {c: int(((np.asarray(groups) == g) & (y == c)).sum()) for c in CLASSES}
              for g in sorted(set(np.asarray(groups).astype(str).tolist()))} if groups is not None else {}
    info = {
        "format": FORMAT,
        "feature_version": FEATURE_VERSION,
        "feature_names": list(FEATURE_NAMES),
        "classes": list(CLASSES),
        "model": best,
        "params": {k: v for k, v in pipe.named_steps["model"].get_params().items()
                   if isinstance(v, (int, float, str, bool)) or v is None},
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "seed": seed,
        "n_samples": int(len(y)),
        "samples_per_source": counts,
        "cv": {name: {"folds": r["folds"], "all": r["all"], "by_source": r["by_source"]} for name, r in results.items()},
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    info.update(meta or {})
    model = export(pipe, info)
    model.sklearn_pipeline = pipe  # kept in memory only (tests compare probabilities); never saved
    return model


def export(pipe: Any, meta: dict) -> ModalityModel:
    """A fitted Pipeline(StandardScaler, LogisticRegression | RandomForest | ExtraTrees) -> arrays."""
    scaler, est = pipe.named_steps["scale"], pipe.named_steps["model"]
    arrays = {"scaler_mean": np.asarray(scaler.mean_, np.float64), "scaler_scale": np.asarray(scaler.scale_, np.float64)}
    classes = tuple(str(c) for c in est.classes_)
    if hasattr(est, "coef_"):
        kind = "logreg"
        arrays.update(coef=np.asarray(est.coef_, np.float64), intercept=np.asarray(est.intercept_, np.float64))
    elif hasattr(est, "estimators_"):
        kind = "forest"
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("left", "right", "feature", "threshold", "value")}
        offsets = [0]
        for tree in est.estimators_:
            t = tree.tree_
            parts["left"].append(t.children_left.astype(np.int32))
            parts["right"].append(t.children_right.astype(np.int32))
            parts["feature"].append(t.feature.astype(np.int32))
            parts["threshold"].append(t.threshold.astype(np.float64))
            v = t.value[:, 0, :].astype(np.float64)
            parts["value"].append(v / np.maximum(v.sum(axis=1, keepdims=True), 1e-300))
            offsets.append(offsets[-1] + t.node_count)
        arrays.update({k: np.concatenate(v) for k, v in parts.items()})
        arrays["tree_offsets"] = np.asarray(offsets, np.int64)
    else:
        raise ValueError(f"cannot export {type(est).__name__}: not a candidate")
    return ModalityModel(kind=kind, arrays=arrays, classes=classes, meta=dict(meta, kind=kind, model_classes=list(classes)))


# --------------------------------------------------------------------------------------------- files
_ARRAYS = {"logreg": ("scaler_mean", "scaler_scale", "coef", "intercept"),
           "forest": ("scaler_mean", "scaler_scale", "left", "right", "feature", "threshold", "value", "tree_offsets")}


def dumps(model: ModalityModel) -> bytes:
    """The bytes of a model file: a compressed npz of numeric arrays plus ``meta`` (UTF-8 JSON as uint8)."""
    buf = io.BytesIO()
    meta = json.dumps(model.meta, sort_keys=True).encode("utf-8")
    np.savez_compressed(buf, meta=np.frombuffer(meta, np.uint8), **{k: model.arrays[k] for k in _ARRAYS[model.kind]})
    return buf.getvalue()


def save(model: ModalityModel, path: str | Path) -> Path:
    """Write the model file (see :func:`dumps`); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = dumps(model)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    model.path, model.sha256 = str(path), hashlib.sha256(data).hexdigest()
    return path


def resolve_path(path: str | Path | None) -> Path:
    """The model file a setting names: None or "" = the shipped model; relative paths are taken from the
    current directory when the file exists there, else from the repository root."""
    if path is None or str(path) == "":
        return DEFAULT_MODEL_PATH
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    return REPO_ROOT / p if (REPO_ROOT / p).exists() else p


def loads(data: bytes, source: str = "<bytes>") -> ModalityModel:
    """A model from the bytes of a file written by :func:`save`; :class:`ModelError` when unusable. Only
    numeric arrays are read (``allow_pickle=False``): nothing in the file is executed."""
    if len(data) > MAX_MODEL_BYTES:
        raise ModelError(f"{source} is too large for a modality model ({len(data)} bytes); {FIT_HINT}")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("metadata is not an object")
    except Exception as exc:
        raise ModelError(f"{source} is not a modality model file ({type(exc).__name__}: {exc}); {FIT_HINT}") from None
    check_meta(meta, source)
    kind = meta.get("kind")
    classes = tuple(str(c) for c in meta.get("model_classes", []))
    try:
        _check_arrays(kind, arrays, classes)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{source} is damaged ({exc}); {FIT_HINT}") from None
    return ModalityModel(kind=kind, arrays=arrays, classes=classes, meta=meta, path=source,
                         sha256=hashlib.sha256(data).hexdigest())


def _check_arrays(kind: str, a: dict[str, np.ndarray], classes: tuple[str, ...]) -> None:
    if kind not in _ARRAYS:
        raise ValueError(f"unknown model kind {kind!r}")
    missing = [k for k in _ARRAYS[kind] if k not in a]
    if missing:
        raise ValueError(f"missing arrays {missing}")
    if not classes or set(classes) - set(CLASSES) or len(set(classes)) != len(classes):
        raise ValueError(f"bad classes {classes}")
    nf, nc = len(FEATURE_NAMES), len(classes)
    for k in _ARRAYS[kind]:
        if a[k].dtype.kind not in "fiu":
            raise ValueError(f"array {k} is not numeric")
    if a["scaler_mean"].shape != (nf,) or a["scaler_scale"].shape != (nf,):
        raise ValueError("scaler shape")
    if kind == "logreg":
        if a["coef"].shape != ((1 if nc == 2 else nc), nf) or a["intercept"].shape != (a["coef"].shape[0],):
            raise ValueError("coefficient shapes")
        return
    off = a["tree_offsets"]
    n = int(off[-1]) if off.ndim == 1 and len(off) >= 2 else -1
    if n <= 0 or off[0] != 0 or np.any(np.diff(off) <= 0):
        raise ValueError("tree offsets")
    for k in ("left", "right", "feature", "threshold"):
        if a[k].shape != (n,):
            raise ValueError(f"{k} shape")
    if a["value"].shape != (n, nc):
        raise ValueError("value shape")
    for t in range(len(off) - 1):
        size = int(off[t + 1] - off[t])
        lo, hi = int(off[t]), int(off[t + 1])
        own = np.arange(size)
        for k in ("left", "right"):
            ch = a[k][lo:hi]
            if np.any((ch != -1) & ((ch <= own) | (ch >= size))):  # children lie after their parent, in the tree
                raise ValueError("tree children")
        inner = a["left"][lo:hi] >= 0
        if np.any(a["feature"][lo:hi][inner] < 0) or np.any(a["feature"][lo:hi][inner] >= nf):
            raise ValueError("tree features")
        if np.any(inner & (a["right"][lo:hi] < 0)):
            raise ValueError("tree children")


def check_meta(meta: dict, source: str) -> None:
    if meta.get("format") != FORMAT:
        raise ModelError(f"{source} has format {meta.get('format')!r}, this mmskin reads {FORMAT!r}; {FIT_HINT}")
    if meta.get("feature_version") != FEATURE_VERSION or meta.get("feature_names") != list(FEATURE_NAMES):
        raise ModelError(f"{source} was trained on feature version {meta.get('feature_version')!r}, this mmskin "
                         f"computes version {FEATURE_VERSION!r}; retrain it: {FIT_HINT}")
    if list(meta.get("classes", [])) != list(CLASSES):
        raise ModelError(f"{source} predicts classes {meta.get('classes')}, expected {list(CLASSES)}; {FIT_HINT}")


def load(path: str | Path | None = None) -> ModalityModel:
    """Load a model file (None = the shipped model) without caching."""
    p = resolve_path(path)
    if not p.is_file():
        raise ModelError(f"modality model {p} not found; {FIT_HINT}")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read the modality model {p}: {exc}; {FIT_HINT}") from None
    return loads(data, str(p))


_CACHE: dict[tuple, ModalityModel] = {}
_LOCK = threading.Lock()


def load_cached(path: str | Path | None = None) -> ModalityModel:
    """:func:`load`, once per process for each (path, size, mtime)."""
    p = resolve_path(path)
    try:
        st = p.stat()
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    except OSError:
        key = (str(p), None, None)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is None:
            hit = load(p)
            _CACHE.clear()  # keep one model: a changed file replaces the old one
            _CACHE[key] = hit
        return hit


def file_digest(path: str | Path | None = None) -> str:
    """sha256 of the model file (part of the modality stage's cache key); "missing" when absent."""
    p = resolve_path(path)
    try:
        return hashlib.sha256(p.read_bytes()).hexdigest()
    except OSError:
        return "missing"
