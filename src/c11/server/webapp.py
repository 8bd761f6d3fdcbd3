"""The browser app at `/`: the built assets of web/ (web/dist), served with strict security headers.

App routes (/open, /verify, ...) answer the app's index.html (single-page fallback); the API stays under /api.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from c11.server.problems import not_found

#: The app's Content-Security-Policy: only its own scripts (WebAssembly compiled from them: the OPAQUE client),
#: no inline script or style, no plugins, no framing, no <base>, forms and requests to this origin only.
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; worker-src 'self'; frame-src 'self' blob:; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'; form-action 'self'"
)
#: Headers of every response of the app (its page, its assets and the page saying how to build it).
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
#: Paths of the single-page app's own pages; each answers index.html, the app routes on the client.
#: The admin console's pages (web/src/app/admin/routes.ts).
ADMIN_ROUTES = (
    "/admin",
    "/admin/members",
    "/admin/admins",
    "/admin/usage",
    "/admin/groups",
    "/admin/recovery",
    "/admin/settings",
    "/admin/encryption-policies",
    "/admin/health",
    "/admin/notifications",
    "/admin/graph",
)
APP_ROUTES = (
    "/open",
    "/encrypt",
    "/signup",
    "/login",
    "/verify",
    "/invite",
    "/request",
    "/requests",
    "/account",
    "/messages",
    "/documents",
    "/send",
) + ADMIN_ROUTES
#: Pages with an ID in the path: a send's or share link's page `/r/<id>` (the emailed link, docs/sharing.md).
APP_ID_ROUTES = ("/r/{send_id}",)
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}
_IMMUTABLE = "public, max-age=31536000, immutable"  # Vite names assets by their content hash


@dataclass(frozen=True)
class WebAssets:
    """Where the built app is: `dist` holds index.html and assets/ (`npm run build` in web/)."""

    dist: Path

    @classmethod
    def default(cls) -> WebAssets:
        """$C11_WEB_DIST, else web/dist of the source tree this package runs from."""
        configured = os.environ.get("C11_WEB_DIST")
        return cls(Path(configured) if configured else Path(__file__).resolve().parents[3] / "web" / "dist")

    @property
    def index(self) -> Path:
        return self.dist / "index.html"


def install(app: FastAPI, assets: WebAssets, shard_stores: tuple[str, ...] = ()) -> None:
    """Serve the app of `assets` at / and its pages (routes outside the API schema). `shard_stores`: the URLs of
    the announced shard stores, whose origins the app's CSP lets it call (cloud-stored keys, docs/shards.md)."""
    app.include_router(_router(assets, app_headers(shard_stores)))


def app_headers(shard_stores: tuple[str, ...] = ()) -> dict[str, str]:
    """SECURITY_HEADERS with `connect-src` also naming the origins of `shard_stores` (scheme://host[:port])."""
    origins = []
    for url in shard_stores:
        parts = urlsplit(url.strip())
        if parts.scheme in ("http", "https") and parts.netloc and f"{parts.scheme}://{parts.netloc}" not in origins:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    if not origins:
        return SECURITY_HEADERS
    csp = CSP.replace("connect-src 'self';", "connect-src 'self' " + " ".join(origins) + ";")
    return {**SECURITY_HEADERS, "Content-Security-Policy": csp}


def _router(assets: WebAssets, headers: dict[str, str]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(request: Request) -> Response:
        return _index(assets, headers)

    router.add_api_route("/", page, methods=["GET", "HEAD"])
    for path in APP_ROUTES + APP_ID_ROUTES:
        router.add_api_route(path, page, methods=["GET", "HEAD"])

    @router.api_route("/assets/{name:path}", methods=["GET", "HEAD"])
    def asset(name: str) -> Response:
        return _asset(assets, name)

    return router


def _index(assets: WebAssets, headers: dict[str, str]) -> Response:
    if not assets.index.is_file():
        return HTMLResponse(_not_built(), status_code=503, headers=headers)
    return HTMLResponse(assets.index.read_text(encoding="utf-8"), headers={**headers, "Cache-Control": "no-cache"})


def _asset(assets: WebAssets, name: str) -> Response:
    root = (assets.dist / "assets").resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file() or path.suffix not in _TYPES:
        raise not_found("asset of the web app")
    return FileResponse(path, media_type=_TYPES[path.suffix], headers={**SECURITY_HEADERS, "Cache-Control": _IMMUTABLE})


def _not_built() -> str:
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>c11 server</title>"
        "<h1>c11 server is running</h1>"
        "<p>The browser app is not built (web/dist is missing). Build it with "
        "<code>python3 dev.py setup</code>, or <code>npm ci &amp;&amp; npm run build</code> in web/, "
        "then reload this page.</p>"
        "<p>API documentation: <a href=/docs>/docs</a> · <a href=/openapi.json>/openapi.json</a></p>"
    )
