"""Accounts: sign-up, email verification, login sessions (cookie or bearer), passwords, OIDC identities.

The router is in `router.py`, the rules in `service.py`, the tables in `models.py`.
"""
