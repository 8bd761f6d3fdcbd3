"""Reading a domain's DNS TXT records for domain verification (docs/organizations.md#domains), with dnspython.

The resolvers are the server's `dns_resolvers` setting (IP[:port], comma-separated) or the system's. Answers
are bounded: at most `MAX_RECORDS` records of at most `MAX_VALUE` characters each are read.
"""

from __future__ import annotations

from c11.server.problems import Problem

#: Seconds one check may wait for the resolvers.
TIMEOUT = 5.0
MAX_RECORDS = 50
MAX_VALUE = 1024


def parse_resolvers(text: str | None) -> list[tuple[str, int]]:
    """`dns_resolvers` as (address, port) pairs: "192.0.2.53", "127.0.0.1:5353" or "[::1]:53"."""
    import ipaddress

    out = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        host, port = part, 53
        if part.startswith("["):
            host, _, rest = part[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else 53
        elif part.count(":") == 1:
            host, _, p = part.partition(":")
            port = int(p)
        ipaddress.ip_address(host)  # ValueError on a name: resolvers are addresses
        out.append((host, port))
    return out


def txt_values(name: str, resolvers: str | None) -> list[str]:
    """The TXT values at `name` (each record's strings joined, as RFC 7208 reads them); [] when the name or its
    TXT records do not exist. A 502 problem when no resolver answers."""
    import dns.exception
    import dns.nameserver
    import dns.resolver

    try:
        servers = parse_resolvers(resolvers)
    except ValueError:
        raise Problem(
            502, "DNS not configured", "The server's dns_resolvers setting is not IP[:port] values."
        ) from None
    r = dns.resolver.Resolver(configure=not servers)
    if servers:
        r.nameservers = [dns.nameserver.Do53Nameserver(host, port) for host, port in servers]
    r.lifetime = r.timeout = TIMEOUT
    try:
        answer = r.resolve(name, "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as e:
        raise Problem(
            502,
            "DNS lookup failed",
            f"Could not read the TXT records of {name} ({type(e).__name__}); try again in a few minutes.",
            "dns-failed",
        ) from None
    out = []
    for rr in list(answer)[:MAX_RECORDS]:
        value = b"".join(rr.strings).decode("utf-8", "replace")
        if len(value) <= MAX_VALUE:
            out.append(value)
    return out
