"""The API documentation (/docs) works without internet: every asset it loads is served by the server itself."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from srvkit import anon

_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")
_ABSOLUTE = re.compile(r"""(?:https?:)?//[^\s"'<>]+""")


def _references(html: str) -> list[str]:
    """Every URL the /docs page loads: script and style sources, links and the OpenAPI document."""
    return [a or b for a, b in _URL.findall(html)]


def test_docs_page_loads_only_same_origin_assets(server):
    """/docs names no other host, and each script, stylesheet and icon it loads is served here."""
    origin = urlsplit(server.url)[:2]
    with anon(server) as h:
        page = h.get("/docs")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        refs = _references(page.text)
        assert any(r.endswith(".js") for r in refs) and any(r.endswith(".css") for r in refs)
        assert "/openapi.json" in refs
        assert _ABSOLUTE.findall(page.text) == []  # no CDN, no protocol-relative URL anywhere in the page
        for ref in refs:
            absolute = urljoin(server.url + "/docs", ref)
            assert urlsplit(absolute)[:2] == origin, ref
            r = h.get(absolute)
            assert r.status_code == 200 and len(r.content) > 100, (ref, r.status_code)
        kinds = {ref.rsplit(".", 1)[-1]: h.get(ref).headers["content-type"] for ref in refs}
        assert "javascript" in kinds["js"] and kinds["css"].startswith("text/css")
        assert b"SwaggerUIBundle" in h.get(next(r for r in refs if r.endswith(".js"))).content


def test_openapi_description_is_current(server):
    """The OpenAPI description names the services this server mounts, not plans ("later")."""
    with anon(server) as h:
        text = h.get("/openapi.json").json()["info"]["description"]
    assert "later" not in text
    assert all(word in text for word in ("registry", "transparency log", "key server", "organizations"))
