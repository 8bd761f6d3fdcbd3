"""Previews on a send's or share link's page (/r, docs/sharing.md "Preview", web/src/app/pages/ReceivePreview.tsx):
an image and a PDF of a folder share link previewed with the Open page's Preview after the whole file downloaded,
was checked and decrypted (no Preview for a kind it cannot show); a single-file send whose stored ciphertext the
server changed shows the error and no preview. axe and 375 px. Reuses test_app_send's world (fixtures, link opening)."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from PIL import Image
from test_app_preview import _pdf
from test_app_send import _open_link


def _png(w: int, h: int, noise: bool = False) -> bytes:
    img = Image.frombytes("RGB", (w, h), os.urandom(w * h * 3)) if noise else Image.new("RGB", (w, h), (30, 120, 200))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_link_page_previews_after_authentication(
    people, new_page, axe, narrow, screenshot, web_server, tmp_path: Path
) -> None:
    alice, bob = people["alice"], people["bob"]
    root = tmp_path / "album"
    root.mkdir()
    (root / "photo.png").write_bytes(_png(40, 30))
    (root / "doc.pdf").write_bytes(_pdf())
    (root / "data.bin").write_bytes(os.urandom(1000))
    r = alice.cli("share", "create", str(root), "--to", bob.email)
    assert r.returncode == 0, r.stderr
    link = next(w for w in r.stdout.split() if "/r/" in w)
    page = new_page()
    _open_link(page, link, bob)
    assert "verified" in page.locator(".signer.verified").inner_text()
    files = page.get_by_test_id("send-files")
    # a Preview only for the kinds the Open page's Preview shows; nothing is shown before it is asked for
    assert files.get_by_role("button", name="Preview album/data.bin").count() == 0
    assert page.locator("figure.preview").count() == 0
    files.get_by_role("button", name="Preview album/photo.png").click()
    img = page.get_by_role("img", name="Preview of photo.png")
    img.wait_for(timeout=60_000)
    assert page.wait_for_function("() => document.querySelector('figure.preview img')?.naturalWidth === 40")
    files.get_by_role("button", name="Preview album/doc.pdf").click()
    canvas = page.get_by_role("img", name="Page 1 of 1 of doc.pdf")
    canvas.wait_for(timeout=60_000)
    page.locator('canvas[data-drawn="true"]').wait_for(timeout=60_000)
    assert page.title() != "pwned"  # the PDF's JavaScript did not run
    assert page.get_by_role("alert").count() == 0
    axe(page)
    screenshot(page, "link-previews")
    narrow(page, "link-previews")

    # a single-file send whose stored ciphertext the server changes: the error, and no preview
    shot = tmp_path / "shot.png"
    shot.write_bytes(_png(64, 64, noise=True))
    size = shot.stat().st_size
    t0 = time.time() - 1
    r = alice.cli("send", str(shot), "--to", bob.email)
    assert r.returncode == 0, r.stderr
    link = next(w for w in r.stdout.split() if "/r/" in w)
    (stored,) = [  # the only blob stored since (ciphertext: padded, so larger than the PNG)
        f
        for f in (web_server.data_dir / "blobs").rglob("*")
        if f.is_file() and f.stat().st_size > size and f.stat().st_mtime >= t0
    ]
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 1
    stored.write_bytes(bytes(data))
    page = new_page()
    _open_link(page, link, bob)
    page.get_by_role("button", name="Preview shot.png").click()
    failed = page.get_by_role("alert").filter(has_text="No preview: shot.png")
    failed.wait_for(timeout=60_000)
    assert "not the one the sender listed" in failed.inner_text(), failed.inner_text()
    assert (
        page.locator("figure.preview").count() == 0 and page.get_by_role("img", name="Preview of shot.png").count() == 0
    )
    axe(page)
    screenshot(page, "link-preview-tampered")


def test_no_preview_for_an_unverified_sender(people, new_page, web_server, tmp_path: Path) -> None:
    """The server says mallory sent alice's send: the page says UNVERIFIED; offered anyway, the files can be saved
    but none is previewed (the link page previews only for a verified sender)."""
    from sqlalchemy import select, update

    from c11.server.accounts.models import User
    from c11.server.db import Database
    from c11.server.sharing.models import Send

    alice, bob, mallory = people["alice"], people["bob"], people["mallory"]
    (tmp_path / "pic.png").write_bytes(_png(20, 20))
    r = alice.cli("send", str(tmp_path / "pic.png"), "--to", bob.email)
    assert r.returncode == 0, r.stderr
    link = next(w for w in r.stdout.split() if "/r/" in w)
    db = Database(web_server.config.database_url)
    with db.session() as s:
        mallory_id = s.scalars(select(User.id).where(User.email == mallory.email)).one()
        s.execute(update(Send).where(Send.id == link.rsplit("/", 1)[1]).values(sender_id=mallory_id))
    db.dispose()
    page = new_page()
    _open_link(page, link, bob)
    assert "UNVERIFIED" in page.locator(".signer.unverified").inner_text()
    page.get_by_label("I checked the signing key myself: offer the files anyway").check()
    page.get_by_role("link", name="Save pic.png", exact=True).wait_for()
    assert page.get_by_role("button", name="Preview pic.png").count() == 0
    assert page.get_by_role("button", name="Show a preview").count() == 0
