"""The Word add-in at /addin/ (docs/addin.md): its manifest with this server's URL filled in, its task pane and
sign-in pages and their assets (web/dist/addin, built by `vite build -c vite.addin.config.ts`).

The pages run inside Office (a frame of Office on the web, a webview of desktop Office), so their headers differ
from the app's: Office's own hosts may frame them and Office.js loads from Microsoft's CDN, as add-ins must.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from c11.server.problems import not_found
from c11.server.webapp import WebAssets

#: Where Office.js comes from (Microsoft's CDN; add-ins may not bundle it).
OFFICE_JS = "https://appsforoffice.microsoft.com"
#: The origins of Office on the web that frame a task pane.
OFFICE_FRAMES = (
    "https://*.officeapps.live.com https://*.office.com https://*.office365.com https://*.microsoft365.com "
    "https://*.sharepoint.com https://*.officeonline.com"
)
_CSP = (
    f"default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {OFFICE_JS}; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self'; frame-ancestors {}; base-uri 'none'; object-src 'none'; form-action 'self'"
)
CSP = _CSP.format(f"'self' {OFFICE_FRAMES}")
#: The sign-in page opens as its own window (displayInIframe: false): nobody may frame it, as any tenant of
#: *.sharepoint.com or *.office.com could otherwise show it inside a page of their own.
LOGIN_CSP = _CSP.format("'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
PAGES = ("taskpane.html", "login.html")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".wasm": "application/wasm"}
_ICONS = ("icon-16.png", "icon-32.png", "icon-64.png", "icon-80.png")
MANIFEST_TYPE = "application/xml; charset=utf-8"


def server_url(public_url: str, request: Request) -> str:
    """The URL Office must load the add-in from: the configured public URL, else the one this request came to."""
    url = (public_url or str(request.base_url)).rstrip("/")
    return url


def manifest(template: str, url: str) -> str:
    """The manifest with `{{SERVER}}` replaced by the server's URL (XML-escaped)."""
    return template.replace("{{SERVER}}", escape(url, {'"': "&quot;"}))


def install(app: FastAPI, assets: WebAssets, public_url: str = "") -> None:
    """Serve the add-in of `assets` (its dist/addin folder) at /addin/."""
    app.include_router(_router(assets.dist / "addin", public_url))


def _router(root: Path, public_url: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.api_route("/addin/manifest.xml", methods=["GET", "HEAD"])
    def get_manifest(request: Request) -> Response:
        path = root / "manifest.xml"
        if not path.is_file():
            raise not_found("Word add-in (web/dist/addin is not built: npm run build in web/)")
        body = manifest(path.read_text(encoding="utf-8"), server_url(public_url, request))
        return Response(
            body,
            media_type=MANIFEST_TYPE,
            # without public_url the URL comes from the request's Host header: no shared cache may keep one
            # request's manifest for another (docs/addin.md: set public_url)
            headers={
                "Cache-Control": "private, no-store",
                "Vary": "Host",
                "Content-Disposition": 'inline; filename="c11-word-manifest.xml"',
            },
        )

    @router.api_route("/addin/{name}", methods=["GET", "HEAD"])
    def page(name: str) -> Response:
        if name in _ICONS and (root / name).is_file():
            return FileResponse(root / name, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})
        if name not in PAGES or not (root / name).is_file():
            raise not_found("page of the Word add-in")
        csp = {"Content-Security-Policy": LOGIN_CSP} if name == "login.html" else {}
        return HTMLResponse(
            (root / name).read_text(encoding="utf-8"), headers={**HEADERS, **csp, "Cache-Control": "no-cache"}
        )

    @router.api_route("/addin/assets/{name:path}", methods=["GET", "HEAD"])
    def asset(name: str) -> Response:
        base = (root / "assets").resolve()
        path = (base / name).resolve()
        if not path.is_relative_to(base) or not path.is_file() or path.suffix not in _TYPES:
            raise not_found("asset of the Word add-in")
        return FileResponse(
            path,
            media_type=_TYPES[path.suffix],
            headers={**HEADERS, "Cache-Control": "public, max-age=31536000, immutable"},
        )

    return router
