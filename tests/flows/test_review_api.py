"""`mmskin review` API (FastAPI TestClient): validation, path traversal, escaping, append-only overrides, and the
next build applying them from the stage cache."""

from __future__ import annotations

import io
import json
import os
import shutil
import threading
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from flows.overrides import OVERRIDES, read_overrides
from flows.review import DatasetError, create_app, is_loopback
from flows.review.app import STATIC, age_as_printed, is_decoration, modality_in_words
from pipeline.demographics import mine_demographics
from schemas import Record, Settings
from schemas.records import VQAPair
from tests.conftest import SAMPLES

XSS = "<img src=x onerror=alert(1)>"


def write_dataset(root: Path, extra: list[dict] = ()) -> list[Record]:
    """A small dataset directory: records.jsonl and its images (no build needed); ``extra``: more record specs."""
    (root / "images").mkdir(parents=True)
    specs = [
        dict(id="r-clin", modality="clinical", modality_confidence=0.9, caption="Fig. 1 Psoriasis, elbow."),
        dict(id="r-derm", modality="dermoscopy", modality_confidence=0.4, needs_review=True,
             caption="Fig. 2 Dermoscopy of a naevus."),
        dict(id="r-xss", modality="other", modality_confidence=0.7, caption=XSS),
        dict(id="r-rej", modality="pathology", modality_confidence=0.99, kept=False,
             reject_reasons=["low_resolution"], caption="Fig. 4 H&E x400."),
        *extra,
    ]
    records = []
    for i, s in enumerate(specs):
        r = Record(source_pdf="b.pdf", book_id="b", page=i + 1, bbox=(0, 0, 100, 100), image=f"images/{s['id']}.png",
                   width=300, height=200, **s)
        Image.new("RGB", (300, 200), (200, 40 * i % 256, 90)).save(root / r.image)
        records.append(r)
    (root / "records.jsonl").write_text("".join(r.model_dump_json() + "\n" for r in records))
    return records


@pytest.fixture
def dataset(tmp_path) -> Path:
    root = tmp_path / "ds"
    write_dataset(root)
    (tmp_path / "secret.txt").write_text("outside the dataset")
    return root


@pytest.fixture
def client(dataset) -> TestClient:
    return TestClient(create_app(dataset))


def lines(root: Path) -> list[dict]:
    return [json.loads(x) for x in (root / OVERRIDES).read_text().splitlines() if x.strip()]


def test_lists_with_filters_and_paging(client):
    all_ = client.get("/api/records").json()
    assert all_["total"] == 4 and all_["facets"]["reasons"] == {"low_resolution": 1}
    assert all("vqa" not in r for r in all_["records"])
    assert [r["id"] for r in client.get("/api/records?modality=dermoscopy").json()["records"]] == ["r-derm"]
    assert [r["id"] for r in client.get("/api/records?needs_review=true").json()["records"]] == ["r-derm"]
    assert [r["id"] for r in client.get("/api/records?kept=false").json()["records"]] == ["r-rej"]
    assert [r["id"] for r in client.get("/api/records?reason=low_resolution").json()["records"]] == ["r-rej"]
    assert len(client.get("/api/records?reason=none").json()["records"]) == 3
    assert [r["id"] for r in client.get("/api/records?q=naevus").json()["records"]] == ["r-derm"]
    page = client.get("/api/records?offset=1&limit=2").json()
    assert page["total"] == 4 and [r["id"] for r in page["records"]] == ["r-derm", "r-xss"]
    assert client.get("/api/records?modality=xray").status_code == 422


def test_a_note_is_a_reason_to_filter_by_but_the_record_stays_kept(tmp_path):
    root = tmp_path / "ds"
    write_dataset(root, [dict(id="r-unsplit", modality="clinical", modality_confidence=0.9, notes=["panels_unsplit"],
                              caption="Fig. 5 (a) Papules. (b) Plaques.")])
    client = TestClient(create_app(root))
    listing = client.get("/api/records?reason=panels_unsplit").json()
    assert [(r["id"], r["kept"]) for r in listing["records"]] == [("r-unsplit", True)]
    assert listing["facets"]["reasons"] == {"low_resolution": 1, "panels_unsplit": 1}
    assert "r-unsplit" in [r["id"] for r in client.get("/api/records?reason=none").json()["records"]]
    assert client.get("/api/records?limit=0").status_code == 422


