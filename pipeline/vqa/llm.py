"""The ``openai`` VQA generator: any OpenAI-compatible chat-completions server (OpenAI, vLLM, Ollama, llama.cpp).

One request per record (``prompts.build_messages``), run on an ``AsyncOpenAI`` client:

- concurrency: at most ``vqa.concurrency`` requests in flight (an asyncio semaphore);
- timeouts and retries: each request times out after ``vqa.timeout_s``; the SDK retries 408/409/429/5xx and
  timeouts up to ``vqa.max_retries`` times with exponential backoff (0.5 s doubling, at most 8 s) and jitter,
  waiting what a ``Retry-After`` (or ``retry-after-ms``) header asks for up to 2 minutes;
- structured output: ``response_format`` json_schema, falling back to json_object and then to none when the
  server answers 400 to it (``vqa.response_format = "auto"``); the reply is parsed, repaired (code fences,
  surrounding prose, trailing commas, a bare list) and validated by ``prompts.LLMOutput``; an unusable reply is
  asked again once, with the error;
- circuit breaker: after ``vqa.circuit_breaker_failures`` consecutive failed requests (after the SDK's retries)
  no new request starts; the remaining records get ``llm_circuit_open``;
- cache: every usable or finally unusable reply is stored in the injected ``ResponseCache`` under
  ``cache_key`` (model, prompt version, messages, with-image flag) as soon as it arrives, so a killed run resumes
  without repeating a finished call and a re-run pays nothing. Transport failures (timeouts, 429, 5xx, refused
  connections, circuit open) are not stored: the next run tries them again (``RETRYABLE``).

Every record ends with pairs or an explicit reason; nothing here raises for one bad record.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from pipeline.vqa.prompts import PROMPT_VERSION, REPAIR_PROMPT, LLMOutput, build_messages, response_format
from schemas import Record, VQAPair
from schemas.manifest import VQAUsage
from schemas.settings import VQASettings

# failures that are not cached: a later run asks again
RETRYABLE = frozenset({
    "llm_timeout", "llm_rate_limited", "llm_server_error", "llm_connection_error", "llm_http_error",
    "llm_circuit_open", "llm_auth_error", "image_unavailable",
})
# failures of the model's reply (after one repair request): cached, a re-run does not pay for them again
TERMINAL = frozenset({"llm_invalid_json", "llm_schema_invalid", "llm_empty_response"})
FORMAT_MODES = ("json_schema", "json_object", "none")


class ResponseCache(Protocol):
    """Where replies are kept between runs (the flow injects an on-disk one; ``MemoryCache`` otherwise)."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...


class MemoryCache:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def put(self, key: str, value: str) -> None:
        self.data[key] = value


def cache_key(model: str, messages: list[dict], with_image: bool) -> str:
    payload = json.dumps(
        {"model": model, "prompt_version": PROMPT_VERSION, "messages": messages, "with_image": with_image},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


# ---------------------------------------------------------------- parsing and repair
_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_TRAILING_COMMA_RE = re.compile(r",\s*([}\]])")


def _repairs(content: str) -> list[str]:
    text = content.strip()
    out = [text]
    m = _FENCE_RE.search(text)
    if m:
        out.append(m.group(1).strip())
    for opener, closer in (("{", "}"), ("[", "]")):
        i, j = text.find(opener), text.rfind(closer)
        if 0 <= i < j:
            out.append(text[i: j + 1])
    out += [_TRAILING_COMMA_RE.sub(r"\1", t) for t in list(out)]
    return list(dict.fromkeys(out))


def parse_output(content: str | None) -> tuple[list[VQAPair] | None, str | None]:
    """(pairs, None) or (None, reason): 'llm_empty_response', 'llm_invalid_json' or 'llm_schema_invalid'."""
    if content is None or not content.strip():
        return None, "llm_empty_response"
    data: Any = None
    parsed = False
    for cand in _repairs(content):
        try:
            data = json.loads(cand)
            parsed = True
            break
        except ValueError:
            continue
    if not parsed:
        return None, "llm_invalid_json"
    if isinstance(data, list):
        data = {"pairs": data}
    try:
        out = LLMOutput.model_validate(data)
    except ValidationError:
        return None, "llm_schema_invalid"
    return [VQAPair(question=p.question.strip(), answer=p.answer.strip()) for p in out.pairs], None


# ---------------------------------------------------------------- the run
@dataclass
class _State:
    settings: VQASettings
    cache: ResponseCache
    usage: VQAUsage
    mode: str
    consecutive_failures: int = 0
    open: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self) -> None:
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.settings.circuit_breaker_failures:
            self.open = True

    def succeeded(self) -> None:
        self.consecutive_failures = 0


def _error_reason(exc: BaseException) -> str:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "llm_timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "llm_connection_error"
    if isinstance(exc, openai.RateLimitError):
        return "llm_rate_limited"
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return "llm_auth_error"
    if isinstance(exc, openai.APIStatusError):
        return "llm_server_error" if exc.status_code >= 500 else "llm_http_error"
    if isinstance(exc, asyncio.TimeoutError):
        return "llm_timeout"
    return "llm_http_error"


