"""End to end in a real headless Chromium (Debian's `chromium`, driven by the playwright pip package; nothing is
downloaded): open the review page over a built dataset, change a modality with the keyboard, edit a caption
to an HTML payload, reload, check what the page shows, check overrides.jsonl, rebuild, check records.jsonl."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from flows.overrides import OVERRIDES
from flows.review import create_app
from schemas import Record, Settings
from tests.conftest import SAMPLES

pytestmark = [pytest.mark.flow, pytest.mark.xdist_group("flow")]

XSS = "<img src=x onerror=alert(1)>"


def chromium() -> str:
    for c in (os.environ.get("MMSKIN_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if c and Path(c).exists():
            return c
    pytest.skip("headless browser test: Debian's chromium not found; install it with `apt-get install chromium` "
                "(`make setup` does) or point MMSKIN_CHROMIUM at a Chromium binary")


class ServerThread:
    """The review app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, app):
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                                    log_config=None))  # leave pytest's logging alone
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "review server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


def records_of(path: Path) -> dict[str, Record]:
    return {r.id: r for r in map(Record.model_validate_json, path.read_text().splitlines())}


def test_review_page_end_to_end(sample_build, tmp_path):
    path = chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright pip package (requirements.txt)")
    from flows.build import build_dataset

    t_start = time.perf_counter()
    src, _ = sample_build
    out = tmp_path / "reviewed"
    shutil.copytree(src, out)
    original = records_of(out / "records.jsonl")
    dialogs, page_errors = [], []

    with ServerThread(create_app(out, allowed_hosts=["127.0.0.1"])) as srv, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.goto(srv.url + "?kept=true")
            page.wait_for_selector("body[data-ready='1'] .card")
            cards = page.locator(".card")
            n_kept = sum(r.kept for r in original.values())
            assert cards.count() == min(n_kept, Settings().review.page_size)

            # 1. a modality with the keyboard: select a card that is not dermoscopy, press d
            ids = [cards.nth(i).get_attribute("data-id") for i in range(cards.count())]
            target = next(i for i in ids if original[i].modality != "dermoscopy")
            card = page.locator(f'.card[data-id="{target}"]')
            card.click()
            assert "selected" in card.get_attribute("class")
            page.keyboard.press("d")
            sync_api.expect(card.locator("[data-field=modality]")).to_have_text("dermoscopy")
            sync_api.expect(page.locator("#status")).to_contain_text("saved modality")

            # 2. a caption edited to an HTML payload: e, type, Ctrl+Enter
            other = next(i for i in ids if i != target)
            page.locator(f'.card[data-id="{other}"]').click()
            page.keyboard.press("e")
            assert page.evaluate("document.activeElement.id") == "d-caption"
            page.locator("#d-caption").fill(XSS)
            page.keyboard.press("Control+Enter")
            sync_api.expect(page.locator(f'.card[data-id="{other}"] [data-field=caption]')).to_have_text(XSS)

            # 3. reload: the page shows the server's state, not what the script remembered
            page.reload()
            page.wait_for_selector("body[data-ready='1'] .card")
            card = page.locator(f'.card[data-id="{target}"]')
            sync_api.expect(card.locator("[data-field=modality]")).to_have_text("dermoscopy")
            assert card.locator(".conf").text_content() == "1.00"
            assert card.locator(".badge.curated").count() == 1
            cap = page.locator(f'.card[data-id="{other}"] [data-field=caption]')
            assert cap.text_content() == XSS and cap.locator("*").count() == 0
            # the payload stayed text: no element was made from it, nothing ran
            assert page.locator("img[src='x']").count() == 0
            assert page.locator("#grid img:not(.thumb)").count() == 0
            # and the filter finds the corrected record among the dermoscopy ones
            page.select_option("#f-modality", "dermoscopy")
            page.wait_for_selector("body[data-ready='1']")
            sync_api.expect(page.locator(f'.card[data-id="{target}"]')).to_have_count(1)
            assert all(m == "dermoscopy" for m in page.locator(".card [data-field=modality]").all_text_contents())
            page.keyboard.press("?")
            sync_api.expect(page.locator("#help")).to_be_visible()
        finally:
            browser.close()
    assert not dialogs and not page_errors, (dialogs, page_errors)
    browser_s = time.perf_counter() - t_start

    # 4. overrides.jsonl has the lines, as the page sent them
    lines = [json.loads(x) for x in (out / OVERRIDES).read_text().splitlines()]
    assert [(x["record_id"], x.get("modality"), x.get("caption")) for x in lines] == [
        (target, "dermoscopy", None), (other, None, XSS)]
    assert lines[0]["image"] == original[target].image and lines[0]["ts"] < lines[1]["ts"]

    # 5. the next build applies them, per-book stages from the cache
    result = build_dataset([str(SAMPLES)], str(out), Settings(), workers=2)
    assert all(b["computed_stages"] == [] for b in result.manifest["books"]), result.manifest["books"]
    rebuilt = records_of(out / "records.jsonl")
    assert (rebuilt[target].modality, rebuilt[target].modality_confidence) == ("dermoscopy", 1.0)
    assert (rebuilt[other].subcaption or rebuilt[other].caption) == XSS
    assert rebuilt.keys() == original.keys()
    assert all(rebuilt[i].modality == r.modality and not rebuilt[i].curated
               for i, r in original.items() if i not in (target, other))
    print(f"\nreview browser e2e: {browser_s:.1f} s in the browser, {time.perf_counter() - t_start:.1f} s with the rebuild")


