"""The HTTP side of the c11 SDK: `Client` talks to a c11 server; `CredentialsStore` remembers logins.

from c11.client import Client
c = Client("http://127.0.0.1:8000")
c.login("alice@example.com", "correct horse battery")
print(c.whoami().email)
"""

from __future__ import annotations

from c11.client.client import Client
from c11.client.credentials import Credentials, CredentialsStore, config_dir
from c11.client.policies import Policy, PolicyMember
from c11.client.registry import HistoryItem, KeyRecord, Published
from c11.client.transparency import InclusionCheck, LogCheck
from c11.client.types import CreatedToken, LoginResult, MachineToken, User, WhoAmI

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
