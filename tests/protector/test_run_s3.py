"""Protection in place on S3 (SeaweedFS) with versioning on: the protected object replaces the original, the
original stays as an older version (the store's versioning is respected, never purged), metadata kept."""

from __future__ import annotations

import secrets
from typing import Any

from _run_helpers import file_rules, part_rules, protector

from c11 import files
from c11.indoc import api
from c11.keys.identity import Identity
from c11.protector import state as S
from c11.protector.connections import Connection
from c11.protector.storage import open_storage


def test_protect_in_place_on_versioned_bucket(weed: Any, tmp_path) -> None:  # noqa: ANN001
    client = weed.client()
    bucket = f"versioned-{secrets.token_hex(4)}"
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    original = b"name: Bob\nssn: 123-45-6789\n"
    csv = b"name,ssn\nbob,123-45-6789\n"
    client.put_object(Bucket=bucket, Key="hr/bob.txt", Body=original, ContentType="text/plain")
    client.put_object(Bucket=bucket, Key="hr/staff.csv", Body=csv, ContentType="text/csv")
    conn = Connection(
        "s3",
        f"s3://{bucket}/",
        {"endpoint": weed.endpoint, "access_key_id": weed.access_key},
        {"secret_access_key": weed.secret_key},
    )
    me, bob = Identity.generate("protector@example.com"), Identity.generate("bob@example.com")
    db = S.open_state(f"sqlite:///{tmp_path / 'state.db'}")
    with open_storage(conn) as s:
        assert s.versioning_enabled()
        listed = {o.key: o for o in s.list()}
        whole = protector(tmp_path, db, me, file_rules(bob, paths=("*.txt",)), storage=s)
        assert whole.process("hr/bob.txt", listed["hr/bob.txt"]).status == S.PROTECTED
        parts = protector(tmp_path, db, me, part_rules(bob), storage=s)
        assert parts.process("hr/staff.csv", listed["hr/staff.csv"]).status == S.PROTECTED
        assert sorted(o.key for o in s.list()) == ["hr/bob.txt.c11", "hr/staff.csv"]
    blob = client.get_object(Bucket=bucket, Key="hr/bob.txt.c11")["Body"].read()
    res = files.decrypt_bytes(blob, [bob])
    assert res.plaintext == original and res.info.name == "bob.txt"
    got = client.get_object(Bucket=bucket, Key="hr/staff.csv")
    protected = got["Body"].read()
    assert b"123-45-6789" not in protected and got["ContentType"] == "text/csv"
    assert api.unprotect_document(protected, [bob], format=".csv").data == csv
    # versioning respected: the originals are older versions (the protector deletes no version)
    versions = client.list_object_versions(Bucket=bucket, Prefix="hr/")
    older = [v for v in versions.get("Versions", []) if not v["IsLatest"]]
    # (and the temporary object of the parts protection, deleted: an older version holding only the protected copy)
    assert {v["Key"] for v in older if "/.c11-tmp-" not in v["Key"]} == {"hr/bob.txt", "hr/staff.csv"}
    first = client.get_object(
        Bucket=bucket, Key="hr/bob.txt", VersionId=next(v for v in older if v["Key"] == "hr/bob.txt")["VersionId"]
    )
    assert first["Body"].read() == original
    assert {m["Key"] for m in versions.get("DeleteMarkers", []) if "/.c11-tmp-" not in m["Key"]} == {"hr/bob.txt"}
    db.close()
