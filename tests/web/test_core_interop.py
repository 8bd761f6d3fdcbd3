"""Interoperability of the browser core (web/src/core, run in its worker inside Chromium) with the Python c11:
files made in the page open with `c11 decrypt` byte for byte, CLI-made files open in the page, for every stanza
type (X-Wing, X25519, temporary keys, group keys, recovery keys, online policy, re-shared); key files go both ways; the
browser's X-Wing key derivation and HPKE agree with pyca/cryptography on the same seeds."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from _harness import VECTORS, harness_page, serve_harness

from c11 import files
from c11.crypto.kem import CLASSIC, HYBRID
from c11.format import online, temporary
from c11.format.header import read_header
from c11.keys import keyfile
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

C11 = str(Path(sys.executable).with_name("c11"))
PASS = "interop passphrase"


@pytest.fixture(scope="module")
def page(chromium):  # type: ignore[no-untyped-def]
    with serve_harness() as base, harness_page(chromium, base) as p:
        yield p


def call(page: Any, op: str, **args: Any) -> Any:
    """One worker call through the harness; Blobs travel as {"b64": ...}."""
    r = page.evaluate("([op, args]) => window.c11harness.call(op, args)", [op, args])
    if not r["ok"]:
        raise AssertionError(f"{op}: {r['error']}: {r['message']}")
    return r["result"]


def call_error(page: Any, op: str, **args: Any) -> dict:
    r = page.evaluate("([op, args]) => window.c11harness.call(op, args)", [op, args])
    assert not r["ok"], f"{op} unexpectedly succeeded"
    return r


def blob(data: bytes) -> dict:
    return {"b64": base64.b64encode(data).decode()}


def unblob(v: dict) -> bytes:
    return base64.b64decode(v["b64"])


def meta(size: int, name: str | None = "doc.bin") -> dict:
    return {"name": name, "type": "application/octet-stream", "size": size, "mtime": None, "kind": "file"}


class Cli:
    """`c11` in a fresh config folder (no login, no registry): only the key files given with -i."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.env = {**os.environ, "C11_CONFIG_DIR": str(tmp / "config"), "C11_PASSPHRASE": PASS}

    def __call__(self, *args: str, input: bytes | None = None, ok: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run([C11, *args], env=self.env, cwd=self.tmp, input=input, capture_output=True, timeout=120)
        if ok:
            assert r.returncode == 0, r.stderr.decode()
        return r

    def keygen(self, name: str, *extra: str) -> tuple[Path, str]:
        path = self.tmp / f"{name}.key"
        self("keygen", "-o", str(path), "--label", f"{name}@example.com", *extra)
        return path, keyfile.load(path).public.line()


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return Cli(tmp_path_factory.mktemp("interop"))


@pytest.fixture(scope="module")
def people(cli: Cli, page: Any) -> dict:
    """alice: CLI X-Wing key with a passphrase; bob: CLI X25519 key; carol: made in the page (X-Wing)."""
    alice, alice_line = cli.keygen("alice")
    bob, bob_line = cli.keygen("bob", "--classic", "--no-passphrase")
    a = call(page, "loadKeyFile", text=alice.read_text(), passphrase=PASS)
    b = call(page, "loadKeyFile", text=bob.read_text())
    carol = call(page, "generateKey", label="carol@example.com", kem="mlkem768x25519")
    assert (a["publicLine"], b["publicLine"]) == (alice_line, bob_line)
    return {"alice": (alice, alice_line, a), "bob": (bob, bob_line, b), "carol": carol}


def test_browser_key_derivation_matches_pyca_on_the_same_seeds(page: Any) -> None:
    for kem in (HYBRID, CLASSIC, HYBRID):
        enc, sig = os.urandom(32), os.urandom(32)
        py = Identity("", kem, enc, sig).public.line()
        assert call(page, "publicKeyOfSeed", kem=kem, encSeed=enc.hex(), sigSeed=sig.hex()) == py


def test_browser_xwing_matches_the_pinned_draft_vector(page: Any) -> None:
    """draft-connolly-cfrg-xwing-kem-08, Appendix C, first vector (the one tests/core/test_keys.py pins)."""
    seed = "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26"
    line = call(page, "publicKeyOfSeed", kem=HYBRID, encSeed=seed, sigSeed="00" * 32)
    pk = PublicKey.parse(line).enc
    assert pk[:36].hex() == "e2236b35a8c24b39b10aa1323a96a919a2ced88400633a7b07131713fc14b2b5b19cfc3d"
    assert hashlib.sha256(pk).hexdigest() == "2e816deebcd76c5c80d0cd2d174478871658e8e2ff42bc9d4a6e486372e856bb"


@pytest.mark.parametrize("who", ["alice", "bob"])
@pytest.mark.parametrize("size", [0, 1, 65536, 200_003])
def test_page_made_files_open_with_c11_decrypt(page: Any, cli: Cli, people: dict, who: str, size: int) -> None:
    """X-Wing (alice) and X25519 (bob) recipient stanzas written by the browser, signed by a browser-made key."""
    path, line, _ = people[who]
    data = os.urandom(size)
    out = call(
        page, "encrypt", data=blob(data), recipients=[line], sender=people["carol"]["handle"], metadata=meta(size)
    )
    enc = cli.tmp / f"page-{who}-{size}.c11"
    enc.write_bytes(unblob(out))
    plain = cli.tmp / f"page-{who}-{size}.out"
    r = cli("decrypt", "-i", str(path), "-o", str(plain), "--json", str(enc))
    assert plain.read_bytes() == data
    assert "carol@example.com" in r.stdout.decode() + r.stderr.decode()


def test_page_made_armored_message_opens_with_c11_decrypt(page: Any, cli: Cli, people: dict) -> None:
    path, line, _ = people["bob"]
    text = "meet at 5 — ünïcode ✓\n".encode()
    m = {"name": None, "type": "text/plain; charset=utf-8", "size": len(text), "mtime": None, "kind": "message"}
    out = unblob(
        call(
            page,
            "encrypt",
            data=blob(text),
            recipients=[line],
            sender=people["carol"]["handle"],
            metadata=m,
            armor=True,
        )
    )
    assert out.startswith(b"-----BEGIN C11 MESSAGE-----\n")
    r = cli("decrypt", "-i", str(path), "-o", "-", input=out)
    assert r.stdout == text


@pytest.mark.parametrize("who", ["alice", "bob"])
@pytest.mark.parametrize("armor", [False, True])
def test_cli_made_files_open_in_the_page(page: Any, cli: Cli, people: dict, who: str, armor: bool) -> None:
    path, line, handle = people[who]
    other = "bob" if who == "alice" else "alice"
    data = os.urandom(150_000)
    src = cli.tmp / f"cli-{who}-{armor}.bin"
    src.write_bytes(data)
    enc = cli.tmp / f"cli-{who}-{armor}.c11"
    cli("encrypt", "-i", str(people[other][0]), "-r", line, "-o", str(enc), *(["--armor"] if armor else []), str(src))
    res = call(page, "decrypt", data=blob(enc.read_bytes()), keys=[handle["handle"]])
    assert unblob(res["plaintext"]) == data
    info = res["info"]
    assert (info["author"], info["contentSigned"], info["resharer"], info["metadata"]["name"]) == (
        f"{other}@example.com",
        True,
        None,
        src.name,
    )


def test_a_cli_made_bundle_opens_in_the_page_and_a_page_made_one_with_the_cli(
    page: Any, cli: Cli, people: dict
) -> None:
    path, line, handle = people["bob"]
    folder = cli.tmp / "project"
    (folder / "sub").mkdir(parents=True)
    tree = {"a.txt": b"alpha\n", "empty.txt": b"", "sub/b.bin": os.urandom(70_000)}
    for rel, data in tree.items():
        (folder / rel).write_bytes(data)
    enc = cli.tmp / "project.c11.zip"
    cli("encrypt", "-i", str(people["alice"][0]), "-r", line, "-o", str(enc), str(folder))
    res = call(page, "openBundle", data=blob(enc.read_bytes()), keys=[handle["handle"]])
    assert {f["path"]: unblob(f["data"]) for f in res["files"]} == tree
    assert res["info"]["author"] == "alice@example.com" and res["info"]["metadata"]["kind"] == "bundle"
    with zipfile.ZipFile(enc) as z:  # a bundle's manifest is not a protected file: refused as one, as by c11 decrypt
        manifest = z.read("manifest.c11")
    assert call_error(page, "decrypt", data=blob(manifest), keys=[handle["handle"]])["error"] == "FormatError"
    made = unblob(
        call(
            page,
            "bundle",
            files=[{"path": k, "data": blob(v)} for k, v in tree.items()],
            recipients=[line],
            sender=people["carol"]["handle"],
            name="project",
        )
    )
    (cli.tmp / "page.c11.zip").write_bytes(made)
    again = call(page, "openBundle", data=blob(made), keys=[handle["handle"]])
    assert {f["path"]: unblob(f["data"]) for f in again["files"]} == tree and again["info"][
        "author"
    ] == "carol@example.com"
    with zipfile.ZipFile(io.BytesIO(made)) as z:  # stored members, regular-file attributes, marker first
        infos = z.infolist()
        assert infos[0].filename == "c11-bundle" and infos[-1].filename == "manifest.c11"
        assert all(i.compress_type == zipfile.ZIP_STORED and i.external_attr == 0o100644 << 16 for i in infos)
    cli("decrypt", "-i", str(path), "-o", str(cli.tmp / "page-out"), str(cli.tmp / "page.c11.zip"))
    out = cli.tmp / "page-out"
    got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert got == tree, sorted(got)


def test_key_files_made_in_the_page_work_in_the_cli_and_back(page: Any, cli: Cli, people: dict) -> None:
    text = call(page, "exportKeyFile", handle=people["carol"]["handle"], passphrase=PASS)
    carol = cli.tmp / "carol.key"
    carol.write_text(text)
    assert keyfile.load(carol).public.line() == people["carol"]["publicLine"]
    # The CLI signs with the page's key file, the page opens it with the same key reloaded from that file.
    src = cli.tmp / "from-carol.txt"
    src.write_bytes(b"signed by a browser-made key\n")
    cli("encrypt", "-i", str(carol), "-r", people["bob"][1], "-o", str(cli.tmp / "from-carol.c11"), str(src))
    reloaded = call(page, "loadKeyFile", text=text, passphrase=PASS)
    res = call(page, "decrypt", data=blob((cli.tmp / "from-carol.c11").read_bytes()), keys=[reloaded["handle"]])
    assert unblob(res["plaintext"]) == src.read_bytes() and res["info"]["author"] == "carol@example.com"
    assert call_error(page, "loadKeyFile", text=text, passphrase="wrong")["error"] == "WrongPassphraseError"


def test_cloud_key_shards_made_in_the_page_rebuild_in_python_and_back(page: Any) -> None:
    """Shard format 2 (docs/shards.md §2): the page's shards (npm shamir-secret-sharing) rebuild with c11.keys.cloudkey
    (horcrux) from any two, and fresh Python shards rebuild in the page's worker; v1 shards are refused there."""
    from c11.keys import cloudkey

    made = call(page, "generateKey", label="cloud@example.com", kem="mlkem768x25519")
    out = call(page, "makeCloudShards", handle=made["handle"], userId="u" * 32, created=1797000000)
    shards = [cloudkey.Shard.from_b64(s) for s in out["shards"]]
    assert [s.version for s in shards] == [2, 2, 2] and cloudkey.dearmor(out["recovery"]).encode() == shards[2].encode()
    for pair in ((0, 1), (1, 2), (2, 0)):
        me = cloudkey.rebuild([shards[i] for i in pair], "u" * 32)
        assert me.public.line() == made["publicLine"] and me.created == 1797000000
    ident = Identity.generate("py-cloud@example.com", CLASSIC)
    mine = cloudkey.make_shards(ident, "v" * 32)
    back = call(page, "rebuildCloudKey", shards=[mine[1].b64(), cloudkey.armor(mine[2])], userId="v" * 32)
    assert back["publicLine"] == ident.public.line()
    assert call_error(page, "rebuildCloudKey", shards=[mine[0].b64(), mine[1].b64()], userId="w" * 32)["error"] == (
        "IntegrityError"
    )
    old = cloudkey.make_shards(ident, "v" * 32, version=1)
    refused = call_error(page, "rebuildCloudKey", shards=[s.b64() for s in old[:2]], userId="v" * 32)
    assert refused["error"] == "FormatError" and "c11 keys upgrade" in refused["message"]


def test_temporary_key_stanza_round_trips(page: Any, cli: Cli, people: dict) -> None:
    """A recipient marked as a temporary key (§2.7): the CLI opens the file and reads the marker."""
    path, line, handle = people["bob"]
    out = unblob(
        call(
            page,
            "encrypt",
            data=blob(b"invite"),
            recipients=[line],
            sender=people["carol"]["handle"],
            metadata=meta(6),
            temporary=[handle["fingerprint"]],
        )
    )
    header, _ = read_header(io.BytesIO(out))

    assert temporary.key_ids(header) == {bytes.fromhex(handle["fingerprint"])}
    bob = keyfile.load(path).unlock(None)
    assert files.decrypt_bytes(out, [bob]).plaintext == b"invite"
    res = call(page, "decrypt", data=blob(out), keys=[handle["handle"]])
    assert res["info"]["temporaryKeyIds"] == [handle["fingerprint"]]


def test_group_key_from_a_wrap_opens_and_makes_group_files(page: Any, cli: Cli) -> None:
    """The page opens a group key wrap (vector) with the member key, then encrypts to the group; a key file of the
    group identity opens it in the CLI, and a CLI file for the group opens in the page with the unwrapped key."""
    g = json.loads((VECTORS / "groups" / "groups.json").read_text())
    member = call(page, "loadKeyFile", text=(VECTORS / "groups" / "member.key").read_text())
    valid = next(c for c in g["cases"] if c["expect"] == "ok")
    group = call(
        page,
        "unwrapGroupKey",
        wrapped=valid["wrapped"],
        ref=valid["ref"],
        keys=[member["handle"]],
        expected=g["group"]["public"],
    )
    assert group["fingerprint"] == g["group"]["fingerprint"] and group["label"] == "group:finance"
    ident = Identity(
        "group:finance", HYBRID, bytes.fromhex(g["group"]["enc_seed"]), bytes.fromhex(g["group"]["sig_seed"])
    )
    gkey = cli.tmp / "group.key"
    keyfile.write(gkey, ident, None)
    sender = call(page, "generateKey", label="dora@example.com", kem="x25519")
    enc = cli.tmp / "to-group.c11"
    enc.write_bytes(
        unblob(
            call(
                page,
                "encrypt",
                data=blob(b"q3 numbers"),
                recipients=[g["group"]["public"]],
                sender=sender["handle"],
                metadata=meta(10),
            )
        )
    )
    assert cli("decrypt", "-i", str(gkey), "-o", "-", str(enc)).stdout == b"q3 numbers"
    src = cli.tmp / "q4.txt"
    src.write_bytes(b"q4 numbers")
    cli("encrypt", "-i", str(gkey), "--no-self", "-r", g["group"]["public"], "-o", str(cli.tmp / "q4.c11"), str(src))
    res = call(page, "decrypt", data=blob((cli.tmp / "q4.c11").read_bytes()), keys=[group["handle"]])
    assert unblob(res["plaintext"]) == b"q4 numbers"
    wrong = next(c for c in g["cases"] if c["expect"] == "FormatError")
    err = call_error(page, "unwrapGroupKey", wrapped=wrong["wrapped"], ref=wrong["ref"], keys=[member["handle"]])
    assert "FormatError" in err["names"]


def test_online_policy_files_interoperate(page: Any, people: dict) -> None:
    """The page writes an online-policy file (§2.6): the key server (pyca, here in-process) opens its sealed share,
    Python opens the file with that release; the page opens it with a release sealed to the recipient by Python."""
    server = Identity("keyserver", HYBRID, os.urandom(32), os.urandom(32))
    path, line, handle = people["alice"]
    alice = keyfile.load(path).unlock(PASS)
    policy = {
        "v": 1,
        "server": "https://keys.example",
        "server_key": server.public.fingerprint,
        "author": "ab" * 32,
        "recipients": [{"email": None, "key": alice.fingerprint}, {"email": "cd" * 32, "key": None}],
        "expires": 253402300799,
    }
    data = os.urandom(5000)
    out = unblob(
        call(
            page,
            "encrypt",
            data=blob(data),
            recipients=[line],
            sender=people["carol"]["handle"],
            metadata=meta(5000),
            online={"policy": policy, "serverKey": server.public.line()},
        )
    )
    header, _ = read_header(io.BytesIO(out))
    stanza = online.find_stanza(header)
    assert stanza is not None and stanza.critical
    pol, raw, sealed = online.parse_body(stanza.body)
    assert pol.doc_id == header.doc_id and pol.server == "https://keys.example" and pol.expires == 253402300799
    b = online.open_sealed_share(server.kem_private, header.doc_id, raw, sealed)
    assert files.decrypt_bytes(out, [alice, online.Release(lambda s, h, p, i: b)]).plaintext == data
    summary = call(page, "inspect", data=blob(out), keys=[people["bob"][2]["handle"], handle["handle"]])
    assert summary["online"]["server_key"] == server.public.fingerprint and "c11-online/v1" in summary["stanzaTypes"]
    assert summary["openingKey"] == alice.fingerprint  # the key to ask the key server's release for
    assert summary["releaseRequest"] == {
        "stanza": base64.b64encode(stanza.body).decode(),
        "public_key": alice.public.line(),
    }
    release = online.seal_release(alice.public, header.doc_id, b)
    res = call(page, "decrypt", data=blob(out), keys=[handle["handle"]], release=base64.b64encode(release).decode())
    assert unblob(res["plaintext"]) == data
    bad = online.seal_release(alice.public, header.doc_id, os.urandom(32))
    err = call_error(page, "decrypt", data=blob(out), keys=[handle["handle"]], release=base64.b64encode(bad).decode())
    assert err["error"] == "IntegrityError"
    assert call_error(page, "decrypt", data=blob(out), keys=[handle["handle"]])["error"] == "OnlinePolicyError"


def test_tampering_with_a_page_made_file_is_refused_by_both(page: Any, cli: Cli, people: dict) -> None:
    path, line, handle = people["bob"]
    out = bytearray(
        unblob(
            call(
                page,
                "encrypt",
                data=blob(os.urandom(3000)),
                recipients=[line],
                sender=people["carol"]["handle"],
                metadata=meta(3000),
            )
        )
    )
    out[-100] ^= 1  # inside the segment hash list: the content signature no longer verifies
    bad = cli.tmp / "tampered.c11"
    bad.write_bytes(bytes(out))
    r = cli("decrypt", "-i", str(path), "-o", str(cli.tmp / "tampered.out"), str(bad), ok=False)
    assert r.returncode != 0 and not (cli.tmp / "tampered.out").exists()
    assert call_error(page, "decrypt", data=blob(bytes(out)), keys=[handle["handle"]])["error"] == "BadSignatureError"


def test_a_file_reshared_in_the_page_keeps_the_authors_signature_for_the_cli(page: Any, cli: Cli, people: dict) -> None:
    """§9: the page adds bob and removes alice, signing the new header with carol's key; the payload and the author's
    trailer are kept byte for byte, so the CLI shows it as written by alice and re-shared by carol."""
    carol = people["carol"]
    src = cli.tmp / "report.txt"
    src.write_bytes(os.urandom(70_000))
    enc = cli.tmp / "report.txt.c11"
    cli("encrypt", "-i", str(people["alice"][0]), "-r", carol["publicLine"], "-o", str(enc), str(src))
    original = enc.read_bytes()
    out = unblob(
        call(
            page,
            "reshare",
            data=blob(original),
            keys=[carol["handle"]],
            signer=carol["handle"],
            add=[people["bob"][1]],
            remove=[people["alice"][2]["fingerprint"]],
        )
    )
    _, old_raw = read_header(io.BytesIO(original))
    new_header, new_raw = read_header(io.BytesIO(out))
    assert out[len(new_raw) :] == original[len(old_raw) :]
    assert (new_header.author_label, new_header.sender_label) == ("alice@example.com", "carol@example.com")
    resh = cli.tmp / "reshared.c11"
    resh.write_bytes(out)
    r = cli("decrypt", "-i", str(people["bob"][0]), "-o", str(cli.tmp / "reshared.txt"), str(resh))
    assert (cli.tmp / "reshared.txt").read_bytes() == src.read_bytes()
    said = r.stderr.decode()
    assert "alice@example.com" in said and "carol@example.com" in said
    gone = cli("decrypt", "-i", str(people["alice"][0]), "-o", str(cli.tmp / "alice-gone.txt"), str(resh), ok=False)
    assert gone.returncode != 0 and not (cli.tmp / "alice-gone.txt").exists()
    res = call(page, "decrypt", data=blob(out), keys=[people["bob"][2]["handle"]])
    assert (res["info"]["author"], res["info"]["resharer"]) == ("alice@example.com", "carol@example.com")


def test_a_downloaded_stream_opens_in_the_worker_and_a_tampered_one_fails_at_the_end(
    page: Any, cli: Cli, people: dict
) -> None:
    """decryptStream (no seeking: a download transferred to the worker) on a CLI-made file; with the author's
    content signature damaged the worker answers BadSignatureError and hands back no plaintext."""
    path, line, handle = people["bob"]
    src = cli.tmp / "download.bin"
    src.write_bytes(os.urandom(300_000))
    enc = cli.tmp / "download.bin.c11"
    cli("encrypt", "-i", str(people["alice"][0]), "-r", line, "-o", str(enc), str(src))
    res = call(page, "decryptStream", stream=blob(enc.read_bytes()), keys=[handle["handle"]])
    assert unblob(res["plaintext"]) == src.read_bytes() and res["info"]["author"] == "alice@example.com"
    bad = bytearray(enc.read_bytes())
    bad[-1] ^= 1
    err = call_error(page, "decryptStream", stream=blob(bytes(bad)), keys=[handle["handle"]])
    assert err["error"] == "BadSignatureError" and "result" not in err


def test_the_worker_reports_progress_and_can_be_cancelled(page: Any, people: dict) -> None:
    """64 MiB made in the page: progress covers the whole output; cancelled after 1 MiB, the request stops with
    CancelledError and returns nothing."""
    size = 64 << 20
    args = {
        "data": {"randomMiB": 64},
        "recipients": [people["bob"][1]],
        "sender": people["carol"]["handle"],
        "metadata": meta(size),
    }
    r = page.evaluate("([a]) => window.c11harness.call('encrypt', a).then((x) => ({...x, result: null}))", [args])
    assert r["ok"] and r["progress"] > size  # header, segments and trailer
    r = page.evaluate("([a]) => window.c11harness.call('encrypt', a)", [{**args, "cancelAfterBytes": 1 << 20}])
    assert not r["ok"] and r["error"] == "CancelledError" and "result" not in r


def test_key_archives_go_both_ways(page: Any, people: dict) -> None:
    """shards.md §2.4: an archive made as c11.client.shards does opens in the page, and one made in the page opens
    with the Python code path (decrypt to the current key, then each key file)."""
    from c11.keys.keyfile import KeyFile

    path, _, handle = people["alice"]
    current = keyfile.load(path).unlock(PASS)
    old = [Identity.generate("alice@example.com"), Identity.generate("alice@example.com", CLASSIC)]
    doc = {"format": "c11-key-archive/v1", "keys": [json.loads(keyfile.dumps(k, None)) for k in old]}
    blob_ = files.encrypt_bytes(json.dumps(doc).encode(), [current.public], current, name="c11-key-archive.json")
    opened = call(page, "openKeyArchive", archive=base64.b64encode(blob_).decode(), current=handle["handle"])
    assert [k["fingerprint"] for k in opened] == [k.fingerprint for k in old]
    made = call(page, "makeKeyArchive", keys=[k["handle"] for k in opened] + [handle["handle"]], to=handle["handle"])
    back = json.loads(files.decrypt_bytes(base64.b64decode(made), [current]).plaintext)
    assert back["format"] == "c11-key-archive/v1"
    assert [KeyFile(k, "archive").unlock().fingerprint for k in back["keys"]] == [k.fingerprint for k in old]


def test_an_organization_recovery_key_opens_what_a_member_encrypts_in_the_page(
    page: Any, cli: Cli, people: dict
) -> None:
    """Recovery keys (docs/organizations.md) are ordinary X-Wing recipients added to everything a member encrypts:
    the page adds one next to the recipient, the recovery key file opens the file in the CLI, and a CLI file with
    a recovery recipient opens in the page with the recovery key."""
    recovery, recovery_line = cli.keygen("recovery", "--no-passphrase")
    data = os.urandom(10_000)
    out = cli.tmp / "member.c11"
    out.write_bytes(
        unblob(
            call(
                page,
                "encrypt",
                data=blob(data),
                recipients=[people["bob"][1], recovery_line],
                sender=people["carol"]["handle"],
                metadata=meta(len(data)),
            )
        )
    )
    assert cli("decrypt", "-i", str(recovery), "-o", "-", str(out)).stdout == data
    src = cli.tmp / "member.txt"
    src.write_bytes(b"recoverable")
    cli(
        "encrypt",
        "-i",
        str(people["alice"][0]),
        "-r",
        people["bob"][1],
        "-r",
        recovery_line,
        "-o",
        str(cli.tmp / "member-cli.c11"),
        str(src),
    )
    rk = call(page, "loadKeyFile", text=recovery.read_text())
    res = call(page, "decrypt", data=blob((cli.tmp / "member-cli.c11").read_bytes()), keys=[rk["handle"]])
    assert unblob(res["plaintext"]) == b"recoverable"
