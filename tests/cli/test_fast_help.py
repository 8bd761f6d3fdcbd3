"""`c11 --help` is printed without Click (c11.cli._fast, issue 17's start-up target): the text, the exit status and
the streams must be exactly what the Click group prints, at every terminal width, so the two cannot drift."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from c11.cli import _fast
from c11.cli._errors import run
from c11.cli.main import COMMANDS, GROUP_HELP, _cli, main


@pytest.mark.parametrize("args", [["--help"], ["-h"]])
def test_fast_help_equals_clicks_at_every_width(args, capsys, monkeypatch):
    served = 0
    for columns in range(20, 121):
        monkeypatch.setenv("COLUMNS", str(columns))
        assert run(_cli(), list(args)) == 0
        click_out = capsys.readouterr()
        status = _fast.serve_help(list(args), COMMANDS, GROUP_HELP)
        fast_out = capsys.readouterr()
        if status is None:  # not rendered here (Click could wrap differently): nothing printed, Click will do it
            assert fast_out.out == fast_out.err == ""
            continue
        served += 1
        assert status == 0
        assert fast_out.out == click_out.out, columns
        assert fast_out.err == click_out.err == ""
    assert served > 50  # the fast path is not a dead branch


def test_fast_help_serves_the_default_width_and_leaves_other_arguments_to_click(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # a pipe, or an 80-column terminal or wider: Click's width 78
    assert _fast.top_help(COMMANDS, GROUP_HELP, _fast.width()) is not None
    for args in (["--help", "encrypt"], ["encrypt", "--help"], ["--version"], [], ["-h", "-h"]):
        assert _fast.serve_help(args, COMMANDS, GROUP_HELP) is None
    assert capsys.readouterr().out == ""
    assert main(["--version"]) == 0
    assert "c11, version" in capsys.readouterr().out


def test_fast_help_declines_what_it_cannot_render_exactly():
    assert _fast.top_help({"x": ("m", "a", "y" * 200)}, GROUP_HELP, 78) is None  # a word longer than a line
    words = "word " * 12 + "cloud-stored keys"  # a hyphenated word at a line end: textwrap may split it
    assert _fast.top_help({"x": ("m", "a", words)}, GROUP_HELP, 70) is None
    assert _fast.top_help({"x": ("m", "a", "two  spaces")}, GROUP_HELP, 78) is None


def test_c11_help_imports_no_click(tmp_path):
    env = {**os.environ, "COLUMNS": "80"}
    fast = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "c11.cli.main", "--help"], env=env, capture_output=True, text=True
    )
    assert fast.returncode == 0
    assert not [line for line in fast.stderr.splitlines() if line.split("|")[-1].strip().startswith("click")]
    code = (
        "import sys; from c11.cli._errors import run; from c11.cli.main import _cli; sys.exit(run(_cli(), ['--help']))"
    )
    slow = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert slow.returncode == 0 and slow.stdout == fast.stdout and "Commands:" in fast.stdout


@pytest.mark.parametrize("value", [None, "", "abc", "0", "-3", "1", "60", "79", "80", "200"])
def test_columns_are_shutils(value, monkeypatch):
    import shutil

    if value is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", value)
    assert _fast.columns() == shutil.get_terminal_size().columns
