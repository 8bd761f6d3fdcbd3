"""Secure Document Send and share links end to end with the CLI on PostgreSQL: `c11 send`, `c11 receive`,
`c11 sends`, `c11 share`; emails through the outbox with the link and no message; limits, expiry, revocation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sharekit import Person, person
from srvkit import E2E_BACKENDS, RunningServer, backend_server, outbox_messages, text_body


@pytest.fixture(scope="module", params=E2E_BACKENDS)
def srv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with backend_server(request, tmp_path_factory, "sharing") as running:
        yield running


@pytest.fixture(scope="module")
def people(srv: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Person]:
    root = tmp_path_factory.mktemp("people")
    return {t: person(srv, root, t) for t in ("alice", "bob", "carol")}


def test_send_and_receive(srv: RunningServer, people: dict[str, Person], tmp_path: Path) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    (tmp_path / "report.txt").write_text("Q3 figures: 42\n")
    folder = tmp_path / "project"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha")
    (folder / "sub" / "b.bin").write_bytes(bytes(range(256)) * 100)
    sent = alice.json(
        "send",
        str(tmp_path / "report.txt"),
        str(folder),
        "--to",
        bob.email,
        "-m",
        "secret note 77",
        "--max-downloads",
        "1",
    )
    link = sent["link"]
    assert link.startswith(f"{srv.url}/r/") and sent["files"] == 3
    mail = _mail_with(srv, bob.email, link)
    assert "secret note 77" not in mail and "Q3" not in mail and "report" not in mail
    deadline = time.monotonic() + 20
    while (status := alice.json("sends", "show", link)["recipients"][0]["status"]) != "delivered":
        assert status == "emailed" and time.monotonic() < deadline, status  # queued, then the transport took it
        time.sleep(0.2)
    page = httpx.get(link, timeout=30)  # the link in a browser: the app's page (Receive.tsx), nothing about the send
    assert page.status_code in (200, 503) and "report" not in page.text and "secret" not in page.text

    got = bob.json("receive", link, "-o", str(tmp_path / "in"))
    assert got["message"] == "secret note 77"
    assert got["sender_account"] == alice.email
    assert got["verified_sender"]["verified"] and got["verified_sender"]["email"] == alice.email
    assert (tmp_path / "in" / "report.txt").read_text() == "Q3 figures: 42\n"
    assert (tmp_path / "in" / "project" / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 100
    # the limit: each file once in all
    err = bob.fails("receive", link, "-o", str(tmp_path / "again"))
    assert "download limit" in err
    # someone else: not a recipient
    assert "log in with the email address the link was sent to" in carol.fails(
        "receive", link, "-o", str(tmp_path / "c")
    )
    show = alice.json("sends", "show", link)
    assert [(r["email"], r["status"], r["downloads"]) for r in show["recipients"]] == [(bob.email, "downloaded", 1)]
    steps = show["recipients"][0]
    assert steps["emailed_at"] <= steps["delivered_at"] <= steps["opened_at"] <= steps["downloaded_at"]
    assert show["state"] == "used up"
    text = alice.ok("sends", "show", link).stdout  # the same steps for a person
    assert "downloaded" in text and f"delivered {steps['delivered_at']}" in text and "opened " in text
    assert any(s["id"] == sent["id"] for s in alice.json("sends", "list"))


def test_revoked_and_expired_sends_are_refused(srv: RunningServer, people: dict[str, Person], tmp_path: Path) -> None:
    alice, carol = people["alice"], people["carol"]
    (tmp_path / "x.txt").write_text("x")
    link = alice.json("send", str(tmp_path / "x.txt"), "--to", carol.email, "--expires", "1h")["link"]
    revoked = alice.json("sends", "revoke", link)
    assert revoked["state"] == "revoked" and revoked["revoked_log_index"] is not None
    assert "revoked" in carol.fails("receive", link, "-o", str(tmp_path / "out"))
    status = alice.json("sends", "show", link)["recipients"][0]["status"]
    assert status == "revoked"
    link2 = alice.json("send", str(tmp_path / "x.txt"), "--to", carol.email, "--expires", "1h")["link"]
    _expire(srv, link2.rsplit("/", 1)[1])
    assert "expired" in carol.fails("receive", link2, "-o", str(tmp_path / "out2"))
    assert alice.json("sends", "show", link2)["recipients"][0]["status"] == "expired"
    link3 = alice.json("send", str(tmp_path / "x.txt"), "--to", carol.email)["link"]
    _mail_with(srv, carol.email, link3)  # the transport is done with it (no race with the change below)
    _email_given_up(srv, link3.rsplit("/", 1)[1])  # the outbox gave up on the email: the sender is told
    shown = alice.json("sends", "show", link3)["recipients"][0]
    assert shown["status"] == "undelivered" and shown["delivered_at"] is None


def test_share_link_versions_and_revocation(srv: RunningServer, people: dict[str, Person], tmp_path: Path) -> None:
    alice, bob = people["alice"], people["bob"]
    doc = tmp_path / "plan.txt"
    doc.write_text("version one")
    link = alice.json("share", "create", str(doc), "--to", bob.email)["link"]
    got = bob.json("receive", link, "-o", str(tmp_path / "b"))
    assert got["version"] == 1 and (tmp_path / "b" / "plan.txt").read_text() == "version one"
    doc.write_text("version two")
    assert alice.json("share", "update", link, str(doc))["version"] == 2
    got = bob.json("receive", link, "-o", str(tmp_path / "b"), "--force")
    assert got["version"] == 2 and (tmp_path / "b" / "plan.txt").read_text() == "version two"
    assert [s["id"] for s in alice.json("share", "list")] == [link.rsplit("/", 1)[1]]
    latest = f"{srv.url}/api/v1/received/{link.rsplit('/', 1)[1]}/latest"  # what an open page polls
    r = httpx.get(latest, headers={"authorization": f"Bearer {bob.token}"})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    assert httpx.get(latest, headers={"authorization": f"Bearer {people['carol'].token}"}).status_code == 404
    index = alice.json("share", "revoke", link)["revoked_log_index"]
    assert "revoked" in bob.fails("receive", link, "-o", str(tmp_path / "b2"))
    r = httpx.get(latest, headers={"authorization": f"Bearer {bob.token}"})
    assert r.status_code == 410 and r.json()["type"].endswith("send-revoked"), r.text
    entry = _log_entry(srv, index)
    assert entry["action"] == "revoke" and entry["send"] == link.rsplit("/", 1)[1] and entry["kind"] == "send"


def test_online_send(people: dict[str, Person], tmp_path: Path) -> None:
    """--online: each file has its own online policy; the recipient's key server release opens it."""
    alice, bob = people["alice"], people["bob"]
    (tmp_path / "o.txt").write_text("online one")
    (tmp_path / "p.txt").write_text("online two")
    link = alice.json("send", str(tmp_path / "o.txt"), str(tmp_path / "p.txt"), "--to", bob.email, "--online")["link"]
    got = bob.json("receive", link, "-o", str(tmp_path / "in"))
    assert sorted(Path(p).read_text() for p in got["files"]) == ["online one", "online two"]


