"""The SDK refuses every registry or log answer that does not verify, whatever the server does: answers
are altered in transit (a transport that rewrites the real server's JSON), and a malicious log operator
(who holds the log key: the test reads it from the data dir) signs forks, rollbacks and empty trees."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from regkit import signup_verified
from srvkit import PASSWORD

from c11.client import Client
from c11.errors import ProofError
from c11.keys.identity import Identity
from c11.log.checkpoint import Checkpoint, NoteSigner, generate_log_key, sign_checkpoint
from c11.log.merkle import EMPTY_ROOT

Mutate = Callable[[str, dict[str, Any]], dict[str, Any] | None]


class Rewriting(httpx.BaseTransport):
    """Forwards to the real server; `mutate(path, json)` may return a replacement JSON body."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.mutate: Mutate | None = None
        self.text: Callable[[str, bytes], bytes | None] | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        r = self.inner.handle_request(request)
        content = r.read()
        new: bytes | None = None
        if self.mutate and r.headers.get("content-type", "").startswith("application/json") and r.is_success:
            d = self.mutate(request.url.path, json.loads(content))
            new = json.dumps(d).encode() if d is not None else None
        elif self.text and r.headers.get("content-type", "").startswith("text/plain"):
            new = self.text(request.url.path, content)
        if new is None:
            return httpx.Response(r.status_code, headers=r.headers, content=content)
        headers = {k: v for k, v in r.headers.items() if k.lower() not in ("content-length", "content-encoding")}
        return httpx.Response(r.status_code, headers=headers, content=new)


@pytest.fixture(scope="module")
def _world(reg_server, tmp_path_factory):
    """Two users with published keys, and a viewer whose client goes through a rewriting transport (built once
    per module: every test leaves the server and the viewer's verified state as they were, or only advanced)."""
    tmp_path = tmp_path_factory.mktemp("verification")
    out: dict[str, Any] = {}
    for name in ("target", "other"):
        addr = signup_verified(reg_server, name)
        with Client(reg_server.url) as c:
            c.login(addr, PASSWORD)
            c.state_dir = tmp_path / name
            c.registry.publish(Identity.generate(addr))
        out[name] = addr
    viewer = signup_verified(reg_server, "viewer")
    with Client(reg_server.url) as c:
        token = c.login(viewer, PASSWORD).token
    transport = Rewriting()
    client = Client(reg_server.url, token, transport=transport)
    client.state_dir = tmp_path / "viewer"
    out.update(client=client, transport=transport, server=reg_server)
    assert client.registry.lookup(out["target"])  # pins the key, stores a checkpoint
    yield out
    client.close()


@pytest.fixture
def world(_world):
    """The module's world with an honest transport at the start of each test."""
    _world["transport"].mutate = None
    _world["transport"].text = None
    return _world


def _on_lookup(world, change: Callable[[dict[str, Any]], None]) -> None:
    def mutate(path: str, d: dict[str, Any]) -> dict[str, Any] | None:
        if path == "/api/v1/keys":
            change(d)
            return d
        return None

    world["transport"].mutate = mutate


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


@pytest.mark.parametrize(
    "case",
    [
        "trailing-hash",
        "missing-hash",
        "leading-hash",
        "flipped-hash",
        "index-out-of-range",
        "negative-index",
        "index-is-size",
        "wrong-index",
        "non-canonical-entry",
        "edited-entry",
        "answer-differs-from-entry",
        "another-persons-entry",
        "removed-entry",
        "tree-size-mismatch",
        "consistency-trailing-hash",
        "consistency-flipped",
        "not-base64",
    ],
)
def test_altered_lookup_answers_are_refused(world, case):
    other: dict[str, Any] = {}
    if case == "another-persons-entry":
        world["transport"].mutate = None
        rec = world["client"]._core.request("GET", "/api/v1/keys", params={"email": world["other"]})
        other.update(rec)

    def change(d: dict[str, Any]) -> None:
        p = d["inclusion_proof"]
        if case == "trailing-hash":
            p.append(_b64(b"\0" * 32))
        elif case == "missing-hash":
            p.pop()
        elif case == "leading-hash":
            p.insert(0, p[0])
        elif case == "flipped-hash":
            h = bytearray(base64.b64decode(p[0]))
            h[0] ^= 1
            p[0] = _b64(bytes(h))
        elif case == "index-out-of-range":
            d["log_index"] = d["tree_size"] + 5
        elif case == "negative-index":
            d["log_index"] = -1
        elif case == "index-is-size":
            d["log_index"] = d["tree_size"]
        elif case == "wrong-index":
            d["log_index"] = d["log_index"] ^ 1
        elif case == "non-canonical-entry":
            d["entry"] = d["entry"].replace(",", ", ", 1)
        elif case == "edited-entry":
            d["entry"] = d["entry"].replace('"publish"', '"change"')
        elif case == "answer-differs-from-entry":
            d["public_key"] = Identity.generate("x").public.line()
        elif case == "another-persons-entry":  # a real entry with a valid proof, but about someone else
            for k in ("entry", "log_index", "inclusion_proof", "public_key"):
                d[k] = other[k]
        elif case == "removed-entry":
            e = json.loads(d["entry"])
            e.update(action="remove", public_key=None)
            d["entry"] = json.dumps(e, sort_keys=True, separators=(",", ":"))
        elif case == "tree-size-mismatch":
            d["tree_size"] += 1
        elif case == "consistency-trailing-hash":
            d["consistency_proof"].append(_b64(b"\1" * 32))
        elif case == "consistency-flipped":
            if not d["consistency_proof"]:
                d["consistency_proof"] = [_b64(b"\2" * 32)]
            else:
                d["consistency_proof"][0] = _b64(b"\2" * 32)
        elif case == "not-base64":
            p[0] = "%%%"

    _on_lookup(world, change)
    with pytest.raises(ProofError):
        world["client"].registry.lookup(world["target"])
    world["transport"].mutate = None
    assert world["client"].registry.lookup(world["target"])  # the honest answer still verifies


