"""A local OpenAI-compatible chat-completions server with scripted answers and faults (tests, `mmskin bench vqa`).

A real HTTP server on 127.0.0.1 (``http.server.ThreadingHTTPServer`` in a daemon thread), so the openai SDK is
exercised over real HTTP. It speaks ``POST /v1/chat/completions`` and counts every request, in all and per
prompt (the prompt key is the sha256 of the request's ``messages``).

Faults, chosen per request by ``plan(prompt_text, attempt)`` (``prompt_text``: the first user message, which
holds the caption; ``attempt`` = 1 for the first request about that caption, 2 for the next (an SDK retry or a
repair request), ...; return None for a normal answer):

- ``"429"``: HTTP 429 with ``Retry-After: <retry_after_s>``
- ``"500"``: HTTP 500
- ``"hang"``: answer only after ``hang_s`` seconds (past the client's timeout)
- ``"malformed"``: 200 whose message content is not JSON
- ``"schema_invalid"``: 200 whose content is JSON of the wrong shape
- ``"empty_choices"``: 200 with ``"choices": []``
- ``"fenced"``: 200 whose JSON content is wrapped in a markdown code fence with a trailing comma (repairable)

``json_schema=False`` makes the server refuse ``response_format: json_schema`` with HTTP 400, as some
OpenAI-compatible servers do (the client then falls back to JSON mode).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("429", "500", "hang", "malformed", "schema_invalid", "empty_choices", "fenced")

Plan = Callable[[str, int], "str | None"]
Responder = Callable[[str, int], list[dict]]

_CAPTION_RE = re.compile(r"^Caption:\s*(.+)$", re.M)
_N_RE = re.compile(r"\bexactly (\d+) question", re.I)


def prompt_key(messages: list) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()


def user_text(messages: list) -> str:
    """The text of the first user message (string content or the text parts of a multi-part content): the one
    with the caption, also in a repair request that appends the model's reply and a correction."""
    for m in messages:
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, str):
                return c
            return "\n".join(p.get("text", "") for p in c or [] if isinstance(p, dict) and p.get("type") == "text")
    return ""


def caption_of(prompt: str) -> str:
    m = _CAPTION_RE.search(prompt)
    return m.group(1).strip() if m else ""


def grounded_pairs(prompt: str, n: int) -> list[dict]:
    """N pairs whose answers are the caption's first sentence (every word is in the caption)."""
    cap = caption_of(prompt)
    first = re.split(r"(?<=[.;])\s", cap)[0].strip().rstrip(".;") or "A skin finding"
    questions = ["What does this image show?", "What finding is visible in this image?",
                 "What is seen in this picture?", "What abnormality is depicted here?",
                 "What can be observed in this image?"]
    return [{"question": questions[i % len(questions)] + ("" if i < len(questions) else f" ({i})"),
             "answer": first + "."} for i in range(n)]


def default_responder(prompt: str, n: int) -> list[dict]:
    return grounded_pairs(prompt, n)


