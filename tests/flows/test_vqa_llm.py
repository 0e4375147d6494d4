"""The openai VQA generator over real HTTP against a local fault-injecting chat-completions server.

Nothing is mocked: ``eval.fake_llm.FakeLLM`` is an HTTP server on 127.0.0.1 and the openai SDK talks to it. The
client timeout (2 s) is short enough to keep the hang faults quick, and long enough that a healthy reply is never
timed out and retried on a loaded 2-core CI machine running the suite in two workers (at 0.5 s one was, and the
call counts below went one over).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from eval.bench_vqa import captions, vqa as bench_vqa
from eval.fake_llm import FakeLLM, caption_of, grounded_pairs
from flows.vqa import SqliteCache, resolve_env
from pipeline.vqa import PROMPT_VERSION, MemoryCache, run_vqa
from pipeline.vqa.guard import unsupported_words
from pipeline.vqa.llm import cache_key, parse_output
from pipeline.vqa.prompts import build_messages
from pipeline.vqa.source import caption_text, source_text
from schemas import Settings
from schemas.settings import VQASettings
from tests.badpdfs import good_pdf_bytes
from tests.conftest import REPO

TIMEOUT = 2.0


def settings_for(srv: FakeLLM, **kw) -> VQASettings:
    base = dict(generator="openai", model="fake-model", base_url=srv.base_url, api_key="test-key", timeout_s=TIMEOUT,
                max_retries=3, concurrency=8, circuit_breaker_failures=50)
    base.update(kw)
    return VQASettings(**base)


# one fault per caption, by the caption's diagnosis (bench captions cycle through DIAGNOSES)
FAULT_BY_DIAGNOSIS = {
    "Chronic plaque psoriasis": lambda attempt: "429" if attempt == 1 else None,          # then fine
    "Nummular eczema": lambda attempt: "500" if attempt <= 2 else None,                   # SDK retries
    "Tinea corporis": lambda attempt: "hang" if attempt == 1 else None,                   # timeout, retried
    "Acute urticaria": lambda attempt: "malformed",                                       # repair fails too
    "Lichen planus": lambda attempt: "schema_invalid",
    "Erythema multiforme": lambda attempt: "empty_choices",
    "Bullous pemphigoid": lambda attempt: "fenced",                                       # repaired locally
    "Superficial spreading melanoma": lambda attempt: "malformed" if attempt == 1 else None,  # repair request works
}
EXPECTED_ERROR = {"Acute urticaria": "llm_invalid_json", "Lichen planus": "llm_schema_invalid",
                  "Erythema multiforme": "llm_empty_response"}


def settled(count, want: int, limit_s: float = 5.0) -> int:
    """The server's count once it reaches ``want`` (or after ``limit_s``). A request the client gave up on at its
    timeout is counted when the server's handler thread reads it, which on a loaded machine can be after the
    client has moved on."""
    end = time.monotonic() + limit_s
    while count() < want and time.monotonic() < end:
        time.sleep(0.05)
    return count()


def diagnosis_of(caption: str) -> str:
    return next((d for d in FAULT_BY_DIAGNOSIS if caption.startswith(d)), "")


def fault_plan(prompt: str, attempt: int) -> str | None:
    f = FAULT_BY_DIAGNOSIS.get(diagnosis_of(caption_of(prompt)))
    return f(attempt) if f else None


def test_faults_end_in_vqa_or_an_explicit_reason_and_a_second_run_makes_no_call(tmp_path):
    records = captions(28)  # two captions per diagnosis
    with FakeLLM(plan=fault_plan, hang_s=3 * TIMEOUT, retry_after_s=1.2) as srv:
        s = settings_for(srv)
        with SqliteCache(tmp_path / "llm.sqlite") as cache:
            first = run_vqa(records, s, cache=cache)
        calls_first = srv.calls
        assert set(srv.faults) == {"429", "500", "hang", "malformed", "schema_invalid", "empty_choices", "fenced"}
        for r in first.records:
            dx = diagnosis_of(caption_text(r))
            if dx in EXPECTED_ERROR:
                assert not r.vqa and r.vqa_error == EXPECTED_ERROR[dx], (dx, r.vqa_error)
            else:
                assert r.vqa and r.vqa_error is None, (dx, r.vqa_error)
                assert all(not unsupported_words(p.answer, source_text(r)) for p in r.vqa)
        assert first.report.reasons == {"llm_invalid_json": 2, "llm_schema_invalid": 2, "llm_empty_response": 2}
        assert first.usage.failed == 6 and first.usage.calls >= 28 and first.usage.prompt_tokens > 0
        # Retry-After honoured: the retry of a 429 comes after the 1.2 s asked for (the SDK's own first backoff
        # would be at most 0.5 s)
        gaps = [t[1] - t[0] for cap, t in srv.times.items() if diagnosis_of(cap) == "Chronic plaque psoriasis"]
        assert len(gaps) == 2 and all(1.2 <= g < 1.2 + 1.0 for g in gaps), gaps
        # the fenced reply was repaired without asking again; the one-off malformed reply cost one repair request
        for r in records:
            dx = diagnosis_of(caption_text(r))
            n = srv.by_caption[caption_text(r)]
            expect = {"Bullous pemphigoid": 1, "Chronic plaque psoriasis": 2, "Nummular eczema": 3,
                      "Tinea corporis": 2, "Superficial spreading melanoma": 2, "Acute urticaria": 2,
                      "Lichen planus": 2, "Erythema multiforme": 2}.get(dx, 1)
            assert n == expect, (dx, n)
        # a second run: every reply (and every final failure of a reply) comes from the cache
        with SqliteCache(tmp_path / "llm.sqlite") as cache:
            second = run_vqa(records, s, cache=cache)
        assert srv.calls == calls_first
        assert second.usage.calls == 0 and second.usage.cache_hits == 28
        assert [r.vqa for r in second.records] == [r.vqa for r in first.records]
        assert [r.vqa_error for r in second.records] == [r.vqa_error for r in first.records]


def test_timeouts_and_5xx_that_never_end_give_reasons_and_are_retried_by_the_next_run(tmp_path):
    records = captions(6)
    broken = {caption_text(records[0]): "hang", caption_text(records[1]): "500"}
    with FakeLLM(plan=lambda p, a: broken.get(caption_of(p)), hang_s=3 * TIMEOUT) as srv:
        s = settings_for(srv, max_retries=1)
        cache = SqliteCache(tmp_path / "llm.sqlite")
        t0 = time.perf_counter()
        out = run_vqa(records, s, cache=cache).records
        assert time.perf_counter() - t0 < 10
        assert [r.vqa_error for r in out[:2]] == ["llm_timeout", "llm_server_error"]
        assert all(r.vqa for r in out[2:])
        assert settled(lambda: srv.by_caption[caption_text(records[0])], 2) == 2  # first try + 1 retry
        broken.clear()  # the server recovers: only the two failed records are asked again
        before = srv.calls
        again = run_vqa(records, s, cache=cache).records
        assert srv.calls - before == 2 and all(r.vqa for r in again)
        cache.close()


def test_circuit_breaker_stops_calling_and_marks_the_rest(tmp_path):
    records = captions(30)
    with FakeLLM(plan=lambda p, a: "500") as srv:
        s = settings_for(srv, max_retries=0, concurrency=1, circuit_breaker_failures=3)
        t0 = time.perf_counter()
        out = run_vqa(records, s).records
        assert time.perf_counter() - t0 < 5
        assert srv.calls == 3
        errors = [r.vqa_error for r in out]
        assert errors.count("llm_server_error") == 3 and errors.count("llm_circuit_open") == 27


def test_json_schema_refused_falls_back_to_json_mode():
    records = captions(10)
    with FakeLLM(json_schema=False) as srv:
        out = run_vqa(records, settings_for(srv, concurrency=1)).records
    assert all(r.vqa for r in out)
    assert srv.response_formats["json_schema"] == 1 and srv.response_formats["json_object"] == 10


def test_with_image_sends_a_data_url_and_keys_the_cache_on_it():
    records = captions(3)
    image = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # the PNG signature gives the data URL its MIME type
    with FakeLLM() as srv:
        s = settings_for(srv)
        c1, c2 = MemoryCache(), MemoryCache()
        run_vqa(records, s, cache=c1)
        out = run_vqa(records, settings_for(srv, with_image=True), cache=c2, images={r.id: image for r in records})
        assert srv.with_image == 3 and srv.calls == 6 and all(r.vqa for r in out.records)
        assert not set(c1.data) & set(c2.data)
        msgs = build_messages(records[0], 3, image)
        assert msgs[1]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
        # a missing image is that record's failure, not the run's
        out = run_vqa(records, settings_for(srv, with_image=True), images={records[0].id: image})
        assert out.records[0].vqa and [r.vqa_error for r in out.records[1:]] == ["image_unavailable"] * 2


def test_cache_key_covers_model_prompt_version_messages_and_image_flag():
    r = captions(1)[0]
    m = build_messages(r, 3)
    k = cache_key("m1", m, False)
    assert k != cache_key("m2", m, False) and k != cache_key("m1", m, True)
    assert k != cache_key("m1", build_messages(r, 4), False)
    assert PROMPT_VERSION and len(k) == 64


def test_parse_output_repairs_what_it_can():
    ok = {"pairs": [{"question": "What does this image show?", "answer": "Psoriasis."}]}
    assert parse_output(json.dumps(ok))[1] is None
    assert parse_output("```json\n" + json.dumps(ok)[:-2] + ",]}\n```")[1] is None
    assert parse_output("Here you are: " + json.dumps(ok) + " Hope it helps.")[1] is None
    assert parse_output(json.dumps(ok["pairs"]))[1] is None  # a bare list
    assert parse_output('{"pairs": [{"q": "x", "a": "y"}]}') == (None, "llm_schema_invalid")
    assert parse_output('{"pairs": [') == (None, "llm_invalid_json")
    assert parse_output("") == (None, "llm_empty_response")


RUNNER = r"""
import sys
from eval.bench_vqa import captions
from flows.vqa import SqliteCache
from pipeline.vqa import run_vqa
from schemas.settings import VQASettings
s = VQASettings(generator="openai", model="fake-model", base_url=sys.argv[1], api_key="k", timeout_s=5,
                max_retries=0, concurrency=4)