def _operator(world) -> NoteSigner:
    """The log operator's own signing key (a malicious server holds it)."""
    skey = (world["server"].data_dir / "secrets" / "log.key").read_text().strip()
    return NoteSigner.parse(skey)


@pytest.mark.parametrize(
    "case", ["fork-same-size", "rollback", "empty-tree", "bigger-unrelated", "other-origin", "other-key"]
)
def test_forged_checkpoints_are_refused(world, case):
    c = world["client"]
    stored = c.log.checkpoint().current
    signer = _operator(world)
    if case == "fork-same-size":
        forged = sign_checkpoint(Checkpoint(stored.origin, stored.size, b"\5" * 32), signer)
    elif case == "rollback":
        forged = sign_checkpoint(Checkpoint(stored.origin, stored.size - 1, b"\5" * 32), signer)
    elif case == "empty-tree":
        forged = sign_checkpoint(Checkpoint(stored.origin, 0, EMPTY_ROOT), signer)
    elif case == "bigger-unrelated":
        forged = sign_checkpoint(Checkpoint(stored.origin, stored.size + 3, b"\5" * 32), signer)
    elif case == "other-origin":
        forged = sign_checkpoint(
            Checkpoint("evil.example/log", stored.size + 1, b"\5" * 32),
            NoteSigner.parse(generate_log_key("evil.example/log")[0]),
        )
    else:
        forged = sign_checkpoint(
            Checkpoint(stored.origin, stored.size, stored.root_hash),
            NoteSigner.parse(generate_log_key(stored.origin)[0]),
        )
    world["transport"].text = lambda path, body: forged if path == "/api/v1/log/checkpoint" else None
    world["transport"].mutate = lambda path, d: (
        d.update(checkpoint=forged.decode()) or d if path.startswith("/api/v1/keys") else None
    )
    with pytest.raises(ProofError):
        c.log.verify()
    with pytest.raises(ProofError):
        c.registry.lookup(world["target"])
    with pytest.raises(ProofError):
        c.registry.history(world["target"])
    # nothing was stored: the honest log still verifies afterwards
    world["transport"].text = None
    world["transport"].mutate = None
    assert c.log.verify().current.size >= stored.size


def test_equal_sizes_and_first_use(world, tmp_path):
    c = world["client"]
    a = c.log.verify()
    b = c.log.verify()
    assert a.current == b.current and b.previous == b.current  # equal sizes: same root, nothing to prove
    fresh = Client(world["server"].url, c.token)
    fresh.state_dir = tmp_path / "fresh"
    first = fresh.log.verify()
    assert first.previous is None and first.current.size == b.current.size
    assert (fresh.state_dir / "logs").is_dir()
    got = fresh.log.prove(0)
    assert got.index == 0 and got.tree_size == first.current.size
    with pytest.raises(ProofError):
        fresh.log.prove(first.current.size)  # out of range
    if first.current.size > 2:
        assert fresh.log.prove(0, size=2).tree_size == 2
    fresh.close()


def test_history_answers_are_refused_when_altered(world):
    c = world["client"]
    assert [h.action for h in c.registry.history(world["target"])] == ["publish"]

    def mutate(path: str, d: dict[str, Any]) -> dict[str, Any] | None:
        if path == "/api/v1/keys/history":
            d["entries"][0]["inclusion_proof"].append(_b64(b"\0" * 32))
            return d
        return None

    world["transport"].mutate = mutate
    with pytest.raises(ProofError):
        c.registry.history(world["target"])
    world["transport"].mutate = None
    assert len(c.registry.history(world["other"])) == 1