# ---- what a curator sees: decorations hidden, the age as printed, the evidence in words, VQA, markup as text ----

MARKUP = "Fig. 2.1 <script>alert(1)</script> Lesion on the arm."
MARKUP_SUB = '<b>(a)</b> <img src=x onerror="window.__pwned=1"> close-up'
MARKUP_EVIDENCE = "<svg onload=window.__pwned=1>"
MARKUP_Q, MARKUP_A = "What is <i>shown</i>?", "<script>window.__pwned=1</script>A plaque."
KID_CAPTION = "Fig. 3 Dermoscopy of a naevus in an 8-month-old boy."


def write_curation_dataset(root: Path) -> dict[str, Record]:
    """Six figures and, among them as in a book, three copies of a logo on every page (no build needed)."""
    from PIL import Image

    from pipeline.demographics import mine_demographics
    from pipeline.modality import combine
    from schemas.records import VQAPair

    kid = mine_demographics(KID_CAPTION)
    modality, conf, evidence = combine({"clinical": 0.1, "dermoscopy": 0.86, "pathology": 0.02, "other": 0.02},
                                       KID_CAPTION, 1.0)
    logo = dict(kept=False, reject_reasons=["decoration_repeated"], modality="other", caption="")
    specs = [
        dict(id="r-logo1", **logo),
        dict(id="r-kid", caption=KID_CAPTION, modality=modality, modality_confidence=conf,
             modality_evidence=evidence, age=kid.age, age_group=kid.age_group, gender=kid.gender,
             demographics_evidence=kid.evidence,
             vqa=[VQAPair(question="What imaging technique was used?", answer="Dermoscopy."),
                  VQAPair(question="How old is the patient?", answer="8 months.")]),
        dict(id="r-mark", caption=MARKUP, subcaption=MARKUP_SUB, figure_label="Fig. 2.1", panel="a",
             modality="clinical", modality_confidence=0.8,
             modality_evidence=["image:clinical=0.80", MARKUP_EVIDENCE, "decided:image"],
             age=45, age_group="adult", gender="female", demographics_evidence=["45-year-old", "<i>woman</i>"],
             vqa=[VQAPair(question=MARKUP_Q, answer=MARKUP_A)]),
        dict(id="r-logo2", **logo),
        *[dict(id=f"r-fig{i}", caption=f"Fig. {i} Psoriasis.", modality="clinical", modality_confidence=0.9,
               modality_evidence=["image:clinical=0.90", "decided:image"]) for i in range(4, 8)],
        dict(id="r-logo3", **logo),
    ]
    (root / "images").mkdir(parents=True)
    records = {}
    for i, s in enumerate(specs):
        r = Record(source_pdf="b.pdf", book_id="b", page=i + 1, bbox=(0, 0, 100, 100), image=f"images/{s['id']}.png",
                   width=120, height=90, **s)
        Image.new("RGB", (120, 90), (30 * i, 120, 200 - 20 * i)).save(root / r.image)
        records[r.id] = r
    (root / "records.jsonl").write_text("".join(r.model_dump_json() + "\n" for r in records.values()))
    return records