async def _complete(client, st: _State, messages: list[dict]):
    """One chat completion (the SDK retries inside); downgrades the response format on a 400 about it."""
    import openai

    s = st.settings
    while True:
        mode = st.mode
        kwargs: dict[str, Any] = {"model": s.model, "messages": messages, "temperature": s.temperature,
                                  "timeout": s.timeout_s}
        if s.max_tokens:
            kwargs["max_tokens"] = s.max_tokens
        rf = response_format(mode)
        if rf is not None:
            kwargs["response_format"] = rf
        st.usage.calls += 1
        try:
            return await client.chat.completions.create(**kwargs)
        except openai.BadRequestError:
            if s.response_format != "auto" or mode == "none":
                raise
            with st.lock:  # concurrent calls may all hit this: step down once per mode
                if st.mode == mode:
                    st.mode = FORMAT_MODES[FORMAT_MODES.index(mode) + 1]


def _add_usage(st: _State, resp) -> None:
    u = getattr(resp, "usage", None)
    if u is not None:
        st.usage.prompt_tokens += int(getattr(u, "prompt_tokens", 0) or 0)
        st.usage.completion_tokens += int(getattr(u, "completion_tokens", 0) or 0)


def _content(resp) -> str | None:
    choices = getattr(resp, "choices", None) or []
    if not choices:
        return None
    msg = choices[0].message
    return getattr(msg, "content", None)


async def _one(client, st: _State, messages: list[dict], key: str):
    """(pairs, None) or (None, reason) for one record (the caller holds the concurrency semaphore)."""
    hit = st.cache.get(key)
    if hit is not None:
        st.usage.cache_hits += 1
        stored = json.loads(hit)
        if stored.get("error"):
            return None, stored["error"]
        return parse_output(stored.get("content"))
    if st.open:
        return None, "llm_circuit_open"
    try:
        resp = await _complete(client, st, messages)
    except Exception as exc:  # transport / API failure after the SDK's retries
        st.failed()
        return None, _error_reason(exc)
    st.succeeded()
    _add_usage(st, resp)
    content = _content(resp)
    pairs, err = parse_output(content)
    if err is not None:  # repair failed: ask once more, saying what was wrong
        if content:
            retry = messages + [
                {"role": "assistant", "content": content},
                {"role": "user", "content": REPAIR_PROMPT.format(error=err.removeprefix("llm_").replace("_", " "),
                                                                 n=st.settings.n_pairs)},
            ]
        else:
            retry = messages
        try:
            resp = await _complete(client, st, retry)
        except Exception as exc:
            st.failed()
            return None, _error_reason(exc)
        _add_usage(st, resp)
        content = _content(resp)
        pairs, err = parse_output(content)
    if err is not None:
        st.cache.put(key, json.dumps({"error": err, "content": content}))
        return None, err
    st.cache.put(key, json.dumps({"content": content}))
    return pairs, None


def _client(settings: VQASettings, on_request: Callable[[], None]):
    import openai

    async def hook(_request) -> None:
        on_request()

    http_client = openai.DefaultAsyncHttpxClient(event_hooks={"request": [hook]})
    kwargs: dict[str, Any] = {"max_retries": settings.max_retries, "timeout": settings.timeout_s,
                              "http_client": http_client}
    if settings.base_url:
        kwargs["base_url"] = settings.base_url
    key = settings.api_key.get_secret_value() if settings.api_key else None
    try:
        return openai.AsyncOpenAI(api_key=key, **kwargs)
    except openai.OpenAIError:  # no key anywhere: local servers (vLLM, Ollama, llama.cpp) need none
        return openai.AsyncOpenAI(api_key="no-key", **kwargs)


async def _generate(records: list[Record], settings: VQASettings, cache: ResponseCache,
                    images: Mapping[str, bytes] | None, usage: VQAUsage) -> list[tuple[list[VQAPair] | None, str | None]]:
    mode = settings.response_format if settings.response_format != "auto" else "json_schema"
    st = _State(settings=settings, cache=cache, usage=usage, mode=mode)

    def count() -> None:
        usage.http_requests += 1

    client = _client(settings, count)
    sem = asyncio.Semaphore(max(1, settings.concurrency))

    async def for_record(rec: Record):
        # everything under the semaphore: at most `concurrency` images are in memory at once
        async with sem:
            image = None
            if settings.with_image:
                try:
                    image = images[rec.id] if images is not None else None
                except Exception:
                    image = None
                if not image:
                    return None, "image_unavailable"
            messages = build_messages(rec, settings.n_pairs, image)
            return await _one(client, st, messages, cache_key(settings.model or "", messages, settings.with_image))

    try:
        return await asyncio.gather(*(for_record(r) for r in records))
    finally:
        await client.close()


def _run(coro):
    """asyncio.run, also from a thread that already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # pragma: no cover - re-raised below
            box["error"] = exc

    t = threading.Thread(target=target, name="mmskin-llm")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def generate(
    records: list[Record],
    settings: VQASettings,
    cache: ResponseCache | None = None,
    images: Mapping[str, bytes] | None = None,
) -> tuple[list[tuple[list[VQAPair] | None, str | None]], VQAUsage]:
    """Raw pairs (before the guard) or a failure reason per record, in order, and what it cost."""
    if not settings.model:
        raise ValueError("the openai VQA generator needs a model: set vqa.model, MMSKIN_LLM_MODEL or --llm-model")
    usage = VQAUsage(generator="openai", prompt_version=PROMPT_VERSION, model=settings.model,
                     with_image=settings.with_image, records=len(records))
    t0 = time.perf_counter()
    results = _run(_generate(records, settings, cache if cache is not None else MemoryCache(), images, usage)) if records else []
    usage.seconds = round(time.perf_counter() - t0, 3)
    usage.failed = sum(err is not None for _, err in results)
    usage.estimated_cost = round(usage.prompt_tokens / 1000 * settings.price_input_per_1k
                                 + usage.completion_tokens / 1000 * settings.price_output_per_1k, 6)
    return results, usage
