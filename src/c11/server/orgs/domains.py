"""Email domains an organization has proven it controls (docs/organizations.md): what counts as consent to membership.

A domain is verified by a confirmation link mailed to `postmaster@` or `admin@` the domain (RFC 2142
mailboxes only its operator reads), by a DNS TXT record at `_c11-verification.<domain>` holding the claim's
random token (`start_dns`, `check_dns`), or by the server operator (`c11 org create --domain D --verified`).
The link's token is 32 random bytes; only its SHA-256 is stored, and it is single-use and expires. A
verified domain lets the organization add its own addresses without their acceptance; anyone else joins only
by accepting an invitation (`orgs.joining`). Functions take an open session; callers commit.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from c11.notify.outbox import SECRET_PLACEHOLDER
from c11.server.db import utcnow
from c11.server.orgs.models import Organization, OrgDomain, OrgMember
from c11.server.outbox.service import enqueue
from c11.server.problems import Problem

#: The mailboxes a confirmation link may go to (RFC 2142 role addresses).
MAILBOXES = ("postmaster", "admin")
#: How long a confirmation link stays valid.
LINK_TTL = timedelta(days=7)
#: How long a pending DNS claim's token can prove the domain, from the claim (or its restart): a record published
#: for an old claim, or left behind by a former holder of the domain's DNS, stops counting.
DNS_TTL = timedelta(days=30)
CONFIRM_PATH = "/api/v1/domain-confirmations"
#: The DNS label under the domain where its TXT record goes, and the prefix of the record's value.
DNS_LABEL = "_c11-verification"
DNS_PREFIX = "c11-domain-verification="
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"^(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})$")


def check_domain(domain: str) -> str:
    """A lower-case DNS name (ASCII; IDNs in their xn-- form) of at most 253 characters, or 422."""
    d = domain.strip().lower().rstrip(".")
    if len(d) > 253 or not _DOMAIN.match(d):
        raise Problem(
            422,
            "Bad domain",
            f"{domain.strip()[:80]!r} is not a domain name (e.g. example.com; "
            "internationalized names in their xn-- form).",
            "bad-domain",
        )
    return d


def domain_of(email: str) -> str:
    return email.strip().lower().rpartition("@")[2]


def verified(s: Session, org_id: str) -> list[str]:
    """The organization's verified domains, sorted."""
    return sorted(s.scalars(select(OrgDomain.domain).where(OrgDomain.org_id == org_id, OrgDomain.status == "verified")))


def covers(s: Session, org_id: str, email: str) -> bool:
    """True when `email`'s domain (exactly; not a parent domain) is verified by the organization."""
    return (
        s.scalar(
            select(OrgDomain.id).where(
                OrgDomain.org_id == org_id, OrgDomain.status == "verified", OrgDomain.domain == domain_of(email)
            )
        )
        is not None
    )


def _row(s: Session, org_id: str, domain: str) -> OrgDomain | None:
    return s.scalar(select(OrgDomain).where(OrgDomain.org_id == org_id, OrgDomain.domain == domain))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _confirm_members(s: Session, org_id: str, domain: str) -> int:
    """The organization's not-consented members at `domain` are now members by domain; returns how many."""
    return (
        s.execute(
            update(OrgMember)
            .where(OrgMember.org_id == org_id, OrgMember.consent.is_(None), OrgMember.email.like(f"%@{domain}"))
            .values(consent="domain", consented_at=utcnow())
        ).rowcount
        or 0
    )


def set_verified(s: Session, org: Organization, domain: str, by: str | None, method: str = "operator") -> OrgDomain:
    """Mark `domain` verified for `org` now (the operator's command, or a confirmed link)."""
    domain = check_domain(domain)
    row = _row(s, org.id, domain)
    if row is None:
        row = OrgDomain(org_id=org.id, domain=domain, method=method, created_by=by)
        s.add(row)
    row.status, row.method, row.token_hash, row.verified_at = "verified", method, None, utcnow()
    s.flush()
    _confirm_members(s, org.id, domain)
    return row


