"""Session fixtures of the protector tests: the real storage servers (tests/protector/_servers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _servers import GCS, Azurite, Samba, start_azurite, start_gcs, start_samba, weedkit


@pytest.fixture(scope="session")
def weed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    w = weedkit.start_weed(tmp_path_factory.mktemp("protector-weed"))
    yield w
    w.stop()


@pytest.fixture(scope="session")
def gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GCS]:
    g = start_gcs(tmp_path_factory.mktemp("protector-gcs"))
    yield g
    g.stop()


@pytest.fixture(scope="session")
def samba(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Samba]:
    s = start_samba(tmp_path_factory.mktemp("protector-smb"))
    yield s
    s.stop()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    a = start_azurite(tmp_path_factory.mktemp("protector-azurite"))
    yield a
    a.stop()
