"""Texts of the emails the accounts service sends.

Plain text; the link is the only thing that matters in them.
"""

from __future__ import annotations


def verification(base_url: str, token: str, ttl_hours: int) -> tuple[str, str]:
    """Subject and body of the email-verification message."""
    link = f"{base_url}/api/v1/accounts/verify?token={token}"
    body = (
        "Hello,\n\n"
        "Someone (hopefully you) created a c11 account with this email address.\n"
        "To confirm it, open this link:\n\n"
        f"  {link}\n\n"
        f"The link works once and expires in {ttl_hours} hours. If it was not you, ignore this email.\n"
    )
    return "Confirm your c11 email address", body
