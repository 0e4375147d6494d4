"""`mmskin review DIR`: a local curation page over a built dataset (FastAPI + the plain HTML/JS in ``static/``).

Reads ``DIR/records.jsonl`` and ``DIR/overrides.jsonl``; the only file it writes is ``overrides.jsonl``, one
appended line per correction (see :mod:`flows.overrides`). What the page shows is the *effective* state: the
records with every override applied by the same function the next ``mmskin build`` uses
(:func:`pipeline.overrides.apply_overrides`).

Endpoints (JSON unless said):

- ``GET /``: the page; ``GET /static/...``: its script and style.
- ``GET /api/records?modality=&reason=&needs_review=&kept=&curated=&q=&offset=&limit=``: one page of effective
  records (``vqa`` left out) with ``total`` and facet counts. ``reason=none`` selects records without reasons.
- ``GET /api/records/{id}``: one effective record; ``GET /api/state``: all of them and the overrides report.
- ``POST /api/overrides``: body :class:`schemas.OverrideChange` (422 when invalid, 404 for an unknown record);
  appends one timestamped line; answers the line and the record's new effective state.
- ``GET /media/{path}``, ``GET /thumbs/{path}``: an image (or a JPEG thumbnail) of the dataset; only files
  inside ``DIR/images`` are served, anything else (``..``, absolute paths, links out) is 404.

Every response carries a Content-Security-Policy allowing scripts, styles and images from this server only.
"""

from __future__ import annotations

import io
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
from pipeline.overrides import apply_overrides
from schemas import OverrideChange, Record
from schemas.settings import ReviewSettings

STATIC = Path(__file__).with_name("static")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
LIST_EXCLUDE = {"vqa", "phash"}


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


def _list_view(rec: Record) -> dict:
    return rec.model_dump(mode="json", exclude=LIST_EXCLUDE)


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
                (reason == "none" and r.reject_reasons) or (reason != "none" and reason not in r.reject_reasons)
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

        hits = [r for r in records if match(r)]
        return {
            "total": len(hits),
            "offset": offset,
            "limit": limit,
            "records": [_list_view(r) for r in hits[offset: offset + limit]],
            "facets": {
                "records": len(records),
                "modality": dict(sorted(Counter(r.modality for r in records).items())),
                "reasons": dict(sorted(Counter(x for r in records for x in r.reject_reasons).items())),
                "needs_review": sum(r.needs_review for r in records),
                "kept": sum(r.kept for r in records),
                "curated": sum(bool(r.curated) for r in records),
            },
            "overrides": report,
        }

    @app.get("/api/records/{record_id}")
    def get_record(record_id: str) -> dict:
        _, by_id, _ = store.state()
        if record_id not in by_id:
            raise HTTPException(404, f"no record {record_id!r}")
        return by_id[record_id].model_dump(mode="json")

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
                             "record": by_id[change.record_id].model_dump(mode="json")})

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
