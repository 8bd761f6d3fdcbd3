"""Scopes a machine token can hold; login sessions hold them all.

Services add their own scopes to `SCOPES` (name -> what it allows).
"""

from __future__ import annotations

SCOPES: dict[str, str] = {
    "keys:read": "Look up public keys and read own key records.",
    "keys:write": "Publish, change and remove own keys.",
    "documents:read": "Read documents and their access records.",
    "documents:write": "Protect, share and revoke documents.",
    "tokens:manage": "Create, list and revoke machine tokens.",
    "policies:read": "List own encryption policies (recent recipient sets).",
    "policies:write": "Record and forget own encryption policies.",
    "org:admin": "Act as the owner in organization admin routes (within the owner's admin permissions).",
}
