"""Secure Document Request in Chromium: alice asks by CLI; a person without an account opens the emailed link,
sees alice verified from the log, is refused bad answers by the page, encrypts and uploads in the browser; alice's
CLI decrypts it all and her requests page shows it. A tampered request is refused; cancelled and expired links
give clear pages. axe and 375 px on the form."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta

from accountkit import database
from conftest import KEY_PASSPHRASE, Person
from sqlalchemy import update
from srvkit import new_email, outbox_message, text_body

from c11.log.entries import canonical_json
from c11.server.db import utcnow
from c11.server.docrequests.models import DocRequest

FORM = [
    {
        "title": "About you",
        "fields": [
            {"id": "full_name", "label": "Full name", "type": "text", "required": True, "max_length": 60},
            {"id": "born", "label": "Date of birth", "type": "date", "required": True},
            {"id": "children", "label": "Children", "type": "number", "required": False, "min": 0, "integer": True},
            {"id": "status", "label": "Status", "type": "choice", "required": True, "options": ["single", "married"]},
            {"id": "consent", "label": "I agree to share these documents", "type": "checkbox", "required": True},
        ],
    },
    {
        "title": "Documents",
        "fields": [
            {
                "id": "payslip",
                "label": "Payslip",
                "type": "file",
                "required": True,
                "accept": [".pdf"],
                "max_bytes": 2000,
                "help": "One PDF, at most 2000 bytes",
            },
        ],
    },
]


def _ask(web_server, alice, tmp_path, to: str, name: str) -> str:
    form = tmp_path / "form.json"
    form.write_text(json.dumps(FORM))
    r = alice.cli(
        "request",
        "create",
        "--form",
        str(form),
        "--to",
        to,
        "--recipient-name",
        "Bob Müller",
        "--name",
        name,
        "--message",
        "Please send your payslip.",
        "-i",
        str(alice.key),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    link = re.search(r"(https?://\S+/request#\S+)", text_body(outbox_message(web_server.data_dir, to)))
    assert link, "no link in the email"
    return link.group(1)


def test_the_whole_flow_without_an_account(web_server, people, new_page, log_in, axe, narrow, screenshot, tmp_path):
    alice = people["alice"]
    to = new_email("bob")
    link = _ask(web_server, alice, tmp_path, to, "Payroll 2026")
    page = new_page()
    page.goto(link)
    page.get_by_test_id("requester").wait_for(timeout=60_000)
    assert page.get_by_test_id("requester").inner_text() == alice.email
    assert "#" not in page.url  # the capability left the address bar
    assert page.get_by_test_id("request-message").inner_text() == "Please send your payslip."
    axe(page)
    narrow(page, "form")
    # the page refuses what the form's rules refuse: nothing is sent
    page.get_by_label("Full name (required)").fill("x" * 61)
    page.get_by_label("Date of birth (required)").fill("1980-02-29")
    page.get_by_label("Children").fill("2.5")
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF" + b"x" * 3000)
    page.get_by_label("Payslip (required)").set_input_files(str(big))
    page.get_by_role("button", name="Encrypt and send").click()
    assert page.get_by_text("Full name: must be 0 to 60 characters").is_visible()
    assert page.get_by_text("Children: must be a whole number").is_visible()
    assert page.get_by_text("Status: must be one of the options").is_visible()
    assert page.get_by_text("I agree to share these documents: must be checked").is_visible()
    assert page.get_by_text("Payslip: big.pdf is larger than 2000 bytes").is_visible()
    screenshot(page, "refused")
    with database(web_server) as db, db.session() as s:
        rid = link.split("#")[1].split(".")[0]
        assert s.get(DocRequest, rid).status == "opened"  # nothing was uploaded
    # good answers: encrypted here, uploaded, submitted
    page.get_by_label("Full name (required)").fill("Bob Müller")
    page.get_by_label("Children").fill("2")
    page.get_by_label("Status (required)").select_option("married")
    page.get_by_label("I agree to share these documents (required)").check()
    slip = tmp_path / "slip.pdf"
    slip.write_bytes(b"%PDF-1.4 payslip of Bob")
    page.get_by_label("Payslip (required)").set_input_files(str(slip))
    page.get_by_role("button", name="Encrypt and send").click()
    page.get_by_role("heading", name="Sent").wait_for(timeout=60_000)
    screenshot(page, "sent")
    # alice's CLI decrypts the answers and the file
    out = tmp_path / "answers"
    r = alice.cli("request", "download", rid, "-o", str(out))
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "answers.json").read_text())
    assert doc["answers"] == {
        "full_name": "Bob Müller",
        "born": "1980-02-29",
        "children": "2",
        "status": "married",
        "consent": True,
    }
    assert (out / "slip.pdf").read_bytes() == b"%PDF-1.4 payslip of Bob"
    # alice's requests page: the status, and the answers decrypted in her browser
    mine = new_page()
    log_in(mine, alice.email)
    mine.get_by_role("navigation").get_by_role("link", name="Requests").click()  # the session lives in the page
    assert "not authenticated" in mine.get_by_test_id("answers-not-authenticated").inner_text()  # review finding 11
    assert mine.get_by_test_id(f"status-{rid}").inner_text() == "downloaded"
    mine.get_by_role("button", name="Payroll 2026").click()
    mine.get_by_test_id("request-status").wait_for(timeout=30_000)
    assert mine.get_by_test_id("request-status").inner_text() == "downloaded"
    mine.locator("#view-key").set_input_files(str(alice.key))
    mine.locator("#view-pass").fill(KEY_PASSPHRASE)
    mine.get_by_role("button", name="Decrypt the answers").click()
    mine.get_by_test_id("answers").wait_for(timeout=60_000)
    assert "Bob Müller" in mine.get_by_test_id("answers").inner_text()
    assert mine.get_by_role("link", name="slip.pdf").is_visible()
    axe(mine)
    screenshot(mine, "requests")
    narrow(mine, "requests")


def test_tampered_cancelled_and_expired_requests(web_server, people, new_page, log_in, screenshot, tmp_path):
    alice = people["alice"]
    # the server changes the signed form: the page refuses it
    to = new_email("carol")
    link = _ask(web_server, alice, tmp_path, to, "Tampered")
    rid = link.split("#")[1].split(".")[0]
    with database(web_server) as db, db.session() as s:
        row = s.get(DocRequest, rid)
        row.body = row.body.replace("Please send your payslip.", "Please send your password.")
    page = new_page()
    page.goto(link)
    refused = page.get_by_test_id("request-refused")
    refused.wait_for(timeout=60_000)
    assert "could not be verified" in refused.inner_text()
    assert page.get_by_role("button", name="Encrypt and send").count() == 0
    screenshot(page, "tampered")
    # made in alice's requests page (signed in the worker with her key file), then cancelled
    to = new_email("dave")
    mine = new_page()
    log_in(mine, alice.email)
    mine.get_by_role("navigation").get_by_role("link", name="Requests").click()
    mine.get_by_label("Form sections (JSON: sections of typed fields, docs/sharing.md)").fill(json.dumps(FORM))
    mine.get_by_label("Request name (unique)").fill("Cancelled")
    mine.get_by_label("Recipient's email").fill(to)
    mine.get_by_label("Recipient's name").fill("Dave")
    mine.locator("#rq-key").set_input_files(str(alice.key))
    mine.locator("#rq-pass").fill(KEY_PASSPHRASE)
    mine.get_by_role("button", name="Sign and send the request").click()
    mine.get_by_text(f"the link was emailed to {to}").wait_for(timeout=60_000)
    link = re.search(r"(https?://\S+/request#\S+)", text_body(outbox_message(web_server.data_dir, to))).group(1)
    assert alice.cli("request", "cancel", link.split("#")[1].split(".")[0]).returncode == 0
    page = new_page()  # a link differing only in its fragment would not load the page again
    page.goto(link)
    page.get_by_role("heading", name="This request was cancelled").wait_for(timeout=30_000)
    # expired
    to = new_email("erin")
    link = _ask(web_server, alice, tmp_path, to, "Expired")
    with database(web_server) as db, db.session() as s:
        s.execute(
            update(DocRequest).where(DocRequest.id == link.split("#")[1].split(".")[0]).values(expires_at=utcnow())
        )
    page = new_page()
    page.goto(link)
    page.get_by_role("heading", name="This request has expired").wait_for(timeout=30_000)
    screenshot(page, "expired")


def _sdk_ask(web_server, c, me, to: str, name: str, keys) -> str:  # noqa: ANN001
    r = c.doc_requests.build(
        me, requester=c.whoami().email, name=name, to=to, recipient_name="Frank", sections=FORM, extra_keys=keys
    )
    c.doc_requests.submit(r, me)
    return re.search(r"(https?://\S+/request#\S+)", text_body(outbox_message(web_server.data_dir, to))).group(1)


def test_the_page_encrypts_only_for_signed_keys_and_the_link_s_request(
    web_server, new_page, log_in, axe, screenshot, tmp_path
):
    """Review findings 1 and 10: a server that injects an `org` (with its own recovery key) into the requester's
    lookup gets nothing: the answers are for the signed `keys` only (the requester's organization's recovery key
    among them, as `c11 request create` signs it: tests/requests/test_requests_flow.py); another genuine request
    than the link's, or a request past its signed expiry, is refused. Issue 15: the web "New request" from a
    template naming a group signs the group's log-verified key into `keys` (refusing, with nothing sent, a key the
    log does not back), and a member of the group opens the answers with `c11 decrypt`."""
    import accountkit

    from c11.files import inspect
    from c11.keys import keyfile
    from c11.keys.identity import Identity

    email = accountkit.signup(web_server, "orgasker").email
    org_id = accountkit.make_org(web_server, email)
    me = Identity.generate(email, kem="x25519")
    with accountkit.client(web_server, email, state_dir=tmp_path / "asker-sdk") as a:
        a.publish(me)
        rec, _ = a.groups.recovery.create("escrow", tmp_path / "escrow.key", None)
        link = _sdk_ask(web_server, a, me, new_email("frank"), "Signed keys", [rec.public_key])
        other = _sdk_ask(web_server, a, me, new_email("gina"), "Another", [rec.public_key])
        rid, other_id = link.split("#")[1].split(".")[0], other.split("#")[1].split(".")[0]
        genuine = a.doc_requests.show(other_id)

        # the server serves another genuine signed request of the same requester on the link: refused
        def swap(route):  # noqa: ANN001, ANN202
            body = route.fetch().json()
            body["request"], body["signature"] = genuine["request"], genuine["signature"]
            route.fulfill(json=body)

        page = new_page()
        page.route(f"**/api/v1/request-links/{rid}", swap)
        page.goto(link)
        refused = page.get_by_test_id("request-refused")
        refused.wait_for(timeout=60_000)
        assert "not the one the link names" in refused.inner_text()
        # past the signed expiry on the browser's clock (the server's row still says open): refused as expired
        page = new_page()
        page.clock.set_system_time(datetime.now(UTC) + timedelta(days=30))
        page.goto(other)
        page.get_by_role("heading", name="This request has expired").wait_for(timeout=60_000)

        # a proxy adds an organization with its own recovery key to the requester's lookup: not used
        evil = Identity.generate("server", kem="x25519").public

        def inject(route):  # noqa: ANN001, ANN202
            body = route.fetch().json()
            body["org"] = {"name": "ACME", "recovery_keys": [evil.line()]}
            route.fulfill(json=body)

        page = new_page()
        page.route(f"**/api/v1/request-links/{rid}/requester-key*", inject)
        page.goto(link)
        page.get_by_label("Full name (required)").fill("Frank")
        page.get_by_label("Date of birth (required)").fill("1970-01-01")
        page.get_by_label("Status (required)").select_option("single")
        page.get_by_label("I agree to share these documents (required)").check()
        slip = tmp_path / "f.pdf"
        slip.write_bytes(b"%PDF frank")
        page.get_by_label("Payslip (required)").set_input_files(str(slip))
        page.get_by_role("button", name="Encrypt and send").click()
        page.get_by_role("heading", name="Sent").wait_for(timeout=60_000)
        for n in (0, 1):
            got = {
                r["fingerprint"] for r in inspect(io.BytesIO(a.doc_requests._item_bytes(rid, n, 1 << 20))).recipients
            }
            assert evil.fingerprint not in got and rec.fingerprint in got, n

        # issue 15: a template naming the group "hr" (the asker is not in it; hana is), made in the web page
        hana = Person(web_server, "hrhana", tmp_path)
        accountkit.add_member(web_server, org_id, hana.email)
        a.groups.create("hr", [hana.email], identity=me)
        group_key = a.groups.group_key("hr")
        a.doc_requests.save_template({"name": "Onboarding", "sections": FORM, "groups": ["hr"]})
        keyf = tmp_path / "asker.key"
        keyf.write_bytes(keyfile.dumps(me, None))
        to = new_email("ivan")
        mine = new_page()
        log_in(mine, email)
        mine.get_by_role("navigation").get_by_role("link", name="Requests").click()
        mine.get_by_label("Form", exact=True).select_option(label="Onboarding")
        assert "hr" in mine.get_by_test_id("rq-groups").inner_text()
        axe(mine)
        mine.get_by_label("Request name (unique)").fill("Onboarding Ivan")
        mine.get_by_label("Recipient's email").fill(to)
        mine.locator("#rq-key").set_input_files(str(keyf))

        # the server answers with its own key for the group: refused loudly, nothing signed or sent
        def substitute(route):  # noqa: ANN001, ANN202
            body = route.fetch().json()
            record = json.loads(body["proof"]["record"])
            record["public_key"] = evil.line()
            body["public_key"], body["proof"]["record"] = evil.line(), canonical_json(record)
            route.fulfill(json=body)

        mine.route("**/api/v1/org/groups/*/key*", substitute)
        mine.get_by_role("button", name="Sign and send the request").click()
        alert = mine.locator("main").get_by_role("alert")
        alert.wait_for(timeout=60_000)
        assert "group:hr" in alert.inner_text() and "nothing was sent" in alert.inner_text(), alert.inner_text()
        screenshot(mine, "group-key-refused")
        assert not any(r["name"] == "Onboarding Ivan" for r in a.doc_requests.list())
        mine.unroute("**/api/v1/org/groups/*/key*")
        # honest: the group's key follows the asker's and the recovery key, as `c11 request create` signs them
        mine.get_by_role("button", name="Sign and send the request").click()
        mine.get_by_text(f"the link was emailed to {to}").wait_for(timeout=60_000)
        screenshot(mine, "group-request-made")
        made = next(r for r in a.doc_requests.list() if r["name"] == "Onboarding Ivan")
        keys = a.doc_requests.show(made["id"])["request"]["keys"]
        assert keys == [me.public.line(), rec.public_key.line(), group_key.line()]
        # the recipient's browser encrypts for them; hana opens the answers with the group key wrapped for her
        link = re.search(r"(https?://\S+/request#\S+)", text_body(outbox_message(web_server.data_dir, to))).group(1)
        page = new_page()
        page.goto(link)
        page.get_by_label("Full name (required)").fill("Ivan Petrov")
        page.get_by_label("Date of birth (required)").fill("1990-05-05")
        page.get_by_label("Status (required)").select_option("single")
        page.get_by_label("I agree to share these documents (required)").check()
        page.get_by_label("Payslip (required)").set_input_files(str(slip))
        page.get_by_role("button", name="Encrypt and send").click()
        page.get_by_role("heading", name="Sent").wait_for(timeout=60_000)
        sealed = tmp_path / "answers.c11"
        sealed.write_bytes(a.doc_requests._item_bytes(made["id"], 0, 1 << 20))
        opened = tmp_path / "answers.json"
        r = hana.cli("decrypt", "-o", str(opened), str(sealed))
        assert r.returncode == 0, r.stderr
        assert json.loads(opened.read_text())["answers"]["full_name"] == "Ivan Petrov"