class FakeLLM:
    """``with FakeLLM(...) as srv:`` starts it; ``srv.base_url`` is the ``/v1`` URL to give the client."""

    def __init__(
        self,
        plan: Plan | None = None,
        responder: Responder | None = None,
        latency_s: float = 0.0,
        hang_s: float = 5.0,
        retry_after_s: float = 0.2,
        json_schema: bool = True,
    ):
        self.plan = plan or (lambda prompt, attempt: None)
        self.responder = responder or default_responder
        self.latency_s = latency_s
        self.hang_s = hang_s
        self.retry_after_s = retry_after_s
        self.json_schema = json_schema
        self.lock = threading.Lock()
        self.calls = 0  # every HTTP request to /chat/completions
        self.answered = 0  # 200 responses with a usable choice (the client could cache them)
        self.by_prompt: Counter[str] = Counter()  # requests per prompt key
        self.by_caption: Counter[str] = Counter()  # requests per caption text
        self.times: dict[str, list[float]] = {}  # request arrival times per caption
        self.faults: Counter[str] = Counter()
        self.response_formats: Counter[str] = Counter()
        self.with_image = 0  # requests whose user message carried an image_url part
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle
    def start(self) -> "FakeLLM":
        srv = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        srv.daemon_threads = True
        srv.request_queue_size = 256
        self._server = srv
        self._thread = threading.Thread(target=srv.serve_forever, name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeLLM":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # --- the protocol
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to answer

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/stats"):
                    with fake.lock:
                        self._send(200, {"calls": fake.calls, "answered": fake.answered,
                                         "faults": dict(fake.faults)})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                try:
                    req = json.loads(raw)
                except ValueError:
                    self._send(400, {"error": {"message": "request body is not JSON"}})
                    return
                fake._serve(self, req)

        return Handler

    def _serve(self, h, req: dict) -> None:
        messages = req.get("messages") or []
        key = prompt_key(messages)
        prompt = user_text(messages)
        rf = (req.get("response_format") or {}).get("type", "none")
        with self.lock:
            self.calls += 1
            self.by_prompt[key] += 1
            self.by_caption[caption_of(prompt)] += 1
            self.times.setdefault(caption_of(prompt), []).append(time.monotonic())
            self.response_formats[rf] += 1
            attempt = self.by_caption[caption_of(prompt)]
            self.with_image += any(isinstance(m.get("content"), list) and any(
                isinstance(p, dict) and p.get("type") == "image_url" for p in m["content"]) for m in messages)
        if self.latency_s:
            time.sleep(self.latency_s)
        if rf == "json_schema" and not self.json_schema:
            h._send(400, {"error": {"message": "response_format json_schema is not supported", "type": "invalid_request_error",
                                    "param": "response_format"}})
            return
        fault = self.plan(prompt, attempt)
        if fault:
            with self.lock:
                self.faults[fault] += 1
        if fault == "429":
            h._send(429, {"error": {"message": "rate limited", "type": "rate_limit_error"}},
                    {"Retry-After": f"{self.retry_after_s:g}"})
            return
        if fault == "500":
            h._send(500, {"error": {"message": "internal error", "type": "server_error"}})
            return
        if fault == "hang":
            time.sleep(self.hang_s)
        m = _N_RE.search(prompt)
        n = int(m.group(1)) if m else 3
        pairs = self.responder(prompt, n)
        content = json.dumps({"pairs": pairs})
        if fault == "malformed":
            content = "Sure! Here are the questions: " + content[: len(content) // 2]
        elif fault == "schema_invalid":
            content = json.dumps({"qa": [{"q": p["question"], "a": p["answer"]} for p in pairs]})
        elif fault == "fenced":
            content = "```json\n" + content[:-2] + ",]}\n```"
        choices = [] if fault == "empty_choices" else [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
        ]
        body = {
            "id": f"chatcmpl-{key[:12]}-{attempt}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req.get("model", "fake"),
            "choices": choices,
            "usage": {"prompt_tokens": max(1, len(json.dumps(messages)) // 4),
                      "completion_tokens": max(1, len(content) // 4),
                      "total_tokens": max(1, len(json.dumps(messages)) // 4) + max(1, len(content) // 4)},
        }
        if choices:
            with self.lock:
                self.answered += 1
        h._send(200, body)


class FakeLLMProcess:
    """The default fake server (grounded answers, no faults) in its own process, so its work does not share the
    client's interpreter lock (benchmarks). ``calls`` asks the server (GET /v1/stats)."""

    def __init__(self, latency_s: float = 0.0):
        self.latency_s = latency_s
        self._proc = None
        self.base_url = ""

    def __enter__(self) -> "FakeLLMProcess":
        import subprocess
        import sys

        self._proc = subprocess.Popen([sys.executable, "-m", "eval.fake_llm", str(self.latency_s)],
                                      stdout=subprocess.PIPE, text=True)
        self.base_url = self._proc.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            self._proc.kill()
            raise RuntimeError("the fake LLM server did not start")
        return self

    def __exit__(self, *exc) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)

    @property
    def calls(self) -> int:
        import urllib.request

        with urllib.request.urlopen(self.base_url + "/stats", timeout=10) as resp:
            return json.loads(resp.read())["calls"]


def main() -> None:  # python -m eval.fake_llm [latency_s]: prints the base URL, serves until terminated
    import signal
    import sys

    with FakeLLM(latency_s=float(sys.argv[1]) if len(sys.argv) > 1 else 0.0) as srv:
        print(srv.base_url, flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
