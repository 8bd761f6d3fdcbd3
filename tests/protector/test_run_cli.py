"""`c11 protector run`, `watch` and `status` on a folder, in-process (the embedded default: SQLite, no broker)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from c11 import files
from c11.keys import keyfile
from c11.keys.identity import Identity


def _c11(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "c11.cli.main", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_run_dry_run_then_protect_then_watch(tmp_path: Path) -> None:
    me, bob = Identity.generate("protector@example.com"), Identity.generate("bob@example.com")
    keyfile.write(tmp_path / "p.key", me, "pw")
    root = tmp_path / "share"
    (root / "hr").mkdir(parents=True)
    (root / "hr" / "pay.txt").write_bytes(b"card 4111 1111 1111 1111 exp 12/29\n")
    (root / "hr" / "staff.csv").write_bytes(b"name,ssn\nbob,123-45-6789\n")
    (root / "readme.txt").write_bytes(b"nothing to see\n")
    rules = tmp_path / "rules.toml"
    rules.write_text(
        "[[rules]]\n"
        'name = "tables"\npaths = ["*.csv"]\naction = "protect-parts"\n'
        f'recipients = ["{bob.public.line()}"]\n'
        "[[rules]]\n"
        'name = "cards"\ndetectors = ["payment_card"]\naction = "protect-file"\n'
        f'recipients = ["{bob.public.line()}"]\n'
    )
    env = {
        **os.environ,
        "C11_PROTECTOR_DIR": str(tmp_path / "pd"),
        "C11_IDENTITY": str(tmp_path / "p.key"),
        "C11_PASSPHRASE": "pw",
    }
    assert _c11(["protector", "connect", "share", root.as_uri()], env).returncode == 0
    dry = _c11(["protector", "run", "share", "--rules", str(rules), "--dry-run", "--json"], env)
    assert dry.returncode == 0, dry.stderr
    out = json.loads(dry.stdout)
    assert out["counts"] == {"would-protect": 2, "skipped": 1}
    assert {(i["key"], i["action"]) for i in out["items"]} == {
        ("hr/pay.txt", "protect-file"),
        ("hr/staff.csv", "protect-parts"),
    }
    assert "4111" not in dry.stdout and "6789" not in dry.stdout  # never the matched values
    assert (root / "hr" / "pay.txt").exists()

    done = _c11(["protector", "run", "share", "--rules", str(rules), "--json"], env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"] == {"protected": 2, "skipped": 1}
    assert sorted(p.name for p in (root / "hr").iterdir()) == ["pay.txt.c11", "staff.csv"]
    assert files.decrypt_bytes((root / "hr/pay.txt.c11").read_bytes(), [bob]).plaintext.startswith(b"card 4111")
    assert b"123-45-6789" not in (root / "hr/staff.csv").read_bytes()

    # watch: only the new file is looked at; the protected ones are not protected again
    (root / "hr" / "new.txt").write_bytes(b"visa 4012888888881881\n")
    watched = _c11(["protector", "watch", "share", "--rules", str(rules), "--once", "--json"], env)
    assert watched.returncode == 0, watched.stderr
    w = json.loads(watched.stdout)
    assert w["objects"] == 1 and w["counts"] == {"protected": 1}
    assert (root / "hr" / "new.txt.c11").exists() and not (root / "hr" / "new.txt").exists()
    again = json.loads(_c11(["protector", "run", "share", "--rules", str(rules), "--json"], env).stdout)
    assert again["counts"] == {"unchanged": 2}  # readme.txt and staff.csv; the .c11 files are the protector's own
    status = json.loads(_c11(["protector", "status", "share", "--json"], env).stdout)
    assert status["counts"] == {"protected": 3, "skipped": 1}


def test_run_errors_are_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "C11_PROTECTOR_DIR": str(tmp_path / "pd")}
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nname = "x"\naction = "protect-file"\n')
    r = _c11(["protector", "run", "nosuch", "--rules", str(bad)], env)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "needs recipients" in r.stderr
    r = _c11(["protector", "run", "nosuch"], env)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "--rules" in r.stderr
    r = _c11(["protector", "worker", "--queue", "postgresql://db/q", "--state", "sqlite:////tmp/s.db"], env)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "state database" in r.stderr
