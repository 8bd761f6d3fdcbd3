"""`c11 org events` through the real CLI against the real server (SQLite and PostgreSQL): the table, --json,
--daily, --csv [-o FILE], filters and durations, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from evkit import append_admin, make_org, verified
from srvkit import run_cli

from c11.log.entries import email_hash


@pytest.fixture(scope="module")
def setup(ev_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    admin, bob = verified(ev_server, "cliadmin", tmp), verified(ev_server, "clibob", tmp)
    org = make_org(ev_server, f"CLI-{uuid.uuid4().hex[:6]}", admin.email, [bob.email])
    bob.client.registry.publish(bob.identity)
    bob.client.policies.record([{"email": admin.email}])
    for i in range(3):
        append_admin(ev_server, org, f"group.op{i}", email_hash(admin.email), email_hash(bob.email))
    yield {"admin": admin, "bob": bob, "tmp": tmp}
    admin.client.close()
    bob.client.close()


def _run(ev_server, person, tmp, *args):
    return run_cli(["org", "events", *args], tmp / "cfg", {"C11_SERVER": ev_server.url, "C11_TOKEN": person.token})


def test_table_json_and_filters(ev_server, setup):
    admin, bob, tmp = setup["admin"], setup["bob"], setup["tmp"]
    r = _run(ev_server, admin, tmp)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["TIME", "(UTC)", "ACTION", "WHO", "DOCUMENT", "TARGET", "LOG"]
    assert len(lines) == 1 + 5 and "admin" in r.stdout and bob.email in r.stdout and "key_change" in r.stdout
    r = _run(ev_server, admin, tmp, "--user", bob.email, "--since", "30d", "--json")
    assert r.returncode == 0, r.stderr
    items = json.loads(r.stdout)
    assert {e["action"] for e in items} == {"key_change", "protect"} and {e["actor"] for e in items} == {bob.email}
    r = _run(ev_server, admin, tmp, "--action", "admin", "--limit", "2", "--json")
    items = json.loads(r.stdout)
    assert [e["detail"]["op"] for e in items] == ["group.op2", "group.op1"]
    assert all(e["target_email"] == bob.email for e in items)
    r = _run(ev_server, admin, tmp, "--until", "2000-01-01")
    assert r.returncode == 0 and r.stdout == "" and "no events" in r.stderr


def test_daily_and_csv(ev_server, setup):
    admin, tmp = setup["admin"], setup["tmp"]
    r = _run(ev_server, admin, tmp, "--daily", "--json")
    assert r.returncode == 0, r.stderr
    days = json.loads(r.stdout)
    assert len(days) == 1 and days[0]["total"] == 5 and days[0]["counts"] == {"admin": 3, "key_change": 1, "protect": 1}
    r = _run(ev_server, admin, tmp, "--daily")
    assert r.returncode == 0 and "admin 3, key_change 1, protect 1" in r.stdout
    r = _run(ev_server, admin, tmp, "--csv")
    rows = list(csv.reader(io.StringIO(r.stdout, newline="")))
    assert rows[0][:3] == ["index", "time", "action"] and len(rows) == 6
    out = tmp / "events.csv"
    r = _run(ev_server, admin, tmp, "--csv", "--action", "admin", "-o", str(out))
    assert r.returncode == 0 and "wrote" in r.stderr
    rows = list(csv.reader(io.StringIO(out.read_text(), newline="")))
    assert len(rows) == 4 and {x[2] for x in rows[1:]} == {"admin"}


def test_errors_are_one_line(ev_server, setup):
    admin, bob, tmp = setup["admin"], setup["bob"], setup["tmp"]
    r = _run(ev_server, bob, tmp)
    assert r.returncode != 0 and "read:events-org" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    for args, needle in (
        (["--since", "last week"], "--since"),
        (["--until", "soon"], "--until"),
        (["-o", "x.csv"], "--csv"),
        (["--action", "fly"], "fly"),
    ):
        r = _run(ev_server, admin, tmp, *args)
        assert r.returncode != 0 and needle in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    r = run_cli(["org", "events", "--help"], tmp / "cfg")
    assert r.returncode == 0 and "read:events-org" in r.stdout and "--csv" in r.stdout
