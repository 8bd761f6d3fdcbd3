"""SDK error messages name no CLI option (a front end adds its own hint: the CLI's are in cli/_errors.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest

from c11.errors import OnlinePolicyError, UsageError

SRC = Path(__file__).resolve().parents[2] / "src" / "c11"
# The local SDK and the core (services speak to operators and people, and may name commands).
SDK = [
    "files.py",
    "_container.py",
    "rewrap.py",
    "online.py",
    "documents.py",
    "groupkey.py",
    "orgrules.py",
    "errors.py",
    "format",
    "keys",
    "crypto",
    "log",
    "_internal",
    "client/client.py",
]
_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])(?=[\s/,)]|$)")


def _raised_texts(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            for arg in node.exc.args:
                for sub in ast.walk(arg):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                        out.append((node.lineno, sub.value))
    return out


def test_sdk_messages_name_no_cli_option():
    files = [p for name in SDK for p in ([SRC / name] if name.endswith(".py") else sorted((SRC / name).rglob("*.py")))]
    found = [
        f"{p.relative_to(SRC)}:{line}: {text!r}"
        for p in files
        for line, text in _raised_texts(p)
        if _OPTION.search(text)
    ]
    assert found == []


def test_the_pattern_sees_options():
    assert _OPTION.search("name it with -o NAME.c11.zip") and _OPTION.search("(use --force to overwrite)")
    assert not _OPTION.search("c11-parts/v2 and UTF-8, x-y")


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (
            UsageError("cannot choose an output name for x", reason="name-the-output"),
            "c11: error: cannot choose an output name for x: use -o",
        ),
        (
            OnlinePolicyError("no release", server="https://ks.example"),
            "c11: error: no release (log in to it: `c11 login --server https://ks.example`)",
        ),
        (UsageError("plain"), "c11: error: plain"),
    ],
)
def test_cli_adds_its_hint(error, shown, capsys):
    from c11.cli import _errors

    @click.group()
    def group() -> None:
        pass

    @group.command()
    def fail() -> None:
        raise error

    assert _errors.run(group, ["fail"]) == error.exit_code
    assert capsys.readouterr().err.strip() == shown
