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