@pytest.mark.parametrize("body", [
    {"record_id": "r-clin", "modality": "xray"},
    {"record_id": "r-clin", "age": 300},
    {"record_id": "r-clin", "age": "old"},
    {"record_id": "r-clin", "gender": "unknown"},
    {"record_id": "r-clin", "modality": "other", "extra": 1},
    {"record_id": "r-clin", "modality": "other", "ts": "2020-01-01T00:00:00Z"},  # ts is set by the server only
    {"record_id": "r-clin", "modality": "other", "image": "../secret.txt"},  # and so is image
    {"record_id": "r-clin"},
    {"record_id": "r-clin", "decision": "reject", "reason": "<script>"},
    {"modality": "other"},
    ["not", "an", "object"],
])
def test_invalid_overrides_are_422_and_write_nothing(client, dataset, body):
    res = client.post("/api/overrides", json=body)
    assert res.status_code == 422, res.text
    assert not (dataset / OVERRIDES).exists()


def test_unknown_record_is_404(client, dataset):
    assert client.post("/api/overrides", json={"record_id": "nope", "modality": "other"}).status_code == 404
    assert client.get("/api/records/nope").status_code == 404
    assert not (dataset / OVERRIDES).exists()


def test_path_traversal_is_refused(client, dataset):
    os.symlink(dataset.parent / "secret.txt", dataset / "images" / "link.png")
    (dataset / "images" / "notes.txt").write_text("not an image")
    ok = client.get("/media/images/r-clin.png")
    assert ok.status_code == 200 and ok.content == (dataset / "images/r-clin.png").read_bytes()
    thumb = client.get("/thumbs/images/r-clin.png")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= Settings().review.thumb_px
    for bad in ("../secret.txt", "..%2Fsecret.txt", "images/..%2F..%2Fsecret.txt", "%2E%2E/secret.txt",
                "images/%2e%2e/%2e%2e/secret.txt", "%2Fetc%2Fpasswd", "/etc/passwd", "records.jsonl",
                "images/link.png", "images/notes.txt", "images/missing.png", "images%5C..%5C..%5Csecret.txt"):
        for prefix in ("/media/", "/thumbs/"):
            res = client.get(prefix + bad)
            assert res.status_code == 404, (prefix, bad, res.status_code)
            assert b"outside the dataset" not in res.content and b"root:" not in res.content


