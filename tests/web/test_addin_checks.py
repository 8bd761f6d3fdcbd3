"""Static checks of the Word add-in (docs/addin.md): strict TypeScript against @types/office-js, no Word API above
WordApi 1.4 unless guarded by isSetSupported (addin_apicheck.py), and the manifest `c11 serve` answers, checked
offline against the rules of Microsoft's manifest schema that can be checked without its online validation."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from addin_apicheck import ADAPTER, check
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lxml import etree

from c11.server import addin, problems
from c11.server.webapp import WebAssets

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
PUBLIC = WEB / "addin" / "public"
NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "ov": "http://schemas.microsoft.com/office/taskpaneappversionoverrides",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
#: OfficeApp's children in the order its schema's sequence requires (optional ones may be missing).
ORDER = [
    "Id", "AlternateId", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description", "IconUrl",
    "HighResolutionIconUrl", "SupportUrl", "AppDomains", "Hosts", "Requirements", "DefaultSettings", "Permissions",
    "AllowSnapshot", "VersionOverrides",
]  # fmt: skip
PERMISSIONS = {"Restricted", "ReadDocument", "ReadAllDocument", "WriteDocument", "ReadWriteDocument"}


def test_typescript_strict():
    r = subprocess.run(["npx", "tsc", "--noEmit", "-p", "addin"], cwd=WEB, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert '"strict": true' in (WEB / "tsconfig.json").read_text()


def test_word_api_requirement_set(tmp_path):
    assert check() == []
    # a call added from WordApi 1.5 fails the check, and passes once guarded by isSetSupported
    shutil.copy(ADAPTER.with_name("word.ts"), tmp_path / "word.ts")
    src = ADAPTER.read_text()
    anchor = "      const body = ctx.document.body;\n"
    assert anchor in src
    newer = src.replace(anchor, anchor + '      ctx.document.retrieveStylesFromBase64("");\n', 1)
    (tmp_path / "officeword.ts").write_text(newer)
    problems = check(tmp_path / "officeword.ts")
    assert len(problems) == 1 and "retrieveStylesFromBase64" in problems[0], problems
    guard = '      if (Office.context.requirements.isSetSupported("WordApi", "1.5")) {\n        ctx.document.retrieveStylesFromBase64("");\n      }\n'
    (tmp_path / "officeword.ts").write_text(src.replace(anchor, anchor + guard, 1))
    assert check(tmp_path / "officeword.ts") == []


def manifest_problems(xml: bytes, server: str) -> list[str]:
    """What Microsoft's schema and store rules say that can be checked offline (not the XSD itself: it is not
    published on npm; docs/addin.md)."""
    out: list[str] = []
    root = etree.fromstring(xml)
    if root.tag != f"{{{NS['o']}}}OfficeApp" or root.get(f"{{{NS['xsi']}}}type") != "TaskPaneApp":
        return ["root is not an OfficeApp of type TaskPaneApp"]
    names = [etree.QName(c).localname for c in root if isinstance(c.tag, str)]
    if [n for n in ORDER if n in names] != names:
        out.append(f"OfficeApp children out of the schema's order: {names}")
    for required in ("Id", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description", "DefaultSettings"):
        if required not in names:
            out.append(f"missing {required}")
    if not re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", root.findtext("o:Id", "", NS)):
        out.append("Id is not a GUID")
    if not re.fullmatch(r"\d{1,5}(\.\d{1,5}){0,3}", root.findtext("o:Version", "", NS)):
        out.append("Version is not 1 to 4 numbers")
    for tag, limit in (("DisplayName", 125), ("Description", 250)):
        if len(root.find(f"o:{tag}", NS).get("DefaultValue", "")) > limit:
            out.append(f"{tag} longer than {limit}")
    if root.findtext("o:Permissions", "", NS) not in PERMISSIONS:
        out.append("Permissions not one of the schema's values")
    sets = [(s.get("Name"), s.get("MinVersion")) for s in root.iterfind("o:Requirements/o:Sets/o:Set", NS)]
    if sets != [("WordApi", "1.4")]:
        out.append(f"requirement sets {sets}, expected WordApi 1.4")
    if [h.get("Name") for h in root.iterfind("o:Hosts/o:Host", NS)] != ["Document"]:
        out.append("the host is not Document (Word)")
    # resources: each resid used is defined once, of the kind where it is used, ids at most 32 characters
    res = root.find("ov:VersionOverrides/ov:Resources", NS)
    kinds: dict[str, str] = {}
    for kind, path in (("image", "bt:Images/bt:Image"), ("url", "bt:Urls/bt:Url"),
                       ("short", "bt:ShortStrings/bt:String"), ("long", "bt:LongStrings/bt:String")):  # fmt: skip
        for el in res.iterfind(path, NS):
            rid = el.get("id", "")
            if rid in kinds or len(rid) > 32:
                out.append(f"resource id {rid!r} repeated or longer than 32")
            kinds[rid] = kind
            limit = {"short": 125, "long": 250}.get(kind)
            if limit and len(el.get("DefaultValue", "")) > limit:
                out.append(f"{rid} longer than {limit}")
    want = {"Label": "short", "Title": "short", "Description": "long", "SourceLocation": "url", "LearnMoreUrl": "url"}
    for el in root.find("ov:VersionOverrides", NS).iter():
        if not isinstance(el.tag, str) or el.get("resid") is None:
            continue
        local = etree.QName(el).localname
        expected = "image" if local == "Image" else want.get(local)
        if kinds.get(el.get("resid")) != expected:
            out.append(f"{local} resid {el.get('resid')!r} is not a defined {expected} resource")
    # every URL is the server's own
    for el in root.iter():
        for v in [el.get("DefaultValue", "")] + ([el.text or ""] if etree.QName(el).localname == "AppDomain" else []):
            if v.startswith(("http://", "https://")) and not v.startswith(server):
                out.append(f"URL {v} is not on the server {server}")
    return out


@pytest.fixture
def client(tmp_path):
    dist = tmp_path / "dist"
    shutil.copytree(PUBLIC, dist / "addin")  # what vite copies from web/addin/public
    (dist / "addin" / "taskpane.html").write_text("<!doctype html><title>c11 for Word</title>")
    (dist / "addin" / "login.html").write_text("<!doctype html><title>Sign in</title>")
    app = FastAPI()
    problems.install(app)  # RFC 9457 answers, as in `c11 serve`
    addin.install(app, WebAssets(dist), "https://c11.example.com")
    return TestClient(app)


def test_manifest_served_with_the_server_url(client):
    r = client.get("/addin/manifest.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert b"{{SERVER}}" not in r.content
    assert b'<SourceLocation DefaultValue="https://c11.example.com/addin/taskpane.html"/>' in r.content
    assert manifest_problems(r.content, "https://c11.example.com") == []
    for icon in re.findall(rb"https://c11\.example\.com(/addin/icon-\d+\.png)", r.content):
        assert client.get(icon.decode()).headers["content-type"] == "image/png"
    # the checker is not a rubber stamp
    bad = r.content.replace(b'MinVersion="1.4"', b'MinVersion="1.5"').replace(
        b'resid="C11.Button.Label"', b'resid="Nope"'
    )
    assert len(manifest_problems(bad, "https://c11.example.com")) == 3


def test_pages_may_be_framed_by_office_only(client):
    r = client.get("/addin/taskpane.html")
    csp = r.headers["content-security-policy"]
    assert r.status_code == 200 and "frame-ancestors 'self' https://*.officeapps.live.com" in csp
    assert "script-src 'self' 'wasm-unsafe-eval' https://appsforoffice.microsoft.com;" in csp
    assert "x-frame-options" not in r.headers
    missing = client.get("/addin/secret.html")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert client.get("/addin/assets/../../manifest.xml").status_code == 404


def test_login_page_may_not_be_framed(client):
    """The sign-in dialog opens as its own window (displayInIframe: false): no tenant's page may frame it."""
    csp = client.get("/addin/login.html").headers["content-security-policy"]
    assert "frame-ancestors 'none';" in csp and "sharepoint" not in csp and "office.com" not in csp
    assert "displayInIframe: false" in (ROOT / "web" / "addin" / "src" / "directory.ts").read_text()


