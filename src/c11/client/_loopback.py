"""A one-shot HTTP listener on 127.0.0.1 that receives the OIDC login code for the CLI (RFC 8252).

It answers one GET /callback?code=... with a short page, then stops.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse


class LoopbackReceiver:
    """Listens on a free loopback port until a code arrives (or `wait` times out)."""

    def __init__(self) -> None:
        self._code: str | None = None
        self._got = threading.Event()
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                code = parse_qs(url.query).get("code", [""])[0]
                ok = url.path == "/callback" and bool(code)
                if ok and not receiver._got.is_set():
                    receiver._code = code
                    receiver._got.set()
                self.send_response(200 if ok else 400)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.end_headers()
                text = "Logged in; you can close this page." if ok else "Unexpected request."
                self.wfile.write(f"<!doctype html><title>c11</title><p>{text}</p>".encode())

            def log_message(self, *args: object) -> None:  # keep codes out of the terminal
                return

        self._server = HTTPServer(("127.0.0.1", 0), _Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> str | None:
        self._got.wait(timeout)
        return self._code