def test_send_to_someone_without_a_key_invites_them(
    srv: RunningServer, people: dict[str, Person], tmp_path: Path
) -> None:
    (tmp_path / "y.txt").write_text("y")
    dave = "dave-sharing@example.com"
    sent = people["alice"].json("send", str(tmp_path / "y.txt"), "--to", dave)
    assert sent["recipients"] == [dave]
    _mail_with(srv, dave, sent["link"])  # the send's email (and an invitation to get a key)
    assert any("invit" in text_body(m).lower() for m in outbox_messages(srv.data_dir, dave, count=2))


def test_sends_are_usage_events(srv: RunningServer, people: dict[str, Person], tmp_path: Path) -> None:
    """An organization's admin sees its member's send, the recipient's download and the revocation as events."""
    import accountkit

    from c11.client import Client

    alice, bob = people["alice"], people["bob"]
    accountkit.make_org(srv, alice.email, [])
    (tmp_path / "e.txt").write_text("event")
    link = alice.json("send", str(tmp_path / "e.txt"), "--to", bob.email)["link"]
    bob.ok("receive", link, "-o", str(tmp_path / "in"))
    alice.ok("sends", "revoke", link)
    send_id = link.rsplit("/", 1)[1]
    with Client(srv.url, alice.token) as c:
        found = [(e.action, e.detail.get("op"), e.detail.get("via")) for e in c.events.iterate(doc=send_id)]
    assert ("protect", "create", "send") in found and ("revoke", "revoke", "send") in found
    assert ("open", "download", "send") in found  # bob, outside the organization, on its member's send


