"""`mmskin bench vqa`: the LLM VQA generator against a local fake server that answers in a fixed time.

N generated captions (our own text) go through ``pipeline.vqa.run_vqa`` with ``generator="openai"`` at a given
concurrency, against ``eval.fake_llm.FakeLLM`` (in its own process) on 127.0.0.1 with ``latency_s`` per request; then the same run
again, which must be answered from the response cache with no HTTP call. The floor is
``ceil(n / concurrency) * latency_s``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from eval.fake_llm import FakeLLMProcess
from pipeline.vqa import MemoryCache, ResponseCache, run_vqa
from schemas import Record
from schemas.settings import VQASettings

DIAGNOSES = ["Chronic plaque psoriasis", "Nummular eczema", "Tinea corporis", "Acute urticaria", "Lichen planus",
             "Erythema multiforme", "Bullous pemphigoid", "Superficial spreading melanoma", "Dermatofibroma",
             "Seborrhoeic keratosis", "Basal cell carcinoma", "Molluscum contagiosum", "Impetigo", "Vitiligo"]
SITES = ["elbow", "forearm", "upper back", "shin", "scalp", "thigh", "trunk", "dorsal hand", "cheek", "calf"]
LOOKS = ["a sharply demarcated erythematous plaque with silvery scale", "an annular, scaly plaque with central "
         "clearing", "multiple crusted erythematous papules", "a uniformly light-brown patch with smooth borders",
         "tense, clear vesicles on an erythematous base"]


def captions(n: int) -> list[Record]:
    """N distinct records with generated captions (clinical photographs, varied age and gender)."""
    out = []
    for i in range(n):
        dx, site, look = DIAGNOSES[i % len(DIAGNOSES)], SITES[(i // 3) % len(SITES)], LOOKS[(i // 7) % len(LOOKS)]
        age, gender = 5 + (i * 7) % 80, ("man", "woman")[i % 2]
        out.append(Record(
            id=f"bench-{i:05d}", source_pdf="bench.pdf", book_id="bench", page=1 + i // 4, bbox=(0, 0, 100, 100),
            image=f"images/bench-{i:05d}.png", figure_label=f"Fig. {i // 10 + 1}.{i % 10 + 1}",
            caption=f"Fig. {i // 10 + 1}.{i % 10 + 1} {dx} on the {site} of a {age}-year-old {gender}: {look}.",
            modality="clinical", age=float(age), gender="male" if gender == "man" else "female",
        ))
    return out


def vqa(
    n: int = 500,
    concurrency: int = 16,
    latency_s: float = 0.2,
    cache_factory: Callable[[], ResponseCache] | None = None,
) -> dict:
    records = captions(n)
    cache = cache_factory() if cache_factory else MemoryCache()
    with FakeLLMProcess(latency_s=latency_s) as srv:  # its own process: the client's numbers alone
        settings = VQASettings(generator="openai", model="fake-model", base_url=srv.base_url, api_key="bench",
                               concurrency=concurrency, timeout_s=max(10.0, latency_s * 20))
        t0 = time.perf_counter()
        first = run_vqa(records, settings, cache=cache)
        first_s = time.perf_counter() - t0
        calls_first = srv.calls
        t1 = time.perf_counter()
        second = run_vqa(records, settings, cache=cache)
        second_s = time.perf_counter() - t1
        calls_second = srv.calls - calls_first
    with_vqa = sum(bool(r.vqa) for r in first.records)
    return {
        "captions": n,
        "concurrency": concurrency,
        "latency_s": latency_s,
        "seconds": round(first_s, 3),
        "server_calls": calls_first,
        "calls_per_s": round(calls_first / first_s, 2) if first_s else None,
        "floor_s": round(math.ceil(n / concurrency) * latency_s, 3),
        "records_with_vqa": with_vqa,
        "failed": first.usage.failed,
        "pairs": sum(len(r.vqa) for r in first.records),
        "prompt_tokens": first.usage.prompt_tokens,
        "completion_tokens": first.usage.completion_tokens,
        "cached_run_seconds": round(second_s, 3),
        "cached_run_server_calls": calls_second,
        "cached_run_cache_hits": second.usage.cache_hits,
        "same_pairs_from_cache": [r.vqa for r in first.records] == [r.vqa for r in second.records],
    }


def report(r: dict) -> str:
    return (
        f"vqa (openai generator, fake server {r['latency_s'] * 1000:.0f} ms/answer, concurrency {r['concurrency']}): "
        f"{r['captions']} captions in {r['seconds']:.2f} s = {r['calls_per_s']:.1f} calls/s "
        f"({r['server_calls']} HTTP calls; floor {r['floor_s']:.2f} s); {r['records_with_vqa']} records with VQA, "
        f"{r['pairs']} pairs, {r['failed']} failed; cached re-run {r['cached_run_seconds']:.2f} s with "
        f"{r['cached_run_server_calls']} HTTP calls ({r['cached_run_cache_hits']} cache hits)"
    )
