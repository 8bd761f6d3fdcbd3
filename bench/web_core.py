"""Benchmark of the browser core in Debian's Chromium: encrypt and decrypt N MiB in the page (content hashing
included) against raw WebCrypto AES-256-GCM measured in the same page and run, and X-Wing encapsulate/decapsulate.

Run with ``.venv/bin/python bench/web_core.py --size 256`` from the repository root (builds web/dist-harness when
its sources changed; needs ``cd web && npm ci`` and /usr/bin/chromium). Prints one JSON object per size.
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
        finally:
            browser.close()


if __name__ == "__main__":
    main()
