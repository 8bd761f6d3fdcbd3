"""The organization rules in the browser (docs/organizations.md "Organization rules"): a member's file made in
Chromium (a file, a message) carries the organization's current recovery key (the recovery key's holder opens it with the CLI), and
when the organization requires online documents, which the browser cannot make, nothing is encrypted."""

from __future__ import annotations

import json
import uuid

import accountkit
from conftest import KEY_PASSPHRASE, Person
from srvkit import run_cli


def _encrypt(page, to: str, file, key) -> None:  # noqa: ANN001
    page.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    page.get_by_label("People (email addresses)").fill(to)
    page.get_by_label("File to protect").set_input_files(str(file))
    page.get_by_label("Your key file (.key)").set_input_files(str(key))
    page.get_by_label("Passphrase of your key file").fill(KEY_PASSPHRASE)
    page.get_by_role("button", name="Encrypt").click()


def test_member_file_carries_the_recovery_key_and_require_online_refuses(
    page, people, log_in, web_server, tmp_path, screenshot
):
    bob = people["bob"]
    member = Person(web_server, "orgmember", tmp_path)  # the organization's admin: a member from the start
    r = run_cli(
        [
            "org",
            "create",
            f"Org {uuid.uuid4().hex[:8]}",
            "--admin",
            member.email,
            "--data-dir",
            str(web_server.data_dir),
            "--json",
        ],
        tmp_path / "op",
        {"C11_DATABASE_URL": web_server.config.database_url},
    )
    assert r.returncode == 0, r.stderr
    org = json.loads(r.stdout)["name"]
    with accountkit.client(web_server, member.email, state_dir=tmp_path / "member-sdk") as a:
        rec, rec_file = a.groups.recovery.create("escrow", tmp_path / "escrow.key", KEY_PASSPHRASE)

        plain = tmp_path / "report.txt"
        plain.write_text("quarterly numbers")
        log_in(page, member.email)
        _encrypt(page, bob.email, plain, member.key)
        save = page.get_by_role("link", name="Save report.txt.c11")
        save.wait_for(timeout=60_000)
        result = page.locator(".result").inner_text()
        assert f"recovery key of {org}" in result and rec.fingerprint in result, result
        screenshot(page, "org-recovery-added")
        with page.expect_download() as dl:
            save.click()
        made = tmp_path / "report.txt.c11"
        dl.value.save_as(str(made))
        out = tmp_path / "recovered.txt"
        r = bob.cli("decrypt", "-i", str(rec_file), "-o", str(out), str(made))  # the recovery key opens it
        assert r.returncode == 0, r.stderr
        assert out.read_text() == "quarterly numbers"
        r = bob.cli("inspect", str(made), "--json")
        assert r.returncode == 0, r.stderr
        assert len(json.loads(r.stdout)["recipients"]) == 3  # bob, the member, the recovery key

        # a message written in the page carries the recovery key too
        page.get_by_role("navigation").get_by_role("link", name="Messages").click()
        page.get_by_label("Message", exact=True).fill("for bob, and the escrow")
        page.get_by_label("People (email addresses)").fill(bob.email)
        page.locator("#write-key").set_input_files(str(member.key))
        page.locator("#write-pass").fill(KEY_PASSPHRASE)
        page.get_by_role("button", name="Encrypt message").click()
        block = page.get_by_label("Protected message (send this block)")
        block.wait_for(timeout=60_000)
        r = bob.cli("decrypt", "-i", str(rec_file), input=block.input_value())
        assert r.returncode == 0, r.stderr
        assert r.stdout == "for bob, and the escrow"

        # the organization now requires online documents: the browser cannot make them, so it refuses
        a.org.set_policies(require_online=True)
        _encrypt(page, bob.email, plain, member.key)
        alert = page.locator("main").get_by_role("alert")
        alert.wait_for(timeout=60_000)
        assert "requires online documents" in alert.inner_text() and "c11 encrypt" in alert.inner_text(), (
            alert.inner_text()
        )
        assert page.locator("a[download]").count() == 0
        page.get_by_role("navigation").get_by_role("link", name="Messages").click()
        page.get_by_label("Message", exact=True).fill("again")
        page.get_by_label("People (email addresses)").fill(bob.email)
        page.locator("#write-key").set_input_files(str(member.key))
        page.locator("#write-pass").fill(KEY_PASSPHRASE)
        page.get_by_role("button", name="Encrypt message").click()
        refused = page.locator("main").get_by_role("alert")
        refused.wait_for(timeout=60_000)
        assert "requires online documents" in refused.inner_text(), refused.inner_text()
        assert page.get_by_label("Protected message (send this block)").count() == 0


def test_not_a_member_claim_is_warned_and_confirmed(page, people, log_in, web_server, tmp_path, screenshot, axe):
    """Review finding 6: the server answers "not a member" to a browser that saw the account in an organization;
    the Encrypt page shows the warning and encrypts (without the recovery keys) only once the user confirms."""
    from sqlalchemy import delete

    from c11.server.orgs.models import OrgMember

    member = Person(web_server, "leaver", tmp_path)
    org_id = accountkit.make_org(web_server, member.email, name=f"Leavers {uuid.uuid4().hex[:6]}")
    log_in(page, member.email)
    page.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    page.wait_for_function("() => Object.keys(localStorage).some((k) => k.startsWith('c11-org-member '))")
    assert page.get_by_test_id("org-left").count() == 0
    with accountkit.database(web_server) as db, db.session() as s:  # the server now claims "not a member"
        s.execute(delete(OrgMember).where(OrgMember.org_id == org_id))
    page.get_by_role("navigation").get_by_role("link", name="Account").click()
    page.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    warning = page.get_by_test_id("org-left")
    warning.wait_for(timeout=30_000)
    assert "no longer a member of Leavers" in warning.inner_text()
    plain = tmp_path / "note.txt"
    plain.write_text("after leaving")
    _encrypt(page, member.email, plain, member.key)
    refused = page.locator("main").get_by_role("alert").filter(has_text="Not encrypted")
    refused.wait_for(timeout=60_000)
    assert "tick" in refused.inner_text() and "I left Leavers" in refused.inner_text()
    axe(page)
    screenshot(page, "org-left-warning")
    page.get_by_label("I left Leavers", exact=False).check()
    _encrypt(page, member.email, plain, member.key)  # the passphrase was cleared: fill it all again
    page.get_by_role("link", name="Save note.txt.c11").wait_for(timeout=60_000)
    assert page.get_by_test_id("org-left").count() == 0  # confirmed: forgotten
