"""Speaking the tus upload protocol in tests (the SDK's uploader is tested through its own tests)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx

TUS = {"Tus-Resumable": "1.0.0"}


def create(h: httpx.Client, length: int) -> str:
    r = h.post("/api/v1/uploads", headers={**TUS, "Upload-Length": str(length)})
    assert r.status_code == 201, r.text
    return str(r.headers["Location"])


def offset(h: httpx.Client, url: str) -> int:
    r = h.head(url, headers=TUS)
    assert r.status_code == 200, r.status_code
    return int(r.headers["Upload-Offset"])


def patch(h: httpx.Client, url: str, at: int, data: bytes | Iterator[bytes]) -> httpx.Response:
    return h.patch(
        url,
        content=data,
        headers={**TUS, "Upload-Offset": str(at), "Content-Type": "application/offset+octet-stream"},
    )


def complete(h: httpx.Client, url: str, data: bytes) -> httpx.Response:
    return h.post(f"{url}/complete", json={"length": len(data), "sha256": hashlib.sha256(data).hexdigest()})