def test_manifest_is_never_kept_by_a_shared_cache(client):
    """Without public_url the manifest's URL comes from the Host header: no cache may serve it to another request."""
    r = client.get("/addin/manifest.xml")
    assert r.headers["cache-control"] == "private, no-store" and r.headers["vary"] == "Host"


def test_manifest_without_public_url_uses_the_request(tmp_path):
    dist = tmp_path / "dist"
    shutil.copytree(PUBLIC, dist / "addin")
    app = FastAPI()
    addin.install(app, WebAssets(dist))
    r = TestClient(app, base_url="https://docs.example.org").get("/addin/manifest.xml")
    assert manifest_problems(r.content, "https://docs.example.org") == []


def test_c11_serve_answers_the_addin(web_server):
    """The live server (create_app) mounts the add-in built by `npm run build` into web/dist/addin."""
    import httpx

    base = web_server.url.rstrip("/")
    r = httpx.get(f"{base}/addin/manifest.xml", timeout=30)
    assert r.status_code == 200, r.text
    assert f'<SourceLocation DefaultValue="{base}/addin/taskpane.html"/>'.encode() in r.content
    assert manifest_problems(r.content, base) == []
    pane = httpx.get(f"{base}/addin/taskpane.html", timeout=30)
    assert pane.status_code == 200 and "frame-ancestors 'self' https://" in pane.headers["content-security-policy"]
    for src in re.findall(r'src="(/addin/assets/[^"]+\.js)"', pane.text):
        assert httpx.get(base + src, timeout=30).status_code == 200


OFFICE_STUB = """window.Office = {
  onReady: (f) => Promise.resolve(f && f({ host: "Word" })),
  context: { ui: { messageParent: (message, options) => { window.__sent = { message, options }; } } },
};"""


def test_sign_in_dialog_sends_the_session_to_the_pane(web_server, chromium, axe):
    """login.html on the live server (Office.js stubbed: no Office here) logs in with OPAQUE and hands the session
    to the pane with messageParent, restricted to the server's own origin."""
    import accountkit
    from srvkit import PASSWORD

    email = accountkit.signup(web_server, "addin").email
    context = chromium.new_context(base_url=web_server.url)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.route(
            "https://appsforoffice.microsoft.com/**",
            lambda route: route.fulfill(status=200, content_type="text/javascript", body=OFFICE_STUB),
        )
        page.goto("/addin/login.html")
        page.get_by_role("heading", name="Sign in to c11").wait_for()
        axe(page)
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign in").wait_for()
        sent = None
        for _ in range(240):  # wait_for_function would eval a string, which the page's CSP forbids
            sent = page.evaluate("() => window.__sent || null")
            if sent or page.get_by_role("alert").count():
                break
            page.wait_for_timeout(250)
        assert sent, page.get_by_role("alert").all_inner_texts()
        origin = web_server.url.rstrip("/")
        assert sent["options"] == {"targetOrigin": origin}
        session = json.loads(sent["message"])
        assert session["email"] == email and session["token"]
        assert not errors, errors
    finally:
        context.close()
