"""`c11 org ...`: organizations. Subcommands live in their own modules and are imported on first use."""

from __future__ import annotations

import importlib

import click

#: name -> (module, attribute, one-line help)
ORG_COMMANDS: dict[str, tuple[str, str, str]] = {
    "create": ("c11.cli.org_admin", "create", "Create an organization and its root admin (operator, like `c11 db`)."),
    "show": ("c11.cli.org_members", "show", "Show your organization and its policies."),
    "policies": ("c11.cli.org_members", "policies", "Show or change the organization's policies."),
    "members": ("c11.cli.org_members", "members", "Add, list, deactivate and reactivate members."),
    "admins": ("c11.cli.org_members", "admins", "Designate and demote admins and their permissions."),
    "signature-keys": ("c11.cli.org_members", "signature_keys", "Members' signature keys: list, withdraw."),
    "groups": ("c11.cli.org_groups", "groups", "Groups as recipients: create, add and remove members."),
    "encryption-policies": (
        "c11.cli.org_encpolicies",
        "encryption_policies",
        "Named recipient sets members encrypt for (c11 encrypt --policy NAME).",
    ),
    "domains": ("c11.cli.org_domains", "domains", "Email domains: verified ones join without being asked."),
    "join": ("c11.cli.org_domains", "join", "Invitations to join an organization: see its recovery keys, answer."),
    "recovery-key": ("c11.cli.org_recovery", "recovery_key", "Create, rotate and list recovery keys."),
    "scim-tokens": ("c11.cli.org_scim", "scim_tokens", "Create, list and revoke SCIM provisioning tokens."),
    "events": ("c11.cli.org_events", "events", "Usage events: who protected, opened, shared, revoked."),
}


class _LazyOrg(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(ORG_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in ORG_COMMANDS:
            return None
        module, attr, _ = ORG_COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(n, ORG_COMMANDS[n][2]) for n in self.list_commands(ctx)])


@click.group("org", cls=_LazyOrg)
def org() -> None:
    """Organizations: members and admins, groups, policies, recovery keys, SCIM tokens, usage events."""
