"""My documents, end to end in Chromium: alice's CLI protects a file with an online policy for bob; the page lists
it with its state, expiry and access history (each access's log proof checked in the page); revoking in the page
stops bob's `c11 decrypt`, restoring lets it open again, and a new expiry set in the page is what the API reports."""

from __future__ import annotations

import json


def _access(person, path) -> dict:  # noqa: ANN001 - the API's view of the document, through `c11 access --json`
    r = person.cli("access", "--json", str(path))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_my_documents_revoke_restore_expiry(page, people, log_in, tmp_path, axe, narrow, screenshot):
    alice, bob = people["alice"], people["bob"]
    src = tmp_path / "minutes.txt"
    src.write_text("board minutes")
    made = tmp_path / "minutes.txt.c11"
    r = alice.cli("encrypt", "--online", "--expires", "7d", "-r", bob.email, "-o", str(made), str(src))
    assert r.returncode == 0, r.stderr
    r = bob.cli("decrypt", "-i", str(bob.key), "-o", str(tmp_path / "first.txt"), str(made))
    assert r.returncode == 0, r.stderr  # one allowed access in the log
    doc = _access(alice, made)["doc_id"]

    log_in(page, alice.email)
    page.get_by_role("navigation").get_by_role("link", name="My documents").click()
    item = page.get_by_role("article", name=f"Document {doc}")
    item.wait_for(timeout=30_000)
    text = item.inner_text()
    assert "active" in text and bob.email in text and "never" not in text.split("Expires")[1].split("\n")[1], text
    item.get_by_role("button", name="Show access history").click()
    item.get_by_text("verified in this browser against the transparency log").wait_for(timeout=30_000)
    assert "log proof verified" in item.inner_text() and "FAILED" not in item.inner_text()
    axe(page)
    screenshot(page, "documents")
    narrow(page, "documents")

    item.get_by_role("button", name="Revoke").click()
    item.get_by_text("Revoked: nobody can open it now.").wait_for(timeout=30_000)
    assert "revoked (since" in item.inner_text()
    r = bob.cli("decrypt", "-i", str(bob.key), "-o", str(tmp_path / "revoked.txt"), str(made))
    assert r.returncode != 0 and "revoked" in r.stderr and not (tmp_path / "revoked.txt").exists()
    assert _access(alice, made)["revoked"] is True
    screenshot(page, "revoked")

    item.get_by_role("button", name="Restore").click()
    item.get_by_text("Restored: recipients can open it again.").wait_for(timeout=30_000)
    r = bob.cli("decrypt", "-i", str(bob.key), "-o", str(tmp_path / "again.txt"), str(made))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "again.txt").read_text() == "board minutes"

    item.get_by_label("New expiry (UTC)").fill("2031-05-06T07:08")
    item.get_by_role("button", name="Set expiry").press("Enter")  # keyboard use
    item.get_by_text("Expiry changed.").wait_for(timeout=30_000)
    assert "2031-05-06 07:08:00 UTC" in item.inner_text()
    assert _access(alice, made)["expires_at"] == "2031-05-06T07:08:00Z"
    item.get_by_role("button", name="Never expire").click()
    item.get_by_text("It never expires now.").wait_for(timeout=30_000)
    assert _access(alice, made)["expires_at"] is None
    axe(page)
    screenshot(page, "documents-changed")


def test_my_documents_needs_a_login(page, axe):
    page.goto("/documents")
    page.get_by_text("Your documents with an online policy are listed after you").wait_for()
    axe(page)


def test_a_forged_access_record_is_flagged_and_others_see_nothing(page, new_page, people, log_in, tmp_path):
    alice, bob = people["alice"], people["bob"]
    src = tmp_path / "plan.txt"
    src.write_text("the plan")
    made = tmp_path / "plan.txt.c11"
    assert alice.cli("encrypt", "--online", "-r", bob.email, "-o", str(made), str(src)).returncode == 0
    assert bob.cli("decrypt", "-i", str(bob.key), "-o", str(tmp_path / "p.txt"), str(made)).returncode == 0
    doc = _access(alice, made)["doc_id"]

    def forge(route):  # noqa: ANN001 - the server claims bob's allowed access was denied
        answer = route.fetch()
        d = answer.json()
        for a in d["accesses"]:
            a["result"] = "denied"
        route.fulfill(response=answer, body=json.dumps(d))

    log_in(page, alice.email)
    page.route(f"**/api/v1/documents/{doc}/accesses*", forge)
    page.get_by_role("navigation").get_by_role("link", name="My documents").click()
    item = page.get_by_role("article", name=f"Document {doc}")
    item.get_by_role("button", name="Show access history").click()
    item.get_by_text("NOT verify against the transparency log").wait_for(timeout=30_000)
    assert "log proof FAILED" in item.inner_text() and "does not match its log entry" in item.inner_text()

    other = new_page()
    log_in(other, bob.email)
    other.get_by_role("navigation").get_by_role("link", name="My documents").click()
    other.get_by_text("You have no documents with an online policy yet.").wait_for(timeout=30_000)
    assert other.get_by_role("article").count() == 0
