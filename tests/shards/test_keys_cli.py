"""`c11 login` makes a cloud-stored key by default, `c11 decrypt` without -i rebuilds it on any device,
`c11 keys status|replace` show and switch the kind of key; files made before each switch still open."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import sqlalchemy as sa
from srvkit import PASSWORD, confirm_email, new_email, outbox_message, run_cli, verification_link

from c11.client import Client


def _signup(server) -> str:
    email = new_email("cli")
    with Client(server.url) as c:
        c.signup(email, PASSWORD)
    confirm_email(verification_link(outbox_message(server.data_dir, email)))
    return email


def _ok(args: list[str], cfg: Path, **kw) -> str:
    r = run_cli(args, cfg, {"C11_PASSWORD": PASSWORD}, **kw)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    return r.stdout + r.stderr


def _keys_status(cfg: Path) -> dict:
    r = run_cli(["keys", "status", "--json"], cfg)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_first_login_cloud_key_second_device_and_replace(shard_env, tmp_path):
    env = shard_env
    server = env.server
    email = _signup(server)
    dev1, dev2 = tmp_path / "dev1", tmp_path / "dev2"
    out = _ok(["login", "--server", server.url, "--email", email], dev1)
    assert "created your cloud-stored key" in out and "published your key" in out
    recovery = list((dev1 / "recovery").glob("c11_recovery_*.shard"))
    assert len(recovery) == 1 and stat.S_IMODE(recovery[0].stat().st_mode) == 0o600
    assert "OFFLINE" in out
    assert not list(dev1.rglob("*.key")), "a cloud-stored key is never written to disk"
    st = _keys_status(dev1)
    k1 = st["fingerprint"]
    assert st["kind"] == "cloud" and st["published"] == k1
    assert [s["where"] for s in st["shards"]] == ["server", "store", "recovery"]
    assert st["shards"][1]["url"] == env.stores[0].url
    human = _ok(["keys", "show"], dev1)
    assert "cloud-stored" in human and env.stores[0].url in human

    plain = tmp_path / "one.txt"
    plain.write_text("encrypted to the first, cloud-stored key")
    _ok(["encrypt", "-r", email, "-o", str(tmp_path / "one.txt.c11"), str(plain)], dev1)  # signed by the cloud key

    # a second device with only the login
    out = _ok(["login", "--server", server.url, "--email", email], dev2)
    assert "cloud-stored" in out and "created" not in out
    _ok(["decrypt", "-o", str(tmp_path / "one.dev2"), str(tmp_path / "one.txt.c11")], dev2)
    assert (tmp_path / "one.dev2").read_text() == plain.read_text()
    assert not list(dev2.rglob("*.key")) and not (dev2 / "recovery").exists()

    # to a device key: the key file is written, the shards are deleted, the new key published
    out = _ok(["keys", "replace", "--device", "--json"], dev1)
    result = json.loads(out[out.index("{") : out.rindex("}") + 1])
    k2 = result["new"]
    assert result["old"] == k1 and result["kind"] == "device"
    key_file = Path(result["key_file"])
    assert key_file.name == f"c11_key_{k2[:16]}.key" and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    st = _keys_status(dev1)
    assert st["kind"] == "device" and st["fingerprint"] is None and st["shards"] == []
    assert st["published"] == k2 and st["archive"] == k2
    store_db = sa.create_engine(f"sqlite:///{env.stores[0].data_dir / 'shard-store.db'}")
    with store_db.connect() as c:  # nothing left at the store either
        assert c.execute(sa.text("SELECT count(*) FROM shards WHERE fingerprint = :f"), {"f": k1}).scalar() == 0
    store_db.dispose()
    _ok(["decrypt", "-o", str(tmp_path / "one.after-device"), str(tmp_path / "one.txt.c11")], dev1)
    assert (tmp_path / "one.after-device").read_text() == plain.read_text()

    two = tmp_path / "two.txt"
    two.write_text("encrypted to the device key")
    _ok(["encrypt", "-r", email, "-o", str(tmp_path / "two.txt.c11"), str(two)], dev1)

    # back to a cloud-stored key: both older files still open, here and on the second device
    out = _ok(["keys", "replace", "--cloud", "--json", "-o", str(tmp_path / "recovery3.shard")], dev1)
    result = json.loads(out[out.index("{") : out.rindex("}") + 1])
    k3 = result["new"]
    assert result["old"] == k2 and (tmp_path / "recovery3.shard").exists()
    assert not list((dev1 / "keys").glob("*.key")) and (dev1 / "keys" / "replaced" / key_file.name).exists()
    st = _keys_status(dev1)
    assert st["kind"] == "cloud" and st["fingerprint"] == k3 == st["published"] and st["archive"] == k3
    for device in (dev1, dev2):
        for name, text in (("one", plain.read_text()), ("two", two.read_text())):
            target = tmp_path / f"{name}.{device.name}.final"
            _ok(["decrypt", "-o", str(target), str(tmp_path / f"{name}.txt.c11")], device)
            assert target.read_text() == text
    assert len({k1, k2, k3}) == 3


def test_login_device_flag_and_errors(shard_env, tmp_path):
    server = shard_env.server
    email = _signup(server)
    cfg = tmp_path / "cfg"
    out = _ok(["login", "--server", server.url, "--email", email, "--device"], cfg)
    assert "created your key" in out and len(list((cfg / "keys").glob("c11_key_*.key"))) == 1
    assert _keys_status(cfg)["kind"] == "device"
    old_key = next((cfg / "keys").glob("c11_key_*.key"))
    plain = tmp_path / "p.txt"
    plain.write_text("for the first device key")
    _ok(["encrypt", "-r", email, "-o", str(tmp_path / "p.txt.c11"), str(plain)], cfg)
    _ok(["keys", "replace", "--device"], cfg)  # device to device: the old key file moves aside
    assert len(list((cfg / "keys").glob("c11_key_*.key"))) == 1 and (cfg / "keys" / "replaced" / old_key.name).exists()
    assert not old_key.exists()
    _ok(["decrypt", "-o", str(tmp_path / "p.out"), str(tmp_path / "p.txt.c11")], cfg)  # through the archive
    assert (tmp_path / "p.out").read_text() == plain.read_text()
    r = run_cli(["keys", "replace"], cfg)
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "--device or --cloud" in r.stderr
    r = run_cli(["keys", "replace", "--device", "--cloud"], cfg)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    r = run_cli(["decrypt", str(tmp_path / "nothing.c11")], tmp_path / "empty")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "shard" in run_cli(["keys", "--help"], cfg).stdout