def start_email(s: Session, org: Organization, domain: str, mailbox: str, by: str, base_url: str) -> OrgDomain:
    """Claim `domain` for `org` (pending) and mail a confirmation link to `mailbox@domain` (a new link
    replaces an older one). 409 when the domain is verified already."""
    domain = check_domain(domain)
    if mailbox not in MAILBOXES:
        raise Problem(422, "Bad mailbox", f"The link goes to one of {', '.join(MAILBOXES)} (@{domain}).", "bad-mailbox")
    row = _row(s, org.id, domain)
    if row is not None and row.status == "verified":
        raise Problem(409, "Conflict", f"{domain} is verified for your organization already.", "domain-verified")
    token = secrets.token_urlsafe(32)
    if row is None:
        row = OrgDomain(org_id=org.id, domain=domain)
        s.add(row)
    row.status, row.method, row.mailbox, row.created_by = "pending", "email", f"{mailbox}@{domain}", by
    row.token_hash, row.created_at = _hash(token), utcnow()
    s.flush()
    # the token is kept apart from the stored body and erased once the message is delivered (c11.notify.outbox)
    link = f"{base_url.rstrip('/')}{CONFIRM_PATH}?token={SECRET_PLACEHOLDER}"
    msg = enqueue(
        s,
        "domain-confirmation",
        row.mailbox,
        f"Confirm that {org.name} may manage addresses @{domain}",
        f"{by} asked that the organization {org.name!r} on {base_url} prove it controls {domain}.\n\n"
        f"If you confirm, this organization can add any address @{domain} as a member without asking the "
        "person: their organization's recovery keys are then added whenever someone encrypts for them, and "
        "its admins can deactivate them and withdraw their keys.\n\n"
        f"To confirm, open this link and press the button (valid for {LINK_TTL.days} days):\n{link}\n\n"
        "If you do not know about this, ignore this email: nothing happens.\n",
    )
    msg.secret = token
    return row


def txt_name(domain: str) -> str:
    """Where the TXT record of a claim goes: a name of its own, so no other record (SPF, ...) is touched."""
    return f"{DNS_LABEL}.{domain}"


def txt_value(token: str) -> str:
    return f"{DNS_PREFIX}{token}"


def start_dns(s: Session, org: Organization, domain: str, by: str) -> tuple[OrgDomain, bool]:
    """Claim `domain` for `org` (pending) by DNS: the claim gets a random token (kept while it is pending; a
    mailed link may prove the same claim); True when the token is new. 409 when the domain is verified already."""
    domain = check_domain(domain)
    row = _row(s, org.id, domain)
    if row is not None and row.status == "verified":
        raise Problem(409, "Conflict", f"{domain} is verified for your organization already.", "domain-verified")
    now = utcnow()
    if row is None:
        row = OrgDomain(org_id=org.id, domain=domain, method="dns", created_by=by, created_at=now)
        s.add(row)
    new = row.dns_token is None or dns_expired(row)
    if new:  # a new token, or one for an expired claim: the claim starts again (DNS_TTL from now)
        row.dns_token = secrets.token_urlsafe(32)
        if row.token_hash is None or now - row.created_at > LINK_TTL:  # keep a live mailed link's own age
            row.created_at = now
    s.flush()
    return row, new


def dns_expired(row: OrgDomain) -> bool:
    """Whether the claim's DNS token is past `DNS_TTL` (then it proves nothing; claiming again gives a new one)."""
    return row.dns_token is not None and utcnow() - row.created_at > DNS_TTL


def _expired_claim(domain: str) -> Problem:
    return Problem(
        410,
        "Gone",
        f"The DNS claim of {domain} is older than {DNS_TTL.days} days and expired; claim the domain by DNS again "
        "for a new record to publish.",
        "claim-expired",
    )