def _mail_with(srv: RunningServer, to: str, link: str, timeout: float = 20.0) -> str:
    """The text of the email to `to` that holds `link` (written by the outbox-folder transport)."""
    deadline = time.monotonic() + timeout
    while True:
        for m in outbox_messages(srv.data_dir, to, count=1):
            if link in text_body(m):
                return text_body(m)
        assert time.monotonic() < deadline, f"no email to {to} with {link}"
        time.sleep(0.1)


def _expire(srv: RunningServer, send_id: str) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from c11.server.db import Database
    from c11.server.sharing.models import Send

    db = Database(srv.config.database_url)
    with db.session() as s:
        s.execute(update(Send).where(Send.id == send_id).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    db.dispose()


def _email_given_up(srv: RunningServer, send_id: str) -> None:
    from sqlalchemy import select, update

    from c11.notify.outbox import DEAD
    from c11.server.db import Database
    from c11.server.outbox.models import OutboxMessage
    from c11.server.sharing.models import SendRecipient

    db = Database(srv.config.database_url)
    with db.session() as s:
        ids = s.scalars(select(SendRecipient.outbox_id).where(SendRecipient.send_id == send_id)).all()
        s.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(status=DEAD, sent_at=None))
    db.dispose()


def _log_entry(srv: RunningServer, index: int) -> dict[str, Any]:
    """The public log entry at `index` (what anyone auditing the log sees)."""
    r = httpx.get(f"{srv.url}/api/v1/log/entries", params={"start": index, "end": index + 1})
    assert r.status_code == 200, r.text
    found: dict[str, Any] = json.loads(r.json()["entries"][0]["data"])
    return found


# -- a malicious server (review findings 3, 5, 8, 9): one UPDATE on its database stands for it ----------------


def _db_update(srv: RunningServer, table: Any, where: Any, **values: Any) -> None:
    from sqlalchemy import update

    from c11.server.db import Database

    db = Database(srv.config.database_url)
    with db.session() as s:
        s.execute(update(table).where(where).values(**values))
    db.dispose()


def test_rolled_back_or_swapped_envelopes_are_refused(
    srv: RunningServer, people: dict[str, Person], tmp_path: Path
) -> None:
    """The envelope signs the link's ID, kind and version: an older version, another send's envelope, or a
    version below the one this device received are refused, and nothing is written."""
    from c11.server.sharing.models import Send, SendVersion

    alice, bob = people["alice"], people["bob"]
    doc = tmp_path / "contract.txt"
    doc.write_text("IBAN: OLD")
    link = alice.json("share", "create", str(doc), "--to", bob.email)["link"]
    doc.write_text("IBAN: NEW")
    alice.ok("share", "update", link, str(doc))
    sid = link.rsplit("/", 1)[1]
    assert bob.json("receive", link, "-o", str(tmp_path / "in1"))["version"] == 2
    _db_update(srv, Send, Send.id == sid, version=1)  # the server serves version 1 as the current one
    assert "rollback" in bob.fails("receive", link, "-o", str(tmp_path / "in2"))
    assert not (tmp_path / "in2").exists()
    # the version the server claims must be the signed one (version 1 served as version 3)
    _db_update(srv, Send, Send.id == sid, version=2)
    _db_update(srv, SendVersion, (SendVersion.send_id == sid) & (SendVersion.version == 1), version=3)
    _db_update(srv, Send, Send.id == sid, version=3)
    assert "the signed envelope is version 1" in bob.fails("receive", link, "-o", str(tmp_path / "in3"))
    # another send's envelope (from the same sender to the same recipient)
    (tmp_path / "other.txt").write_text("other")
    other = alice.json("send", str(tmp_path / "other.txt"), "--to", bob.email)["id"]
    from sqlalchemy import select

    from c11.server.db import Database

    db = Database(srv.config.database_url)
    with db.session() as s:
        env = s.scalars(select(SendVersion.envelope).where(SendVersion.send_id == sid, SendVersion.version == 2)).one()
    db.dispose()
    _db_update(srv, SendVersion, SendVersion.send_id == other, envelope=env)
    assert "another send's envelope" in bob.fails("receive", other, "-o", str(tmp_path / "in4"))
    assert not (tmp_path / "in3").exists() and not (tmp_path / "in4").exists()


