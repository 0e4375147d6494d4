"""`mmskin review DIR`: a local curation page over a built dataset (FastAPI + the plain HTML/JS in ``static/``).

Reads ``DIR/records.jsonl`` and ``DIR/overrides.jsonl``; the only file it writes is ``overrides.jsonl``, one
appended line per correction (see :mod:`flows.overrides`). What the page shows is the *effective* state: the
records with every override applied by the same function the next ``mmskin build`` uses
(:func:`pipeline.overrides.apply_overrides`).

Endpoints (JSON unless said):

- ``GET /``: the page; ``GET /static/...``: its script and style.
- ``GET /api/records?modality=&reason=&needs_review=&kept=&curated=&q=&decorations=&offset=&limit=``: one page
  of effective records (``vqa`` left out) with ``total`` and facet counts. ``reason=none`` selects records
  without reject reasons; any other ``reason`` matches a reject reason or a note (``panels_unsplit``). ``decorations``: ``show`` (default: every record), ``hide`` (leave out page furniture, the
  records with a ``decoration_*`` reject reason; ``hidden_decorations`` says how many the other filters would
  have matched) or ``only``; the facet counts cover the records this setting leaves in, ``facets.decorations``
  counts the decorations of the whole dataset. The page asks for ``hide`` unless "show decorations" is on.
- ``GET /api/records/{id}``: one effective record, ``vqa`` included; ``GET /api/state``: all of them (as
  records.jsonl holds them) and the overrides report.
- ``POST /api/overrides``: body :class:`schemas.OverrideChange` (422 when invalid, 404 for an unknown record);
  appends one timestamped line; answers the line and the record's new effective state.

Records the list, the single-record endpoint and the POST answer carry two fields for the page, made here
from the record (not part of records.jsonl): ``age_printed``, the age as the caption printed it
(:func:`age_as_printed`), and ``modality_explained``, the modality evidence in words (:func:`modality_in_words`).
- ``GET /media/{path}``, ``GET /thumbs/{path}``: an image (or a JPEG thumbnail) of the dataset; only files
  inside ``DIR/images`` are served, anything else (``..``, absolute paths, links out) is 404.

Every response carries a Content-Security-Policy allowing scripts, styles and images from this server only.
"""

from __future__ import annotations

import io
import re
import threading
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image, UnidentifiedImageError

from flows.outputs import IMAGES
from flows.overrides import OVERRIDES, append_override, read_overrides
from pipeline.demographics import mine_demographics
from pipeline.overrides import apply_overrides
from schemas import OverrideChange, Record
from schemas.settings import ReviewSettings

STATIC = Path(__file__).with_name("static")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
LIST_EXCLUDE = {"vqa", "phash"}
DECORATION_PREFIX = "decoration_"  # page furniture (logos repeated on every page, rules, backgrounds): flows/rejects.py


class DatasetError(ValueError):
    """The directory is not a dataset built by `mmskin build` (or its records cannot be read)."""


