"""Fixtures of the sharing tests: a real S3 server (SeaweedFS) for the session, and blob stores on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from weedkit import Weed, start_weed


@pytest.fixture(scope="session")
def weed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weed]:
    w = start_weed(tmp_path_factory.mktemp("seaweedfs"))
    yield w
    w.stop()


def s3_config(weed: Weed, data_dir: Path, **kw: object):  # type: ignore[no-untyped-def]
    """A server Config storing into the SeaweedFS bucket."""
    from dataclasses import replace

    from srvkit import server_config

    cfg = server_config(data_dir, f"sqlite:///{data_dir / 'c11.db'}")
    return replace(
        cfg,
        storage_url=f"s3://{weed.bucket}/c11-{data_dir.name}",
        s3_endpoint_url=weed.endpoint,
        s3_region="us-east-1",
        s3_access_key_id=weed.access_key,
        s3_secret_access_key=weed.secret_key,
        **kw,
    )