def test_a_newer_link_version_signed_by_another_account_is_refused(
    srv: RunningServer, people: dict[str, Person], tmp_path: Path
) -> None:
    """The link's signer is pinned at the first verified receive: the server hands alice's link to carol (another
    registered account) and carol adds version 2 — verified as "from carol", but not the pinned key: refused,
    nothing written, even with --allow-unverified."""
    from c11.server.accounts.models import User
    from c11.server.sharing.models import Send

    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    doc = tmp_path / "terms.txt"
    doc.write_text("IBAN: ALICE")
    link = alice.json("share", "create", str(doc), "--to", bob.email)["link"]
    assert bob.json("receive", link, "-o", str(tmp_path / "in1"))["version"] == 1
    from sqlalchemy import select

    from c11.server.db import Database

    db = Database(srv.config.database_url)
    with db.session() as s:
        carol_id = s.scalars(select(User.id).where(User.email == carol.email)).one()
    db.dispose()
    _db_update(srv, Send, Send.id == link.rsplit("/", 1)[1], sender_id=carol_id)
    doc.write_text("IBAN: ATTACKER")
    carol.ok("share", "update", link, str(doc))
    for flags in ((), ("--allow-unverified",)):
        err = bob.fails("receive", link, "-o", str(tmp_path / "in2"), *flags)
        assert "signed by another key" in err and "first received" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "in2").exists()


def test_a_send_not_signed_by_the_sending_account_is_refused(
    srv: RunningServer, people: dict[str, Person], tmp_path: Path
) -> None:
    """The server attributes to alice a send signed by a key nobody published: nothing is written, exit 1;
    --allow-unverified writes it and --json says it is not verified."""
    import accountkit

    from c11.client.sharing import Envelope, SharingAPI, encrypt_and_upload, seal_envelope
    from c11.keys.identity import Identity
    from c11.server.accounts.models import User
    from c11.server.sharing.models import Send

    alice, bob = people["alice"], people["bob"]
    op = accountkit.signup(srv, "operator")
    c = accountkit.client(srv, op.email, state_dir=tmp_path / "op")
    forger = Identity.generate(alice.email, kem="x25519")  # labelled alice, published nowhere
    f = tmp_path / "invoice.txt"
    f.write_text("pay to IBAN ATTACKER")
    api = SharingAPI(c)
    sid = "ab" * 16
    files = encrypt_and_upload(api, [c.registry.lookup(bob.email)], forger, [("invoice.txt", f)])
    env = seal_envelope(
        Envelope(files, None, sid, "send", 1, "2026-12-01T00:00:00Z"), [c.registry.lookup(bob.email)], forger
    )
    assert api.create([bob.email], env, [x.blob for x in files], send_id=sid)["id"] == sid
    from sqlalchemy import select

    from c11.server.db import Database

    db = Database(srv.config.database_url)
    with db.session() as s:
        alice_id = s.scalars(select(User.id).where(User.email == alice.email)).one()
    db.dispose()
    _db_update(srv, Send, Send.id == sid, sender_id=alice_id)
    err = bob.fails("receive", sid, "-o", str(tmp_path / "in"))
    assert "not signed by the key of the sending account" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "in").exists()
    got = bob.json("receive", sid, "-o", str(tmp_path / "in2"), "--allow-unverified")
    assert got["sender_verified"] is False and got["verified_sender"]["verified"] is False
    assert (tmp_path / "in2" / "invoice.txt").read_text() == "pay to IBAN ATTACKER"
    c.close()


