"""Previews on the Open page, after the whole file authenticated: text (markup in it stays text: the frame shows
`text/plain` in a frame with an empty `sandbox` attribute: no scripts) and an image (an `<img>` from a blob: URL),
under the app's CSP; a PDF drawn by pdf.js into canvases (pixels only: its JavaScript does not run, its link is not
a link), a malformed PDF says so. Also: the Open flow by keyboard only, file choosers opened with the keyboard."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from srvkit import run_cli

PASSPHRASE = "preview test passphrase"
MARKUP = "<b>bold?</b><script>document.title='pwned'</script><img src=x onerror=alert(1)>\n"


def _pdf() -> bytes:
    """A one-page PDF: a red rectangle, a link annotation and JavaScript run on open (a viewer that runs it would
    change the page's title), with a correct cross-reference table."""
    draw = b"1 0 0 rg 50 600 300 150 re f"
    objs = [
        b"<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript/JS(document.title='pwned'; app.alert(1))>>>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 400 800]/Contents 4 0 R/Annots[5 0 R]>>",
        b"<</Length %d>>stream\n%s\nendstream" % (len(draw), draw),
        b"<</Type/Annot/Subtype/Link/Rect[50 600 350 750]/A<</S/URI/URI(https://evil.example/)>>>>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """bob's key file; note.txt, photo.png, doc.pdf and broken.pdf encrypted for bob by alice (with the CLI)."""
    tmp = tmp_path_factory.mktemp("preview")
    env = {"C11_PASSPHRASE": PASSPHRASE}
    for who in ("alice", "bob"):
        r = run_cli(["keygen", "--label", f"{who}@example.com", "-o", str(tmp / f"{who}.key")], tmp / "cfg", env)
        assert r.returncode == 0, r.stderr
        (tmp / f"{who}.pub").write_text(r.stdout)
    (tmp / "note.txt").write_text(MARKUP)
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buf, "PNG")
    (tmp / "photo.png").write_bytes(buf.getvalue())
    (tmp / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n%%EOF\n")
    (tmp / "doc.pdf").write_bytes(_pdf())
    for name in ("note.txt", "photo.png", "doc.pdf", "broken.pdf"):
        r = run_cli(
            ["encrypt", "-i", str(tmp / "alice.key"), "-r", (tmp / "bob.pub").read_text().strip(), str(tmp / name)],
            tmp / "cfg",
            env,
        )
        assert r.returncode == 0, r.stderr
    return {p.name: p for p in tmp.iterdir() if p.is_file()}


def _open(page, file: Path, key: Path) -> None:  # noqa: ANN001
    page.goto("/open")
    page.get_by_label("Protected file (.c11)").set_input_files(str(file))
    page.get_by_label("Your key file (.key)").set_input_files(str(key))
    page.get_by_label("Passphrase of the key file").fill(PASSPHRASE)
    page.get_by_role("button", name="Open", exact=True).click()
    page.get_by_role("heading", name="Opened").wait_for(timeout=60_000)
    page.get_by_role("button", name="Show a preview").click()


def test_text_preview_is_text_in_a_sandbox(page, made, axe, narrow, screenshot):
    _open(page, made["note.txt.c11"], made["bob.key"])
    frame = page.locator("iframe[title='Preview of note.txt']")
    frame.wait_for()
    assert frame.get_attribute("sandbox") == "" and frame.get_attribute("src").startswith("blob:")
    body = page.frame_locator("iframe[title='Preview of note.txt']").locator("body")
    assert body.inner_text(timeout=10_000).strip() == MARKUP.strip()  # shown as text, not run
    assert page.title() != "pwned"
    axe(page)
    screenshot(page, "text")
    narrow(page, "text")


def test_image_and_pdf_previews(page, made, axe, narrow, screenshot):
    _open(page, made["photo.png.c11"], made["bob.key"])
    img = page.get_by_role("img", name="Preview of photo.png")
    img.wait_for()
    page.wait_for_function("() => document.querySelector('.preview img')?.naturalWidth === 40")
    screenshot(page, "image")
    # a PDF: drawn by pdf.js (loaded only now) into a canvas; its JavaScript does not run, its link is not a link
    _open(page, made["doc.pdf.c11"], made["bob.key"])
    canvas = page.get_by_role("img", name="Page 1 of 1 of doc.pdf")
    canvas.wait_for(timeout=60_000)
    page.wait_for_selector(".preview canvas[data-drawn='true']", timeout=60_000)
    # the rectangle's middle (x 200 of 400, y 125 of 800 from the top) is red, a corner is white
    red, white = page.evaluate(
        """() => { const c = document.querySelector('.preview canvas'); const g = c.getContext('2d');
        const at = (x, y) => Array.from(g.getImageData(Math.floor(c.width * x), Math.floor(c.height * y), 1, 1).data);
        return [at(0.5, 125 / 800), at(0.02, 0.98)]; }"""
    )
    assert red[0] > 200 and red[1] < 60 and red[2] < 60, red
    assert min(white[:3]) > 240, white
    assert page.title() != "pwned"
    assert page.locator(".preview a, .preview iframe, .preview embed, .preview object").count() == 0
    assert "1 page" in page.locator(".preview figcaption").inner_text()
    axe(page)
    screenshot(page, "pdf")
    narrow(page, "pdf")
    # a malformed PDF: authenticated, but pdf.js cannot read it: said so, nothing shown
    _open(page, made["broken.pdf.c11"], made["bob.key"])
    page.get_by_text("No preview: this PDF could not be read").wait_for(timeout=60_000)
    assert page.locator(".preview canvas").count() == 0


def _choose_by_keyboard(page: Any, element_id: str, path: Path) -> None:
    """Tab to the file input `element_id` and open its chooser with Space (again if a re-render took the focus)."""
    for _ in range(3):
        for _ in range(30):
            if page.evaluate("document.activeElement.id") == element_id:
                break
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == element_id
        try:
            with page.expect_file_chooser(timeout=10_000) as fc:
                page.keyboard.press("Space")
        except PlaywrightTimeout:
            continue
        fc.value.set_files(str(path))
        return
    raise AssertionError(f"Space on #{element_id} opened no file chooser")


def test_open_and_preview_by_keyboard_only(page, made):
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Open").wait_for()  # the app has rendered
    for _ in range(3):  # skip link, c11, Open
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Open"
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Open a protected file").wait_for()
    _choose_by_keyboard(page, "open-file", made["note.txt.c11"])
    _choose_by_keyboard(page, "open-key", made["bob.key"])
    page.get_by_label("Passphrase of the key file").wait_for()
    page.keyboard.press("Tab")
    page.keyboard.type(PASSPHRASE)
    page.keyboard.press("Enter")  # submits the form
    page.get_by_role("heading", name="Opened").wait_for(timeout=60_000)
    for _ in range(10):  # on to the preview button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Show a preview":
            break
    page.keyboard.press("Enter")
    page.locator("iframe[title='Preview of note.txt']").wait_for()
