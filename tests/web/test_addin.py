"""The Word add-in's code (web/addin, docs/addin.md) in Chromium over FakeWord, a Word stand-in backed by real .docx
files: documents it protects open with `c11 unprotect` with the same text and tables and nothing dangling, and render
in LibreOffice with placeholders and the note; documents from `c11 protect` open in it; recipient changes made on
one side are read on the other; the task pane (Office host stubbed) passes axe-core and is screenshotted."""

from __future__ import annotations

import base64
import fcntl
import io
import re
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import docx
import pytest
from lxml import etree

from c11.indoc import _ooxml as ox
from c11.indoc import api
from c11.indoc import parts as P
from c11.keys import keyfile

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist-addin-harness"
VEC = ROOT / "tests" / "vectors" / "indoc-ooxml"
KEYS = ROOT / "tests" / "vectors" / "keys"
SOURCES = ("addin", "src/core", "src/app", "vite.addin.config.ts", "package-lock.json")
SHOTS = Path("/tmp/c11-addin-shots")
NOTE = "HR only: ask Alice"
SECRETS = ["SALARY-SECRET-1", "TABLE-SECRET-1", "TABLE-SECRET-2", "LINK-SECRET", "secret-review"]


def _build() -> None:
    """Build web/dist-addin-harness when missing or older than its sources (one process at a time)."""
    if shutil.which("npx") is None or not (WEB / "node_modules").is_dir():
        pytest.fail("the web dependencies are not installed (python3 dev.py setup)")
    lock = ROOT / ".venv" / ".web-addin.lock"
    lock.parent.mkdir(exist_ok=True)
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        newest = max(
            f.stat().st_mtime
            for name in SOURCES
            for f in ([WEB / name] if (WEB / name).is_file() else (WEB / name).rglob("*"))
            if f.is_file()
        )
        page = DIST / "harness.html"
        if page.is_file() and page.stat().st_mtime >= newest:
            return
        subprocess.run(
            ["npx", "vite", "build", "-c", "vite.addin.config.ts", "--mode", "harness", "--logLevel", "error"],
            cwd=WEB,
            check=True,
            timeout=300,
        )


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet test server
        pass


@pytest.fixture(scope="module")
def page(chromium: Any) -> Iterator[Any]:
    _build()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(DIST)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = chromium.new_context(viewport={"width": 420, "height": 900})
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    # office.js comes from Microsoft's CDN, which tests cannot reach: the harness never needs it
    p.route("https://appsforoffice.microsoft.com/**", lambda route: route.fulfill(status=200, body=""))
    p.goto(f"http://127.0.0.1:{server.server_address[1]}/harness.html")
    p.wait_for_function("window.c11addin !== undefined", timeout=30_000)
    try:
        yield p
    finally:
        context.close()
        server.shutdown()
        server.server_close()
    assert not errors, errors


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    out = {}
    for name, path in (("alice", KEYS / "alice.key"), ("bob", KEYS / "bob.key"), ("carol", VEC / "carol.key")):
        out[name] = {"json": path.read_text(), "id": keyfile.load(path).unlock(None), "path": path}
        out[name]["line"] = out[name]["id"].public.line()
    return out


def call(page: Any, fn: str, *args: Any) -> Any:
    r = page.evaluate(f"(args) => window.c11addin.{fn}(...args)", list(args))
    if isinstance(r, dict) and "error" in r:
        raise AssertionError(f"{fn}: {r['names']}: {r['error']}")
    return r


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def content(data: bytes) -> tuple[list[str], list[list[str]]]:
    d = docx.Document(io.BytesIO(data))
    return [p.text for p in d.paragraphs], [[c.text for r in t.rows for c in r.cells] for t in d.tables]


def check_package(data: bytes) -> dict[str, bytes]:
    """No dangling relationship or content type, no c11 trace."""
    z = zipfile.ZipFile(io.BytesIO(data))
    names = set(z.namelist())
    ct = etree.fromstring(z.read("[Content_Types].xml"))
    defaults = {d.get("Extension").lower() for d in ct.findall(f"{{{ox.NS_CT}}}Default")}
    overrides = {o.get("PartName").lstrip("/") for o in ct.findall(f"{{{ox.NS_CT}}}Override")}
    assert overrides <= names, overrides - names
    for n in names:
        assert n in overrides or n.rsplit(".", 1)[-1].lower() in defaults, n
    rels = etree.fromstring(z.read("word/_rels/document.xml.rels"))
    for r in rels:
        if r.get("TargetMode") != "External":
            assert ox.resolve_target("word", r.get("Target")) in names, r.get("Target")
    used = {u.decode() for u in re.findall(rb'r:(?:id|embed|link)="([^"]+)"', z.read("word/document.xml"))}
    assert used <= {r.get("Id") for r in rels}
    source = set(zipfile.ZipFile(VEC / "source.docx").namelist())
    assert {n for n in names if n.startswith("customXml/")} == {n for n in source if n.startswith("customXml/")}
    assert b"c11" not in z.read("word/document.xml")
    return {n: z.read(n) for n in names}


