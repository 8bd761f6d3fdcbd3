"""Signing in to the desktop app with a cloud-stored key (issue 21): a real c11 server and a real shard store on
loopback; the password typed once logs in at the server and at the store (OPAQUE), the key is rebuilt in memory
and opens a file made for it; an account without a cloud-stored key gets a clear message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from desktopkit import finish
from shardkit import ShardEnv, start_env, verified_user

from c11 import files
from c11.client import Client
from c11.keys.identity import Identity


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShardEnv]:
    tmp = tmp_path_factory.mktemp("desktop-cloud")
    running = start_env(tmp, f"sqlite:///{tmp / 'c11.db'}", "sqlite", stores=1, threads=True)
    yield running
    running.stop()


def _sign_in(qtbot: Any, window: Any, env: ShardEnv, user: dict[str, str]) -> None:
    page = window.sign_in_page
    page.server.setText(env.server.url)
    page.email.setText(user["email"])
    page.password.setText(user["password"])
    assert page.cloud.isChecked()  # the default
    page.sign_in.click()
    finish(qtbot, window)


def test_cloud_stored_key_signs_in_and_opens(qtbot, window, env, tmp_path):
    user = verified_user(env.server, "cloud")
    me = Identity.generate(user["email"])
    with Client(env.server.url, user["token"]) as c:
        c.state_dir = tmp_path / "first-device"
        c.shards.password = user["password"]
        c.shards.create(me)
        c.registry.publish(me, user["email"])
    protected = tmp_path / "memo.txt.c11"
    protected.write_bytes(files.encrypt_bytes(b"for my cloud key\n", [me.public], Identity.generate("x@example.com")))
    _sign_in(qtbot, window, env, user)
    ws = window.session
    assert ws is not None, window.sign_in_page.busy.status.text()
    assert ws.key.source == "cloud" and ws.key.fingerprint == me.fingerprint
    assert "cloud-stored in shards" in window.settings_page.key.text()
    assert window.sign_in_page.password.text() == ""  # the field keeps nothing once signed in
    window.open_file(str(protected))
    finish(qtbot, window)
    window.open_page.decrypt.click()
    finish(qtbot, window)
    assert (tmp_path / "memo.txt").read_bytes() == b"for my cloud key\n"


def test_account_without_a_cloud_key_is_told_what_to_do(qtbot, window, env):
    user = verified_user(env.server, "nokey")
    _sign_in(qtbot, window, env, user)
    assert window.session is None
    status = window.sign_in_page.busy.status.text()
    assert "no cloud-stored key" in status and "key file" in status, status