def test_review_page_shows_what_a_curator_reads(tmp_path):
    path = chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright pip package (requirements.txt)")
    expect = sync_api.expect
    root = tmp_path / "ds"
    records = write_curation_dataset(root)
    logos = {"r-logo1", "r-logo2", "r-logo3"}
    dialogs, page_errors, csp = [], [], []

    with ServerThread(create_app(root, allowed_hosts=["127.0.0.1"])) as srv, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(srv.url)
            page.wait_for_selector("body[data-ready='1'] .card")
            shown = lambda: {c.get_attribute("data-id") for c in page.locator(".card").all()}  # noqa: E731

            # a. the first screen has no decorations; the toggle is off and says how many it hides
            assert shown() == set(records) - logos
            assert not page.locator("#f-decorations").is_checked()
            expect(page.locator("#decorations-count")).to_have_text("(3 hidden)")
            expect(page.locator("#counts")).to_contain_text("6 records · 6 kept")  # the figures only
            expect(page.locator("#counts")).to_contain_text("3 decorations hidden")
            assert [o.get_attribute("value") for o in page.locator("#f-reason option").all()] == ["", "none"]

            # b. the age as printed, the years in the tooltip, on the card and in the detail
            kid = page.locator('.card[data-id="r-kid"]')
            expect(kid.locator("[data-field=age]")).to_have_text("8 months")
            assert kid.locator("[data-field=age]").get_attribute("title") == "0.67 years"
            kid.click()
            expect(page.locator("#d-age-printed")).to_have_text("8 months")
            assert page.locator("#d-age-printed").get_attribute("title") == "0.67 years"
            assert page.locator("#d-age").input_value() == "0.67"

            # c. the modality evidence in words (the raw lines in the tooltip)
            expect(page.locator("#d-modality-evidence")).to_have_text(
                "caption says 'dermoscopy'; image looks dermoscopic 0.86")
            assert page.locator("#d-modality-evidence").get_attribute("title") == "; ".join(
                records["r-kid"].modality_evidence)

            # d. the record's VQA pairs
            pairs = page.locator("#d-vqa li")
            expect(pairs).to_have_count(2)
            assert pairs.locator(".q").all_text_contents() == [p.question for p in records["r-kid"].vqa]
            assert pairs.locator(".a").all_text_contents() == [p.answer for p in records["r-kid"].vqa]
            expect(page.locator("#d-vqa-count")).to_have_text("(2)")
            page.locator('.card[data-id="r-fig4"]').click()
            expect(pairs).to_have_count(0)
            expect(page.locator("#d-vqa-note")).to_have_text("no VQA pairs")

            # e. markup in a caption, subcaption, VQA pair or evidence is shown as the text it is
            page.locator('.card[data-id="r-mark"]').click()
            expect(page.locator("#d-vqa li")).to_have_count(1)
            cap = page.locator('.card[data-id="r-mark"] [data-field=caption]')
            assert cap.text_content() == MARKUP_SUB and cap.locator("*").count() == 0
            assert page.locator("#d-caption").input_value() == MARKUP_SUB
            assert page.locator("#d-figure-caption").text_content() == MARKUP
            assert page.locator("#d-vqa .q").text_content() == MARKUP_Q
            assert page.locator("#d-vqa .a").text_content() == MARKUP_A
            assert page.locator("#d-modality-evidence").text_content().endswith("; " + MARKUP_EVIDENCE)
            assert page.locator("#d-demographics").text_content() == "age group adult; 45-year-old; <i>woman</i>"
            for field in ("#d-figure-caption", "#d-vqa .q", "#d-vqa .a", "#d-modality-evidence", "#d-demographics"):
                assert page.locator(field).locator("*").count() == 0, field
            assert page.evaluate("document.scripts.length") == 1  # app.js, nothing from the data
            assert page.locator("main script, main svg, main b, main i, img[src='x']").count() == 0
            assert page.evaluate("window.__pwned") is None

            # a. the toggle shows the decorations, the URL keeps it over a reload, h hides them again
            page.locator("#f-decorations").check()
            page.wait_for_selector("body[data-ready='1']")
            expect(page.locator(".card.decoration")).to_have_count(3)
            assert shown() == set(records)
            expect(page.locator("#d-id")).to_have_text("r-mark")  # the selection stays
            expect(page.locator("#decorations-count")).to_have_text("(3)")
            assert "decorations=show" in page.url
            page.reload()
            page.wait_for_selector("body[data-ready='1'] .card")
            assert page.locator("#f-decorations").is_checked() and shown() == set(records)
            page.select_option("#f-reason", "decoration_repeated")
            expect(page.locator(".card")).to_have_count(3)
            page.select_option("#f-reason", "")
            page.locator("body").press("h")
            expect(page.locator(".card")).to_have_count(len(records) - 3)
            assert not page.locator("#f-decorations").is_checked() and "decorations" not in page.url
            assert shown() == set(records) - logos
        finally:
            browser.close()
    assert not dialogs and not page_errors and not csp, (dialogs, page_errors, csp)