def _sig(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


class Store:
    """records.jsonl and overrides.jsonl of one dataset, re-read when either file changes (a rebuild, another
    server's append)."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.records_path = self.root / "records.jsonl"
        self.overrides_path = self.root / OVERRIDES
        self.images_dir = (self.root / IMAGES).resolve()
        if not self.records_path.is_file():
            raise DatasetError(f"{self.records_path} not found: is {root} a dataset built by `mmskin build`?")
        self._lock = threading.Lock()
        self._base: list[Record] = []
        self._base_sig: tuple | None = None
        self._eff: tuple[list[Record], dict[str, Record], dict] | None = None
        self._eff_sig: tuple | None = None
        self.state()

    def _load_base(self) -> list[Record]:
        sig = _sig(self.records_path)
        if sig != self._base_sig:
            records = []
            for i, line in enumerate(self.records_path.read_text(encoding="utf-8").splitlines(), start=1):
                if line.strip():
                    try:
                        records.append(Record.model_validate_json(line))
                    except ValueError as exc:
                        raise DatasetError(f"{self.records_path}:{i}: not a record ({str(exc).splitlines()[0]})") from None
            self._base, self._base_sig = records, sig
        return self._base

    def state(self) -> tuple[list[Record], dict[str, Record], dict]:
        """(effective records, by id, overrides report as a dict)."""
        with self._lock:
            base = self._load_base()
            sig = (self._base_sig, _sig(self.overrides_path))
            if self._eff is None or sig != self._eff_sig:
                overrides, bad = read_overrides(self.overrides_path)
                records, report = apply_overrides(base, overrides)
                self._eff = (records, {r.id: r for r in records}, report.merge(bad).model_dump())
                self._eff_sig = sig
            return self._eff

    def image_file(self, rel: str) -> Path:
        """The file a request names, if it is an image inside DIR/images; else 404."""
        if not rel or "\x00" in rel or "\\" in rel:
            raise HTTPException(404, "not found")
        try:
            p = (self.root / rel).resolve()
        except (OSError, RuntimeError):
            raise HTTPException(404, "not found") from None
        if not p.is_relative_to(self.images_dir) or p.suffix.lower() not in IMAGE_SUFFIXES or not p.is_file():
            raise HTTPException(404, "not found")
        return p


@lru_cache(maxsize=2048)
def _thumbnail(path: str, sig: tuple[int, int], px: int) -> bytes:
    with Image.open(path) as im:
        im.draft("RGB", (px, px))
        im = im.convert("RGBA") if im.mode in ("P", "LA", "PA") else im
        if im.mode == "RGBA":  # transparency on white, as the page shows it
            bg = Image.new("RGB", im.size, "white")
            bg.paste(im, mask=im.getchannel("A"))
            im = bg
        im = im.convert("RGB")
        im.thumbnail((px, px))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def is_decoration(rec: Record) -> bool:
    """Page furniture rather than a figure: any reject reason ``decoration_*`` (a curator's accept moves the
    reasons to ``overruled_reasons``, and the record counts as a figure again)."""
    return any(x.startswith(DECORATION_PREFIX) for x in rec.reject_reasons)


# ---- the age as printed ----

_NUM = (r"(?:[0-9]+(?:\.[0-9]+)?|(?:(?:twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety)(?:[\s-]?"
        r"(?:one|two|three|four|five|six|seven|eight|nine)\b)?|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
        r"seventeen|eighteen|nineteen|one|two|three|four|five|six|seven|eight|nine|ten)\b)")
_RE_DECADE_SPAN = re.compile(r"\bin\s+(?:his|her|their)\s+.*", re.IGNORECASE)
_RE_NUM_UNIT = re.compile(
    rf"(?<![\w.])(?P<n>half\s+an?|(?:{_NUM})(?:\s+and\s+a\s+half)?|an?)(?:\s*(?:-|–|\bto\b|\bor\b)\s*(?P<n2>{_NUM}))?"
    r"[\s-]*(?P<u>years?|yrs?|yo|y/o|y\.\s?o\.?|y|months?|mos?|mths?|weeks?|wks?|days?)(?![a-z])",
    re.IGNORECASE)
_RE_BARE_NUM = re.compile(rf"(?<![\w.])(?P<n>{_NUM})(?:\s*(?:-|–|\bto\b|\bor\b)\s*(?P<n2>{_NUM}))?(?![0-9])",
                          re.IGNORECASE)
_UNIT_NAMES = (("mo", "month"), ("mth", "month"), ("w", "week"), ("d", "day"), ("y", "year"))


def _unit_name(unit: str) -> str:
    u = unit.lower()
    return next(name for prefix, name in _UNIT_NAMES if u.startswith(prefix))


def _amount(m: re.Match[str], unit: str) -> str:
    n = re.sub(r"\s+", " ", m.group("n").strip())
    n2 = m.group("n2")
    if n2:
        return f"{n}–{n2.strip()} {unit}s"
    return f"{n} {unit}" if n.lower() in ("1", "one", "a", "an") or n.lower().startswith("half") else f"{n} {unit}s"


def _printed(span: str) -> str:
    """An age evidence span in a curator's words: "8-month-old" -> "8 months", "45M" -> "45 years",
    "10-year, 8-month-old" -> "10 years, 8 months", "in her 70s" stays; a span with no number stays as it is."""
    span = " ".join(span.split())
    if m := _RE_DECADE_SPAN.search(span):
        return "in" + m.group(0)[2:]  # "In his 60s" starting a sentence
    parts = [_amount(m, _unit_name(m.group("u"))) for m in _RE_NUM_UNIT.finditer(span)]
    if parts:
        return ", ".join(parts)
    if m := _RE_BARE_NUM.search(span):
        return _amount(m, "year")
    return span


def _years(age: float) -> str:
    return f"{age:g} year" + ("" if age == 1 else "s")


@lru_cache(maxsize=4096)
def _span_age(span: str) -> float | None:
    return mine_demographics(span).age


def age_as_printed(rec: Record) -> str | None:
    """The record's age as its caption printed it ("8 months" for 0.67, "in her 70s" for 75), from the
    demographics evidence span that holds it; the years ("45 years") when no span does (a curator's age, an
    evidence list without the span); None when the age is unknown.

    The span is the one whose own mined age (:func:`pipeline.demographics.mine_demographics`, the rule that made
    the record's age) is the record's age, give or take the rounding and a decade's offset settings."""
    if rec.age is None:
        return None
    if "age" not in rec.curated:
        for span in rec.demographics_evidence:
            if not span or span.startswith("curator:"):
                continue
            found = _span_age(span)
            if found is not None and abs(found - rec.age) <= max(0.02, 0.1 * rec.age):
                return _printed(span)
    return _years(rec.age)


# ---- the modality evidence in words ----

LOOKS = {"clinical": "clinical", "dermoscopy": "dermoscopic", "pathology": "histological",
         "other": "like a drawing or chart"}


def _quoted(words: list[str]) -> str:
    seen = list(dict.fromkeys(w for w in words if w))
    return ", ".join(f"'{w}'" for w in seen) if seen else "a cue"


def _cues_text(cues: list[tuple[str, list[str]]]) -> str:
    return " and ".join(f"{_quoted(words)} ({cls})" for cls, words in cues)


def modality_in_words(rec: Record) -> str:
    """``modality_evidence`` as a curator reads it. Evidence forms (:func:`pipeline.modality.combine`, the
    stage's error line and the overrides' curator line):

    - ``image:C=P`` only: "image looks dermoscopic 0.86; the caption names no modality";
    - ``decided:image+caption``: "caption says 'dermoscopy'; image looks dermoscopic 0.86";
    - ``decided:caption``: "caption says 'h&e' (pathology), overruling the image (looks clinical 0.91)";
    - ``decided:image`` with cues of another class: "image looks clinical 0.91, keeping its class against the
      caption: 'biopsy' (pathology)";
    - ``error:E``: "the image could not be read (E)"; ``curator:C (was ...)``: "a curator set C (was ...)".

    Lines of no known form are kept as they are."""
    image: tuple[str, float] | None = None
    cues: list[tuple[str, list[str]]] = []
    decided: str | None = None
    lead: list[str] = []
    tail: list[str] = []
    model_modality = rec.modality
    for line in rec.modality_evidence:
        kind, _, rest = line.partition(":")
        if kind == "image":
            cls, _, p = rest.partition("=")
            try:
                prob = float(p)
            except ValueError:
                prob = None
            if cls in LOOKS and prob is not None:
                image = (cls, prob)
                continue
        elif kind == "caption":
            head, _, words = rest.partition(":")
            cls = head.rpartition("+")[0]
            if cls in LOOKS:
                cues.append((cls, words.split(",")))
                continue
        elif kind == "decided" and rest in ("image", "caption", "image+caption"):
            decided = rest
            continue
        elif kind == "error":
            lead.append(f"the image could not be read ({rest})" if rest else "the image could not be read")
            continue
        elif kind == "curator":
            lead.append(f"a curator set {rest}")
            if m := re.search(r"\(was (\w+)", rest):
                model_modality = m.group(1)
            continue
        tail.append(line)
    model = ""
    if image is not None:
        looks = f"looks {LOOKS[image[0]]} {image[1]:.2f}"
        same = [c for c in cues if c[0] == image[0]]
        others = [c for c in cues if c[0] != image[0]]
        if not cues:
            model = f"image {looks}; the caption names no modality"
        elif decided == "caption":
            win = [c for c in cues if c[0] == model_modality] or others[:1]
            rest_ = [c for c in cues if c not in win]
            model = f"caption says {_cues_text(win)}, overruling the image ({looks})"
            if rest_:
                model += f"; it also says {_cues_text(rest_)}"
        elif decided == "image+caption":
            model = f"caption says {_quoted([w for c in same for w in c[1]])}; image {looks}"
            if others:
                model += f"; the caption also says {_cues_text(others)}"
        else:  # the image kept its class against the caption (or an evidence list without its decided line)
            model = f"image {looks}"
            if others:
                model += f", keeping its class against the caption: {_cues_text(others)}"
            if same:
                model += f"; the caption says {_quoted([w for c in same for w in c[1]])} too"
    elif cues:
        model = f"caption says {_cues_text(cues)}"
    if model and any(x.startswith("a curator") for x in lead):
        model = "before that, " + model  # what the model had said
    parts = [*lead, *([model] if model else []), *tail]
    return "; ".join(parts) if parts else "no modality evidence"


def _view(rec: Record, exclude: set[str] | None = None) -> dict:
    out = rec.model_dump(mode="json", exclude=exclude)
    out["age_printed"] = age_as_printed(rec)
    out["modality_explained"] = modality_in_words(rec)
    return out


def _list_view(rec: Record) -> dict:
    return _view(rec, LIST_EXCLUDE)


def create_app(dataset_dir: str | Path, settings: ReviewSettings | None = None,
               allowed_hosts: list[str] | None = None) -> FastAPI:
    """The review app over ``dataset_dir`` (raises :class:`DatasetError` when it holds no records.jsonl).

    ``allowed_hosts``: the only Host header names answered (``mmskin review`` on loopback passes the loopback
    names, so a web page whose DNS name points at 127.0.0.1 cannot read or write through the user's browser);
    None answers any. A POST whose Origin is not this server is refused either way."""
    st = settings or ReviewSettings()
    store = Store(Path(dataset_dir))
    app = FastAPI(title="mmskin review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    hosts = {h.lower().strip("[]") for h in allowed_hosts} if allowed_hosts is not None else None

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        host = request.headers.get("host", "")
        if hosts is not None and urlsplit(f"//{host}").hostname not in hosts:
            return JSONResponse({"detail": "host not allowed"}, status_code=400)
        origin = request.headers.get("origin")
        if request.method not in ("GET", "HEAD", "OPTIONS") and origin and urlsplit(origin).netloc != host:
            return JSONResponse({"detail": "cross-origin request refused"}, status_code=403)
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/api/records")
    def list_records(
        modality: Literal["clinical", "dermoscopy", "pathology", "other"] | None = None,
        reason: Annotated[str | None, Query(max_length=100)] = None,
        needs_review: bool | None = None,
        kept: bool | None = None,
        curated: bool | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        decorations: Literal["hide", "show", "only"] = "show",
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict:
        limit = min(limit or st.page_size, st.max_page_size)
        records, _, report = store.state()
        needle = (q or "").strip().lower()

        def match(r: Record) -> bool:
            if modality is not None and r.modality != modality:
                return False
            if reason is not None and reason != "" and (
                (reason == "none" and r.reject_reasons)
                or (reason != "none" and reason not in r.reject_reasons and reason not in r.notes)
            ):
                return False
            if needs_review is not None and r.needs_review != needs_review:
                return False
            if kept is not None and r.kept != kept:
                return False
            if curated is not None and bool(r.curated) != curated:
                return False
            if needle and needle not in f"{r.id}\n{r.caption}\n{r.subcaption or ''}".lower():
                return False
            return True

        deco = [is_decoration(r) for r in records]
        scope = [r for r, d in zip(records, deco) if decorations == "show" or d == (decorations == "only")]
        hits = [r for r in scope if match(r)]
        hidden = sum(match(r) for r, d in zip(records, deco) if d) if decorations == "hide" else 0
        return {
            "total": len(hits),
            "offset": offset,
            "limit": limit,
            "records": [_list_view(r) for r in hits[offset: offset + limit]],
            "hidden_decorations": hidden,
            "facets": {  # of the records the decorations setting leaves in, whatever the other filters
                "records": len(scope),
                "modality": dict(sorted(Counter(r.modality for r in scope).items())),
                "reasons": dict(sorted(Counter(x for r in scope for x in [*r.reject_reasons, *r.notes]).items())),
                "needs_review": sum(r.needs_review for r in scope),
                "kept": sum(r.kept for r in scope),
                "curated": sum(bool(r.curated) for r in scope),
                "decorations": sum(deco),
            },
            "overrides": report,
        }

    @app.get("/api/records/{record_id}")
    def get_record(record_id: str) -> dict:
        _, by_id, _ = store.state()
        if record_id not in by_id:
            raise HTTPException(404, f"no record {record_id!r}")
        return _view(by_id[record_id])

    @app.get("/api/state")
    def get_state() -> dict:
        records, _, report = store.state()
        return {"records": [r.model_dump(mode="json") for r in records], "overrides": report}

    @app.post("/api/overrides")
    def post_override(change: OverrideChange) -> JSONResponse:
        _, by_id, _ = store.state()
        rec = by_id.get(change.record_id)
        if rec is None:
            raise HTTPException(404, f"no record {change.record_id!r} in this dataset")
        line = append_override(store.overrides_path, change, rec.image)
        _, by_id, _ = store.state()
        return JSONResponse({"override": line.model_dump(mode="json", exclude_unset=True),
                             "record": _view(by_id[change.record_id])})

    @app.get("/media/{path:path}")
    def media(path: str) -> FileResponse:
        return FileResponse(store.image_file(path))

    @app.get("/thumbs/{path:path}")
    def thumb(path: str) -> Response:
        p = store.image_file(path)
        try:
            data = _thumbnail(str(p), _sig(p), st.thumb_px)
        except (OSError, UnidentifiedImageError, ValueError):
            raise HTTPException(404, "cannot read image") from None
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"})

    return app