def dns_token(s: Session, org_id: str, domain: str) -> str:
    """The token of the organization's pending DNS claim of `domain` (404 when there is none)."""
    row = _row(s, org_id, check_domain(domain))
    if row is None or row.status != "pending" or row.dns_token is None:
        raise Problem(
            404, "Not Found", f"Your organization has no pending DNS claim of {domain.strip().lower()}.", "no-domain"
        )
    if dns_expired(row):
        raise _expired_claim(row.domain)
    return row.dns_token


def check_dns(s: Session, org_id: str, domain: str, token: str, values: list[str]) -> OrgDomain:
    """Verify the claim whose token was `token` when `values` (the TXT values read at `txt_name(domain)`) hold
    exactly `txt_value(token)` (constant-time comparisons); 409 naming the record to publish otherwise. The row is
    read FOR UPDATE (PostgreSQL): of two checks at once, the second sees the claim verified (409 `stale`)."""
    name = check_domain(domain)
    row = s.scalar(select(OrgDomain).where(OrgDomain.org_id == org_id, OrgDomain.domain == name).with_for_update())
    if row is None or row.status != "pending" or row.dns_token is None or row.dns_token != token:
        raise Problem(409, "Conflict", f"The claim of {domain} changed meanwhile; reload and check again.", "stale")
    if dns_expired(row):
        raise _expired_claim(row.domain)
    want = txt_value(row.dns_token).encode()
    found = False
    for v in values:  # every value is compared (no early exit): the time says nothing about the token
        found |= hmac.compare_digest(v.strip().encode(), want)
    if not found:
        raise Problem(
            409,
            "Record not found",
            f"No TXT record at {txt_name(row.domain)} holds this claim's value yet. Publish it at your DNS host "
            "and check again (a new record can take minutes to an hour to be seen).",
            "dns-record-missing",
        )
    row.status, row.method, row.token_hash, row.verified_at = "verified", "dns", None, utcnow()
    s.flush()
    _confirm_members(s, org_id, row.domain)
    return row


def pending_by_token(s: Session, token: str) -> OrgDomain:
    """The pending claim whose link carries `token` (404 when unknown, used or expired)."""
    gone = Problem(404, "Not Found", "This confirmation link is unknown, used or expired.", "bad-link")
    if not token or len(token) > 200:
        raise gone
    digest = _hash(token)
    row = s.scalar(select(OrgDomain).where(OrgDomain.token_hash == digest, OrgDomain.status == "pending"))
    if row is None or not hmac.compare_digest(row.token_hash or "", digest):
        raise gone
    if utcnow() - row.created_at > LINK_TTL:
        raise gone
    return row


def confirm(s: Session, token: str) -> OrgDomain:
    """Verify the claim of the link's token (single use); members at that domain become members by domain."""
    row = pending_by_token(s, token)
    row.status, row.token_hash, row.verified_at = "verified", None, utcnow()
    s.flush()
    _confirm_members(s, row.org_id, row.domain)
    return row


def remove(s: Session, org_id: str, domain: str) -> OrgDomain:
    """Forget a claim (members added through it stay: they were in the domain when added)."""
    row = _row(s, org_id, check_domain(domain))
    if row is None:
        raise Problem(404, "Not Found", f"Your organization has not claimed {domain.strip().lower()}.", "no-domain")
    s.delete(row)
    return row


def as_json(row: OrgDomain) -> dict[str, object]:
    return {
        "domain": row.domain,
        "status": row.status,
        "method": row.method,
        "mailbox": row.mailbox,
        "dns_record": (
            {"name": txt_name(row.domain), "type": "TXT", "value": txt_value(row.dns_token)}
            if row.status == "pending" and row.dns_token and not dns_expired(row)
            else None
        ),
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "verified_at": row.verified_at.isoformat() if row.verified_at else None,
    }
