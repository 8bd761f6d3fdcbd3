"""Signing in to the desktop app through an identity provider (issue 21): the real server on loopback with the
fake OIDC provider of tests/server; the app opens the provider's page in "the browser" (here: a client that
follows the redirects, as a browser would) and the code comes back to the one-shot loopback listener (PKCE)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from desktopkit import finish
from srvkit import RunningServer, loopback_socket, serve_in_thread, server_config, start_server

from c11.keys import keyfile
from c11.keys.identity import Identity


@pytest.fixture(scope="module")
def idp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Any]]:
    from fake_idp import FakeIdP

    from c11.server.config import OidcProvider

    provider = FakeIdP()
    sock = loopback_socket()
    provider.issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
    idp, thread = serve_in_thread(provider.app(), sock)
    tmp = tmp_path_factory.mktemp("desktop-oidc")
    config = server_config(
        tmp / "data",
        f"sqlite:///{tmp / 'c11.db'}",
        oidc_providers=(OidcProvider("test", provider.issuer, "c11-test", "test-client-secret", "Test IdP"),),
    )
    running = start_server(config, "sqlite")
    try:
        yield running, provider
    finally:
        running.stop()
        idp.should_exit = True
        thread.join(timeout=10)


def test_sign_in_through_the_identity_provider(qtbot, window, idp_server, tmp_path):
    server, provider = idp_server
    sub = uuid.uuid4().hex
    provider.user = {"sub": sub, "email": f"idp-{sub[:8]}@example.com", "email_verified": True}
    opened: list[str] = []

    def browser(url: str) -> None:
        opened.append(url)

        def follow() -> None:
            with httpx.Client(follow_redirects=True, timeout=30) as b:
                b.get(url)  # the provider approves; its redirect ends at the app's loopback listener

        threading.Thread(target=follow, daemon=True).start()

    window.open_url = browser
    me = Identity.generate(provider.user["email"])
    keyfile.write(tmp_path / "me.key", me, None)
    page = window.sign_in_page
    page.server.setText(server.url)
    page.provider.setText("test")
    page.file.setChecked(True)
    page.key_path.setText(str(tmp_path / "me.key"))
    page.oidc.click()
    finish(qtbot, window)
    assert window.session is not None, page.busy.status.text()
    assert window.session.email == provider.user["email"] and window.session.key.fingerprint == me.fingerprint
    assert len(opened) == 1 and opened[0].startswith(f"{server.url}/api/v1/auth/oidc/test/login?")
    assert "cli_challenge=" in opened[0]  # PKCE: the code alone is useless


def test_unknown_provider_is_a_clear_message(qtbot, window, idp_server, tmp_path):
    server, _ = idp_server
    opened: list[str] = []
    window.open_url = opened.append
    page = window.sign_in_page
    page.server.setText(server.url)
    page.provider.setText("nope")
    page.oidc.click()
    finish(qtbot, window)
    assert window.session is None and opened == []  # no browser sent to a page that never answers
    assert page.busy.status.text() == f"Error: {server.url} offers no identity provider 'nope' (it offers: test)"
