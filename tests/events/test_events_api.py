"""Usage events (F22) through the real server and SDK, on SQLite and PostgreSQL: members' actions (online
encrypt, open, refused open, share, revoke, invite, key publish, admin actions) become events of their
organization's admin, with filters, keyset pages, counts per day and CSV; other organizations and callers
without `read:events-org` see nothing; the indexer is incremental and idempotent."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from evkit import Person, add_member, append_admin, database, make_org, server_ctx, verified
from srvkit import authed

from c11 import files, online
from c11.errors import AccessRefusedError, AuthError, ServerError
from c11.format import online as fmt
from c11.format.header import read_header
from c11.log.entries import email_hash
from c11.server.events.indexer import Indexer
from c11.server.logsrv.service import append


def _encrypt(author: Person, to: list[Person]) -> bytes:
    recips = [(p.email, p.identity.public) for p in to]
    seal = online.prepare(author.client, author.identity, recips)
    out = io.BytesIO()
    files.encrypt(
        io.BytesIO(b"quarterly numbers"), out, [k for _, k in recips], author.identity, options=seal.options()
    )
    # what `c11 encrypt` does next when logged in: record the recipient set (F21)
    author.client.policies.record([{"email": p.email} for p in to])
    return out.getvalue()


def _doc(blob: bytes) -> str:
    return str(uuid.UUID(bytes=read_header(io.BytesIO(blob))[0].doc_id))


def _release(person: Person, blob: bytes) -> bytes:
    with online.releasing(person.client) as release:
        return files.decrypt_bytes(blob, [person.identity, release]).plaintext


@pytest.fixture(scope="module")
def world(ev_server, tmp_path_factory):
    """Organization A (alice: admin, bob: member, carol: admin without read:events-org), organization B
    (dave: admin, frank: member), eve in no organization; then a day of activity."""
    tmp = tmp_path_factory.mktemp("world")
    p = {n: verified(ev_server, n, tmp) for n in ("alice", "bob", "carol", "dave", "frank", "eve")}
    org_a = make_org(ev_server, f"A-{uuid.uuid4().hex[:6]}", p["alice"].email, [p["bob"].email])
    add_member(ev_server, org_a, p["carol"].email, admin_permissions="crud:members-org")
    org_b = make_org(ev_server, f"B-{uuid.uuid4().hex[:6]}", p["dave"].email, [p["frank"].email])
    start = datetime.now(UTC) - timedelta(seconds=1)
    for n in ("alice", "bob"):
        p[n].client.registry.publish(p[n].identity)  # key_change (publish)
    blob = _encrypt(p["alice"], [p["bob"]])  # protect (online), with the recorded recipient set merged
    p["alice"].client.policies.record([{"email": p["dave"].email}])  # protect (offline encryption)
    assert _release(p["bob"], blob) == b"quarterly numbers"  # open
    stanza = fmt.find_stanza(read_header(io.BytesIO(blob))[0])
    for n in ("eve", "frank"):  # refused: not recipients (outsiders of A)
        with pytest.raises(AccessRefusedError):
            p[n].client.keyserver.release(stanza, p[n].identity)
    doc = _doc(blob)
    p["alice"].client.keyserver.change_recipients(doc, add=[p["eve"].email])  # share
    p["alice"].client.keyserver.revoke(doc)  # revoke
    with pytest.raises(AccessRefusedError):
        _release(p["bob"], blob)  # refused open (revoked)
    invitee = f"invitee-{uuid.uuid4().hex[:8]}@example.com"
    p["alice"].client.invitations.invite([invitee])  # invite
    admin_index = append_admin(ev_server, org_a, "member.add", email_hash(p["alice"].email), email_hash(p["bob"].email))
    append_admin(ev_server, org_b, "member.add", email_hash(p["dave"].email), email_hash(p["frank"].email))
    # a shard fetch, as the shards service logs it: {"action", "who", "store", "key", "jti"}
    append(
        server_ctx(ev_server),
        "shard",
        {
            "action": "fetch",
            "who": email_hash(p["bob"].email),
            "store": "https://shards-1.example.net",
            "key": None,
            "jti": "j1",
        },
    )
    yield {
        "p": p,
        "org_a": org_a,
        "org_b": org_b,
        "doc": doc,
        "invitee": invitee,
        "start": start,
        "admin_index": admin_index,
    }
    for person in p.values():
        person.client.close()


def _all(person: Person, **filters) -> list:
    return list(person.client.events.iterate(page_size=7, **filters))


def _by(events, action, **match):
    return [e for e in events if e.action == action and all(getattr(e, k) == v for k, v in match.items())]


def test_members_actions_are_events_of_their_admin(world):
    p, doc = world["p"], world["doc"]
    alice, bob, eve, frank = p["alice"], p["bob"], p["eve"], p["frank"]
    ev = _all(alice)
    assert {e.action for e in ev} >= {
        "protect",
        "open",
        "refused_open",
        "share",
        "revoke",
        "invite",
        "key_change",
        "admin",
    }
    online_protect = _by(ev, "protect", doc_id=doc)
    assert len(online_protect) == 1 and online_protect[0].actor == alice.email
    # merged with the recorded recipient set (the `encrypt` entry after it): one event, not two
    assert online_protect[0].detail == {
        "online": True,
        "recipients": 2,
        "new_set": True,
        "policy_entry": online_protect[0].index + 1,
    }
    offline = [e for e in _by(ev, "protect", actor=alice.email) if e.doc_id is None]
    assert len(offline) == 1 and offline[0].detail["online"] is False
    assert [e.actor for e in _by(ev, "open", doc_id=doc)] == [bob.email]
    refused = _by(ev, "refused_open", doc_id=doc)
    assert {e.actor_hash for e in refused} == {email_hash(x.email) for x in (eve, frank, bob)}
    outsiders = [e for e in refused if e.actor is None]  # eve and frank are not members of A: hash only
    assert len(outsiders) == 2 and all(e.detail.get("outside") for e in outsiders)
    share = _by(ev, "share", doc_id=doc)
    assert len(share) == 1 and share[0].target == email_hash(eve.email) and share[0].target_email is None
    assert share[0].detail["added"] == 1
    assert len(_by(ev, "revoke", doc_id=doc, actor=alice.email)) == 1
    invite = _by(ev, "invite", actor=alice.email)
    assert (
        len(invite) == 1 and invite[0].target == email_hash(world["invitee"]) and invite[0].detail == {"op": "create"}
    )
    assert {e.actor for e in _by(ev, "key_change")} == {alice.email, bob.email}
    admin = _by(ev, "admin")
    assert len(admin) == 1 and admin[0].actor == alice.email and admin[0].target_email == bob.email
    assert admin[0].detail == {"op": "member.add"} and admin[0].index == world["admin_index"]
    shard = _by(ev, "shard")
    assert len(shard) == 1 and shard[0].actor == bob.email
    assert shard[0].detail == {"op": "fetch", "store": "https://shards-1.example.net"}
    # newest first, and no plain email of anyone outside the organization anywhere
    assert [(e.time, e.index) for e in ev] == sorted(((e.time, e.index) for e in ev), reverse=True)
    assert eve.email not in json.dumps([e.to_json() for e in ev]) and world["invitee"] not in json.dumps(
        [e.to_json() for e in ev]
    )


def test_each_event_is_proven_by_its_log_entry(world):
    alice = world["p"]["alice"]
    opened = {o.index: o for o in alice.client.log.openings(org=True)}  # members' v2 entries, each verified
    for e in _all(alice, action=["open", "admin", "share"]):
        entry = json.loads(alice.client.log.prove(e.index).entry)
        assert entry["kind"] == {"open": "release", "admin": "admin", "share": "policy"}[e.action]
        if entry.get("v") == 2:  # the person is in the actor commitment: the admin's opening names them
            assert e.actor_hash not in alice.client.log.prove(e.index).entry
            o = opened[e.index]  # an admin entry's opening names the acting admin `by` (the person: who was acted on)
            assert (o.fields["by"] if e.action == "admin" else o.person) == e.actor_hash
        else:
            assert e.actor_hash in (entry.get("who"), entry.get("actor"), entry.get("author"))


def test_filters_by_user_action_document_and_time(world):
    p, doc = world["p"], world["doc"]
    alice, bob = p["alice"], p["bob"]
    mine = _all(alice, user=bob.email)
    assert mine and {e.actor for e in mine} == {bob.email}
    assert {e.action for e in mine} == {"key_change", "open", "refused_open", "shard"}
    two = _all(alice, action=["open", "refused_open"])
    assert {e.action for e in two} == {"open", "refused_open"} and len(two) == 4
    assert {e.doc_id for e in _all(alice, doc=doc)} == {doc}
    everything = _all(alice)
    assert _all(alice, since=world["start"]) == everything
    assert _all(alice, until=world["start"]) == []
    assert _all(alice, since=datetime.now(UTC) + timedelta(minutes=1)) == []
    # a range cut in the middle: since is inclusive, until exclusive
    ordered = sorted(everything, key=lambda e: (e.time, e.index))
    mid = ordered[len(ordered) // 2].time
    before, after = _all(alice, until=mid), _all(alice, since=mid)
    assert len(before) + len(after) == len(everything)
    assert all(e.time < mid for e in before) and all(e.time >= mid for e in after)
    assert _all(alice, since=datetime.now(UTC).date().isoformat()) == everything  # a date: midnight UTC


def test_keyset_pages_cover_everything_once(world):
    alice = world["p"]["alice"]
    everything = alice.client.events.query(limit=1000).events
    seen, cursor = [], None
    while True:
        page = alice.client.events.query(limit=3, cursor=cursor)
        seen += page.events
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == everything
    oldest_first = list(alice.client.events.iterate(page_size=4, order="asc"))
    assert oldest_first == list(reversed(everything))


def test_counts_per_day(world):
    alice = world["p"]["alice"]
    everything = _all(alice)
    days = alice.client.events.daily()
    today = datetime.now(UTC).date()
    assert [d.day for d in days] == sorted({e.time.date() for e in everything}) and days[-1].day == today
    counts: dict[str, int] = {}
    for e in everything:
        counts[e.action] = counts.get(e.action, 0) + 1
    assert sum(d.total for d in days) == len(everything)
    merged: dict[str, int] = {}
    for d in days:
        for a, n in d.counts.items():
            merged[a] = merged.get(a, 0) + n
    assert merged == counts
    only = alice.client.events.daily(user=world["p"]["bob"].email, action="open")
    assert sum(d.total for d in only) == 1 and only[-1].counts == {"open": 1}
    assert alice.client.events.daily(since=today - timedelta(days=10), until=today - timedelta(days=5)) == []


def test_csv_export(world):
    alice = world["p"]["alice"]
    raw = b"".join(alice.client.events.csv())
    assert raw.endswith(b"\r\n") and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert rows[0] == ["index", "time", "action", "actor", "actor_hash", "doc_id", "target", "target_email", "detail"]
    everything = _all(alice)
    assert [int(r[0]) for r in rows[1:]] == [e.index for e in everything]
    for r, e in zip(rows[1:], everything, strict=True):
        assert r[2] == e.action and r[3] == (e.actor or "") and json.loads(r[8]) == e.detail
    bob_rows = list(
        csv.reader(io.StringIO(b"".join(alice.client.events.csv(user=world["p"]["bob"].email)).decode(), newline=""))
    )
    assert {r[3] for r in bob_rows[1:]} == {world["p"]["bob"].email}


def test_csv_cells_are_quoted_and_formula_safe(ev_server, tmp_path):
    admin = verified(ev_server, "csvadmin", tmp_path)
    org = make_org(ev_server, f"C-{uuid.uuid4().hex[:6]}", admin.email, ["-minus@example.com", "=eq@example.com"])
    append_admin(ev_server, org, "group.rename", email_hash("-minus@example.com"), '=HYPERLINK("x","y")')
    append_admin(ev_server, org, "+cmd", email_hash("=eq@example.com"), 'a,"b"\nc')
    raw = b"".join(admin.client.events.csv(order="asc")).decode()
    assert '"a,""b""\nc"' in raw  # RFC 4180: quoted, quotes doubled, the line break kept inside quotes
    rows = list(csv.reader(io.StringIO(raw, newline="")))
    assert len(rows) == 3
    assert rows[1][3] == "'-minus@example.com" and rows[1][6] == '\'=HYPERLINK("x","y")'
    assert rows[2][3] == "'=eq@example.com" and rows[2][6] == 'a,"b"\nc'
    assert json.loads(rows[2][8]) == {"op": "+cmd"}  # the JSON cell starts with "{"
    # the JSON API gives the values as they are
    e = admin.client.events.query(order="asc").events
    assert e[0].actor == "-minus@example.com" and e[0].target == '=HYPERLINK("x","y")'
    admin.client.close()


def test_another_organizations_admin_sees_none_of_them(world):
    p = world["p"]
    a_members = {email_hash(p[n].email) for n in ("alice", "bob", "carol")}
    theirs = _all(p["dave"])
    assert theirs, "B has its own events"
    assert not any(e.actor_hash in a_members for e in theirs)
    assert world["doc"] not in {e.doc_id for e in theirs if e.action != "refused_open"}
    # B sees what its member frank did (a refused open), nothing of A's document otherwise
    assert {(e.action, e.actor) for e in theirs if e.doc_id == world["doc"]} == {("refused_open", p["frank"].email)}
    assert _by(theirs, "admin")[0].actor == p["dave"].email
    a_indexes = {e.index for e in _all(p["alice"])}
    b_admin = {e.index for e in _by(theirs, "admin")}
    assert not (b_admin & a_indexes)


def test_without_read_events_permission_403(world, ev_server):
    p = world["p"]
    for who in ("bob", "carol", "eve"):  # member, admin without the permission, no organization
        for call in (lambda c: c.events.query(), lambda c: c.events.daily(), lambda c: b"".join(c.events.csv())):
            with pytest.raises(AuthError) as e:
                call(p[who].client)
            assert e.value.status == 403
    r = httpx.get(f"{ev_server.url}/api/v1/org/events")
    assert r.status_code == 401
    tok = p["alice"].client.tokens.create("no admin scope", ["documents:read"]).token
    r = httpx.get(f"{ev_server.url}/api/v1/org/events", headers={"authorization": f"Bearer {tok}"})
    assert r.status_code == 403 and r.json()["type"].endswith("insufficient-scope")
    tok = p["alice"].client.tokens.create("events reader", ["org:admin"]).token
    r = httpx.get(f"{ev_server.url}/api/v1/org/events.csv", headers={"authorization": f"Bearer {tok}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")


def test_bad_parameters_are_422(world):
    c = world["p"]["alice"].client
    for kw in (
        {"action": "teleport"},
        {"since": "yesterday"},
        {"user": "not-an-email"},
        {"cursor": "xyz"},
        {"since": "2026-11-02", "until": "2026-11-01"},
    ):
        with pytest.raises(ServerError) as e:
            c.events.query(**kw)
        assert e.value.status == 422, kw


def test_indexer_is_incremental_and_idempotent(world, ev_server, monkeypatch):
    from sqlalchemy import select, update

    from c11.server.events import indexer as indexer_module
    from c11.server.events.models import UsageEvent, UsageIndexState

    ctx = server_ctx(ev_server)

    def rows():
        with database(ev_server) as db, db.session() as s:
            return sorted(
                tuple(r)
                for r in s.execute(
                    select(
                        UsageEvent.org_id,
                        UsageEvent.log_index,
                        UsageEvent.at,
                        UsageEvent.action,
                        UsageEvent.actor,
                        UsageEvent.member_id,
                        UsageEvent.doc_id,
                        UsageEvent.target,
                        UsageEvent.target_member_id,
                        UsageEvent.detail,
                    )
                )
            )

    ix = Indexer(ctx)  # a second indexer, as another server process would have
    ix.run()
    before = rows()
    assert ix.run() == 0 and rows() == before  # nothing new: nothing read, same rows
    # incremental: one new entry, one new event
    append_admin(ev_server, world["org_a"], "policies.update", email_hash(world["p"]["alice"].email), world["org_a"])
    assert ix.run() == 1
    after = rows()
    assert len(after) == len(before) + 1 and set(before) < set(after)
    # read the whole log again from the start, in one batch and in small ones: the same rows
    for batch in (5000, 1, 3):
        monkeypatch.setattr(indexer_module, "BATCH", batch)
        with database(ev_server) as db, db.session() as s:
            s.execute(update(UsageIndexState).values(next_idx=0))
        assert ix.run() > 0
        assert rows() == after, batch
    assert world["p"]["alice"].client.events.query(action="admin").events[0].detail == {"op": "policies.update"}


def test_most_active_people(world, ev_server):
    """`/events/top` (the admin console's chart): events per person, most first, emails of members only."""
    p = world["p"]
    counts: dict[str, int] = {}
    for e in _all(p["alice"]):
        if e.actor_hash is not None:
            counts[e.actor_hash] = counts.get(e.actor_hash, 0) + 1
    with authed(ev_server, p["alice"].client.token) as h:
        r = h.get("/api/v1/org/events/top", params={"limit": 100})
        assert r.status_code == 200, r.text
        got = r.json()["actors"]
        assert {a["actor_hash"]: a["total"] for a in got} == counts
        assert [a["total"] for a in got] == sorted(counts.values(), reverse=True)
        who = {a["actor_hash"]: a["actor"] for a in got}
        assert (
            who[email_hash(p["alice"].email)] == p["alice"].email and who[email_hash(p["bob"].email)] == p["bob"].email
        )
        if email_hash(p["eve"].email) in who:
            assert who[email_hash(p["eve"].email)] is None  # not a member: no email
        assert len(h.get("/api/v1/org/events/top", params={"limit": 1}).json()["actors"]) == 1
        assert h.get("/api/v1/org/events/top", params={"action": "nope"}).status_code == 422
    with authed(ev_server, p["carol"].client.token) as h:  # an admin without read:events-org
        assert h.get("/api/v1/org/events/top").status_code == 403