def test_download_limits_are_per_recipient_and_ranges_need_the_download(
    srv: RunningServer, people: dict[str, Person], tmp_path: Path
) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    (tmp_path / "a.bin").write_bytes(b"a" * 3000)
    (tmp_path / "b.bin").write_bytes(b"b" * 3000)
    sent = alice.json(
        "send", str(tmp_path / "a.bin"), str(tmp_path / "b.bin"), "--to", bob.email, "--to", carol.email,
        "--max-downloads", "1",
    )  # fmt: skip
    h = httpx.Client(base_url=srv.url, headers={"authorization": f"Bearer {bob.token}"}, timeout=30)
    sid = sent["id"]
    blobs = [(b["id"], b["size"]) for b in h.get(f"/api/v1/received/{sid}").json()["blobs"]]
    bob.ok("receive", sent["link"], "-o", str(tmp_path / "bob"))
    # without a download: a range is refused, a whole file is a new download (bob used his one)
    r = h.get(f"/api/v1/received/{sid}/blobs/{blobs[0][0]}", headers={"range": "bytes=1-"})
    assert r.status_code == 409 and r.json()["type"].endswith("download-order")
    assert h.get(f"/api/v1/received/{sid}/blobs/{blobs[1][0]}").status_code == 410
    # carol's own download is still there
    carol.ok("receive", sent["link"], "-o", str(tmp_path / "carol"))
    assert (tmp_path / "carol" / "b.bin").read_bytes() == b"b" * 3000
    show = alice.json("sends", "show", sent["link"])
    assert sorted((r["downloads"], r["status"]) for r in show["recipients"]) == [(1, "downloaded")] * 2
    assert show["state"] == "used up"
    # a download's ID: the other files and resumed ranges, within its byte budget only
    (tmp_path / "c.bin").write_bytes(b"c" * 3000)
    sent = alice.json("send", str(tmp_path / "c.bin"), "--to", bob.email, "--max-downloads", "1")
    blob = h.get(f"/api/v1/received/{sent['id']}").json()["blobs"][0]["id"]
    first = h.get(f"/api/v1/received/{sent['id']}/blobs/{blob}")
    did = first.headers["x-c11-download"]
    url = f"/api/v1/received/{sent['id']}/blobs/{blob}"
    assert h.get(url, headers={"range": "bytes=100-", "x-c11-download": did}).status_code == 206
    assert h.get(url, headers={"range": "bytes=1-", "x-c11-download": "x" * 32}).status_code == 409
    codes = {h.get(url, headers={"x-c11-download": did}).status_code for _ in range(8)}
    assert codes == {200, 409}  # the budget (twice the files' size plus slack) runs out
    h.close()


def test_purge_deletes_the_ciphertext_of_closed_sends(
    srv: RunningServer, people: dict[str, Person], tmp_path: Path
) -> None:
    from sqlalchemy import select

    from c11.server.sharing.models import SendVersion
    from c11.server.sharing.service import purge
    from c11.server.uploads.service import object_key, uploads

    alice, bob = people["alice"], people["bob"]
    (tmp_path / "p.txt").write_text("purge me")
    sent = alice.json("send", str(tmp_path / "p.txt"), "--to", bob.email)
    ctx = srv._server.config.app.state.ctx
    with ctx.db.session() as s:
        blob = json.loads(s.scalars(select(SendVersion.blobs).where(SendVersion.send_id == sent["id"])).one())[0]["id"]
    store = uploads(ctx).store
    purge(ctx)
    assert store.size(object_key(blob))  # active: kept
    _expire(srv, sent["id"])
    assert purge(ctx) >= 1
    with ctx.db.session() as s:
        assert s.scalars(select(SendVersion.blobs).where(SendVersion.send_id == sent["id"])).one() == "[]"
    assert store.size(object_key(blob)) is None
    assert purge(ctx) == 0  # bounded, and done: nothing left to purge
