"""Bundles: folders and several files in one .c11.zip; hostile bundles refused."""

import hashlib
import io
import json
import os
import struct
import zipfile

import pytest

from c11 import files
from c11.errors import BundleError, C11Error, IntegrityError, OutputExistsError
from c11.format import bundle as B
from c11.format import content, envelope, stream


def make_tree(root):
    (root / "docs" / "deep" / "er").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "a.txt").write_bytes(b"alpha")
    (root / "docs" / "secret-name.pdf").write_bytes(os.urandom(70_000))
    (root / "docs" / "deep" / "er" / "z.bin").write_bytes(b"")
    (root / "docs" / "ünïcode ☃.md").write_text("snow")
    return root


def tree(root):
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def test_folder_round_trip(tmp_path, alice, bob):
    src = make_tree(tmp_path / "proj")
    out = tmp_path / "proj.c11.zip"
    info = files.encrypt_paths([src], out, [bob.public], alice)
    assert info.kind == "bundle" and info.entries == 4
    raw = out.read_bytes()
    assert b"secret-name" not in raw and b"docs" not in raw and b"alpha" not in raw
    names = zipfile.ZipFile(out).namelist()
    assert set(names) >= {"c11-bundle", "manifest.c11"}
    res = files.decrypt_path(out, tmp_path / "restored", [bob])
    assert tree(tmp_path / "restored") == tree(src)
    assert res.info.signature_valid and res.info.sender == "alice@example.com"
    with pytest.raises(OutputExistsError):
        files.decrypt_path(out, tmp_path / "restored", [bob])


def test_several_files(tmp_path, alice, bob):
    (tmp_path / "x.txt").write_text("x")
    (tmp_path / "y.txt").write_text("y")
    out = tmp_path / "b.c11.zip"
    files.encrypt_paths([tmp_path / "x.txt", tmp_path / "y.txt"], out, [bob.public], alice)
    files.decrypt_path(out, None, [bob])
    assert tree(tmp_path / "b") == {"x.txt": b"x", "y.txt": b"y"}


def _rebuild(src, dst, mutate_members=None, manifest=None, identity=None):
    """Copy a bundle, optionally changing its zip members or re-sealing a forged manifest."""
    zin = zipfile.ZipFile(src)
    members = {i.filename: zin.read(i) for i in zin.infolist()}
    if manifest is not None:
        reader = B.BundleReader(open(src, "rb"))
        fk, _ = files.open_header(reader.header, [identity])
        body = io.BytesIO()
        body.write(reader.header.encode())
        hashes = bytearray()
        stream.encrypt(
            envelope.payload_key(reader.header, fk),
            io.BytesIO(json.dumps(manifest).encode()),
            body,
            reader.header.segment_size,
            hashes=hashes,
        )
        # signed by `identity` as if it were the author (a co-recipient's signature does not verify)
        body.write(
            bytes(hashes)
            + struct.pack(">Q", len(hashes) // 32)
            + identity.sign(content.statement(reader.header, len(hashes) // 32, hashlib.sha256(hashes).digest()))
        )
        members["manifest.c11"] = body.getvalue()
    if mutate_members:
        mutate_members(members)
    with zipfile.ZipFile(dst, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return dst


def _manifest(path, identity):
    reader = B.BundleReader(open(path, "rb"))
    fk, _ = files.open_header(reader.header, [identity])
    return reader, reader.read_manifest(fk)


@pytest.mark.parametrize("evil", ["../evil", "/abs", "a/../../b", "a//b", "C:/x", "a\\..\\b", "./a", "a/\x00b"])
def test_hostile_paths_refused(tmp_path, alice, bob, evil):
    src = tmp_path / "one"
    src.mkdir()
    (src / "f.txt").write_text("f")
    out = tmp_path / "one.c11.zip"
    files.encrypt_paths([src], out, [bob.public], alice)
    _, entries = _manifest(out, bob)
    m = {"format": B.FORMAT, "entries": [B._entry_json(e) for e in entries]}
    m["entries"][0]["path"] = evil
    bad = _rebuild(out, tmp_path / "bad.c11.zip", manifest=m, identity=alice)  # a hostile author
    with pytest.raises(BundleError):
        files.decrypt_path(bad, tmp_path / "o", [bob])
    assert not (tmp_path / "o").exists()
    assert not (tmp_path / "evil").exists()


def test_links_and_duplicates_refused(tmp_path, alice, bob):
    src = tmp_path / "two"
    src.mkdir()
    (src / "a").write_text("a")
    (src / "b").write_text("b")
    out = tmp_path / "two.c11.zip"
    files.encrypt_paths([src], out, [bob.public], alice)
    _, entries = _manifest(out, bob)
    base = [B._entry_json(e) for e in entries]
    dup = [dict(base[0]), dict(base[1])]
    dup[1]["path"] = dup[0]["path"]
    link = [dict(base[0], type="link"), base[1]]
    for m in (dup, link):
        bad = _rebuild(out, tmp_path / "bad.c11.zip", manifest={"format": B.FORMAT, "entries": m}, identity=alice)
        with pytest.raises(BundleError):
            files.decrypt_path(bad, tmp_path / "o", [bob])

    # a symlink attribute on a zip member is refused before anything is decrypted
    def add_link(members):
        members["e/" + "0" * 32] = b"x"

    bad = _rebuild(out, tmp_path / "bad2.c11.zip", add_link)
    with pytest.raises(BundleError):
        files.decrypt_path(bad, tmp_path / "o", [bob])


def test_swapped_or_removed_entries_refused(tmp_path, alice, bob):
    src = tmp_path / "s"
    src.mkdir()
    (src / "a").write_bytes(b"A" * 100)
    (src / "b").write_bytes(b"B" * 100)
    out = tmp_path / "s.c11.zip"
    files.encrypt_paths([src], out, [bob.public], alice)
    ids = [n for n in zipfile.ZipFile(out).namelist() if n.startswith("e/")]

    def swap(m):
        m[ids[0]], m[ids[1]] = m[ids[1]], m[ids[0]]

    with pytest.raises(IntegrityError):
        files.decrypt_path(_rebuild(out, tmp_path / "x1.c11.zip", swap), tmp_path / "o", [bob])

    def drop(m):
        del m[ids[0]]

    with pytest.raises(BundleError):
        files.decrypt_path(_rebuild(out, tmp_path / "x2.c11.zip", drop), tmp_path / "o", [bob])
    assert not (tmp_path / "o").exists()


def test_symlink_input_refused(tmp_path, alice, bob):
    src = tmp_path / "l"
    src.mkdir()
    (src / "target").write_text("t")
    (src / "link").symlink_to(src / "target")
    with pytest.raises(C11Error, match="symbolic link"):
        files.encrypt_paths([src], tmp_path / "l.c11.zip", [bob.public], alice)
    assert not (tmp_path / "l.c11.zip").exists()


def test_bundle_reencrypt_and_rotate(tmp_path, alice, bob, carol):
    src = make_tree(tmp_path / "p")
    out = tmp_path / "p.c11.zip"
    files.encrypt_paths([src], out, [bob.public], alice)
    files.reencrypt(out, alice, add=[carol.public])
    files.decrypt_path(out, tmp_path / "c", [carol])
    assert tree(tmp_path / "c") == tree(src)
    files.reencrypt(out, alice, remove=[bob.fingerprint[:10]], rotate=True)
    with pytest.raises(C11Error):
        files.decrypt_path(out, tmp_path / "b", [bob])
    files.decrypt_path(out, tmp_path / "c2", [carol])
    assert tree(tmp_path / "c2") == tree(src)
