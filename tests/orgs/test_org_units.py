"""The pure parts of organizations: CSV reading, policy settings, policy documents, the lookup decision."""

from __future__ import annotations

import pytest

from c11.cli.org_members import _parse_setting, read_csv
from c11.errors import UsageError
from c11.server.orgs.lookup import decide
from c11.server.orgs.policies import OrgPolicies, dump, load
from c11.server.problems import Problem


def test_read_csv_reports_each_bad_line(tmp_path):
    f = tmp_path / "people.csv"
    f.write_text(
        '\ufeffEmail;Name\n"A@Example.com";Ann\n\n# skip\nb@example.com,Bob\nnope\n x y@z.com \nc@example.org\n',
        encoding="utf-8",
    )
    emails, errors = read_csv(f)
    assert emails == ["a@example.com", "b@example.com", "c@example.org"]
    assert errors == ["line 6: 'nope' is not an email address", "line 7: 'x y@z.com' is not an email address"]
    f.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(UsageError):
        read_csv(f)


def test_parse_setting():
    assert _parse_setting("allow-member-listing=Yes") == ("allow_member_listing", True)
    assert _parse_setting("require_online=off") == ("require_online", False)
    assert _parse_setting("default_expiry_days=30") == ("default_expiry_days", 30)
    assert _parse_setting("default_expiry_days=none") == ("default_expiry_days", None)
    for bad in (
        "nope=1",
        "allow_device_keys",
        "allow_device_keys=maybe",
        "default_expiry_days=0",
        "default_expiry_days=-3",
    ):
        with pytest.raises(UsageError):
            _parse_setting(bad)


def test_policy_document_defaults_and_unknown_keys():
    assert load(None) == OrgPolicies() and load("not json") == OrgPolicies()
    p = load('{"allow_member_listing": true, "future_policy": 1}')
    assert p.allow_member_listing and load(dump(p)) == p


def test_lookup_decision():
    closed, open_ = dump(OrgPolicies(allow_cross_org_lookup=False)), dump(OrgPolicies())
    assert decide(None, None, None, None, None) is False
    assert decide("active", "o1", closed, "o1", closed) is True  # same organization
    assert decide("invited", "o1", open_, None, None) is True
    assert decide(None, None, None, "o1", open_) is False
    for args in (
        ("active", "o1", closed, None, None),
        ("active", "o1", closed, "o2", open_),
        (None, None, None, "o1", closed),
        ("active", "o2", open_, "o1", closed),
    ):
        with pytest.raises(Problem) as e:
            decide(*args)
        assert e.value.status == 403 and e.value.slug == "cross-org-lookup-forbidden"
    with pytest.raises(Problem) as e:
        decide("deactivated", "o1", open_, "o1", open_)
    assert e.value.status == 404
