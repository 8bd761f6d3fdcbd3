"""The enterprise key server (issue 20, docs/enterprise.md): members' keys under the organization's HSM.

`open_services(config)` builds what the app runs on; `c11 enterprise-keyserver` is its command line.
"""

from __future__ import annotations

import httpx

from c11._web.db import Database
from c11.enterprise import migrate
from c11.enterprise.app import Services
from c11.enterprise.config import EnterpriseConfig
from c11.enterprise.identity import ClaimRules, TokenVerifier
from c11.enterprise.kek import KeyRing


def open_ring(config: EnterpriseConfig, *, create: bool = False) -> KeyRing:
    """The key ring with the configured master key (KekError, one line, if it cannot be opened)."""
    return KeyRing(config.kek_source, config.kek_source.open(config.kek, create=create))


def verifier(config: EnterpriseConfig) -> TokenVerifier | None:
    """The token verifier of the configured OIDC provider (None when no provider is configured)."""
    if not (config.oidc_issuer and config.oidc_audience):
        return None
    rules = ClaimRules(
        issuer=config.oidc_issuer,
        audience=config.oidc_audience,
        email_claim=config.email_claim,
        groups_claim=config.groups_claim,
        required_group=config.required_group,
        allowed_domains=config.allowed_domains,
        trust_issuer_email=config.trust_issuer_email,
        max_lifetime=config.max_token_lifetime,
    )
    return TokenVerifier(rules, httpx.Client(timeout=10.0))


def open_services(config: EnterpriseConfig, *, upgrade: bool = True, create_kek: bool = False) -> Services:
    """Database (migrated), key ring and token verifier for `config`."""
    ring = open_ring(config, create=create_kek)
    db = Database(config.database_url)
    if upgrade:
        migrate.upgrade(db.engine)
    return Services(db, ring, verifier(config), config.admin_token, config.cors_origin)
