"""The public SDK's entry modules open with a runnable example, and those examples run (doctest); `import c11`
stays light (no HTTP, server or document code until used)."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest

PUBLIC = ["c11", "c11.files", "c11.documents"]


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
    code = ("import sys, c11\n"
            "heavy = [m for m in ('httpx', 'fastapi', 'sqlalchemy', 'c11.client', 'c11.indoc') if m in sys.modules]\n"
            "assert not heavy, heavy\n"
            "assert c11.Client.__module__ == 'c11.client.client'\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
