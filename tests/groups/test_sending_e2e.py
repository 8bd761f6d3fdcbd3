"""Organization rules applied in one place (c11.client.sending) on a real server: `c11 encrypt`, `c11 protect`
(in-document) and the SDK add the same recovery key, see the same online requirement and default expiry; the
policy cached on the device applies with the server unreachable, and without one a member's encrypt and protect
refuse unless --allow-missing-org-policy."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from grpkit import fails, make_org, ok, person, set_policies

from c11 import files
from c11.client.org_policy import OrgPolicyStore
from c11.client.sending import Sending, SendRequest
from c11.errors import OnlinePolicyError, OrgPolicyUnavailableError
from c11.indoc import api


class Forwarder:
    """A TCP forwarder to the server: closing it makes the server unreachable at this URL (nothing listens)."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in the thread; nothing listens after
        except OSError:
            pass
        self.sock.close()


@pytest.fixture(scope="module")
def world(grp_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("sending")
    people = {t: person(grp_server, root, t) for t in ("alice", "bob", "carol")}
    name = f"Sendco-{root.name[-6:]}"
    org_id = make_org(grp_server, name, people["alice"], [people["bob"], people["carol"]])
    rec = root / "rec.key"
    ok(people["alice"].run("org", "recovery-key", "create", "-o", str(rec), "--no-passphrase"))
    docx = root / "memo.docx"
    import docx as python_docx

    d = python_docx.Document()
    d.add_paragraph("public intro")
    d.add_paragraph("salary SECRET42")
    d.save(str(docx))
    return people, org_id, name, rec, docx, root


def _fp(key_file: Path) -> str:
    return json.loads(key_file.read_text())["fingerprint"]


def _doc_recipients(path: Path) -> set[str]:
    return {r["fingerprint"] for g in api.inspect_document(path)["groups"] for r in g["recipients"]}


def _sdk(p) -> Sending:  # noqa: ANN001 - a grpkit Person
    return Sending(p.client(), store=OrgPolicyStore(p.cfg))


def test_encrypt_protect_and_sdk_apply_the_same_rules(world, grp_server):
    people, org_id, org_name, rec, docx, root = world
    bob, carol = people["bob"], people["carol"]
    plain = root / "memo.txt"
    plain.write_text("numbers")
    rec_fp = _fp(rec)
    # c11 encrypt
    r = ok(bob.run("encrypt", "-r", carol.email, "-o", str(root / "memo.c11"), str(plain)))
    assert f"added recovery key of {org_name}" in r.stderr
    assert rec_fp in {x["fingerprint"] for x in files.inspect(root / "memo.c11").recipients}
    # c11 protect (in-document): the same recovery key, on the document's parts and on a part's own recipients
    r = ok(
        bob.run(
            "protect", str(docx), "-r", carol.email, "--match", "SECRET\\d+", "-o", str(root / "memo.protected.docx")
        )
    )
    assert f"added recovery key of {org_name}" in r.stderr
    assert rec_fp in _doc_recipients(root / "memo.protected.docx")
    ok(
        people["alice"].run(
            "unprotect", "-i", str(rec), "-o", str(root / "memo.rec.docx"), str(root / "memo.protected.docx")
        )
    )
    import docx as python_docx

    assert "SECRET42" in "\n".join(p.text for p in python_docx.Document(str(root / "memo.rec.docx")).paragraphs)
    # the SDK: same keys, and a file it writes carries the recovery key
    with bob.client() as c:
        s = Sending(c, store=OrgPolicyStore(bob.cfg))
        plan = s.plan(SendRequest([carol.email]))
        assert rec_fp in {k.fingerprint for k in plan.keys} and not plan.online and plan.expires is None
        assert [a.org for a in plan.rules.added] == [org_name]
        options, seal = s.header_options(plan, bob.identity(), include_sender=True)
        assert seal is None and options is None
        with open(plain, "rb") as src, open(root / "sdk.c11", "wb") as dst:
            files.encrypt(src, dst, plan.keys, bob.identity(), options=options)
        assert rec_fp in {x["fingerprint"] for x in files.inspect(root / "sdk.c11").recipients}
        # a part with its own recipients gets the organization's recovery key too
        own = f"paragraph:1=>{c.registry.lookup(carol.email).line()}"
        _, out = s.protect_document(SendRequest([carol.email]), docx, [own], bob.identity())
        (root / "sdk.protected.docx").write_bytes(out)
        groups = api.inspect_document(root / "sdk.protected.docx")["groups"]
        assert groups and all(rec_fp in {r["fingerprint"] for r in g["recipients"]} for g in groups)

    # require_online and a default expiry: encrypt goes online with the expiry, the SDK plans the same, and
    # protect refuses (in-document protection carries no online policy yet)
    set_policies(grp_server, org_id, require_online=True, default_expiry_days=3)
    try:
        r = ok(bob.run("encrypt", "-r", carol.email, "-o", str(root / "online.c11"), str(plain)))
        assert f"online policy required by {org_name}" in r.stderr and "expires in 3 days" in r.stderr
        ext = next(e for e in files.inspect(root / "online.c11").extensions if e["type"] == "c11-online/v1")
        assert abs(ext["expires"] - (time.time() + 3 * 86400)) < 600
        assert rec_fp in {x["fingerprint"] for x in files.inspect(root / "online.c11").recipients}
        with bob.client() as c:
            s = Sending(c, store=OrgPolicyStore(bob.cfg))
            plan = s.plan(SendRequest([carol.email]))
            assert plan.online and plan.rules.online_required_by == (org_name,) and plan.expires == "3d"
            assert rec_fp in {k.fingerprint for k in plan.keys}
            options, seal = s.header_options(plan, bob.identity(), include_sender=True)
            assert seal is not None and abs(seal.policy.expires - (time.time() + 3 * 86400)) < 600
            with open(plain, "rb") as src, open(root / "sdk-online.c11", "wb") as dst:
                files.encrypt(src, dst, plan.keys, bob.identity(), options=options)
            assert any(e["type"] == "c11-online/v1" for e in files.inspect(root / "sdk-online.c11").extensions)
            with pytest.raises(OnlinePolicyError):
                s.protect_document(SendRequest([carol.email]), docx, ["paragraph:1"], bob.identity())
        r = fails(
            bob.run("protect", str(docx), "-r", carol.email, "--part", "paragraph:1", "-o", str(root / "refused.docx"))
        )
        assert f"{org_name} requires an online policy" in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert not (root / "refused.docx").exists()
    finally:
        set_policies(grp_server, org_id)


def test_offline_cached_policy_refusal_and_override(world, grp_server, tmp_path):
    people, org_id, org_name, rec, docx, root = world
    bob = people["bob"]
    token = json.loads((bob.cfg / "credentials.json").read_text())["token"]
    cfg = tmp_path / "bob-offline"
    shutil.copytree(bob.cfg / "keys", cfg / "keys")
    key_line = json.loads(bob.key_path().read_text())["public"]
    plain = tmp_path / "note.txt"
    plain.write_text("offline words")
    fwd = Forwarder(int(grp_server.url.rsplit(":", 1)[1].split("/")[0]))
    env = {"C11_SERVER": fwd.url, "C11_TOKEN": token}

    def run(*args: str):
        from srvkit import run_cli

        return run_cli(list(args), cfg, env)

    # online once: the policy is read and kept on the device
    ok(run("encrypt", "-r", key_line, "-o", str(tmp_path / "a.c11"), str(plain)))
    cached = OrgPolicyStore(cfg).path(fwd.url)
    assert cached.exists() and json.loads(json.loads(cached.read_text())["policy"]["document"])["name"] == org_name
    fwd.close()
    # unreachable: the cached policy applies (recovery key added), for encrypt and protect
    r = ok(run("encrypt", "-r", key_line, "-o", str(tmp_path / "b.c11"), str(plain)))
    assert "server is unreachable" in r.stderr and f"added recovery key of {org_name}" in r.stderr
    assert _fp(rec) in {x["fingerprint"] for x in files.inspect(tmp_path / "b.c11").recipients}
    r = ok(run("protect", str(docx), "-r", key_line, "--part", "paragraph:1", "-o", str(tmp_path / "b.docx")))
    assert _fp(rec) in _doc_recipients(tmp_path / "b.docx")
    # no cached policy: refused, one line naming what to do; the override encrypts without it, with a warning
    cached.unlink()
    for args in (
        ("encrypt", "-r", key_line, "-o", str(tmp_path / "c.c11"), str(plain)),
        ("protect", str(docx), "-r", key_line, "--part", "paragraph:1", "-o", str(tmp_path / "c.docx")),
    ):
        r = fails(run(*args))
        assert "none is cached on this device" in r.stderr and "--allow-missing-org-policy" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "c.c11").exists() and not (tmp_path / "c.docx").exists()
    r = ok(run("encrypt", "--allow-missing-org-policy", "-r", key_line, "-o", str(tmp_path / "c.c11"), str(plain)))
    assert "without its recovery keys" in r.stderr
    assert _fp(rec) not in {x["fingerprint"] for x in files.inspect(tmp_path / "c.c11").recipients}
    # the SDK refuses alike (typed error, no CLI flag in the message)
    from c11.client import Client

    with Client(fwd.url, token, timeout=3) as c, pytest.raises(OrgPolicyUnavailableError) as e:
        Sending(c, store=OrgPolicyStore(cfg)).plan(SendRequest([key_line]))
    assert "--" not in str(e.value)
    # a tampered cache is not applied silently
    OrgPolicyStore(cfg).save(fwd.url, None, None, None)
    cached.write_text(cached.read_text().replace('"version": 2', '"version": 9'))
    fails(run("encrypt", "-r", key_line, "-o", str(tmp_path / "d.c11"), str(plain)))
