"""What an encrypting client makes of the server's answer about its organization: only the server's own
"not a member" (403 `not-a-member`) means no organization; any other refusal (a proxy, a half-upgraded server, an
attacker on the path answering 403 or 404) is an error, never cached as "no organization" (which would drop the
recovery keys from every later encryption)."""

from __future__ import annotations

import httpx
import pytest

from c11.client._http import HttpCore
from c11.client.recovery import org_context
from c11.errors import AuthError, ServerError

PROBLEM = "application/problem+json"


def _core(status: int, body: dict) -> HttpCore:
    """A client whose every request gets this answer: what someone on the path could send."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, json=body, headers={"content-type": PROBLEM if status >= 400 else "application/json"}
        )

    return HttpCore("https://c11.example.com", "c11s_token", transport=httpx.MockTransport(answer))


def test_only_the_servers_not_a_member_means_no_organization():
    core = _core(403, {"type": "https://c11.dev/problems/not-a-member", "title": "Forbidden", "status": 403})
    assert org_context(core) is None


@pytest.mark.parametrize(
    "status,kind",
    [(403, "forbidden"), (403, "about:blank"), (404, "not-found"), (404, "about:blank"), (502, "bad-gateway")],
)
def test_any_other_refusal_is_an_error(status: int, kind: str):
    core = _core(status, {"type": kind, "title": "No", "status": status})
    with pytest.raises((AuthError, ServerError)):
        org_context(core)
