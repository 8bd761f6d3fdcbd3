"""The soak's load generator (bench/soak.py runs it as its own process): threads of simulated people using the
c11 SDK through HAProxy, with a weighted mix of sign-ups, logins, key publishes, registry lookups with proofs,
online encryptions and key releases, revocations, invitations, shard fetches and event queries.

Why not Locust: every operation here is a client-side protocol (OPAQUE logins, log proofs checked against the
checkpoints the client kept, HPKE key parts opened and combined), which is what the SDK does; and the soak must
keep the record of every acknowledged write, every checkpoint received and every error with its time. A pool of
threads running the SDK, time-bounded and headless, gives both; the mix and the per-route latencies come from
HAProxy's log in the orchestrator.

Every answer is classified: `ok`, `4xx` (expected refusals), `5xx` (with whether the body is the server's
RFC 9457 problem or the proxy's), `reset` (the connection was cut: no answer), `violation` (a proof that did not
verify, a key part that did not open, a release after an acknowledged revocation).
"""

from __future__ import annotations

import base64
import io
import json
import random
import re
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

PASSWORD = "soak test password, long enough"
DOMAIN = "soak.example"
#: Weights of the mix (per operation picked by a thread).
MIX = {
    "lookup": 28,
    "release": 24,
    "encrypt": 12,
    "events": 7,
    "publish": 6,
    "invite": 5,
    "revoke": 4,
    "login": 4,
    "signup": 4,
    "shard_fetch": 3,
    "checkpoint": 3,
}


@dataclass
class Person:
    email: str
    token: str
    identity: Any
    cloud: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Doc:
    doc_id: str
    author: str
    recipients: list[str]
    stanza: str
    a: bytes
    file_key: bytes
    revoked_at: float | None = None  # time the revocation was acknowledged


class Record:
    """Everything the load saw, shared by the threads (one lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops: list[list[Any]] = []  # [op, start, seconds, outcome, status, detail]
        self.acks: dict[str, list[Any]] = {
            k: []
            for k in (
                "signups",
                "verified",
                "publishes",
                "documents",
                "revokes",
                "releases",
                "denied",
                "invitations",
                "shard_entries",
                "logins",
            )
        }
        self.unknown: dict[str, list[Any]] = {"releases": [], "writes": []}
        self.notes: set[str] = set()
        self.violations: list[str] = []

    def ack(self, kind: str, value: Any) -> None:
        with self.lock:
            self.acks[kind].append(value)

    def to_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "ops": self.ops,
                "acks": self.acks,
                "unknown": self.unknown,
                "notes": sorted(self.notes),
                "violations": self.violations,
            }


class Mailbox:
    """The SMTP sink's folder, read as it fills: links by recipient."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._seen: set[str] = set()
        self._by_rcpt: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def _scan(self) -> None:
        for f in sorted(self.folder.glob("*.eml")):
            if f.name in self._seen:
                continue
            msg = message_from_bytes(f.read_bytes(), policy=policy.default)
            body = msg.get_body(("plain",))
            text = body.get_content() if body is not None else ""
            self._by_rcpt.setdefault(str(msg["To"]).strip().lower(), []).append(text)
            self._seen.add(f.name)

    def verification_token(self, addr: str) -> str | None:
        with self._lock:
            self._scan()
            for text in self._by_rcpt.get(addr.lower(), []):
                m = re.search(r"/verify#token=([A-Za-z0-9_\-]+)", text) or re.search(r"token=([A-Za-z0-9_\-]+)", text)
                if m:
                    return m.group(1)
        return None


class World:
    """The people, documents and record of a load run."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.url: str = spec["url"]
        self.state = Path(spec["state_dir"])
        self.mail = Mailbox(Path(spec["mail_dir"]))
        self.record = Record()
        self.people: list[Person] = []
        self.pending: list[tuple[str, float]] = []  # signed up, waiting for the verification email
        self.docs: list[Doc] = []
        self.admin: Person | None = None
        self.lock = threading.Lock()
        self._local = threading.local()

    def client(self, token: str | None, tag: str) -> Any:
        """A fresh client (a new device: its own checkpoint store under `tag`)."""
        from c11.client import Client

        c = Client(self.url, token, timeout=60)
        c.state_dir = self.state / tag
        return c

    def device(self, person: Person) -> Any:
        """This thread's client of `person` (kept: one device per person and thread, its checkpoints kept)."""
        cache = self._local.__dict__.setdefault("clients", {})
        c = cache.get(person.token)
        if c is None:
            c = cache[person.token] = self.client(person.token, f"t{threading.get_ident()}-{person.email}")
        return c


