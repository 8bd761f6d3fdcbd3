"""Group key records and their `groupkey` log entries against tests/vectors/groupkeylog (written by json and
hashlib, not by c11): the same bytes, digest and leaf hash, and every malformed one refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from c11.errors import C11Error, ProofError
from c11.groupkey import GroupKeyRecord
from c11.keys.publickey import PublicKey
from c11.log.entries import GroupKeyEntry, group_key_digest
from c11.log.merkle import leaf_hash

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "groupkeylog" / "vectors.json").read_text("utf-8"))


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: f"{c['fields']['name']}-{c['fields']['version']}")
def test_records_and_entries_match_the_vectors(case):
    f = case["fields"]
    rec = GroupKeyRecord(f["org"], f["group"], f["name"], f["version"], PublicKey.parse(f["public_key"]))
    assert rec.to_text() == case["record"]
    assert GroupKeyRecord.parse(case["record"]) == rec
    assert group_key_digest(case["record"]) == case["digest"]
    entry = GroupKeyEntry.parse(case["entry"])
    assert (entry.org, entry.group, entry.version, entry.digest) == (f["org"], f["group"], f["version"], case["digest"])
    assert leaf_hash(case["entry"].encode("ascii")).hex() == case["leaf_hash"]


@pytest.mark.parametrize("bad", VECTORS["bad_records"], ids=lambda b: b["why"])
def test_bad_records_are_refused(bad):
    with pytest.raises(C11Error):
        GroupKeyRecord.parse(bad["record"])


@pytest.mark.parametrize("bad", VECTORS["bad_entries"], ids=lambda b: b["why"])
def test_bad_entries_are_refused(bad):
    with pytest.raises(ProofError):
        GroupKeyEntry.parse(bad["entry"])
