"""Run the review app with uvicorn (the `mmskin review` command)."""

from __future__ import annotations

import ipaddress
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path

from schemas.settings import ReviewSettings


LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"]


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(dataset_dir: Path, host: str, port: int, open_browser: bool, settings: ReviewSettings | None = None,
          on_ready: Callable[[str], None] | None = None) -> None:
    """Serve the page until interrupted; ``on_ready(url)`` is called once the socket listens."""
    import uvicorn

    from flows.review.app import create_app

    app = create_app(dataset_dir, settings, allowed_hosts=LOOPBACK_NAMES + [host] if is_loopback(host) else None)
    # log_config=None: uvicorn must not reconfigure the process's logging (its handlers would keep whatever
    # sys.stderr was at start, e.g. a test runner's stream that is closed afterwards)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           log_config=None))

    def announce() -> None:
        while not server.started and not server.should_exit:
            threading.Event().wait(0.05)
        if not server.started:
            return
        sock = server.servers[0].sockets[0].getsockname() if server.servers else (host, port)
        shown = f"[{sock[0]}]" if ":" in str(sock[0]) else sock[0]
        url = f"http://{shown}:{sock[1]}/"
        if on_ready:
            on_ready(url)
        if open_browser:
            webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    server.run()
