"""Client side of organizations (docs/organizations.md): reached as `Client.org`.

with Client.from_environment() as c:
    org = c.org.info()                        # None when you are not a member of an organization
    if org and org.policies["require_online"]: ...
    c.org.add_members(["carol@example.com"])  # invited, with temporary keys
    c.org.set_admin("dave@example.com", ["crud:members-org"])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from c11.client._http import HttpCore, json_object, json_objects
from c11.client.transparency import LogAPI
from c11.errors import AuthError

if TYPE_CHECKING:
    from c11.client.org_encpolicies import OrgEncryptionPoliciesAPI

#: Every admin permission (the server's list; `set_admin(..., ALL)` designates a full admin).
PERMISSIONS: tuple[str, ...] = (
    "crud:config-org",
    "crud:members-org",
    "crud:invitations-org",
    "crud:recovery-keys-org",
    "read:events-org",
    "crud:encryption-keys-org",
    "crud:signature-keys-org",
    "crud:groups-org",
    "crud:groups-scim-tokens-org",
)
#: The policy names and their types (OrgPolicies on the server).
POLICIES: dict[str, type] = {
    "allow_cross_org_lookup": bool,
    "allow_member_listing": bool,
    "allow_device_keys": bool,
    "require_online": bool,
    "default_expiry_days": int,
}


@dataclass(frozen=True)
class OrgInfo:
    """`GET /api/v1/org`: the organization, its policies (a dict: see `POLICIES`) and your permissions."""

    id: str
    name: str
    policies: dict[str, Any]
    email: str
    is_admin: bool
    permissions: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def can(self, permission: str) -> bool:
        return self.is_admin and permission in self.permissions

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> OrgInfo:
        you = d.get("you") or {}
        return cls(
            d["id"],
            d["name"],
            dict(d.get("policies") or {}),
            you.get("email", ""),
            bool(you.get("is_admin")),
            tuple(you.get("permissions") or ()),
            d,
        )


@dataclass(frozen=True)
class Member:
    email: str
    status: str
    is_admin: bool
    permissions: tuple[str, ...]
    display_name: str | None = None
    external_id: str | None = None
    added_at: str | None = None
    deactivated_at: str | None = None
    #: domain, accepted or operator; None: invited to join, not accepted yet (not a member until then).
    consent: str | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Member:
        return cls(
            d["email"],
            d["status"],
            bool(d.get("is_admin")),
            tuple(d.get("permissions") or ()),
            d.get("display_name"),
            d.get("external_id"),
            d.get("added_at"),
            d.get("deactivated_at"),
            d.get("consent"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "status": self.status,
            "is_admin": self.is_admin,
            "permissions": list(self.permissions),
            "display_name": self.display_name,
            "external_id": self.external_id,
            "added_at": self.added_at,
            "deactivated_at": self.deactivated_at,
            "consent": self.consent,
        }


@dataclass(frozen=True)
class Added:
    """One email of `add_members`: `result` added (a verified domain), invited-to-join (must accept),
    domain-not-verified (pre-loading refused), already-member or in-another-org; the invitation made (status
    pending, or registered when the person has an account: no temporary key), if any."""

    email: str
    result: str
    status: str | None
    invitation: dict[str, Any] | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Added:
        return cls(d["email"], d["result"], d.get("status"), d.get("invitation"))

    def to_dict(self) -> dict[str, Any]:
        return {"email": self.email, "result": self.result, "status": self.status, "invitation": self.invitation}


class OrgAPI:
    """The /api/v1/org routes (your own organization)."""

    def __init__(self, core: HttpCore, log: LogAPI) -> None:
        self._core = core
        self._log = log

    @property
    def encryption_policies(self) -> OrgEncryptionPoliciesAPI:
        """Named recipient sets of your organization (docs/organizations.md "Encryption policies")."""
        from c11.client.org_encpolicies import OrgEncryptionPoliciesAPI

        return OrgEncryptionPoliciesAPI(self._core)

    def info(self) -> OrgInfo | None:
        """Your organization, or None when you are not a member of one."""
        try:
            return OrgInfo.from_json(self._core.request("GET", "/api/v1/org"))
        except AuthError as e:
            if e.status == 403 and str((e.problem or {}).get("type", "")).endswith("not-a-member"):
                return None
            raise

    def set_policies(self, policies: dict[str, Any] | None = None, **changes: Any) -> OrgInfo:
        """Change some policies (the others keep their values); needs crud:config-org."""
        body = {**(policies or {}), **changes}
        return OrgInfo.from_json(self._core.request("PUT", "/api/v1/org/policies", body))

    def add_members(self, emails: Iterable[str], generate_keys: bool = False) -> list[Added]:
        """Add members: invited by email with temporary keys; `generate_keys`: pre-load them (keys made now,
        no email; for an identity provider; needs crud:encryption-keys-org too)."""
        path = "/api/v1/org/members/preload" if generate_keys else "/api/v1/org/members"
        return [Added.from_json(d) for d in self._core.request("POST", path, {"emails": list(emails)})]

    def list_members(self, status: str | None = None) -> list[Member]:
        params = {"status": status} if status else None
        return [Member.from_json(d) for d in self._core.request("GET", "/api/v1/org/members", params=params)]

    def deactivate(self, email: str) -> Member:
        """Their keys are no longer served and they lose organization access."""
        return Member.from_json(self._core.request("POST", "/api/v1/org/members/deactivate", {"email": email}))

    def reactivate(self, email: str) -> Member:
        return Member.from_json(self._core.request("POST", "/api/v1/org/members/reactivate", {"email": email}))

    def admins(self) -> list[Member]:
        return [Member.from_json(d) for d in self._core.request("GET", "/api/v1/org/admins")]

    def set_admin(self, email: str, permissions: Iterable[str]) -> Member:
        """Designate an admin holding `permissions` (or change them); you grant only what you hold."""
        return Member.from_json(
            self._core.request("PUT", "/api/v1/org/admins", {"email": email, "permissions": list(permissions)})
        )

    def demote(self, email: str) -> Member:
        """The admin becomes a plain member (refused if nobody would hold crud:members-org any more)."""
        return Member.from_json(self._core.request("DELETE", "/api/v1/org/admins", params={"email": email}))

    def invitations(self) -> list[dict[str, Any]]:
        """Invitations of the members (needs crud:invitations-org)."""
        return json_objects(self._core.request("GET", "/api/v1/org/invitations"))

    def resend_invitation(self, email: str) -> dict[str, Any]:
        return json_object(self._core.request("POST", "/api/v1/org/invitations/resend", {"email": email}))

    def signature_keys(self) -> list[dict[str, Any]]:
        """Members' signature keys (crud:signature-keys-org): [{"email", "status", "signing_key_id",
        "fingerprint", "log_index", "published_at"}]."""
        return json_objects(self._core.request("GET", "/api/v1/org/signature-keys"))

    def withdraw_key(self, email: str) -> dict[str, Any]:
        """Withdraw a member's published key, signing half included (a lost or compromised device); logged."""
        return json_object(self._core.request("POST", "/api/v1/org/signature-keys/withdraw", {"email": email}))

    # -- domains (crud:config-org) -------------------------------------------------------------------------

    def domains(self) -> list[dict[str, Any]]:
        """The organization's domains: [{"domain", "status" pending|verified, "method", "mailbox", ...}]."""
        return json_objects(self._core.request("GET", "/api/v1/org/domains"))

    def claim_domain(self, domain: str, mailbox: str = "postmaster") -> dict[str, Any]:
        """Claim `domain`: a confirmation link goes to `mailbox@domain` (postmaster or admin); verified once
        someone reading it confirms. Then addresses of it join without their acceptance."""
        return json_object(self._core.request("POST", "/api/v1/org/domains", {"domain": domain, "mailbox": mailbox}))

    def claim_domain_dns(self, domain: str) -> dict[str, Any]:
        """Claim `domain` by DNS: the answer's `dns_record` ({"name", "type", "value"}) is the TXT record to
        publish, then `check_domain_dns`. Asking again gives the same record while the claim is pending."""
        return json_object(self._core.request("POST", f"/api/v1/org/domains/{quote(domain.strip(), safe='')}/dns"))

    def check_domain_dns(self, domain: str) -> dict[str, Any]:
        """Have the server read the domain's TXT record now: the verified domain, or a ServerError (409
        `dns-record-missing` while the record is not seen; 502 when DNS does not answer)."""
        path = f"/api/v1/org/domains/{quote(domain.strip(), safe='')}/dns/check"
        return json_object(self._core.request("POST", path))

    def remove_domain(self, domain: str) -> None:
        self._core.request("DELETE", f"/api/v1/org/domains/{quote(domain.strip(), safe='')}")

    # -- invitations to join (the invited person) -----------------------------------------------------------

    def join_invitations(self) -> list[dict[str, Any]]:
        """Organizations inviting you: [{"org_id", "org", "invited_by", "recovery_keys": [{"name",
        "fingerprint", "public_key"}], "policies"}]: the recovery keys apply to you once you accept."""
        return json_objects(self._core.request("GET", "/api/v1/memberships/invitations"))

    def accept(self, org_id: str, recovery_fingerprints: Iterable[str]) -> Member:
        """Join `org_id`, naming the recovery keys you were shown (refused, 409, if they changed since)."""
        return Member.from_json(
            self._core.request(
                "POST", "/api/v1/memberships/accept", {"org_id": org_id, "recovery_keys": sorted(recovery_fingerprints)}
            )
        )

    def decline(self, org_id: str) -> None:
        self._core.request("POST", "/api/v1/memberships/decline", {"org_id": org_id})

    def directory(self, query: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Members for the recipient picker: [{"email", "display_name"}] (403 unless allow_member_listing)."""
        params: dict[str, Any] = {"limit": limit}
        if query:
            params["q"] = query
        return json_objects(self._core.request("GET", "/api/v1/org/directory", params=params))
