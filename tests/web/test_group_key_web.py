"""Group keys in the browser are log-backed (docs/organizations.md "Group keys in the log"): the Encrypt page
encrypts to `group:NAME` only when the key's `groupkey` log entry is proven against this browser's pinned log key
(web/src/core/groupkeylog.ts). A server answer that substitutes its own key, forges the inclusion proof, or points
at the older genuine key version after the browser saw the newer one is refused: an alert, and nothing to save."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import httpx
from conftest import KEY_PASSPHRASE, Person
from srvkit import run_cli

from c11 import groupkey
from c11.log.entries import canonical_json

KEY = re.compile(r".*/api/v1/org/groups/[^/?]+/key(\?.*)?$")


def _encrypt(page: Any, file: Any, key: Any) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    page.get_by_label("People (email addresses)").fill("group:team")
    page.get_by_label("File to protect").set_input_files(str(file))
    page.get_by_label("Your key file (.key)").set_input_files(str(key))
    page.get_by_label("Passphrase of your key file").fill(KEY_PASSPHRASE)
    page.get_by_role("button", name="Encrypt").click()


def _saved(page: Any, name: str) -> str:
    page.get_by_role("link", name=f"Save {name}.c11").or_(page.get_by_role("alert")).wait_for(timeout=60_000)
    assert page.locator("main").get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    return str(page.locator(".result").inner_text())


def _refused(page: Any, words: str) -> str:
    alert = page.locator("main").get_by_role("alert")
    alert.wait_for(timeout=60_000)
    text = str(alert.inner_text())
    assert words in text and "group:team" in text, text
    assert page.locator("a[download]").count() == 0
    return text


def test_the_page_refuses_a_substituted_key_a_forged_proof_and_an_older_key(
    page, web_server, log_in, tmp_path, screenshot
):
    member = Person(web_server, "groupkeyadmin", tmp_path)
    r = run_cli(
        ["org", "create", f"Org {uuid.uuid4().hex[:8]}", "--admin", member.email,
         "--data-dir", str(web_server.data_dir), "--json"],
        tmp_path / "op",
        {"C11_DATABASE_URL": web_server.config.database_url},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = member.cli("org", "groups", "create", "team")
    assert r.returncode == 0, r.stderr
    plain = tmp_path / "agenda.txt"
    plain.write_text("team agenda")
    mallory = groupkey.generate("team").public  # the server's own key
    log_in(page, member.email)
    mutate: dict[str, Any] = {}
    answers: list[dict[str, Any]] = []

    def handle(route: Any) -> None:
        response = route.fetch()
        fn = mutate.get("fn")
        if response.status == 200:
            answers.append(response.json())
        if fn is None or response.status != 200:
            route.fulfill(response=response)
        else:
            route.fulfill(response=response, body=json.dumps(fn(response.json())))

    page.route(KEY, handle)

    # honest: verified and used (the browser now remembers version 1)
    _encrypt(page, plain, member.key)
    _saved(page, "agenda.txt")
    first = answers[-1]
    assert first["version"] == 1

    # the server's own key in the answer and the record (the entry no longer matches)
    def substitute(d: dict[str, Any]) -> dict[str, Any]:
        record = json.loads(d["proof"]["record"])
        record["public_key"] = mallory.line()
        proof = {**d["proof"], "record": canonical_json(record)}
        return {**d, "public_key": mallory.line(), "fingerprint": mallory.fingerprint, "proof": proof}

    mutate["fn"] = substitute
    _encrypt(page, plain, member.key)
    _refused(page, "differs from the one its log entry commits to")
    screenshot(page, "group-key-refused")

    # a forged inclusion proof
    def forge(d: dict[str, Any]) -> dict[str, Any]:
        proof = [base64.b64encode(bytes(32)).decode(), *d["proof"]["inclusion_proof"][1:]]
        return {**d, "proof": {**d["proof"], "inclusion_proof": proof}}

    mutate["fn"] = forge
    _encrypt(page, plain, member.key)
    _refused(page, "does not verify")

    # the key is rotated and the browser sees version 2; then version 1, genuine and proven in today's genuine
    # checkpoint, is served again: only its version tells it is stale
    mutate.clear()
    r = member.cli("org", "groups", "rotate", "team")
    assert r.returncode == 0, r.stderr
    _encrypt(page, plain, member.key)
    _saved(page, "agenda.txt")
    assert answers[-1]["version"] == 2

    def stale(d: dict[str, Any]) -> dict[str, Any]:
        p, old = d["proof"], first["proof"]
        proof = httpx.get(
            f"{web_server.url}/api/v1/log/proof/inclusion", params={"index": old["log_index"], "size": p["tree_size"]}
        ).json()["proof"]
        return {**first, "proof": {**p, "record": old["record"], "entry": old["entry"],
                                   "log_index": old["log_index"], "inclusion_proof": proof}}  # fmt: skip

    mutate["fn"] = stale
    _encrypt(page, plain, member.key)
    _refused(page, "rolled back")
    page.unroute(KEY)
