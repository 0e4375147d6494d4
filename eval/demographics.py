"""Scores of mined demographics against labelled texts (``mmskin eval demographics``).

Input rows are JSON lines ``{"id", "text", "age", "age_group", "gender", "source"?, "category"?}`` (the format
of ../shared/data/captions/demographics_dev.jsonl); predictions are ``{id: {"age", "age_group", "gender"}}``.
The scorer does not mine anything itself: the CLI runs ``pipeline.demographics`` and passes its results in.

Numbers, per category and over all rows:

- **age exact**: share of rows with a labelled age whose predicted age is within ``AGE_TOLERANCE`` years;
- **invented**: share of rows without a labelled age that got one anyway;
- **gender**: share of all rows whose predicted gender equals the label (None = None counts as right), and
  the same over rows with a labelled gender only;
- **age group**: share of all rows whose predicted group equals the label.

A row's category is its ``category`` field when it has one, else one derived from ``source`` (``CATEGORIES``:
the data set the text came from), else ``other``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from schemas.jsonl import json_lines

AGE_TOLERANCE = 0.5  # years: |predicted - labelled| below this is exact

# (substring of the row's source, category name), first match wins
CATEGORIES = (
    ("dermavqa_iiyi", "iiyi queries"),
    ("roco", "PMC captions"),
    ("mmskin_test_vqa", "MM-Skin VQA"),
    ("case_reports", "case reports"),
    ("openstax", "textbook captions"),
)
ALL = "ALL"


def category(row: dict) -> str:
    if row.get("category"):
        return str(row["category"])
    source = str(row.get("source") or "")
    return next((name for key, name in CATEGORIES if key in source), "other")


def read_rows(path: Path) -> tuple[list[dict], list[str]]:
    """Labelled rows of a JSON-lines file, and a message for each line that is not a usable row."""
    rows, errors = [], []
    for n, row, bad in json_lines(path.read_text(encoding="utf-8").splitlines()):
        if bad:
            errors.append(f"{path.name} line {n}: not JSON ({bad})")
            continue
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            errors.append(f"{path.name} line {n}: expected an object with a string \"text\"")
            continue
        row.setdefault("id", f"line{n}")
        rows.append(row)
    return rows, errors


@dataclass
class CategoryScore:
    category: str
    n: int = 0
    aged: int = 0  # rows with a labelled age
    age_ok: int = 0
    unaged: int = 0  # rows without one
    invented: int = 0
    gender_ok: int = 0  # over all rows
    gendered: int = 0  # rows with a labelled gender
    gendered_ok: int = 0
    group_ok: int = 0

    @staticmethod
    def _ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    @property
    def age_exact(self) -> float | None:
        return self._ratio(self.age_ok, self.aged)

    @property
    def invented_share(self) -> float | None:
        return self._ratio(self.invented, self.unaged)

    @property
    def gender_accuracy(self) -> float | None:
        return self._ratio(self.gender_ok, self.n)

    @property
    def gender_accuracy_labelled(self) -> float | None:
        return self._ratio(self.gendered_ok, self.gendered)

    @property
    def group_accuracy(self) -> float | None:
        return self._ratio(self.group_ok, self.n)

    def as_dict(self) -> dict:
        return {**asdict(self), "age_exact": self.age_exact, "invented_share": self.invented_share,
                "gender_accuracy": self.gender_accuracy, "gender_accuracy_labelled": self.gender_accuracy_labelled,
                "group_accuracy": self.group_accuracy}


def age_right(pred: float | None, truth: float) -> bool:
    return pred is not None and abs(pred - truth) < AGE_TOLERANCE


def score(rows: list[dict], predictions: dict[str, dict]) -> tuple[list[CategoryScore], list[str]]:
    """Per-category scores (sorted by name, ``ALL`` last) and one line per row that is wrong in any way."""
    stats: dict[str, CategoryScore] = {}
    wrong: list[str] = []
    for r in rows:
        p = predictions.get(str(r["id"])) or {}
        age, group, gender = p.get("age"), p.get("age_group"), p.get("gender")
        for cat in (category(r), ALL):
            s = stats.setdefault(cat, CategoryScore(category=cat))
            s.n += 1
            if r.get("age") is not None:
                s.aged += 1
                s.age_ok += age_right(age, float(r["age"]))
            else:
                s.unaged += 1
                s.invented += age is not None
            s.gender_ok += gender == r.get("gender")
            if r.get("gender") is not None:
                s.gendered += 1
                s.gendered_ok += gender == r.get("gender")
            s.group_ok += group == r.get("age_group")
        why = []
        if r.get("age") is not None and not age_right(age, float(r["age"])):
            why.append(f"age {age} != {r['age']}")
        if r.get("age") is None and age is not None:
            why.append(f"invented age {age}")
        if gender != r.get("gender"):
            why.append(f"gender {gender} != {r.get('gender')}")
        if group != r.get("age_group"):
            why.append(f"group {group} != {r.get('age_group')}")
        if why:
            wrong.append(f"{r['id']}: {'; '.join(why)}; evidence {p.get('evidence') or []}")
    ordered = sorted(stats.values(), key=lambda s: (s.category == ALL, s.category))
    return ordered, wrong
