"""Replays the request sequences Microsoft Entra and Okta send (tests/scim/fixtures) against the real server,
on SQLite and PostgreSQL, each in a fresh organization."""

from __future__ import annotations

import pytest
from scimkit import replay


@pytest.mark.parametrize("fixture", ["entra_users.json", "entra_groups.json", "okta_users.json", "okta_groups.json"])
def test_identity_provider_sequence(org, fixture):
    replay(org, fixture)
