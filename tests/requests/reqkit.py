"""Helpers of the document-request tests that test modules import (a conftest is not importable by name under xdist)."""

from __future__ import annotations

from typing import Any


def tus_upload(h: Any, data: bytes) -> str:
    """Upload `data` through the uploads API (tus) with the client's credentials; the completed upload's ID."""
    import hashlib

    tus = {"tus-resumable": "1.0.0"}
    r = h.post("/api/v1/uploads", headers={**tus, "upload-length": str(len(data))})
    assert r.status_code == 201, r.text
    url = r.headers["location"]
    half = len(data) // 2
    for at, chunk in ((0, data[:half]), (half, data[half:])):  # two requests, as a resumed upload
        r = h.patch(
            url,
            content=chunk,
            headers={**tus, "upload-offset": str(at), "content-type": "application/offset+octet-stream"},
        )
        assert r.status_code == 204, r.text
    r = h.post(f"{url}/complete", json={"length": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])
