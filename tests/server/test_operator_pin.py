"""Operator pages (review finding 13): the operator organization, when C11_OPERATOR_ORG is unset, is pinned by id at
first use, so deleting it leaves no operator instead of promoting the next customer organization's admins; a shard
store that trickles its /healthz cannot hold GET /api/v1/operator/health past the probe's total limit."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import delete
from srvkit import sqlite_from_template

from c11.server import ops
from c11.server.db import Database
from c11.server.notifications.router import OPERATOR_ORG_FILE, operator_org_name
from c11.server.orgs.models import Organization, OrgMember
from c11.server.orgs.service import create_organization


def test_the_operator_organization_is_pinned_and_not_inherited(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c11.db'}"
    sqlite_from_template(url)
    db = Database(url)
    ctx = SimpleNamespace(db=db, config=SimpleNamespace(operator_org=None, data_dir=tmp_path / "data"))
    try:
        assert operator_org_name(ctx) is None  # type: ignore[arg-type]
        assert not (tmp_path / "data" / OPERATOR_ORG_FILE).exists()  # nothing to pin yet
        ids = {}
        for name in ("Operator", "Customer"):
            with db.session() as s:
                org, _ = create_organization(s, name, f"admin@{name.lower()}.example")
                ids[name] = org.id
            time.sleep(0.01)  # distinct creation times
        assert operator_org_name(ctx) == "Operator"  # type: ignore[arg-type]
        assert (tmp_path / "data" / OPERATOR_ORG_FILE).read_text().strip() == ids["Operator"]
        with db.session() as s:  # the operator organization goes away: the customer is now the oldest one
            s.execute(delete(OrgMember).where(OrgMember.org_id == ids["Operator"]))
            s.execute(delete(Organization).where(Organization.id == ids["Operator"]))
        assert operator_org_name(ctx) is None  # type: ignore[arg-type]  # nobody, not "Customer"
        ctx.config.operator_org = "Customer"  # the operator says so explicitly
        assert operator_org_name(ctx) == "Customer"  # type: ignore[arg-type]
    finally:
        db.dispose()


def test_a_trickling_shard_store_is_given_up_on_after_the_total_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops, "_STORE_TIMEOUT", 0.8)

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
        try:
            while True:  # one byte every 0.2 s: each read is well within httpx's per-read timeout
                writer.write(b"1\r\n \r\n")
                await writer.drain()
                await asyncio.sleep(0.2)
        except (ConnectionError, asyncio.CancelledError):
            pass

    async def main() -> tuple[dict[str, object], float]:
        srv = await asyncio.start_server(trickle, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        try:
            async with httpx.AsyncClient(timeout=3.0) as client:
                started = time.monotonic()
                out = await ops._store_health(client, f"http://127.0.0.1:{port}")
                return out, time.monotonic() - started
        finally:
            srv.close()

    out, took = asyncio.run(main())
    assert out["reachable"] is False and "no answer within" in str(out["detail"])
    assert 0.7 <= took < 2.0