SOURCE = VEC / "source.docx"  # paragraphs, a heading section with a table, a picture, a hyperlink


def addin_protect(page: Any, keys: dict[str, Any]) -> bytes:
    """The Salaries section (paragraph + table) and the photo for bob, the link paragraph (selected) for carol."""
    blocks = [p.text for p in docx.Document(SOURCE).paragraphs]
    link = next(i for i, t in enumerate(blocks) if "LINK-SECRET" in t) + 1  # + the table before it
    out = call(
        page,
        "protect",
        b64(SOURCE.read_bytes()),
        keys["alice"]["json"],
        [keys["bob"]["line"]],
        [
            {"target": {"kind": "heading", "text": "Salaries"}},
            {"target": {"kind": "heading", "text": "Badge photo"}},
            {"target": {"kind": "selection"}, "recipients": [keys["carol"]["line"]]},
        ],
        NOTE,
        [link, link],
    )
    return base64.b64decode(out)


def test_addin_document_opens_with_c11_unprotect(page, keys, tmp_path):
    protected = addin_protect(page, keys)
    for s in SECRETS:
        assert s.encode() not in protected, s
    env = api.handler_for("x.docx").read_envelope(protected)
    assert env is not None and env.ooxml and len(env.parts) == 3 and env.note == NOTE
    whole = api.unprotect_document(protected, [keys["alice"]["id"]], format=".docx")
    assert not whole.closed
    assert content(whole.data) == content(SOURCE.read_bytes())
    m = check_package(whole.data)
    assert sum(n.startswith("word/media/") for n in m) == 1
    assert (
        'Target="https://hr.example.com/secret-review" TargetMode="External"'
        in m["word/_rels/document.xml.rels"].decode()
    )
    # bob opens his two parts; carol's stays protected, then carol opens it
    part = api.unprotect_document(protected, [keys["bob"]["id"]], format=".docx")
    assert len(part.opened) == 2 and len(part.closed) == 1 and b"LINK-SECRET" not in part.data
    rest = api.unprotect_document(part.data, [keys["carol"]["id"]], format=".docx")
    assert content(rest.data) == content(SOURCE.read_bytes())
    check_package(rest.data)


