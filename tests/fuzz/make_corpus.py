"""Write the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/ (committed).

    .venv/bin/python tests/fuzz/make_corpus.py

Seeds are small valid inputs made with the fixed test keys of `targets.py` (so mutations reach the
checks behind the signature and the key unwrap), plus a few hand-written edge cases. Re-running it
makes new random nonces, so only run it when a format changes.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "indoc_office"), str(HERE.parent / "indoc_media")]

import targets  # noqa: E402


def _write(name: str, files: dict[str, bytes]) -> None:
    folder = targets.CORPUS / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for fname, data in files.items():
        (folder / fname).write_bytes(data)


def _core(me, snd) -> None:
    from c11 import files
    from c11.format import armor, groupkey, online
    from c11.keys import cloudkey, keyfile
    from c11.keys.identity import Identity
    from c11.log.checkpoint import Checkpoint, sign_checkpoint
    from c11.log.entries import canonical_json, email_hash

    small = files.encrypt_bytes(b"hello fuzz", [me.public], snd, name="a.txt", media_type="text/plain")
    message = files.encrypt_message("meet at 5", [me.public], snd)
    _write("header", {"file.c11": small, "message.c11": armor.dearmor(message)})
    _write("file", {"file.c11": small, "message.asc": message.encode()})
    _write("armor", {"message.asc": message.encode(), "crlf.asc": message.replace("\n", "\r\n").encode()})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "proj"
        (root / "sub").mkdir(parents=True)
        (root / "a.txt").write_text("alpha")
        (root / "sub" / "b.txt").write_text("beta")
        out = Path(tmp) / "proj.c11.zip"
        files.encrypt_paths([root], out, [me.public], snd)
        _write("bundle", {"proj.c11.zip": out.read_bytes()})
    _write("keyfile", {"plain.key": keyfile.dumps(me, None), "public.txt": me.public.line().encode()})
    lines = f"# team\n{me.public.line()}\n\n{snd.public.line()}\n"
    _write("pubkey", {"line.txt": me.public.line().encode(), "recipients.txt": lines.encode()})
    cp = Checkpoint("fuzz.example/log", 5, bytes(range(32)), ("ext line",))
    _write("checkpoint", {"cp.txt": cp.to_text().encode()})
    _write("note", {"signed.txt": sign_checkpoint(cp, targets.LOG_SIGNER)})
    _write("note_key", {"vkey.txt": targets.LOG_VERIFIER.encode(), "skey.txt": targets.LOG_SIGNER.encode()})
    entry = {
        "action": "publish",
        "email_hash": email_hash("a@example.com"),
        "kind": "key",
        "public_key": me.public.line(),
        "time": "2026-11-27T10:00:00Z",
    }
    _write(
        "log_entry",
        {
            "publish.json": canonical_json(entry).encode(),
            "remove.json": canonical_json({**entry, "action": "remove", "public_key": None}).encode(),
        },
    )
    shards = cloudkey.make_shards(me, "user-fuzz", 2, 3)
    _write("shard", {"shard.bin": shards[0].encode(), "shard.txt": cloudkey.armor(shards[1]).encode()})
    group = Identity("group:finance", "x25519", bytes(32), bytes([1]) * 32)
    _write("group_key", {"wrap.json": groupkey.encode(group, groupkey.GroupKeyRef(*targets.GROUP_REF))})
    server_key = Identity.generate("keyserver").public
    seal = online.make(
        "https://keys.example",
        server_key,
        email_hash("a@example.com"),
        [online.PolicyRecipient(email_hash("b@example.com"), me.public.fingerprint)],
        1_900_000_000,
        doc_id=uuid.UUID(int=7).bytes,
    )
    _write("online_policy", {"stanza.bin": seal.stanza.body})


def _image(fmt: str) -> bytes:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (24, 16), (250, 250, 240))
    ImageDraw.Draw(im).rectangle((3, 3, 12, 12), fill=(200, 20, 20))
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def _indoc(me, snd) -> None:
    from media_corpus import reportlab_pdf
    from officekit import make_docx, make_xlsx

    from c11.indoc import api

    docs: dict[str, tuple[bytes, list[str]]] = {
        "json": (json.dumps({"name": "a", "ssn": "123", "list": [1, {"x": "y"}]}, indent=2).encode(), ["path:/ssn"]),
        "yaml": (b"name: a\nssn: '123'\nitems:\n  - x: 1\n", ["path:/ssn"]),
        "csv": (b"name,ssn\r\nalice,123\r\nbob,456\r\n", ["column:ssn"]),
        "md": (b"# Title\n\nPublic.\n\n## Salary\n\nSECRET 123\n\n## Other\n\ntext\n", ["heading:Salary"]),
        "png": (_image("PNG"), ["region:1:2,2,10,10"]),
        "jpeg": (_image("JPEG"), ["region:1:2,2,10,10"]),
        "pdf": (reportlab_pdf(), ["page:1"]),
    }
    with tempfile.TemporaryDirectory() as tmp:
        docs["docx"] = (make_docx(Path(tmp) / "r.docx").read_bytes(), ["heading:Salary"])
        docs["xlsx"] = (make_xlsx(Path(tmp) / "p.xlsx").read_bytes(), ["column:Salary"])
    envelope = b""
    for kind, (original, selectors) in docs.items():
        protected = api.protect_document(original, selectors, [me.public], snd, note="fuzz", format="." + kind)
        _write(f"indoc_{kind}", {f"protected.{kind}": protected, f"original.{kind}": original})
        if kind == "json":
            envelope = api.read_envelope(protected, format=".json").to_json()
    _write("parts_envelope", {"envelope.json": envelope})


def main() -> None:
    me, snd = targets.identity(), targets.sender()
    _core(me, snd)
    _indoc(me, snd)
    for name in targets.TARGETS:
        files = targets.corpus(name)
        assert files, f"no seeds for {name}"
        print(f"{name}: {len(files)} seeds, {sum(p.stat().st_size for p in files)} bytes")


if __name__ == "__main__":
    main()
