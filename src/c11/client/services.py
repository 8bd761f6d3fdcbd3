"""The registry, log and policies services of `Client` (mixed into it).

`client.log`, `client.registry` and `client.policies` are built on the client's HTTP core;
`client.lookup`, `client.publish` and `client.history` are shortcuts. Trust state (pinned log key, last
checkpoint, keys published from this device) lives in `client.state_dir` (default: the config dir).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from c11.client._http import HttpCore
from c11.client.policies import PoliciesAPI
from c11.client.registry import HistoryItem, Published, RegistryAPI
from c11.client.transparency import LogAPI
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

if TYPE_CHECKING:
    from c11.client.docrequests import RequestsAPI
    from c11.client.events import EventsAPI
    from c11.client.groups import GroupsAPI
    from c11.client.keyserver import InvitationsAPI, KeyServerAPI
    from c11.client.orgs import OrgAPI
    from c11.client.shards import ShardsAPI


class ServicesMixin:
    """Adds `log`, `registry`, `policies` to `Client`."""

    _core: HttpCore
    #: Folder of the client's trust state; None: the config dir (C11_CONFIG_DIR...) at the time of use.
    state_dir: Path | None = None

    def _state_dir(self) -> Path:
        from c11.client.credentials import config_dir

        return self.state_dir or config_dir()

    @cached_property
    def log(self) -> LogAPI:
        """The transparency log: `verify()`, `checkpoint()`, `prove(index)`, `entries()`."""
        return LogAPI(self._core, self._state_dir)

    @cached_property
    def registry(self) -> RegistryAPI:
        """The public key registry: `publish`, `lookup`, `lookup_record`, `history`, `remove`."""
        return RegistryAPI(self._core, self.log)

    @cached_property
    def policies(self) -> PoliciesAPI:
        """Encryption policies: `record`, `list`, `get`, `delete`."""
        return PoliciesAPI(self._core)

    @cached_property
    def keyserver(self) -> KeyServerAPI:
        """The key server (online policy): `server_key`, `register`, `release`, `revoke`, `accesses`..."""
        from c11.client.keyserver import KeyServerAPI

        return KeyServerAPI(self._core, self.log)

    @cached_property
    def invitations(self) -> InvitationsAPI:
        """Invitations and temporary keys: `invite`, `list`, `resend`, `temporary_key`, `claim`."""
        from c11.client.keyserver import InvitationsAPI

        return InvitationsAPI(self._core, self.log)

    @cached_property
    def shards(self) -> ShardsAPI:
        """Cloud-stored keys in shards (docs/shards.md): create, fetch and rebuild, replace."""
        from c11.client.shards import ShardsAPI

        return ShardsAPI(self._core, self.log, self._state_dir)

    @cached_property
    def org(self) -> OrgAPI:
        """Your organization (docs/organizations.md): members, admins, policies, recovery keys."""
        from c11.client.orgs import OrgAPI

        return OrgAPI(self._core, self.log)

    @cached_property
    def groups(self) -> GroupsAPI:
        """Groups of your organization as recipients: create, members, group keys."""
        from c11.client.groups import GroupsAPI

        return GroupsAPI(self._core, self.log)

    @cached_property
    def events(self) -> EventsAPI:
        """Usage events of your organization (docs/organizations.md): query, counts per day, CSV."""
        from c11.client.events import EventsAPI

        return EventsAPI(self._core)

    @cached_property
    def doc_requests(self) -> RequestsAPI:
        """Secure Document Request (docs/sharing.md): signed requests, their answers, templates."""
        from c11.client.docrequests import RequestsAPI

        return RequestsAPI(self._core, self.registry)

    def lookup(self, email: str) -> PublicKey:
        """The verified public key of `email` (see `registry.lookup`)."""
        return self.registry.lookup(email)

    def publish(self, identity: Identity) -> Published:
        """Publish `identity`'s public key for your email (see `registry.publish`)."""
        return self.registry.publish(identity)

    def history(self, email: str) -> list[HistoryItem]:
        """The verified key history of `email` (see `registry.history`)."""
        return self.registry.history(email)
