"""Fixtures of the shard tests: per database backend, a c11 server with one shard store (a real
`c11 shard-store serve` process), shared by the tests of a session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from shardkit import ShardEnv, start_env
from srvkit import E2E_BACKENDS


@pytest.fixture(scope="session", params=E2E_BACKENDS)
def shard_env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShardEnv]:
    tmp = tmp_path_factory.mktemp(f"shards-{request.param}")
    url = f"sqlite:///{tmp / 'c11.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_schemas").new()
    env = start_env(tmp, url, request.param, stores=1)
    yield env
    env.stop()
