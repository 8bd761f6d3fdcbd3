"""HTTP routes of organization domains (docs/organizations.md): admins claim a domain (crud:config-org), and whoever
reads postmaster@ or admin@ that domain confirms it through the mailed link (no account needed), or the admin
publishes the claim's DNS TXT record and asks the server to check it.

The link's GET answers a small page with a button; only its POST confirms, so mail scanners that fetch
links do not confirm anything. See docs/organizations.md#domains.
"""

from __future__ import annotations

import html
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from c11.server.accounts.router import deliver_later
from c11.server.context import Ctx
from c11.server.logsrv.service import log_service
from c11.server.orgs import dnscheck, domains, service
from c11.server.orgs.models import Organization
from c11.server.orgs.permissions import OrgCaller, require_org_permission
from c11.server.problems import Problem, responses
from c11.server.ratelimits import Group, RateLimiter

router = APIRouter(prefix="/api/v1/org/domains", tags=["organizations"], responses=responses(401, 403, 404, 409, 422))
confirm_router = APIRouter(prefix=domains.CONFIRM_PATH, tags=["organizations"], responses=responses(404))
Config = Annotated[OrgCaller, Depends(require_org_permission("crud:config-org"))]
Token = Annotated[str, Query(max_length=200, description="The token of the mailed link")]
#: "Check now" per organization and server process: each check sends DNS queries from the server.
DNS_CHECKS = Group("dns-check", 10, 60, False, ())


class DomainIn(BaseModel):
    domain: str = Field(max_length=253)
    mailbox: Literal["postmaster", "admin"] = Field(
        default="postmaster", description="Who gets the link: postmaster@ or admin@ the domain"
    )


class DnsRecordOut(BaseModel):
    name: str = Field(description="The record's name: _c11-verification.<domain>")
    type: str = Field(description="TXT")
    value: str = Field(description="c11-domain-verification=<the claim's random token>")


class DomainOut(BaseModel):
    domain: str
    status: str = Field(description="pending (link mailed or DNS record to publish) or verified")
    method: str = Field(description="email, dns or operator")
    mailbox: str | None
    dns_record: DnsRecordOut | None = Field(description="The TXT record to publish, while a DNS claim is pending")
    created_at: str | None
    verified_at: str | None


@router.get("", response_model=list[DomainOut], summary="Your organization's domains")
def list_domains(caller: Config, ctx: Ctx) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from c11.server.orgs.models import OrgDomain

    with ctx.db.session() as s:
        rows = s.scalars(select(OrgDomain).where(OrgDomain.org_id == caller.org_id).order_by(OrgDomain.domain))
        return [domains.as_json(r) for r in rows]


@router.post("", response_model=DomainOut, status_code=202, summary="Claim a domain (a link is mailed to it)")
def claim(body: DomainIn, caller: Config, ctx: Ctx, tasks: BackgroundTasks) -> dict[str, Any]:
    """The domain stays pending until someone reading `mailbox@domain` confirms the mailed link."""
    with log_service(ctx).transaction() as (s, log):
        org = s.get(Organization, caller.org_id)
        row = domains.start_email(s, org, body.domain, body.mailbox, caller.principal.email, ctx.config.base_url)
        log.append(
            "admin",
            {**service.admin_entry("domain.claim", caller.principal.email, org.id, org.id), "domain": row.domain},
            subject=org.id,
        )
        out = domains.as_json(row)
    deliver_later(tasks, ctx)
    return out


@router.post("/{domain}/dns", response_model=DomainOut, summary="Claim a domain by a DNS TXT record")
def claim_dns(domain: Annotated[str, Path(max_length=253)], caller: Config, ctx: Ctx) -> dict[str, Any]:
    """The answer's `dns_record` is the TXT record to publish; then `POST .../dns/check`. Asking again shows the
    same record (the token stays while the claim is pending)."""
    with log_service(ctx).transaction() as (s, log):
        org = s.get(Organization, caller.org_id)
        row, new = domains.start_dns(s, org, domain, caller.principal.email)
        if new:
            log.append(
                "admin",
                {
                    **service.admin_entry("domain.claim", caller.principal.email, org.id, org.id),
                    "domain": row.domain,
                    "method": "dns",
                },
                subject=org.id,
            )
        return domains.as_json(row)