with SqliteCache(sys.argv[2]) as cache:
    run_vqa(captions(int(sys.argv[3])), s, cache=cache)
print("finished", flush=True)
"""


def test_a_killed_run_resumes_without_repeating_finished_calls(tmp_path):
    n, db = 60, tmp_path / "llm.sqlite"
    records = captions(n)
    with FakeLLM(latency_s=0.05) as srv:
        proc = subprocess.Popen([sys.executable, "-c", RUNNER, srv.base_url, str(db), str(n)], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
        deadline = time.monotonic() + 60
        while srv.answered < 20 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert 20 <= srv.answered < n, "the run was not killed midway"
        s = settings_for(srv, concurrency=4)
        with SqliteCache(db) as cache:
            finished = [caption_text(r) for r in records
                        if cache.get(cache_key(s.model, build_messages(r, s.n_pairs), False)) is not None]
            assert 10 <= len(finished) < n
            before = srv.calls
            out = run_vqa(records, s, cache=cache)
        assert all(r.vqa for r in out.records)
        assert out.usage.cache_hits == len(finished) and out.usage.calls == n - len(finished)
        assert srv.calls - before == n - len(finished)
        for cap in finished:  # asked once, in the killed run only
            assert srv.by_caption[cap] == 1, cap
        # at most the requests in flight at the kill were asked twice
        assert sum(c - 1 for c in srv.by_caption.values()) <= 4


def test_fake_server_answers_are_grounded_in_the_caption():
    r = captions(1)[0]
    for p in grounded_pairs(build_messages(r, 3)[1]["content"], 3):
        assert not unsupported_words(p["answer"], caption_text(r))


def test_bench_runs_and_a_cached_rerun_makes_no_call():
    r = bench_vqa(n=40, concurrency=8, latency_s=0.02)
    assert r["server_calls"] == 40 and r["records_with_vqa"] == 40 and r["failed"] == 0
    assert r["cached_run_server_calls"] == 0 and r["cached_run_cache_hits"] == 40 and r["same_pairs_from_cache"]
    assert r["calls_per_s"] > 0


def test_env_and_cli_configuration(monkeypatch, tmp_path):
    monkeypatch.setenv("MMSKIN_LLM_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-test")
    s = resolve_env(Settings())
    assert s.vqa.model == "env-model" and s.vqa.base_url == "http://127.0.0.1:9/v1"
    assert s.vqa.api_key.get_secret_value() == "sk-secret-test"
    assert "sk-secret-test" not in s.model_dump_json()  # never in manifest.json or cache keys
    from flows.cli import app

    monkeypatch.delenv("MMSKIN_LLM_MODEL")
    book = tmp_path / "book.pdf"
    book.write_bytes(good_pdf_bytes())
    res = CliRunner().invoke(app, ["build", str(book), "--out", str(tmp_path / "o"), "--vqa-generator", "openai"])
    assert res.exit_code == 2 and "needs a model" in res.output
    res = CliRunner().invoke(app, ["build", str(book), "--out", str(tmp_path / "o"), "--vqa-generator", "gpt"])
    assert res.exit_code == 2 and "must be one of" in res.output
    assert not (tmp_path / "o").exists()  # a configuration that cannot work builds nothing


@pytest.mark.flow
@pytest.mark.xdist_group("flow")
def test_build_flow_with_the_openai_generator(prefect_harness, tmp_path, monkeypatch):
    """mmskin build with --vqa-generator openai on one sample book: LLM pairs in records, mmskin_o.json and the
    multi-turn LLaVA file, usage in manifest.json; a rebuild after wiping the stage cache makes no HTTP call."""
    from flows.build import build_dataset

    book = next((REPO / "sample_pdfs").glob("*digital*.pdf"))
    out = tmp_path / "out"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-written")
    with FakeLLM() as srv:
        settings = Settings(vqa=VQASettings(generator="openai", model="fake-model", base_url=srv.base_url,
                                            timeout_s=TIMEOUT, with_image=True, price_input_per_1k=0.5,
                                            price_output_per_1k=1.5))
        first = build_dataset([str(book)], str(out), settings, workers=1)
        kept = [r for r in first.records if r.kept]
        assert kept and srv.calls == len(kept) and srv.with_image == len(kept)
        assert all(r.vqa and r.vqa_error is None for r in kept)
        m = json.loads((out / "manifest.json").read_text())
        v = m["vqa"]
        assert v["generator"] == "openai" and v["prompt_version"] == PROMPT_VERSION and v["model"] == "fake-model"
        assert v["calls"] == len(kept) and v["cache_hits"] == 0 and v["prompt_tokens"] > 0
        assert v["estimated_cost"] == pytest.approx(v["prompt_tokens"] / 1000 * 0.5 + v["completion_tokens"] / 1000 * 1.5,
                                                    abs=1e-5)
        assert "sk-never-written" not in (out / "manifest.json").read_text()
        o = json.loads((out / "mmskin_o.json").read_text())
        assert len(o) == sum(len(r.vqa) for r in kept)
        llava = json.loads((out / "llava_train.json").read_text()) + json.loads((out / "llava_test.json").read_text())
        convs = [c for c in llava if c["id"].endswith("-vqa")]
        assert len(convs) == len(kept)
        for c in convs:
            turns = c["conversations"]
            assert len(turns) >= 4 and [t["from"] for t in turns] == ["human", "gpt"] * (len(turns) // 2)
            assert turns[0]["value"].startswith("<image>\n") and all("<image>" not in t["value"] for t in turns[1:])
        # wipe the VQA stage's cache: the stage runs again, every reply comes from the LLM response cache
        import shutil

        shutil.rmtree(out / ".cache" / "vqa")
        calls = srv.calls
        second = build_dataset([str(book)], str(out), settings, workers=1)
        assert srv.calls == calls
        assert second.manifest["vqa"]["cache_hits"] == len(kept) and second.manifest["vqa"]["calls"] == 0
        assert [r.vqa for r in second.records] == [r.vqa for r in first.records]


def test_sample_book_captions_through_the_openai_generator_keep_only_grounded_pairs():
    """The fake server mixes grounded and invented answers; only grounded ones survive the guard."""
    def responder(prompt: str, n: int) -> list[dict]:
        good = grounded_pairs(prompt, 1)
        return good + [{"question": "Where is the lesion located on the body?",
                        "answer": "The lesion is located on the thumb of the dermatologist."},
                       {"question": "What does the caption say?", "answer": good[0]["answer"]},
                       {"question": "How is this treated?", "answer": "With topical steroids."}]

    with FakeLLM(responder=responder) as srv:
        out = run_vqa(captions(5), settings_for(srv))
    assert all(len(r.vqa) == 1 for r in out.records)
    assert out.report.reasons == {"pair:ungrounded": 5, "pair:leak_phrase": 5, "pair:image_independent": 5}
    assert all({x.reason for x in r.vqa_rejected} == {"ungrounded", "leak_phrase", "image_independent"}
               for r in out.records)


def test_no_model_is_a_clear_error():
    with pytest.raises(ValueError, match="needs a model"):
        run_vqa(captions(1), VQASettings(generator="openai"))
