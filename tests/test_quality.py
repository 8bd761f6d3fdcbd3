"""Quality gates: mypy in strict mode ([tool.mypy] in pyproject.toml) on the typed packages.

The packages listed in `STRICT` must type-check with no error; a new untyped function, a missing
generic parameter or an unchecked `Any` return in them fails the suite. mypy keeps its cache under
.mypy_cache, so a run after the first takes a few seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: the packages held to `mypy --strict` (issue 13 item 8): the core, the in-document SDK, the clients
STRICT = [
    "c11.format",
    "c11.crypto",
    "c11.keys",
    "c11.log",
    "c11._internal",
    "c11.errors",
    "c11.indoc",
    "c11.client",
    "c11._web",
    "c11.notify",
    "c11.desktop",
    "c11.enterprise",
    "c11.protector",
]


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_mypy_strict_core_and_indoc() -> None:
    args = [a for pkg in STRICT for a in ("-p", pkg)]
    r = _mypy("--config-file", str(ROOT / "pyproject.toml"), *args)
    assert r.returncode == 0, f"mypy --strict found errors:\n{r.stdout}{r.stderr}"
    assert "Success: no issues found" in r.stdout


def test_mypy_config_is_strict() -> None:
    """The gate is real: the same configuration reports an untyped function."""
    r = _mypy(
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "--cache-dir",
        os.devnull,
        "-c",
        "def untyped(x):\n    return x\n",
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "no-untyped-def" in r.stdout


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_format_and_lint() -> None:
    """`ruff format` leaves every Python file as it is, and `ruff check` ([tool.ruff] in pyproject.toml) finds
    nothing: run `ruff format . && ruff check --fix .` before committing."""
    fmt = _ruff("format", "--check", "--no-cache", ".")
    assert fmt.returncode == 0, f"ruff format would change these files:\n{fmt.stdout}{fmt.stderr}"
    lint = _ruff("check", "--no-cache", "--output-format", "concise", ".")
    assert lint.returncode == 0, f"ruff check:\n{lint.stdout}{lint.stderr}"


def test_ruff_gate_is_real(tmp_path: Path) -> None:
    """The same configuration flags an unused import and a badly formatted line."""
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nx = {  'a':1 }\n")
    cfg = ("--config", str(ROOT / "pyproject.toml"))
    assert _ruff("check", "--no-cache", *cfg, str(bad)).returncode == 1
    assert _ruff("format", "--check", "--no-cache", *cfg, str(bad)).returncode == 1