def test_addin_document_renders_in_libreoffice(page, keys, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None or shutil.which("pdftotext") is None:
        pytest.skip("LibreOffice and pdftotext (deps/apt.txt)")
    src = tmp_path / "addin.docx"
    src.write_bytes(addin_protect(page, keys))
    subprocess.run(
        [soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
         "pdf", "--outdir", str(tmp_path), str(src)],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    text = " ".join(
        subprocess.run(["pdftotext", str(tmp_path / "addin.pdf"), "-"], capture_output=True, text=True).stdout.split()
    )
    assert text.count("Protected with c11: open it with c11 to read this part") == 3
    assert NOTE in text and "This paragraph stays readable." in text
    for s in SECRETS:
        assert s not in text


def test_c11_protect_document_opens_in_the_addin(page, keys):
    alice, bob = keys["alice"]["id"], keys["bob"]["id"]
    protected = api.protect_document(SOURCE, ['heading:"Salaries"'], [bob.public], alice, note=NOTE)
    read = call(page, "read", b64(protected), keys["bob"]["json"])
    lines = [line for p in read["parts"] for line in p["lines"]]
    assert "Alice earns SALARY-SECRET-1 a year." in lines and "Alice | TABLE-SECRET-1" in lines
    assert read["note"] == NOTE and read["senders"][0]["author"] == alice.label
    info = call(page, "inspect", b64(protected))
    assert info["parts"] >= 1 and info["note"] == NOTE
    out = call(page, "unprotect", b64(protected), keys["bob"]["json"])
    assert out["opened"] == 1 and out["closed"] == 0
    data = base64.b64decode(out["docx"])
    assert content(data) == content(SOURCE.read_bytes())
    check_package(data)


def test_addin_refuses_what_it_cannot_restore_and_changes_nothing(page, keys):
    alice = keys["alice"]["id"]
    protected = api.protect_document(SOURCE, ['heading:"Links"'], [], alice)  # a hyperlink in the part
    r = page.evaluate("(a) => window.c11addin.unprotect(...a)", [b64(protected), keys["alice"]["json"]])
    assert "command line" in r["error"]
    # the committed vector (made as Word saves the add-in's work) reads in the add-in
    read = call(page, "read", b64((VEC / "protected.docx").read_bytes()), keys["bob"]["json"])
    assert len(read["parts"]) == 2 and len(read["closed"]) == 1
    assert any("TABLE-SECRET-2" in line for p in read["parts"] for line in p["lines"])


def test_addin_refuses_a_web_loaded_picture(page, keys):
    """A part whose OOXML loads a picture from the web when opened (a tracking pixel) is not restored."""
    alice = keys["alice"]["id"]
    data = (VEC / "protected.docx").read_bytes()
    h = api.handler_for("x.docx")
    env = h.read_envelope(data)
    opened = P.open_parts(env, [alice])
    flat = dict(ox.unpack(opened.plaintexts["word/document.xml#2"]))["ooxml"]
    pixel = re.sub(
        rb'(relationships/image" Target=")[^"]+"', rb'\1https://track.example/p.png" TargetMode="External"', flat
    )
    assert pixel != flat
    parts = [
        P.Part(p.location, ox.pack([("ooxml", pixel)]) if p.location.endswith("#2") else opened.plaintexts[p.location],
               ox.PLACEHOLDER.encode(), [])
        for p in env.parts
    ]  # fmt: skip
    forged = h.write_envelope(data, P.seal(parts, [], alice, note=env.note, doc_id=env.doc_id, ooxml=True))
    r = page.evaluate("(a) => window.c11addin.unprotect(...a)", [b64(forged), keys["alice"]["json"]])
    assert "web-loaded image" in r["error"]


def _forge_part2(keys: dict[str, Any], edit: Any) -> bytes:
    """protected.docx with part #2's flat package changed by `edit` (resealed by alice, as a hostile sender would)."""
    alice = keys["alice"]["id"]
    data = (VEC / "protected.docx").read_bytes()
    h = api.handler_for("x.docx")
    env = h.read_envelope(data)
    opened = P.open_parts(env, [alice])
    flat = dict(ox.unpack(opened.plaintexts["word/document.xml#2"]))["ooxml"]
    forged = edit(flat)
    assert forged != flat
    parts = [
        P.Part(p.location, ox.pack([("ooxml", forged)]) if p.location.endswith("#2") else opened.plaintexts[p.location],
               ox.PLACEHOLDER.encode(), [])
        for p in env.parts
    ]  # fmt: skip
    return h.write_envelope(data, P.seal(parts, [], alice, note=env.note, doc_id=env.doc_id, ooxml=True))


def test_addin_inserts_only_the_checked_content_and_its_pictures(page, keys):
    """A sender's package with an unused web-loaded relationship and an extra part (settings pointing at it): Word
    gets a package rebuilt from the body and its picture, none of the rest; a VML o:relid to the web is refused."""
    evil = (
        b'<ns1:Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'attachedTemplate" Target="https://track.example/beacon.dotx" TargetMode="External"/>'
        b'<ns1:Relationship Id="rId8" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'image" Target="https://track.example/pixel.png" TargetMode="External"/></ns1:Relationships>'
    )
    extra = (
        b'<pkg:part pkg:name="/word/settings.xml" pkg:contentType="application/vnd.openxmlformats-officedocument.'
        b'wordprocessingml.settings+xml"><pkg:xmlData><w:settings xmlns:w="http://schemas.openxmlformats.org/'
        b'wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        b'<w:attachedTemplate r:id="rId9"/><w:docVars><w:docVar w:name="EVIL-PART" w:val="x"/></w:docVars>'
        b"</w:settings></pkg:xmlData></pkg:part></pkg:package>"
    )

    def hostile(flat: bytes) -> bytes:
        return flat.replace(b"</ns1:Relationships>", evil).replace(b"</pkg:package>", extra)

    out = call(page, "unprotect", b64(_forge_part2(keys, hostile)), keys["alice"]["json"])
    assert out["opened"] == 3 and len(out["inserted"]) == 3
    for ooxml in out["inserted"]:
        assert "track.example" not in ooxml and "EVIL-PART" not in ooxml and "settings" not in ooxml, ooxml[:2000]
        assert "mso-application" not in ooxml  # never the sender's text
    picture = next(x for x in out["inserted"] if "r:embed" in x)
    assert picture.count("<pkg:part ") == 4 and "/word/media/c11-image1.png" in picture  # .rels, rels, body, picture
    data = base64.b64decode(out["docx"])
    assert b"track.example" not in b"".join(check_package(data).values())

    def vml(flat: bytes) -> bytes:
        shape = b'<w:p><w:r><w:pict><v:shape><v:imagedata o:relid="rId8"/></v:shape></w:pict></w:r></w:p><w:sectPr/>'
        return hostile(flat).replace(b"<w:sectPr/>", shape)

    r = page.evaluate("(a) => window.c11addin.unprotect(...a)", [b64(_forge_part2(keys, vml)), keys["alice"]["json"]])
    assert "web-loaded image" in r["error"]


def test_recipient_changes_cross_both_ways(page, keys, tmp_path):
    alice, carol = keys["alice"]["id"], keys["carol"]["id"]
    # made by the add-in, carol added by c11 reencrypt, read by the add-in with carol's key
    path = tmp_path / "addin.docx"
    path.write_bytes(addin_protect(page, keys))
    out = tmp_path / "re.docx"
    api.reencrypt_document(path, alice, add=[carol.public], output=out)
    read = call(page, "read", b64(out.read_bytes()), keys["carol"]["json"])
    assert len(read["parts"]) == 3 and not read["closed"]
    # made by c11 protect, carol added in the add-in, opened by c11 unprotect with carol's key
    protected = api.protect_document(SOURCE, ['heading:"Salaries"'], [keys["bob"]["id"].public], alice)
    reshared = base64.b64decode(
        call(page, "reshare", b64(protected), keys["alice"]["json"], [keys["carol"]["line"]], [])
    )
    res = api.unprotect_document(reshared, [carol], format=".docx")
    assert not res.closed and content(res.data) == content(SOURCE.read_bytes())


def test_task_pane(page, keys, axe, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    directory = {"bob@example.com": keys["bob"]["line"], "alice@example.com": keys["alice"]["line"]}
    page.evaluate(
        "(a) => window.c11addin.showPane(...a)",
        [b64(SOURCE.read_bytes()), "alice@example.com", directory, None, True],
    )
    page.get_by_role("heading", name="c11 for Word").wait_for()
    page.get_by_text("Not protected with c11.").wait_for()
    axe(page)
    page.screenshot(path=str(SHOTS / "1-pane-unprotected.png"), full_page=True)
    page.get_by_label("Your key file (.key)").set_input_files(str(keys["alice"]["path"]))
    page.get_by_role("button", name="Unlock key").click()
    page.get_by_text("Key unlocked").wait_for()
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as alice@example.com").first.wait_for()
    page.get_by_label("A heading's section").check()
    page.get_by_label("Heading text").fill("Salaries")
    page.get_by_label("Recipients (emails)").fill("bob@example.com")
    page.get_by_label("Note shown to people who cannot open it").fill(NOTE)
    page.get_by_role("button", name="Protect").click()
    page.get_by_text("Protected 1 part(s) for 1 recipient(s).").wait_for()
    page.get_by_text(f"Note from the author: {NOTE}").wait_for()
    page.get_by_text("Sent by alice@example.com (verified in the registry)").wait_for()
    page.get_by_role("button", name="Read protected parts").click()
    page.get_by_text("Alice | TABLE-SECRET-1").wait_for()
    axe(page)
    page.screenshot(path=str(SHOTS / "2-pane-protected-read.png"), full_page=True)
    protected = base64.b64decode(page.evaluate("() => window.c11addin.paneDocx()"))
    res = api.unprotect_document(protected, [keys["bob"]["id"]], format=".docx")
    assert content(res.data) == content(SOURCE.read_bytes())
    # unprotect warns about AutoSave/version history and needs the confirmation
    page.get_by_role("button", name="Unprotect the parts I can open").click()
    page.get_by_role("alert").get_by_text("Confirm first").wait_for()
    page.screenshot(path=str(SHOTS / "3-pane-unprotect-warning.png"), full_page=True)
    page.get_by_label("I understand: unprotect anyway").check()
    page.get_by_role("button", name="Unprotect the parts I can open").click()
    page.get_by_text("Unprotected 1 part(s)").wait_for()
    page.get_by_text("Not protected with c11.").wait_for()
    final = base64.b64decode(page.evaluate("() => window.c11addin.paneDocx()"))
    assert content(final) == content(SOURCE.read_bytes())
    check_package(final)
    # someone who signs with another key under alice's email is called out once the pane checks the registry
    forged = {"alice@example.com": keys["carol"]["line"]}
    page.evaluate("(a) => window.c11addin.showPane(...a)", [b64(protected), "bob@example.com", forged, None, False])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("NOT the registry's key for this email").wait_for()
    page.screenshot(path=str(SHOTS / "4-pane-forged-sender.png"), full_page=True)


def test_task_pane_adds_the_organization_recovery_keys(page, keys):
    """The shared TypeScript org-rules function adds ACME's recovery key: its holder opens the part."""
    org = {
        "name": "ACME",
        "recovery_keys": [keys["carol"]["line"]],
        "require_online": False,
        "default_expiry_days": None,
    }
    page.evaluate(
        "(a) => window.c11addin.showPane(...a)",
        [b64(SOURCE.read_bytes()), "alice@example.com", {"bob@example.com": keys["bob"]["line"]}, org, False, [1, 1]],
    )
    page.get_by_label("Your key file (.key)").set_input_files(str(keys["alice"]["path"]))
    page.get_by_role("button", name="Unlock key").click()
    page.get_by_text("Key unlocked").wait_for()
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Recipients (emails)").fill("bob@example.com")
    page.get_by_role("button", name="Protect").click()
    page.get_by_text("including 1 recovery key(s)").wait_for()
    page.get_by_text(
        f"Recovery keys added by organization rules: ACME: {keys['carol']['id'].public.fingerprint}"
    ).wait_for()
    protected = base64.b64decode(page.evaluate("() => window.c11addin.paneDocx()"))
    assert b"This paragraph stays readable." not in protected  # the selected paragraph (block 1)
    res = api.unprotect_document(protected, [keys["carol"]["id"]], format=".docx")
    assert not res.closed and content(res.data) == content(SOURCE.read_bytes())


def test_a_failed_protect_puts_the_document_back(page, keys):
    """When Word refuses to store the envelope, the ranges come back as they were (no placeholder without an envelope)."""
    r = page.evaluate(
        "(a) => window.c11addin.protectFailing(...a)",
        [
            b64(SOURCE.read_bytes()),
            keys["alice"]["json"],
            [keys["bob"]["line"]],
            [
                {"target": {"kind": "heading", "text": "Salaries"}},
                {"target": {"kind": "heading", "text": "Badge photo"}},
            ],
        ],
    )
    assert "custom XML part could not be added" in r["error"]
    data = base64.b64decode(r["docx"])
    assert content(data) == content(SOURCE.read_bytes())
    m = check_package(data)
    assert sum(n.startswith("word/media/") for n in m) == 1
    assert api.handler_for("x.docx").read_envelope(data) is None


def test_c11_protect_matches_in_a_sentence_open_in_the_addin(page, keys):
    """`c11 protect --match` protects runs inside a paragraph: the pane reads them and puts them back in the sentence."""
    alice = keys["alice"]["id"]
    protected = api.protect_document(SOURCE, [], [], alice, matches=["SALARY-SECRET-1"])
    assert b"SALARY-SECRET-1" not in protected
    read = call(page, "read", b64(protected), keys["alice"]["json"])
    assert any("SALARY-SECRET-1" in line for p in read["parts"] for line in p["lines"])
    out = call(page, "unprotect", b64(protected), keys["alice"]["json"])
    data = base64.b64decode(out["docx"])
    assert content(data) == content(SOURCE.read_bytes())
    check_package(data)


def test_office_adapter_over_a_stubbed_office_host(page):
    """officeword.ts itself (the adapter Word runs) against a stand-in Office host that enforces Office.js's
    protocol (load + sync before reading, tracked objects across batches, locked controls): protect a heading's
    section, read it, add a recipient, unprotect; and the "update Office" message below WordApi 1.4."""
    r = call(page, "officeRoundTrip")
    assert (
        "SECRET" not in r["protectedText"]
        and "Protected with c11: open it with c11 to read this part" in r["protectedText"]
    )
    assert "Note from the author: HR only" in r["protectedText"]
    assert [t["title"] for t in r["tags"]] == ["Protected with c11", "Protected with c11"]
    assert all(t["locked"] for t in r["tags"]) and r["tags"][0]["tag"] == "c11-note"
    assert re.fullmatch(r"c11:[0-9a-f]{16}:word/document\.xml#1", r["tags"][1]["tag"])
    assert r["read"][0]["lines"] == ["Alice earns SECRET-1.", "Name | Pay", "Alice | SECRET-2"]
    assert r["readByCarol"] == 1 and r["history"] is True
    assert r["done"] == {"opened": 1, "closed": 0}
    assert r["after"] == r["before"] and r["parts"] == 0
    assert "update Office" in r["old"]
