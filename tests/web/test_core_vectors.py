"""Every committed vector under tests/vectors/ (format, spec, deterministic, group key wraps, Merkle RFC 6962)
and the C2SP signed-note/checkpoint vectors of tests/log/vectors/ run by the browser core
inside Debian's Chromium: each case must give its recorded outcome (plaintext hash, signer, or error class)."""

from __future__ import annotations

import pytest
from _harness import harness_page, merkle_files, serve_harness


@pytest.fixture(scope="module")
def results(chromium):  # type: ignore[no-untyped-def]
    with serve_harness() as base, harness_page(chromium, base) as page:
        return page.evaluate("([b, m]) => window.c11harness.runAll(b, m)", [base + "/vectors/", merkle_files()])


def test_every_vector_passes_in_the_browser(results) -> None:  # type: ignore[no-untyped-def]
    failed = [f"{r['group']} {r['name']}: {r['detail']}" for r in results if not r["ok"]]
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize(
    "group",
    [
        "deterministic",
        "files",
        "files-stream",
        "spec",
        "groups",
        "merkle-rfc6962",
        "checkpoints",
        "log-actor",
        "log-handover",
        "shares",
        "shares-v2",
        "orgrules",
        "orgpolicy",
        "groupkeylog",
        "requests",
    ],
)
def test_each_vector_group_ran(results, group: str) -> None:  # type: ignore[no-untyped-def]
    assert sum(r["group"] == group for r in results) >= {
        "shares": 6,
        "shares-v2": 20,
        "orgrules": 14,
        "orgpolicy": 19,
        "groupkeylog": 20,
        "requests": 18,
        "log-handover": 7,
    }.get(group, 5)


def test_vector_outcomes_include_refusals(results) -> None:  # type: ignore[no-untyped-def]
    """The harness is not a rubber stamp: many cases are expected errors, each matched by class."""
    refused = [r for r in results if r["group"] == "files" and r["detail"].startswith("expected ")]
    assert len(refused) >= 20
