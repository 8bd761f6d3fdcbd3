"""Large files stream in the browser (docs/web.md "Large files"): a multi-segment file is decrypted and encrypted
segment by segment and written to disk as a stream, through both paths of web/src/app/download.ts:

- `download`: the download service worker (the default of every test page: conftest's NO_SAVE_PICKER);
- `file`: the File System Access API. Headless Chromium's "Save as" dialog aborts at once, so these tests install a
  `showSaveFilePicker` that answers a real FileSystemFileHandle of the origin private file system (the same writable
  semantics: a swap file moved into place on close, discarded on abort) instead of asking the person.

A file whose last segment was modified leaves no finished file on either path, a truncated one is refused before
anything is offered, cancelling in the middle leaves nothing, and progress is shown."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from srvkit import run_cli

PASSPHRASE = "stream test passphrase"
SIZE = 8 * 2**20 + 12_345  # 129 segments of 64 KiB: three read batches (chunks) of the worker
SEGMENT = 65_536

#: The picker the `file` tests install (before the app loads): a handle in the origin private file system.
#: window.__slowSave (ms) makes its writable slow, so a test can cancel in the middle.
PICKER = """
window.showSaveFilePicker = async ({ suggestedName }) => {
  const dir = await navigator.storage.getDirectory();
  const real = await dir.getFileHandle(suggestedName, { create: true });
  if (!window.__slowSave) return real;
  return {
    name: real.name, kind: "file", getFile: () => real.getFile(), remove: () => real.remove(),
    createWritable: async () => {
      const w = (await real.createWritable()).getWriter();
      return new WritableStream({
        async write(chunk) { await new Promise((r) => setTimeout(r, window.__slowSave)); await w.write(chunk); },
        close: () => w.close(), abort: (reason) => w.abort(reason),
      });
    },
  };
};
"""
#: Name -> base64 of a file in the origin private file system, or null when there is none.
READ_OPFS = """async (name) => {
  const dir = await navigator.storage.getDirectory();
  let handle;
  try { handle = await dir.getFileHandle(name); } catch (e) { if (e.name === 'NotFoundError') return null; throw e; }
  const bytes = new Uint8Array(await (await handle.getFile()).arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """carol's key (passphrase), data.bin (129 segments) encrypted by her with the CLI, a copy with its last segment
    modified and one cut short."""
    tmp = tmp_path_factory.mktemp("stream")
    env = {"C11_PASSPHRASE": PASSPHRASE}
    r = run_cli(["keygen", "--label", "carol@example.com", "-o", str(tmp / "carol.key")], tmp / "cfg", env)
    assert r.returncode == 0, r.stderr
    plain = tmp / "data.bin"
    plain.write_bytes(os.urandom(SIZE))
    sealed = tmp / "data.bin.c11"
    r = run_cli(["encrypt", "-i", str(tmp / "carol.key"), "-o", str(sealed), str(plain)], tmp / "cfg", env)
    assert r.returncode == 0, r.stderr
    data = bytearray(sealed.read_bytes())
    n = -(-SIZE // SEGMENT)
    last_segment_end = len(data) - 72 - 32 * n  # the trailer: hash list, n, signature
    data[last_segment_end - 20] ^= 1
    (tmp / "damaged").mkdir()
    (tmp / "damaged" / "data.bin.c11").write_bytes(bytes(data))
    (tmp / "short").mkdir()
    (tmp / "short" / "data.bin.c11").write_bytes(sealed.read_bytes()[: last_segment_end - SEGMENT])
    return {"key": tmp / "carol.key", "plain": plain, "sealed": sealed, "damaged": tmp / "damaged" / "data.bin.c11",
            "short": tmp / "short" / "data.bin.c11"}  # fmt: skip


def _page(new_page: Any, path: str) -> Any:
    page = new_page()
    if path == "file":
        page.add_init_script(PICKER)
    return page


def _open(page: Any, file: Path, key: Path) -> None:
    page.goto("/open")
    page.get_by_label("Protected file (.c11)").set_input_files(str(file))
    page.get_by_label("Your key file (.key)").set_input_files(str(key))
    page.get_by_label("Passphrase of the key file").fill(PASSPHRASE)
    page.get_by_role("button", name="Open").click()
    page.get_by_role("link", name="Save data.bin").or_(page.get_by_role("alert")).wait_for(timeout=60_000)


def _opfs(page: Any, name: str) -> bytes | None:
    b64 = page.evaluate(READ_OPFS, name)
    return None if b64 is None else base64.b64decode(b64)


@pytest.mark.parametrize("path", ["download", "file"])
def test_a_multi_segment_file_opens_as_a_stream(new_page, files, path):
    page = _page(new_page, path)
    _open(page, files["sealed"], files["key"])
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    save = page.get_by_role("link", name="Save data.bin")
    if path == "download":
        with page.expect_download() as dl:
            save.click()
        assert dl.value.failure() is None
        assert dl.value.suggested_filename == "data.bin"
        got = Path(dl.value.path()).read_bytes()
    else:
        save.click()
        page.get_by_text(f"Saved data.bin ({SIZE:,} bytes)").wait_for(timeout=60_000)
        got = _opfs(page, "data.bin") or b""
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(files["plain"].read_bytes()).hexdigest()
    page.get_by_role("status").get_by_text(f"Saved data.bin ({SIZE:,} bytes)").wait_for(timeout=30_000)


@pytest.mark.parametrize("path", ["download", "file"])
def test_a_damaged_last_segment_leaves_no_file(new_page, files, path, screenshot):
    page = _page(new_page, path)
    _open(page, files["damaged"], files["key"])  # both signatures and the hash list verify: the damage is found later
    save = page.get_by_role("link", name="Save data.bin")
    if path == "download":
        with page.expect_download() as dl:
            save.click()
        assert dl.value.failure() is not None  # the browser's download failed: no finished file
    else:
        save.click()
    alert = page.get_by_role("alert")
    alert.wait_for(timeout=60_000)
    assert alert.inner_text().startswith("Not saved:") and "Nothing was kept" in alert.inner_text(), alert.inner_text()
    assert "modified" in alert.inner_text(), alert.inner_text()
    if path == "file":
        assert _opfs(page, "data.bin") is None  # the writable was aborted and the picker's empty file removed
    screenshot(page, f"damaged-{path}")


def test_a_truncated_file_offers_nothing(new_page, files):
    page = _page(new_page, "download")
    _open(page, files["short"], files["key"])
    assert page.get_by_role("alert").inner_text().startswith("Not opened:")
    assert page.get_by_role("link", name="Save data.bin").count() == 0


def test_cancel_in_the_middle_leaves_nothing_and_progress_is_shown(new_page, files, axe, screenshot, narrow):
    page = _page(new_page, "file")
    _open(page, files["sealed"], files["key"])
    page.evaluate("() => { window.__slowSave = 8000; }")  # each write (a 4 MiB chunk) takes 8 s
    page.get_by_role("link", name="Save data.bin").click()
    bar = page.get_by_role("progressbar", name="Saving data.bin")
    bar.wait_for(timeout=30_000)
    page.wait_for_function(
        "() => Number(document.querySelector('[data-bytes]')?.dataset.bytes) > 0", timeout=30_000
    )  # progress: some bytes written
    axe(page)
    screenshot(page, "saving")
    narrow(page, "saving")
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("alert").get_by_text("Cancelled: nothing was kept.").wait_for(timeout=30_000)
    assert bar.count() == 0
    assert _opfs(page, "data.bin") is None
    page.evaluate("() => { window.__slowSave = 0; }")  # saving again after a cancel works
    page.get_by_role("link", name="Save data.bin").click()
    page.get_by_text(f"Saved data.bin ({SIZE:,} bytes)").wait_for(timeout=60_000)
    assert _opfs(page, "data.bin") == files["plain"].read_bytes()


@pytest.mark.parametrize("path", ["download", "file"])
def test_a_multi_segment_file_encrypted_in_the_page_opens_with_the_cli(new_page, people, log_in, files, tmp_path, path):
    alice, bob = people["alice"], people["bob"]
    page = _page(new_page, path)
    log_in(page, alice.email)
    page.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    page.get_by_label("People (email addresses)").fill(bob.email)
    page.get_by_label("File to protect").set_input_files(str(files["plain"]))
    page.get_by_label("Your key file (.key)").set_input_files(str(alice.key))
    page.get_by_label("Passphrase of your key file").fill("a passphrase for the key")
    page.get_by_role("button", name="Encrypt").click()
    save = page.get_by_role("link", name="Save data.bin.c11")
    save.wait_for(timeout=60_000)
    made = tmp_path / "data.bin.c11"
    if path == "download":
        with page.expect_download() as dl:
            save.click()
        assert dl.value.failure() is None
        dl.value.save_as(str(made))
    else:
        save.click()
        page.get_by_role("status").get_by_text("Saved data.bin.c11").wait_for(timeout=60_000)
        made.write_bytes(_opfs(page, "data.bin.c11") or b"")
    out = tmp_path / "out.bin"
    r = bob.cli("decrypt", "-i", str(bob.key), "-o", str(out), str(made))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == files["plain"].read_bytes()
    assert alice.email in r.stderr and "UNVERIFIED" not in r.stderr, r.stderr
