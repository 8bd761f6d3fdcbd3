"""The HTTP side of the c11 SDK: `Client` talks to a c11 server; `CredentialsStore` remembers logins.

from c11.client import Client
c = Client("http://127.0.0.1:8000")
c.login("alice@example.com", "correct horse battery")
print(c.whoami().email)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from c11.client.client import Client
    from c11.client.credentials import Credentials, CredentialsStore, config_dir
    from c11.client.policies import Policy, PolicyMember
    from c11.client.registry import HistoryItem, KeyRecord, Published
    from c11.client.transparency import InclusionCheck, LogCheck
    from c11.client.types import CreatedToken, LoginResult, MachineToken, User, WhoAmI

#: public name -> the module defining it, imported on first use: importing a submodule (c11.client.sending,
#: which the offline `c11 encrypt` needs) loads no HTTP library
_LAZY = {
    "Client": "client",
    "Credentials": "credentials",
    "CredentialsStore": "credentials",
    "config_dir": "credentials",
    "Policy": "policies",
    "PolicyMember": "policies",
    "HistoryItem": "registry",
    "KeyRecord": "registry",
    "Published": "registry",
    "InclusionCheck": "transparency",
    "LogCheck": "transparency",
    "CreatedToken": "types",
    "LoginResult": "types",
    "MachineToken": "types",
    "User": "types",
    "WhoAmI": "types",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'c11.client' has no attribute {name!r}")
    return getattr(importlib.import_module(f"c11.client.{module}"), name)


__all__ = [
    "Client",
    "CreatedToken",
    "Credentials",
    "CredentialsStore",
    "LoginResult",
    "MachineToken",
    "User",
    "WhoAmI",
    "config_dir",
    "HistoryItem",
    "InclusionCheck",
    "KeyRecord",
    "LogCheck",
    "Policy",
    "PolicyMember",
    "Published",
]
