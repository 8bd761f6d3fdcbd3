"""The public SDK's entry modules open with a runnable example, and those examples run (doctest); `import c11`
stays light (no HTTP, server or document code until used)."""

from __future__ import annotations

import doctest
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PUBLIC = ["c11", "c11.files", "c11.documents"]
README = Path(__file__).resolve().parents[2] / "README.md"
_PYTHON = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


@pytest.mark.parametrize("name", PUBLIC)
def test_module_opens_with_an_example_that_runs(name):
    module = importlib.import_module(name)
    assert ">>> " in (module.__doc__ or ""), f"{name}'s docstring has no example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    examples = 0
    for test in doctest.DocTestFinder().find(module, name):
        examples += len(test.examples)
        runner.run(test)
    assert examples >= 3
    assert runner.summarize(verbose=False).failed == 0


def test_a_wrong_example_would_fail():
    """The runner above reports a failing example (so the test could fail)."""
    parser = doctest.DocTestParser()
    test = parser.get_doctest(">>> 1 + 1\n3\n", {}, "wrong", None, 0)
    runner = doctest.DocTestRunner()
    runner.run(test, out=lambda _: None)
    assert runner.summarize(verbose=False).failed == 1


def test_import_c11_stays_light():
    code = (
        "import sys, c11\n"
        "heavy = [m for m in ('httpx', 'fastapi', 'sqlalchemy', 'c11.client', 'c11.indoc') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert c11.Client.__module__ == 'c11.client.client'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_readme_python_blocks_run(tmp_path):
    """README's "Using c11 from Python" blocks run in order in one namespace, in an empty folder; a block that
    needs a server is marked `<!-- readme-test: skip: REASON -->` just above it (as tests/cli/test_readme.py reads)."""
    text = README.read_text(encoding="utf-8")
    ran = skipped = 0
    namespace: dict = {"__name__": "readme"}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for m in _PYTHON.finditer(text):
            above = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            if re.search(r"<!--\s*readme-test:\s*skip:\s*\S.*-->", above):
                skipped += 1
                compile(m.group(1), "README.md", "exec")  # still valid Python
                continue
            line = text.count("\n", 0, m.start()) + 2
            exec(compile("\n" * (line - 1) + m.group(1), str(README), "exec"), namespace)
            ran += 1
    finally:
        os.chdir(cwd)
    assert ran >= 2 and skipped <= ran
