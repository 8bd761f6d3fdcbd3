"""The protector run by a member of an organization on a real server: every protected object also gets the
organization's recovery key (the SDK's organization rules, as `c11 encrypt`), recipients named by email resolve
through the verified registry, and each protection is a `protect` usage event the organization's admin sees."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "groups"))
from grpkit import make_org, ok, person  # noqa: E402
from srvkit import RunningServer, backend_server  # noqa: E402

from c11 import files  # noqa: E402
from c11.indoc import api  # noqa: E402


@pytest.fixture(scope="module", params=["sqlite"])
def org_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with backend_server(request, tmp_path_factory, "protector-org") as running:
        yield running


def test_member_run_adds_recovery_key_and_records_events(org_server: RunningServer, tmp_path: Path) -> None:
    alice, bob, carol = (person(org_server, tmp_path, t) for t in ("alice", "bob", "carol"))
    name = f"Protco-{tmp_path.name[-6:]}"
    make_org(org_server, name, alice, [bob])
    rec = tmp_path / "rec.key"
    ok(alice.run("org", "recovery-key", "create", "-o", str(rec), "--no-passphrase"))
    rec_fp = json.loads(rec.read_text())["fingerprint"]
    root = tmp_path / "share"
    root.mkdir()
    (root / "pay.txt").write_bytes(b"card 4111 1111 1111 1111\n")
    (root / "staff.md").write_bytes(b"# Staff\n\nBob: 123-45-6789\n")
    rules = tmp_path / "rules.toml"
    rules.write_text(
        f'[[rules]]\nname = "md"\npaths = ["*.md"]\naction = "protect-parts"\nrecipients = ["{carol.email}"]\n'
        f'[[rules]]\nname = "rest"\naction = "protect-file"\nrecipients = ["{carol.email}"]\n'
    )
    env = {"C11_PROTECTOR_DIR": str(tmp_path / "pd")}
    ok(bob.run("protector", "connect", "share", root.as_uri(), **env))
    with alice.client() as c:
        before = len(c.events.query(action="protect", limit=1000).events)
    r = ok(bob.run("protector", "run", "share", "--rules", str(rules), "--json", **env))
    assert json.loads(r.stdout)["counts"] == {"protected": 2}
    whole = {x["fingerprint"] for x in files.inspect(root / "pay.txt.c11").recipients}
    with bob.client() as c:
        carol_fp = c.registry.lookup(carol.email).fingerprint
    assert {rec_fp, carol_fp} <= whole  # the organization's recovery key, always
    groups = api.inspect_document(root / "staff.md")["groups"]
    assert groups and all({rec_fp, carol_fp} <= {x["fingerprint"] for x in g["recipients"]} for g in groups)
    # the recovery key opens what the protector protected (the organization can always recover)
    ok(alice.run("decrypt", "-i", str(rec), "-o", str(tmp_path / "pay.out"), str(root / "pay.txt.c11")))
    assert (tmp_path / "pay.out").read_bytes() == b"card 4111 1111 1111 1111\n"
    # each protection is a usage event of the organization, by bob, with no file name or content in it
    with alice.client() as c:
        events = c.events.query(action="protect", limit=1000).events
    new = events[: len(events) - before]
    assert len(new) == 2 and {e.actor for e in new} == {bob.email}
    dumped = json.dumps([e.to_json() for e in new])
    assert "pay.txt" not in dumped and "staff" not in dumped and "4111" not in dumped
