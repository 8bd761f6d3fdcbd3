"""A real DNS server on loopback for tests (dnslib's, UDP on a free port) answering TXT from a table the test
fills; servers under test point their `dns_resolvers` setting at it, so no test asks the network."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Zone:
    """dnslib resolver: TXT answers from `records` (name -> values); other names NXDOMAIN; `queries` seen."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.queries: list[str] = []
        self.port = 0

    @property
    def resolvers(self) -> str:
        """The `dns_resolvers` setting that points at this server."""
        return f"127.0.0.1:{self.port}"

    def resolve(self, request: Any, handler: Any) -> Any:
        from dnslib import QTYPE, RCODE, RR, TXT

        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        self.queries.append(name)
        if name not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for v in self.records[name]:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(v), ttl=60))
        return reply


@contextmanager
def dns_server() -> Iterator[Zone]:
    """A running DNS server on 127.0.0.1 (its `Zone`), stopped afterwards."""
    from dnslib.server import DNSLogger, DNSServer

    zone = Zone()
    server = DNSServer(zone, address="127.0.0.1", port=0, logger=DNSLogger(logf=lambda _: None))
    zone.port = server.server.server_address[1]
    server.start_thread()
    try:
        yield zone
    finally:
        server.stop()
