"""The desktop app's update check (issue 21, docs/desktop.md#updates): the committed vector verifies, a changed
byte or another key is refused, an admin switches it off (then no request is made), and the window shows a newer
release from a real HTTP server on loopback without installing anything."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from desktopkit import finish

from c11.client import updates
from c11.client.updates import UpdateFeedError, UpdateSettings

VECTOR = Path(__file__).resolve().parents[1] / "vectors" / "desktop-update"
FEED = (VECTOR / "feed.json").read_bytes()
SIG = (VECTOR / "feed.json.sig").read_bytes()
KEY = bytes.fromhex(json.loads((VECTOR / "key.json").read_text())["public_key"])


def test_vector_verifies_and_compares_versions():
    release = updates.verify(FEED, SIG, (KEY,), "0.1.0")
    assert (release.version, release.url, release.newer) == ("1.2.3", "https://c11.example.com/releases/1.2.3", True)
    assert not updates.verify(FEED, SIG, (KEY,), "1.2.3").newer
    assert not updates.verify(FEED, SIG, (bytes(32), KEY), "2.0.0").newer  # any configured key may sign


def test_changed_byte_or_other_key_is_refused():
    changed = FEED.replace(b"1.2.3", b"9.9.9", 1)
    with pytest.raises(UpdateFeedError, match="not signed by a configured key"):
        updates.verify(changed, SIG, (KEY,), "0.1.0")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    with pytest.raises(UpdateFeedError, match="not signed by a configured key"):
        updates.verify(FEED, SIG, (other,), "0.1.0")
    with pytest.raises(UpdateFeedError, match="not base64"):
        updates.verify(FEED, b"%%%", (KEY,), "0.1.0")


def test_settings_switches(tmp_path):
    conf = tmp_path / "desktop.json"
    assert not updates.settings(conf, {}).enabled  # no settings file: nothing to check
    conf.write_text(json.dumps({"update_feed": "https://example.com/feed.json", "update_keys": [KEY.hex()]}))
    on = updates.settings(conf, {})
    assert on.enabled and on.feed == "https://example.com/feed.json" and on.keys == (KEY,)
    off = updates.settings(conf, {"C11_DESKTOP_UPDATES": "off"})
    assert not off.enabled and "C11_DESKTOP_UPDATES" in off.off_reason
    conf.write_text(json.dumps({"update_check": False, "update_feed": "https://example.com/f", "update_keys": []}))
    assert "administrator" in updates.settings(conf, {}).off_reason
    conf.write_text(json.dumps({"update_feed": "https://example.com/f"}))
    with pytest.raises(UpdateFeedError, match="no update_keys"):
        updates.settings(conf, {})
    conf.write_text("{not json")
    with pytest.raises(UpdateFeedError, match="not valid desktop settings"):
        updates.settings(conf, {})


@pytest.fixture
def feed_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on loopback serving the vector; the list records the paths asked."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            asked.append(self.path)
            body = {"/feed.json": FEED, "/feed.json.sig": SIG}.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/feed.json", asked
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_window_shows_a_newer_release_and_installs_nothing(qtbot, feed_server):
    from c11.desktop.window import MainWindow

    url, asked = feed_server
    w = MainWindow(updates=UpdateSettings(url, (KEY,), True))
    qtbot.addWidget(w)
    finish(qtbot, w)
    assert asked == ["/feed.json", "/feed.json.sig"]
    text = w.settings_page.updates.text()
    assert "c11 1.2.3 is available" in text and "nothing is installed" in text, text
    assert "1.2.3" in w.statusBar().currentMessage()


def test_switched_off_makes_no_request(qtbot, feed_server):
    from c11.desktop.window import MainWindow

    url, asked = feed_server
    w = MainWindow(updates=UpdateSettings(None, (), False, "switched off by the administrator (/etc/c11/desktop.json)"))
    qtbot.addWidget(w)
    finish(qtbot, w)
    assert asked == []
    assert w.settings_page.updates.text() == "not checked: switched off by the administrator (/etc/c11/desktop.json)"


def test_feed_signed_by_another_key_is_ignored_with_a_reason(qtbot, feed_server):
    from c11.desktop.window import MainWindow

    url, _asked = feed_server
    w = MainWindow(updates=UpdateSettings(url, (bytes.fromhex("11" * 32),), True))
    qtbot.addWidget(w)
    finish(qtbot, w)
    assert "not signed by a configured key" in w.settings_page.updates.text()
    assert "available" not in w.statusBar().currentMessage()
