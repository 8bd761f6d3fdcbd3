"""The HTTP surface: health, index page, OpenAPI, and RFC 9457 problem details for every kind of error."""

from __future__ import annotations

from srvkit import anon, authed


def test_healthz_index_and_openapi(server):
    with anon(server) as h:
        assert h.get("/healthz").json()["status"] == "ok"
        page = h.get("/")  # the browser app, or how to build it (tests/web/test_app_serving.py)
        assert '<div id="app">' in page.text if page.status_code == 200 else "/docs" in page.text
        doc = h.get("/openapi.json").json()
        assert doc["info"]["title"] == "c11" and "/api/v1/tokens" in doc["paths"]
        assert h.get("/docs").status_code == 200


def _is_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


def test_not_found_and_method_not_allowed_are_problems(server):
    with anon(server) as h:
        assert _is_problem(h.get("/no/such/thing"), 404)["type"] == "about:blank"
        _is_problem(h.put("/healthz"), 405)


def test_validation_errors_are_problems_without_the_input(server, user):
    with anon(server) as h:
        body = _is_problem(h.post("/api/v1/sessions", json={"email": 5, "password": ["hunter2-secret"]}), 422)
        assert body["type"] == "urn:c11:problem:validation" and body["errors"]
        assert (
            "hunter2-secret" not in h.post("/api/v1/sessions", json={"email": 5, "password": ["hunter2-secret"]}).text
        )
        _is_problem(h.post("/api/v1/sessions", content=b"{not json", headers={"content-type": "application/json"}), 422)
    with authed(server, user["token"]) as h:
        _is_problem(h.post("/api/v1/tokens", json={"name": "x"}), 422)


def test_unauthorized_is_a_problem(server):
    with anon(server) as h:
        body = _is_problem(h.get("/api/v1/account"), 401)
    assert body["type"] == "urn:c11:problem:unauthorized"


def test_openapi_documents_problem_details(server):
    with anon(server) as h:
        doc = h.get("/openapi.json").json()
    op = doc["paths"]["/api/v1/tokens/{token_id}"]["delete"]
    assert "application/problem+json" in op["responses"]["404"]["content"]
    assert "ProblemDocument" in doc["components"]["schemas"]


def test_client_errors_name_the_invalid_field(server):
    """A validation problem reaches the user as which field is wrong, not only "the request is not valid"."""
    import pytest

    from c11.client import Client
    from c11.errors import ServerError

    with Client(server.url) as c, pytest.raises(ServerError) as err:
        c.signup("x" * 400 + "@example.com", "a long enough password")
    assert err.value.status == 422
    assert "email" in str(err.value) and "320" in str(err.value)
    assert "x" * 50 not in str(err.value)  # the input itself is never echoed
