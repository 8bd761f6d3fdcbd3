"""Turning -r and -R arguments into public keys (offline: key lines and files; logged in: emails and groups
too), through the SDK's sending planner (`c11.client.sending`)."""

from __future__ import annotations

from c11.keys.publickey import PublicKey
from c11.keys.recipients_file import read_recipients_file

__all__ = ["read_recipients_file", "resolve"]


def resolve(values: tuple[str, ...], files: tuple[str, ...]) -> list[PublicKey]:
    """The keys of -r VALUE... and -R FILE..., without organization rules (see `_registry.planning`)."""
    from c11.cli import _registry
    from c11.client.sending import SendRequest

    with _registry.hints():
        return _registry.sending().resolve(SendRequest(values, files))[0]