@router.post(
    "/{domain}/dns/check",
    response_model=DomainOut,
    summary="Check the DNS TXT record now",
    responses=responses(410, 429, 502),
)
def check_dns(domain: Annotated[str, Path(max_length=253)], caller: Config, ctx: Ctx) -> dict[str, Any]:
    """Reads the TXT records at `_c11-verification.<domain>` through the server's resolvers; verified when one
    holds the claim's value (409 `dns-record-missing` otherwise; 502 when DNS does not answer; 410 when the claim
    expired; 429 past `DNS_CHECKS` per organization)."""
    wait = ctx.service("rate_limits", RateLimiter).take(DNS_CHECKS, f"org:{caller.org_id}")
    if wait:
        raise Problem(
            429,
            "Too Many Requests",
            f"At most {DNS_CHECKS.limit} DNS checks per {DNS_CHECKS.seconds} s per organization; retry in {wait} s.",
            "rate-limited",
            headers={"Retry-After": str(wait)},
        )
    with ctx.db.session() as s:
        name = domains.check_domain(domain)
        token = domains.dns_token(s, caller.org_id, name)
    values = dnscheck.txt_values(domains.txt_name(name), ctx.config.dns_resolvers)  # outside any transaction
    with log_service(ctx).transaction() as (s, log):
        row = domains.check_dns(s, caller.org_id, name, token, values)
        log.append(
            "admin",
            {
                **service.admin_entry("domain.verify", caller.principal.email, caller.org_id, caller.org_id),
                "domain": row.domain,
                "method": "dns",
            },
            subject=caller.org_id,
        )
        return domains.as_json(row)


@router.delete("/{domain}", status_code=204, summary="Forget a domain")
def forget(domain: str, caller: Config, ctx: Ctx) -> Response:
    """New addresses of it need the person's acceptance again; members already added stay."""
    with log_service(ctx).transaction() as (s, log):
        row = domains.remove(s, caller.org_id, domain)
        log.append(
            "admin",
            {
                **service.admin_entry("domain.remove", caller.principal.email, caller.org_id, caller.org_id),
                "domain": row.domain,
            },
            subject=caller.org_id,
        )
    return Response(status_code=204)


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>{body}"
    )


@confirm_router.get("", response_class=HTMLResponse, summary="The confirmation page of a mailed link")
def confirm_page(token: Token, ctx: Ctx) -> HTMLResponse:
    """Shows which organization claims which domain, and a button that confirms (POST)."""
    with ctx.db.session() as s:
        row = domains.pending_by_token(s, token)
        org = s.get(Organization, row.org_id)
        name = org.name if org else "?"
    action = html.escape(f"{domains.CONFIRM_PATH}?token={token}", quote=True)
    return _page(
        f"Confirm {row.domain}",
        f"<p>The organization <b>{html.escape(name)}</b> asks to manage the "
        f"addresses @{html.escape(row.domain)}: it may add them as members without asking each person, "
        "add its recovery keys to what is encrypted for them, deactivate them and withdraw their keys.</p>"
        f'<form method=post action="{action}"><button>Confirm</button></form>',
    )


@confirm_router.post("", summary="Confirm a domain (the mailed link's button)")
def confirm(token: Token, ctx: Ctx) -> HTMLResponse:
    with log_service(ctx).transaction() as (s, log):
        row = domains.confirm(s, token)
        log.append(
            "admin",
            {**service.admin_entry("domain.verify", row.mailbox, row.org_id, row.org_id), "domain": row.domain},
            subject=row.org_id,
        )
        domain = row.domain
    return _page(f"{domain} confirmed", "<p>Thank you: the organization may now manage these addresses.</p>")