def _classify(e: BaseException) -> tuple[str, int, str]:
    """(outcome, status, detail) of a failed operation."""
    from c11.errors import AuthError, CloudKeyError, ProofError, RateLimitError, ServerError

    if isinstance(e, CloudKeyError) and (m := re.search(r"server answered (5\d\d)", str(e))):
        # a shard store could not reach the c11 server (through the proxy) to log the fetch: it answers 503
        return "5xx", int(m.group(1)), f"via-store: {str(e)[:300]}"
    if isinstance(e, ProofError):
        return "violation", 0, f"{type(e).__name__}: {e}"
    if isinstance(e, RateLimitError):
        return "4xx", 429, str(e)[:200]
    if isinstance(e, AuthError):
        return "4xx", e.status, str(e)[:200]
    if isinstance(e, ServerError):
        if e.status == 0:
            return "reset", 0, str(e)[:200]
        if e.status >= 500:
            kind = (e.problem or {}).get("type") or "proxy"  # the server's problem type, or the proxy's page
            return "5xx", e.status, f"{kind}: {str(e)[:200]}"
        return "4xx", e.status, str(e)[:200]
    return "violation", 0, f"{type(e).__name__}: {e} {traceback.format_exc(limit=3)[-600:]}"


def _person_signup(w: World, tag: str) -> str:
    addr = f"{tag}-{uuid.uuid4().hex[:10]}@{DOMAIN}"
    with w.client(None, f"anon-{addr}") as c:
        c.signup(addr, PASSWORD)
    w.record.ack("signups", addr)
    return addr


def _person_verify(w: World, addr: str, token: str, cloud: bool) -> Person:
    """Log in, confirm the address with the emailed token, make and publish a key (cloud-stored if asked)."""
    from c11.keys.identity import Identity

    with w.client(None, f"v-{addr}") as c:
        session = c.login(addr, PASSWORD).token
    assert session
    with w.client(session, f"p-{addr}") as c:
        c.verify_email(token)
        w.record.ack("verified", addr)
        ident = Identity.generate(addr)
        if cloud:
            c.shards.password = PASSWORD
            created = c.shards.create(ident)
            for i in created.log_indexes:
                w.record.ack("shard_entries", i)
        pub = c.registry.publish(ident, addr, storage="cloud" if cloud else "device")
        w.record.ack("publishes", {"email": addr, "public_key": ident.public.line(), "index": pub.log_index})
    return Person(addr, session, ident, cloud)