def test_other_sites_cannot_write_or_rebind(client, dataset):
    body = {"record_id": "r-clin", "modality": "other"}
    assert client.post("/api/overrides", json=body, headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post("/api/overrides", content=json.dumps(body), headers={"Content-Type": "text/plain"}
                       ).status_code == 422  # a plain form post from another page is not JSON to this server
    assert not (dataset / OVERRIDES).exists()
    assert client.post("/api/overrides", json=body, headers={"Origin": "http://testserver"}).status_code == 200
    local = create_app(dataset, allowed_hosts=["127.0.0.1", "localhost"])
    assert TestClient(local, base_url="http://127.0.0.1:8765").get("/api/records").status_code == 200
    assert TestClient(local, base_url="http://evil.example:8765").get("/api/records").status_code == 400


def test_text_from_pdfs_is_data_and_the_page_never_parses_it_as_html(client):
    rec = client.get("/api/records/r-xss").json()
    assert rec["caption"] == XSS  # returned verbatim, as JSON data
    page = client.get("/")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    js = (STATIC / "app.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in js, sink
    html = (STATIC / "index.html").read_text()
    assert "http://" not in html and "https://" not in html and "//cdn" not in html  # nothing from outside


def test_overrides_are_appended_with_increasing_timestamps(client, dataset):
    before = (dataset / "records.jsonl").read_bytes()
    r1 = client.post("/api/overrides", json={"record_id": "r-derm", "modality": "clinical"})
    assert r1.status_code == 200, r1.text
    first = (dataset / OVERRIDES).read_bytes()
    r2 = client.post("/api/overrides", json={"record_id": "r-derm", "age": 45.5})
    assert r2.status_code == 200
    content = (dataset / OVERRIDES).read_bytes()
    assert content.startswith(first)  # append-only: the first line is untouched
    got = lines(dataset)
    assert len(got) == 2
    assert got[0] == {"record_id": "r-derm", "modality": "clinical", "ts": got[0]["ts"], "image": "images/r-derm.png"}
    assert set(got[1]) == {"record_id", "age", "ts", "image"}  # only what was set: no "modality": null
    t0, t1 = (datetime.fromisoformat(x["ts"].replace("Z", "+00:00")) for x in got)
    assert t0.utcoffset().total_seconds() == 0 and t1 > t0
    # the answer and the effective state show the change; records.jsonl is never written
    rec = r2.json()["record"]
    assert (rec["modality"], rec["modality_confidence"], rec["needs_review"]) == ("clinical", 1.0, False)
    assert (rec["age"], rec["age_group"]) == (45.5, "adult")
    state = {r["id"]: r for r in client.get("/api/state").json()["records"]}
    assert state["r-derm"]["modality"] == "clinical" and state["r-clin"]["curated"] == []
    assert (dataset / "records.jsonl").read_bytes() == before


def test_modality_fit_reads_the_review_lines(client, dataset):
    from flows.modality import read_overrides as fit_overrides

    client.post("/api/overrides", json={"record_id": "r-clin", "modality": "other"})
    client.post("/api/overrides", json={"record_id": "r-xss", "age": None, "gender": "male"})
    client.post("/api/overrides", json={"record_id": "r-rej", "decision": "reject"})
    assert fit_overrides(dataset / OVERRIDES) == {"images/r-clin.png": "other"}


def test_concurrent_posts_each_append_one_whole_line(client, dataset):
    n = 24
    errors = []

    def post(i):
        res = client.post("/api/overrides", json={"record_id": "r-clin", "caption": f"caption {i} " + "x" * 2000})
        if res.status_code != 200:
            errors.append(res.text)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    got, bad = read_overrides(dataset / OVERRIDES)
    assert len(got) == n and bad.dropped == 0
    ts = [o.ts for o in got]
    assert ts == sorted(ts) and len(set(ts)) == n


def test_bad_lines_are_skipped_and_counted_and_a_torn_line_stays_apart(client, dataset):
    (dataset / OVERRIDES).write_text('{"record_id": "r-clin", "modality": "oth')  # torn, no newline
    res = client.post("/api/overrides", json={"record_id": "r-clin", "gender": "female"})
    assert res.status_code == 200 and res.json()["record"]["gender"] == "female"
    raw = (dataset / OVERRIDES).read_text().splitlines()
    assert len(raw) == 2 and raw[0].endswith('"oth')
    with open(dataset / OVERRIDES, "a") as f:
        f.write('{"record_id": "r-clin", "ts": "2026-01-01T00:00:00Z", "image": "i", "age": 999}\n')
        f.write('{"record_id": "ghost", "ts": "2026-01-01T00:00:00Z", "image": "i", "modality": "other"}\n')
    report = client.get("/api/records").json()["overrides"]
    assert report["reasons"] == {"bad_json": 1, "invalid_override": 1, "unknown_record": 1, "gender": 1}


def test_not_a_dataset_is_a_clear_error(tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    with pytest.raises(DatasetError, match="records.jsonl not found"):
        create_app(tmp_path)
    res = CliRunner().invoke(app, ["review", str(tmp_path), "--no-browser", "--port", "0"])
    assert res.exit_code == 2 and "records.jsonl not found" in res.output


def test_a_non_loopback_host_gets_a_warning(dataset):
    from typer.testing import CliRunner

    from flows.cli import app

    # a documentation address (TEST-NET-3), not on this machine: the bind fails after the warning
    res = CliRunner().invoke(app, ["review", str(dataset), "--host", "203.0.113.7", "--port", "0", "--no-browser"])
    assert res.exit_code != 0
    assert "warning" in res.output and "203.0.113.7" in res.output and "no login" in " ".join(res.output.split())


def test_only_loopback_counts_as_local():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.org"))


# ---- the next build applies the overrides, from the stage cache ----

PER_BOOK = ("ingest", "modality", "demographics", "filter")


@pytest.mark.flow
@pytest.mark.xdist_group("flow")
def test_rebuild_applies_overrides_from_the_cache(sample_build, tmp_path):
    from flows.build import build_dataset

    src, _ = sample_build
    out = tmp_path / "curated"
    shutil.copytree(src, out)
    original = {r.id: r for r in map(Record.model_validate_json, (out / "records.jsonl").read_text().splitlines())}
    kept = [r for r in original.values() if r.kept]
    target = next(r for r in kept if r.modality != "pathology")
    captioned = next(r for r in kept if r.id != target.id and r.vqa)
    rejected = next(r for r in original.values() if not r.kept)
    client = TestClient(create_app(out))
    for body in ({"record_id": target.id, "modality": "pathology"},
                 {"record_id": target.id, "age": 70, "gender": "female"},
                 {"record_id": captioned.id, "caption": "Curated caption: lichen planus on the wrist."},
                 {"record_id": rejected.id, "decision": "accept"},
                 {"record_id": captioned.id, "decision": "reject", "reason": "curator_bad_crop"},
                 {"record_id": captioned.id, "decision": "accept"}):
        assert client.post("/api/overrides", json=body).status_code == 200
    effective = {r["id"]: r for r in client.get("/api/state").json()["records"]}
    with open(out / OVERRIDES, "a") as f:
        f.write("not json\n")
        f.write(json.dumps({"record_id": "gone", "ts": "2026-01-01T00:00:00Z", "image": "x", "gender": "male"}) + "\n")

    result = build_dataset([str(SAMPLES)], str(out), Settings(), workers=2)
    m = result.manifest
    for book in m["books"]:
        assert book["computed_stages"] == [], book
        assert set(PER_BOOK) <= set(book["cached_stages"]), book
    stages = {s["stage"]: s for s in m["stages"]}
    assert stages["overrides"]["reasons"] == {
        "modality": 1, "age": 1, "gender": 1, "caption": 1, "accept": 2, "unknown_record": 1, "bad_json": 1}
    rebuilt = {r.id: r for r in map(Record.model_validate_json, (out / "records.jsonl").read_text().splitlines())}
    t = rebuilt[target.id]
    assert (t.modality, t.modality_confidence, t.age, t.age_group, t.gender) == ("pathology", 1.0, 70, "older_adult",
                                                                                "female")
    c = rebuilt[captioned.id]
    assert c.kept and (c.subcaption or c.caption) == "Curated caption: lichen planus on the wrist."
    assert c.vqa and c.vqa != captioned.vqa  # fresh VQA from the edited caption
    a = rebuilt[rejected.id]
    assert a.kept and a.reject_reasons == [] and a.overruled_reasons == rejected.reject_reasons
    assert a.split in ("train", "test")  # exported like any kept record
    # what the page showed is what the build made (VQA fields and split are the build's own)
    for rid, rec in rebuilt.items():
        shown = dict(effective[rid])
        built = rec.model_dump(mode="json")
        for k in [k for k in built if k.startswith("vqa") or k == "split"]:
            shown.pop(k, None), built.pop(k)
        assert shown == built, rid
    assert m["counts"]["modality"]["pathology"] == sum(r.kept and r.modality == "pathology" for r in rebuilt.values())


# ---- what the page shows a curator: decorations, the age as printed, modality evidence in words, VQA ----

MARKUP = "Fig. 2.1 <script>alert(1)</script> Lesion on the arm."
MARKUP_SUB = '<b>(a)</b> <img src=x onerror="window.__pwned=1"> close-up'
MARKUP_EVIDENCE = "<svg onload=window.__pwned=1>"
KID_CAPTION = "Fig. 3 Dermoscopy of a naevus in an 8-month-old boy."


def curation_specs() -> list[dict]:
    """Records beyond the four of :func:`write_dataset`: page furniture, a record with an age in months and VQA
    pairs, and one with markup in every text field (caption, subcaption, VQA, evidence)."""
    from pipeline.modality import combine

    kid = mine_demographics(KID_CAPTION)
    modality, conf, evidence = combine({"clinical": 0.1, "dermoscopy": 0.86, "pathology": 0.02, "other": 0.02},
                                       KID_CAPTION, 1.0)
    return [
        dict(id="r-logo1", kept=False, reject_reasons=["decoration_repeated"]),
        dict(id="r-logo2", kept=False, reject_reasons=["decoration_repeated", "low_resolution"]),
        dict(id="r-rule", kept=False, reject_reasons=["decoration_rule"]),
        dict(id="r-kid", caption=KID_CAPTION, modality=modality, modality_confidence=conf,
             modality_evidence=evidence, age=kid.age, age_group=kid.age_group, gender=kid.gender,
             demographics_evidence=kid.evidence,
             vqa=[VQAPair(question="What imaging technique was used?", answer="Dermoscopy."),
                  VQAPair(question="How old is the patient?", answer="8 months.")]),
        dict(id="r-mark", caption=MARKUP, subcaption=MARKUP_SUB, figure_label="Fig. 2.1", panel="a",
             modality="clinical", modality_confidence=0.8,
             modality_evidence=["image:clinical=0.80", MARKUP_EVIDENCE, "decided:image"],
             age=45, age_group="adult", demographics_evidence=["45-year-old", "<i>woman</i>"],
             vqa=[VQAPair(question="What is <i>shown</i>?", answer="<script>window.__pwned=1</script>A plaque.")]),
    ]


@pytest.fixture
def curation(tmp_path) -> TestClient:
    root = tmp_path / "ds"
    write_dataset(root, extra=curation_specs())
    return TestClient(create_app(root))


def record(**kw) -> Record:
    return Record(id="x", source_pdf="b.pdf", book_id="b", page=1, bbox=(0, 0, 1, 1), image="images/x.png", **kw)


def test_decorations_are_left_out_when_the_page_asks(curation):
    ids = lambda res: [r["id"] for r in res.json()["records"]]  # noqa: E731
    every = curation.get("/api/records")  # the API's default shows every record, as before
    assert every.json()["total"] == 9 and every.json()["hidden_decorations"] == 0
    assert every.json()["facets"]["reasons"] == {"decoration_repeated": 2, "decoration_rule": 1, "low_resolution": 2}
    hide = curation.get("/api/records?decorations=hide").json()
    assert [r["id"] for r in hide["records"]] == ["r-clin", "r-derm", "r-xss", "r-rej", "r-kid", "r-mark"]
    assert hide["hidden_decorations"] == 3
    # the counts are those of what the page can show; the decorations of the dataset are counted apart
    f = hide["facets"]
    assert (f["records"], f["kept"], f["decorations"]) == (6, 5, 3)
    assert f["reasons"] == {"low_resolution": 1} and sum(f["modality"].values()) == 6
    assert ids(curation.get("/api/records?decorations=only")) == ["r-logo1", "r-logo2", "r-rule"]
    assert curation.get("/api/records?decorations=only").json()["facets"]["reasons"] == {
        "decoration_repeated": 2, "decoration_rule": 1, "low_resolution": 1}
    # hidden_decorations counts those the other filters match
    res = curation.get("/api/records?decorations=hide&q=logo").json()
    assert (res["total"], res["hidden_decorations"]) == (0, 2)
    assert curation.get("/api/records?decorations=hide&reason=low_resolution").json()["hidden_decorations"] == 1
    assert curation.get("/api/records?decorations=maybe").status_code == 422
    # a logo a curator accepted is a figure again
    assert curation.post("/api/overrides", json={"record_id": "r-logo1", "decision": "accept"}).status_code == 200
    hide = curation.get("/api/records?decorations=hide").json()
    assert "r-logo1" in [r["id"] for r in hide["records"]] and hide["hidden_decorations"] == 2
    assert is_decoration(record(reject_reasons=["low_resolution", "decoration_small"]))
    assert not is_decoration(record(reject_reasons=["low_resolution"], overruled_reasons=["decoration_small"]))


@pytest.mark.parametrize("caption, printed", [
    ("An 8-month-old boy with atopic dermatitis.", "8 months"),
    ("A 45-year-old woman with psoriasis.", "45 years"),
    ("Lentigo maligna in a woman in her 70s.", "in her 70s"),
    ("In his early 60s, he noticed a plaque.", "in his early 60s"),
    ("A 3-week-old infant with a haemangioma.", "3 weeks"),
    ("A 2-day-old neonate.", "2 days"),
    ("A 1-year-old girl.", "1 year"),
    ("An 18-month-old toddler.", "18 months"),
    ("A 10-year, 8-month-old girl.", "10 years, 8 months"),
    ("A 20-25-year-old man.", "20–25 years"),
    ("A sixty-two-year-old man.", "sixty-two years"),
    ("Male, 15 years old, acne.", "15 years"),
    ("45M, plaque on the shin.", "45 years"),
    ("Psoriasis, aged 62.", "62 years"),
    ("A girl (6 months) with eczema.", "6 months"),
    ("A newborn with a collodion membrane.", "newborn"),
])
def test_age_as_printed_comes_from_the_evidence_span(caption, printed):
    d = mine_demographics(caption)
    rec = record(age=d.age, age_group=d.age_group, demographics_evidence=d.evidence)
    assert age_as_printed(rec) == printed


def test_age_as_printed_falls_back_to_the_years():
    assert age_as_printed(record()) is None
    assert age_as_printed(record(age=0.67)) == "0.67 years"  # no evidence span
    assert age_as_printed(record(age=1, demographics_evidence=["boy"])) == "1 year"
    # a curator's age is not the one the caption printed
    curated = record(age=70, curated=["age"], demographics_evidence=["curator:age=70", "45-year-old", "woman"])
    assert age_as_printed(curated) == "70 years"
    # a span whose age is not the record's (another patient's) is not used
    assert age_as_printed(record(age=45, demographics_evidence=["8-month-old"])) == "45 years"


@pytest.mark.parametrize("probs, caption, words", [
    ({"clinical": 0.86, "dermoscopy": 0.1, "pathology": 0.02, "other": 0.02}, "Psoriasis.",
     "image looks clinical 0.86; the caption names no modality"),
    ({"clinical": 0.1, "dermoscopy": 0.86, "pathology": 0.02, "other": 0.02}, "Dermoscopy of a naevus.",
     "caption says 'dermoscopy'; image looks dermoscopic 0.86"),
    ({"clinical": 0.91, "dermoscopy": 0.05, "pathology": 0.02, "other": 0.02}, "H&E, x400.",
     "caption says 'h&e', 'x400' (pathology), overruling the image (looks clinical 0.91)"),
    ({"clinical": 0.95, "dermoscopy": 0.03, "pathology": 0.01, "other": 0.01}, "Lesion, confirmed by biopsy.",
     "image looks clinical 0.95, keeping its class against the caption: 'biopsy' (pathology)"),
    ({"clinical": 0.91, "dermoscopy": 0.05, "pathology": 0.02, "other": 0.02}, "Plaque on the arm; biopsy.",
     "image looks clinical 0.91, keeping its class against the caption: 'biopsy' (pathology); "
     "the caption says 'on the arm' too"),
    ({"clinical": 0.2, "dermoscopy": 0.1, "pathology": 0.1, "other": 0.6}, "Schematic.",
     "caption says 'schematic'; image looks like a drawing or chart 0.60"),
    ({"clinical": 0.5, "dermoscopy": 0.3, "pathology": 0.1, "other": 0.1}, "Dermoscopy and histology.",
     "caption says 'dermoscopy' (dermoscopy), overruling the image (looks clinical 0.50); "
     "it also says 'histology' (pathology)"),
])
def test_modality_in_words_reads_the_stage_evidence(probs, caption, words):
    from pipeline.modality import combine

    modality, conf, evidence = combine(probs, caption, 1.0)
    assert modality_in_words(record(modality=modality, modality_confidence=conf, modality_evidence=evidence)) == words


def test_modality_in_words_other_forms():
    assert modality_in_words(record(modality_evidence=["error:UnidentifiedImageError"])) == (
        "the image could not be read (UnidentifiedImageError)")
    curated = record(modality="dermoscopy", modality_confidence=1.0, curated=["modality"], modality_evidence=[
        "curator:dermoscopy (was pathology at 0.53)", "image:clinical=0.91", "caption:pathology+4:h&e,x400",
        "decided:caption"])
    assert modality_in_words(curated) == ("a curator set dermoscopy (was pathology at 0.53); before that, caption says "
                                          "'h&e', 'x400' (pathology), overruling the image (looks clinical 0.91)")
    assert modality_in_words(record()) == "no modality evidence"
    assert modality_in_words(record(modality_evidence=["image:clinical=0.80", "odd line", "decided:image"])) == (
        "image looks clinical 0.80; the caption names no modality; odd line")  # unknown lines stay as they are


def test_records_carry_the_age_as_printed_the_evidence_in_words_and_vqa_when_single(curation):
    listed = {r["id"]: r for r in curation.get("/api/records").json()["records"]}
    kid = listed["r-kid"]
    assert (kid["age"], kid["age_printed"]) == (0.67, "8 months")
    assert kid["modality_explained"] == "caption says 'dermoscopy'; image looks dermoscopic 0.86"
    assert listed["r-clin"]["age_printed"] is None
    assert all("vqa" not in r for r in listed.values())
    single = curation.get("/api/records/r-kid").json()
    assert single["vqa"] == [{"question": "What imaging technique was used?", "answer": "Dermoscopy."},
                             {"question": "How old is the patient?", "answer": "8 months."}]
    assert (single["age_printed"], single["modality_explained"]) == (kid["age_printed"], kid["modality_explained"])
    # the answer to a correction carries them too, from the new state
    res = curation.post("/api/overrides", json={"record_id": "r-kid", "age": 1.5}).json()["record"]
    assert res["age_printed"] == "1.5 years" and res["vqa"] == single["vqa"]
    # /api/state stays what records.jsonl holds
    assert all("age_printed" not in r for r in curation.get("/api/state").json()["records"])


def test_markup_in_any_text_field_is_returned_verbatim_as_data(curation):
    rec = curation.get("/api/records/r-mark").json()
    assert (rec["caption"], rec["subcaption"]) == (MARKUP, MARKUP_SUB)
    assert rec["vqa"] == [{"question": "What is <i>shown</i>?", "answer": "<script>window.__pwned=1</script>A plaque."}]
    assert rec["modality_explained"] == f"image looks clinical 0.80; the caption names no modality; {MARKUP_EVIDENCE}"
    assert rec["demographics_evidence"] == ["45-year-old", "<i>woman</i>"] and rec["age_printed"] == "45 years"
    listed = curation.get("/api/records?q=script").json()["records"]
    assert [r["id"] for r in listed] == ["r-mark"] and listed[0]["caption"] == MARKUP
    raw = curation.get("/api/records/r-mark")
    assert raw.headers["content-type"] == "application/json" and "script-src 'self'" in raw.headers[
        "content-security-policy"]
