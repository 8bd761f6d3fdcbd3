"""Benchmark of the browser core in Debian's Chromium: encrypt and decrypt N MiB in the page (content hashing
included) against raw WebCrypto AES-256-GCM measured in the same page and run, and X-Wing encapsulate/decapsulate.

Run with ``.venv/bin/python bench/web_core.py --size 256`` from the repository root (builds web/dist-harness when
its sources changed; needs ``cd web && npm ci`` and /usr/bin/chromium). Prints one JSON object per size, then one
per size for the hashing alone (``hashBench``): the signed format's per-segment SHA-256 by WebCrypto ``digest``,
by hash-wasm (WebAssembly) and by @noble/hashes, beside raw AES-GCM over the same segments, in the same page; and
the encrypt pipeline stage by stage (``stageBench``: reads, + AES-GCM, + SHA-256, + chunking, the core's stream).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "web"))

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, action="append", help="MiB to encrypt and decrypt (repeatable; default 64)")
    sizes = parser.parse_args().size or [64]
    from _harness import harness_page, serve_harness
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            with serve_harness() as base, harness_page(browser, base) as page:
                for size in sizes:
                    r = page.evaluate("(n) => window.c11harness.bench(n)", size)
                    r["encrypt_vs_raw"] = round(r["encryptMiBs"] / r["rawAesGcmMiBs"], 2)
                    r["decrypt_vs_raw"] = round(r["decryptMiBs"] / r["rawAesGcmMiBs"], 2)
                    print(json.dumps(r), flush=True)
                for size in sizes:
                    h = page.evaluate("(n) => window.c11harness.hashBench(n)", size)
                    print(json.dumps({"what": "per-segment SHA-256 (best of 2 rounds, MiB/s)", **h}), flush=True)
                for size in sizes:
                    st = page.evaluate("(n) => window.c11harness.stageBench(n)", size)
                    print(json.dumps({"what": "encrypt stages, in-memory Blob (best of 2, MiB/s)", **st}), flush=True)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