def _wait_verification(w: World, addr: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        token = w.mail.verification_token(addr)
        if token:
            return token
        time.sleep(0.2)
    raise RuntimeError(f"no verification email for {addr} within {timeout} s")


def seed(w: World, spec: dict[str, Any]) -> None:
    """The admin of the organization, then `seed_users` people (some with cloud-stored keys) as its members."""
    from concurrent.futures import ThreadPoolExecutor

    admin = spec["admin"]
    with w.client(None, "anon-admin") as c:
        c.signup(admin, PASSWORD)
    w.admin = _person_verify(w, admin, _wait_verification(w, admin, 60), cloud=False)

    def one(i: int) -> Person:
        addr = _person_signup(w, f"seed{i}")
        return _person_verify(w, addr, _wait_verification(w, addr, 60), cloud=i < spec["cloud_users"])

    with ThreadPoolExecutor(4) as pool:
        w.people = list(pool.map(one, range(spec["seed_users"])))
    with w.client(w.admin.token, "admin") as c:
        c.org.add_members([p.email for p in w.people])
    # a few documents to release from the start
    rnd = random.Random(1)
    for _ in range(6):
        _encrypt(w, rnd, rnd.choice(w.people))


# -- the operations ----------------------------------------------------------------------------------------


def _encrypt(w: World, rnd: random.Random, author: Person) -> None:
    """An online encryption: the recipients' keys looked up with proofs, the key parts drawn, the policy
    registered at the key server (the file itself is encrypted locally and never sent)."""
    from c11 import files

    with w.lock:
        pool = list(w.people)
    recips = rnd.sample(pool, k=min(len(pool), rnd.randint(1, 3)))
    c = w.device(author)
    keys = [c.registry.lookup(p.email) for p in recips]
    seal = c.keyserver.prepare(author.email, [(p.email, None) for p in recips])
    files.encrypt(io.BytesIO(b"soak " * 64), io.BytesIO(), keys, author.identity, options=seal.options())
    c.keyserver.register(seal, [p.email for p in recips])
    doc = Doc(
        seal.policy.doc_uuid,
        author.email,
        [p.email for p in recips],
        base64.b64encode(seal.stanza.body).decode(),
        seal.recipient_key,
        seal.file_key,
    )
    w.record.ack("documents", doc.doc_id)
    with w.lock:
        w.docs.append(doc)


def _release(w: World, rnd: random.Random, _me: Person) -> None:
    """A recipient asks the key server for its part of a document, opens it and combines it with part A."""
    import httpx

    from c11.format import online

    with w.lock:
        if not w.docs:
            return
        doc = rnd.choice(w.docs[-200:])
        people = {p.email: p for p in w.people}
    me = people.get(rnd.choice(doc.recipients))
    if me is None:
        return
    revoked_before = doc.revoked_at is not None
    started = time.time()
    ident = me.identity  # a key change by another thread must not swap the key between asking and opening
    body = {"stanza": doc.stanza, "public_key": ident.public.line()}
    try:
        r = httpx.post(
            f"{w.url}/api/v1/keyserver/release",
            json=body,
            headers={"authorization": f"Bearer {me.token}"},
            timeout=60,
        )
    except httpx.HTTPError as e:
        with w.record.lock:
            w.record.unknown["releases"].append(doc.doc_id)
        from c11.errors import ServerError

        raise ServerError(f"release: {type(e).__name__}", 0) from None
    if r.status_code == 200:
        d = r.json()
        b = online.open_release(ident, uuid.UUID(doc.doc_id).bytes, base64.b64decode(d["sealed"]))
        if online.combine(doc.a, b, uuid.UUID(doc.doc_id).bytes) != doc.file_key:
            raise AssertionError(f"release of {doc.doc_id} does not combine into the file key")
        if revoked_before:
            with w.record.lock:
                w.record.violations.append(f"{doc.doc_id} released after its revocation was acknowledged")
        w.record.ack("releases", {"doc": doc.doc_id, "index": d["log_index"], "t": started})
        return
    if r.status_code == 403 and "access-refused" in r.text:
        w.record.ack("denied", {"doc": doc.doc_id, "t": started})
        return
    if r.status_code >= 500:
        with w.record.lock:
            w.record.unknown["releases"].append(doc.doc_id)
    from c11.client._http import _error

    raise _error(r)


def _lookup(w: World, rnd: random.Random, me: Person) -> None:
    with w.lock:
        other = rnd.choice(w.people)
    c = w.device(me)
    rec = c.registry.lookup_record(other.email)
    if rec.email != other.email:
        raise AssertionError("lookup answered another email")


def _publish(w: World, rnd: random.Random, me: Person) -> None:
    """A key change: a new key for the account (the person keeps using it from now on)."""
    from c11.keys.identity import Identity

    if me.cloud:
        return
    with me.lock:
        ident = Identity.generate(me.email)
        c = w.device(me)
        try:
            pub = c.registry.publish(ident, me.email)
        except Exception:
            with w.record.lock:
                w.record.unknown["writes"].append(["publish", me.email, ident.public.line()])
            raise
        me.identity = ident
    w.record.ack("publishes", {"email": me.email, "public_key": ident.public.line(), "index": pub.log_index})


def _revoke(w: World, rnd: random.Random, _me: Person) -> None:
    with w.lock:
        live = [d for d in w.docs if d.revoked_at is None]
        if len(live) < 4:
            return
        doc = rnd.choice(live)
        author = next(p for p in [*w.people, w.admin] if p is not None and p.email == doc.author)
    c = w.device(author)
    c.keyserver.revoke(doc.doc_id)
    doc.revoked_at = time.time()
    w.record.ack("revokes", {"doc": doc.doc_id, "t": doc.revoked_at})


def _invite(w: World, rnd: random.Random, me: Person) -> None:
    addr = f"invitee-{uuid.uuid4().hex[:10]}@elsewhere.example"
    c = w.device(me)
    out = c.invitations.invite([addr])
    for inv in out:
        w.record.ack("invitations", {"id": inv.id, "email": inv.email})


def _login(w: World, rnd: random.Random, me: Person) -> None:
    with w.client(None, f"login-{me.email}") as c:
        token = c.login(me.email, PASSWORD).token
        assert token
    with w.client(token, f"login-{me.email}") as c:
        if c.whoami().email != me.email:
            raise AssertionError("a login answered another account")
    w.record.ack("logins", me.email)


def _signup(w: World, rnd: random.Random, _me: Person) -> None:
    addr = _person_signup(w, "u")
    with w.lock:
        w.pending.append((addr, time.monotonic()))


def _verify_pending(w: World) -> None:
    """Finish the sign-ups whose verification email has arrived (the sink may be down for a while)."""
    with w.lock:
        ready = [(a, t) for a, t in w.pending if w.mail.verification_token(a)]
        for item in ready:
            w.pending.remove(item)
    for addr, _t in ready:
        person = _person_verify(w, addr, w.mail.verification_token(addr) or "", cloud=False)
        with w.lock:
            w.people.append(person)


def _shard_fetch(w: World, rnd: random.Random, _me: Person) -> None:
    """A new device of a person with a cloud-stored key: log in to the shard store, rebuild the key."""
    with w.lock:
        cloud = [p for p in w.people if p.cloud]
    if not cloud:
        return
    me = rnd.choice(cloud)
    with w.client(me.token, f"dev-{uuid.uuid4().hex[:8]}") as c:
        c.shards.password = PASSWORD
        fetched = c.shards.fetch()
    if fetched.identity.fingerprint != me.identity.fingerprint:
        raise AssertionError("a shard fetch rebuilt another key")
    for i in fetched.log_indexes:
        w.record.ack("shard_entries", i)


def _events(w: World, rnd: random.Random, _me: Person) -> None:
    assert w.admin is not None
    c = w.device(w.admin)
    c.events.query(limit=50)


def _checkpoint(w: World, rnd: random.Random, me: Person) -> None:
    c = w.device(me)
    c.log.checkpoint()


OPS = {
    "lookup": _lookup,
    "release": _release,
    "encrypt": _encrypt,
    "events": _events,
    "publish": _publish,
    "invite": _invite,
    "revoke": _revoke,
    "login": _login,
    "signup": _signup,
    "shard_fetch": _shard_fetch,
    "checkpoint": _checkpoint,
}


def _thread(w: World, n: int, stop: float, think: float, stop_file: Path) -> None:
    rnd = random.Random(n)
    names, weights = list(MIX), list(MIX.values())
    while time.time() < stop and not stop_file.exists():
        op = "verify" if w.pending and rnd.random() < 0.3 else rnd.choices(names, weights)[0]
        with w.lock:
            me = rnd.choice(w.people)
        t0 = time.time()
        outcome, status, detail = "ok", 200, ""
        try:
            if op == "verify":
                _verify_pending(w)
            else:
                OPS[op](w, rnd, me)
        except BaseException as e:  # every failure is classified and kept
            outcome, status, detail = _classify(e)
        with w.record.lock:
            w.record.ops.append([op, t0, time.time() - t0, outcome, status, detail])
        if think:
            time.sleep(rnd.uniform(0, 2 * think))


def _record_checkpoints() -> Any:
    """Wrap the SDK's checkpoint acceptance so that every checkpoint any client accepts is kept."""
    from c11.client import transparency

    original = transparency.LogAPI.accept
    notes: set[str] = set()

    def accept(self: Any, note: bytes, consistency: Any = None, known_size: Any = None) -> Any:
        check = original(self, note, consistency, known_size)
        notes.add(note.decode("utf-8"))
        return check

    transparency.LogAPI.accept = accept  # type: ignore[method-assign]
    return notes


def main(spec_file: str) -> None:
    spec = json.loads(Path(spec_file).read_text())
    notes = _record_checkpoints()
    w = World(spec)
    w.record.notes = notes
    seed(w, spec)
    Path(spec["ready_file"]).write_text(json.dumps({"t": time.time()}))
    # the orchestrator starts its schedule now; the load runs for `seconds`
    stop = time.time() + spec["seconds"]
    threads = [
        threading.Thread(target=_thread, args=(w, n, stop, spec["think"], Path(spec["stop_file"])), daemon=True)
        for n in range(spec["threads"])
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=spec["seconds"] + 120)
    # finish the sign-ups whose email came late (the sink was down), for at most `drain` seconds
    deadline = time.monotonic() + spec["drain"]
    while w.pending and time.monotonic() < deadline:
        try:
            _verify_pending(w)
        except Exception as e:
            outcome, status, detail = _classify(e)
            w.record.ops.append(["verify", time.time(), 0.0, outcome, status, detail])
        time.sleep(0.5)
    out = w.record.to_json()
    out["pending_unverified"] = [a for a, _ in w.pending]
    out["admin"] = w.admin.email if w.admin else None
    Path(spec["result_file"]).write_text(json.dumps(out))
