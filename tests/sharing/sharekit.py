"""People for the sharing tests: a verified account and a CLI config dir whose `c11 login` made and published
their key (as tests/groups/grpkit.py does)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import accountkit
from srvkit import PASSWORD, RunningServer, run_cli


@dataclass
class Person:
    server: RunningServer
    email: str
    cfg: Path

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run_cli(list(args), self.cfg, {"C11_PASSWORD": PASSWORD, **env}, timeout=120)

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        r = self.run(*args)
        assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}"
        return r

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)

    def fails(self, *args: str) -> str:
        r = self.run(*args)
        assert r.returncode != 0, f"expected a failure: {r.stdout} {r.stderr}"
        assert "Traceback" not in r.stderr, r.stderr
        return r.stderr

    @property
    def token(self) -> str:
        return str(json.loads((self.cfg / "credentials.json").read_text())["token"])


def person(server: RunningServer, root: Path, tag: str) -> Person:
    addr = accountkit.signup(server, tag).email
    p = Person(server, addr, root / tag)
    p.ok("login", "--server", server.url, "--email", addr)
    return p
