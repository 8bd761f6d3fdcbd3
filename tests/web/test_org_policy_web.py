"""The organization's signed policy in the browser (docs/organizations.md "The signed policy"): the Encrypt page
applies only a policy whose log entry is proven against this browser's pinned log key (web/src/core/orgpolicy.ts).
A server answer that drops the recovery key from the document, forges the inclusion proof, or points at an older
genuine policy after the browser saw a newer one is refused: an alert, and nothing to save."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import accountkit
import httpx
from conftest import KEY_PASSPHRASE, Person
from srvkit import run_cli

from c11.log.entries import canonical_json

ORG = re.compile(r".*/api/v1/org(\?.*)?$")


def _encrypt(page: Any, to: str, file: Any, key: Any) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    page.get_by_label("People (email addresses)").fill(to)
    page.get_by_label("File to protect").set_input_files(str(file))
    page.get_by_label("Your key file (.key)").set_input_files(str(key))
    page.get_by_label("Passphrase of your key file").fill(KEY_PASSPHRASE)
    page.get_by_role("button", name="Encrypt").click()


def _saved(page: Any, name: str) -> str:
    page.get_by_role("link", name=f"Save {name}.c11").wait_for(timeout=60_000)
    return str(page.locator(".result").inner_text())


def _refused(page: Any, words: str) -> str:
    alert = page.locator("main").get_by_role("alert")
    alert.wait_for(timeout=60_000)
    text = str(alert.inner_text())
    assert words in text, text
    assert page.locator("a[download]").count() == 0
    return text


def test_the_page_refuses_a_dropped_key_a_forged_proof_and_an_older_policy(
    page, people, log_in, web_server, tmp_path, screenshot
):
    bob = people["bob"]
    member = Person(web_server, "policymember", tmp_path)
    r = run_cli(
        ["org", "create", f"Org {uuid.uuid4().hex[:8]}", "--admin", member.email,
         "--data-dir", str(web_server.data_dir), "--json"],
        tmp_path / "op",
        {"C11_DATABASE_URL": web_server.config.database_url},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    plain = tmp_path / "report.txt"
    plain.write_text("quarterly numbers")
    with accountkit.client(web_server, member.email, state_dir=tmp_path / "member-sdk") as a:
        rec, _ = a.groups.recovery.create("escrow", tmp_path / "escrow.key", KEY_PASSPHRASE)
        first = a.groups.recovery.org_answer()  # policy with one recovery key, as the server proves it
        log_in(page, member.email)
        mutate: dict[str, Any] = {}

        def handle(route: Any) -> None:
            response = route.fetch()
            fn = mutate.get("fn")
            if fn is None or response.status != 200:
                route.fulfill(response=response)
            else:
                route.fulfill(response=response, body=json.dumps(fn(response.json())))

        page.route(ORG, handle)

        # honest: verified and applied (the browser now remembers this policy's number)
        _encrypt(page, bob.email, plain, member.key)
        assert rec.fingerprint in _saved(page, "report.txt")

        # the recovery key dropped from the document (its entry no longer matches)
        def drop(d: dict[str, Any]) -> dict[str, Any]:
            doc = json.loads(d["policy"]["document"])
            doc["recovery_keys"] = []
            return {**d, "recovery_keys": [], "policy": {**d["policy"], "document": canonical_json(doc)}}

        mutate["fn"] = drop
        _encrypt(page, bob.email, plain, member.key)
        _refused(page, "differs from the one its log entry commits to")
        screenshot(page, "org-policy-refused")

        # a forged inclusion proof
        def forge(d: dict[str, Any]) -> dict[str, Any]:
            proof = [base64.b64encode(bytes(32)).decode(), *d["policy"]["inclusion_proof"][1:]]
            return {**d, "policy": {**d["policy"], "inclusion_proof": proof}}

        mutate["fn"] = forge
        _encrypt(page, bob.email, plain, member.key)
        _refused(page, "does not verify")

        # a newer policy (a second recovery key) is seen; then the older genuine one, proven in today's genuine
        # checkpoint, is served again: only its number tells it is stale
        mutate.clear()
        a.groups.recovery.create("second", tmp_path / "second.key", KEY_PASSPHRASE)
        _encrypt(page, bob.email, plain, member.key)
        _saved(page, "report.txt")

        def stale(d: dict[str, Any]) -> dict[str, Any]:
            p, old = d["policy"], first["policy"]
            proof = httpx.get(
                f"{web_server.url}/api/v1/log/proof/inclusion",
                params={"index": old["log_index"], "size": p["tree_size"]},
            ).json()["proof"]
            return {**d, "policy": {**p, "document": old["document"], "entry": old["entry"],
                                    "log_index": old["log_index"], "inclusion_proof": proof}}  # fmt: skip

        mutate["fn"] = stale
        _encrypt(page, bob.email, plain, member.key)
        _refused(page, "rolled back")
        page.unroute(ORG)
