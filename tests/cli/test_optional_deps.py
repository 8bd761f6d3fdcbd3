"""A person who installs only `c11` (no extras) can make keys, encrypt, open and inspect files; commands that need
an extra say which one to install, in one line, with no traceback.

The extras' modules are made unimportable in a child process (None in sys.modules: what Python does when a
package is absent), so this runs against the real CLI without a second virtual environment.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from c11.cli._errors import _OPTIONAL

ROOT = Path(__file__).resolve().parents[2]
#: the top-level modules the CLI maps to an extra: made unimportable here
ABSENT = tuple(_OPTIONAL)
_RUN = (
    "import sys; sys.modules.update(dict.fromkeys({absent!r})); "
    "from c11.cli.main import main; sys.exit(main(sys.argv[1:]))"
)


def c11_without_extras(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("C11_")}
    env.update(
        C11_PASSPHRASE="correct horse battery staple", C11_CONFIG_DIR=str(cwd / "cfg"), PYTHONPATH=str(ROOT / "src")
    )
    return subprocess.run(
        [sys.executable, "-c", _RUN.format(absent=ABSENT), *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_extras_are_declared_and_base_installs_none_of_them():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"]).lower()
    for name in ("fastapi", "sqlalchemy", "psycopg", "pikepdf", "lxml", "msal", "pillow"):
        assert name not in base
    extras = project["optional-dependencies"]
    assert {"server", "documents", "all"} <= set(extras)
    assert "version" in project["dynamic"] and "version" not in project  # one place: c11.__version__


def test_every_package_of_an_extra_is_named_by_its_modules():
    """Each distribution of the `server` and `documents` extras has its top-level modules in the CLI's map, under
    that extra: a command failing for want of it names the right extra."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    modules_of: dict[str, set[str]] = {}
    for module, dists in importlib.metadata.packages_distributions().items():
        for d in dists:
            modules_of.setdefault(re.sub(r"[-_.]+", "-", d).lower(), set()).add(module)
    for extra in ("server", "documents"):
        for requirement in extras[extra]:
            name = re.sub(r"[-_.]+", "-", re.split(r"[\[<>=;! ]", requirement, maxsplit=1)[0]).lower()
            mapped = {m for m in modules_of.get(name, set()) if m in _OPTIONAL}
            assert mapped and all(_OPTIONAL[m] == extra for m in mapped), (extra, requirement)


def test_files_work_without_the_server_and_documents_extras(tmp_path: Path):
    made = c11_without_extras(["keygen", "--label", "ann@example.com", "-o", "ann.key"], tmp_path)
    assert made.returncode == 0, made.stderr
    (tmp_path / "note.txt").write_text("only files, no server\n")
    pub = c11_without_extras(["pubkey", "ann.key"], tmp_path).stdout.strip()
    enc = c11_without_extras(["encrypt", "-i", "ann.key", "-r", pub, "-o", "note.txt.c11", "note.txt"], tmp_path)
    assert enc.returncode == 0, enc.stderr
    shown = c11_without_extras(["inspect", "note.txt.c11"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    dec = c11_without_extras(["decrypt", "-i", "ann.key", "-o", "-", "note.txt.c11"], tmp_path)
    assert dec.returncode == 0 and dec.stdout == "only files, no server\n", dec.stderr


def test_a_command_needing_an_extra_names_it(tmp_path: Path):
    served = c11_without_extras(["serve", "--port", "0"], tmp_path)
    assert served.returncode == 2 and "Traceback" not in served.stderr
    assert "pip install 'c11[server]'" in served.stderr and len(served.stderr.strip().splitlines()) == 1
    (tmp_path / "doc.json").write_text('{"salary": 1}')
    assert c11_without_extras(["keygen", "-o", "k.key"], tmp_path).returncode == 0
    pub = c11_without_extras(["pubkey", "k.key"], tmp_path).stdout.strip()
    prot = c11_without_extras(["protect", "-i", "k.key", "-r", pub, "--match", "salary", "doc.json"], tmp_path)
    assert prot.returncode == 2 and "Traceback" not in prot.stderr
    assert "pip install 'c11[documents]'" in prot.stderr and len(prot.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("doc*.c11*")) and (tmp_path / "doc.json").read_text() == '{"salary": 1}'
