"""Organization encryption policies (F21) in Chromium against a live server on PostgreSQL: an admin adds one on
the admin console's Encryption policies page; a member (no admin permission: the API refuses her changes) picks
it on the Encrypt page, sees the people it fills in, encrypts; the recipient opens the file with `c11 decrypt`."""

from __future__ import annotations

import uuid

import accountkit
from conftest import KEY_PASSPHRASE, Person
from srvkit import authed


def test_admin_adds_a_policy_member_encrypts_with_it(new_page, web_server, log_in, tmp_path, axe, narrow, screenshot):
    admin, member, bob = (Person(web_server, t, tmp_path) for t in ("encadmin", "encmember", "encbob"))
    accountkit.make_org(web_server, admin.email, [member.email, bob.email], name=f"Policy Org {uuid.uuid4().hex[:6]}")

    page = new_page()
    log_in(page, admin.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Encryption policies").click()
    page.get_by_text("No encryption policies yet.").wait_for(timeout=30_000)
    page.get_by_label("Name", exact=True).fill("Board")
    page.get_by_label("Description (optional)").fill("Board papers")
    page.get_by_label("Email addresses (one a line, or separated by commas)").fill(f"{bob.email}\nnot-an-address")
    page.get_by_role("button", name="Add policy").click()
    assert "Not an email address: not-an-address" in page.get_by_role("alert").inner_text()
    page.get_by_label("Email addresses (one a line, or separated by commas)").fill(bob.email)
    page.get_by_label("Groups of the organization (names, one a line)").fill("no-such-group")
    page.get_by_role("button", name="Add policy").click()
    page.get_by_role("alert").get_by_text("no group 'no-such-group'").wait_for(timeout=30_000)  # the server's 422
    page.get_by_label("Groups of the organization (names, one a line)").fill("")
    page.get_by_role("button", name="Add policy").click()
    page.get_by_text("Added Board: members now see it on the Encrypt page.").wait_for(timeout=30_000)
    row = page.get_by_role("list", name="Encryption policies of the organization").get_by_role("listitem")
    assert row.count() == 1 and bob.email in row.inner_text() and "Board papers" in row.inner_text()
    row.get_by_role("button", name="Edit Board").click()  # edit: the form holds the policy, saved in place
    assert page.get_by_label("Email addresses (one a line, or separated by commas)").input_value() == bob.email
    page.get_by_label("Description (optional)").fill("Board papers, 2026")
    page.get_by_role("button", name="Save policy").click()
    page.get_by_text("Saved Board: members now see it on the Encrypt page.").wait_for(timeout=30_000)
    assert "Board papers, 2026" in row.inner_text()
    axe(page)
    screenshot(page, "admin")
    narrow(page, "admin")

    with accountkit.client(web_server, member.email) as c:  # a member without crud:config-org: refused
        with authed(web_server, c.token) as h:
            policies = h.get("/api/v1/org/encryption-policies").json()
            assert [p["name"] for p in policies] == ["Board"]
            r = h.put(
                f"/api/v1/org/encryption-policies/{policies[0]['id']}", json={"name": "x", "emails": [member.email]}
            )
            assert r.status_code == 403 and r.json()["type"].endswith("missing-permission")

    mp = new_page()
    log_in(mp, member.email)
    mp.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    mp.get_by_label("Organization encryption policies").select_option(label="Board — Board papers, 2026")
    assert mp.get_by_label("People (email addresses)").input_value() == bob.email  # the sender sees who
    plain = tmp_path / "minutes.txt"
    plain.write_text("board minutes, confidential")
    mp.get_by_label("File to protect").set_input_files(str(plain))
    mp.get_by_label("Your key file (.key)").set_input_files(str(member.key))
    mp.get_by_label("Passphrase of your key file").fill(KEY_PASSPHRASE)
    axe(mp)
    mp.get_by_role("button", name="Encrypt").click()
    save = mp.get_by_role("link", name="Save minutes.txt.c11")
    save.wait_for(timeout=60_000)
    assert bob.email in mp.locator(".result").inner_text()
    screenshot(mp, "encrypted")
    narrow(mp, "encrypted")
    with mp.expect_download() as dl:
        save.click()
    made = tmp_path / "minutes.txt.c11"
    dl.value.save_as(str(made))
    out = tmp_path / "bob-minutes.txt"
    r = bob.cli("decrypt", "-i", str(bob.key), "-o", str(out), str(made))
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "board minutes, confidential" and member.email in r.stderr
