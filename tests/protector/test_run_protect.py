"""Protection in place on a folder: whole files and parts, state, never twice, and a crash at every step."""

from __future__ import annotations

from pathlib import Path

import pytest
from _run_helpers import Crash, CrashingStorage, file_rules, part_rules, protector

from c11 import files
from c11.errors import NoMatchingKeyError
from c11.indoc import api
from c11.keys.identity import Identity
from c11.protector import state as S
from c11.protector.rules import Rule, Rules
from c11.protector.storage._file import FileStorage

ORIGINAL = b"name: Bob\nssn: 123-45-6789\nnotes: none\n"


@pytest.fixture(scope="module")
def people() -> tuple[Identity, Identity]:
    return Identity.generate("protector@example.com"), Identity.generate("bob@example.com")


@pytest.fixture
def db(tmp_path: Path) -> S.StateDB:
    return S.open_state(f"sqlite:///{tmp_path / 'state.db'}")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "share"
    (r / "hr").mkdir(parents=True)
    (r / "hr" / "bob.txt").write_bytes(ORIGINAL)
    (r / "hr" / "clean.txt").write_bytes(b"nothing personal\n")
    return r


def _visible(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_whole_file_protected_verified_and_never_twice(root: Path, db: S.StateDB, people) -> None:
    me, bob = people
    p = protector(root, db, me, file_rules(bob))
    out = p.process("hr/bob.txt")
    assert (out.status, out.target) == (S.PROTECTED, "hr/bob.txt.c11")
    assert p.process("hr/clean.txt").status == S.SKIPPED
    assert _visible(root) == ["hr/bob.txt.c11", "hr/clean.txt"]
    res = files.decrypt_bytes((root / "hr/bob.txt.c11").read_bytes(), [bob])
    assert res.plaintext == ORIGINAL and res.info.name == "bob.txt"
    with pytest.raises(NoMatchingKeyError):  # the protector's own key is not a recipient
        files.decrypt_bytes((root / "hr/bob.txt.c11").read_bytes(), [me])
    row = db.get("docs", "hr/bob.txt")
    assert row is not None and row.status == S.PROTECTED and row.detectors == ("us_ssn",) and row.doc_id
    assert "123-45-6789" not in repr(row)
    # a second run changes nothing: the original is gone, the .c11 is the protector's own output
    again = protector(root, db, me, file_rules(bob))
    assert [again.process(k).status for k in ("hr/bob.txt", "hr/bob.txt.c11", "hr/clean.txt")] == [
        "unchanged",
        "ignored",
        "unchanged",
    ]
    assert db.counts("docs") == {S.PROTECTED: 1, S.SKIPPED: 1}


def test_dry_run_writes_nothing(root: Path, db: S.StateDB, people) -> None:
    me, bob = people
    before = {k: (root / k).read_bytes() for k in _visible(root)}
    out = protector(root, db, me, file_rules(bob), dry_run=True).process("hr/bob.txt")
    assert (out.status, out.action, out.target) == ("would-protect", "protect-file", "hr/bob.txt.c11")
    assert {k: (root / k).read_bytes() for k in _visible(root)} == before and db.counts("docs") == {}


def test_report_rule_and_existing_target(root: Path, db: S.StateDB, people) -> None:
    me, bob = people
    rules = Rules((Rule("only report", "report"),))
    assert protector(root, db, me, rules).process("hr/bob.txt").status == S.REPORTED
    (root / "hr/other.txt").write_bytes(ORIGINAL)
    (root / "hr/other.txt.c11").write_bytes(b"somebody else's file")
    out = protector(root, db, me, file_rules(bob)).process("hr/other.txt")
    assert out.status == S.FAILED and "already exists" in (out.reason or "")
    assert (root / "hr/other.txt").read_bytes() == ORIGINAL
    assert (root / "hr/other.txt.c11").read_bytes() == b"somebody else's file"


def test_original_changed_while_protecting_is_kept(root: Path, db: S.StateDB, people) -> None:
    me, bob = people

    class Racing(FileStorage):
        def delete(self, key: str, *, if_match: str | None = None) -> None:
            if key == "hr/bob.txt":
                (root / key).write_bytes(ORIGINAL + b"edited by its owner\n")  # the owner saves meanwhile
            super().delete(key, if_match=if_match)

    out = protector(root, db, me, file_rules(bob), storage=Racing(root)).process("hr/bob.txt")
    assert out.status == S.FAILED and "changed while" in (out.reason or "")
    assert (root / "hr/bob.txt").read_bytes().endswith(b"edited by its owner\n")
    assert not (root / "hr/bob.txt.c11").exists()
    # the next run protects the new content
    assert protector(root, db, me, file_rules(bob)).process("hr/bob.txt").status == S.PROTECTED
    plain = files.decrypt_bytes((root / "hr/bob.txt.c11").read_bytes(), [bob]).plaintext
    assert plain.endswith(b"edited by its owner\n")


def test_parts_protected_in_place(tmp_path: Path, db: S.StateDB, people) -> None:
    me, bob = people
    root = tmp_path / "data"
    root.mkdir()
    csv = b"name,ssn,team\nbob,123-45-6789,blue\nann,987-65-4321,red\n"
    (root / "people.csv").write_bytes(csv)
    out = protector(root, db, me, part_rules(bob)).process("people.csv")
    assert (out.status, out.target) == (S.PROTECTED, "people.csv")
    assert _visible(root) == ["people.csv"]
    protected = (root / "people.csv").read_bytes()
    assert b"123-45-6789" not in protected and b"987-65-4321" not in protected and b"blue" in protected
    assert api.unprotect_document(protected, [bob], format=".csv").data == csv
    assert protector(root, db, me, part_rules(bob)).process("people.csv").status == "unchanged"


# -- crashes ------------------------------------------------------------------------------------------------

WHOLE_POINTS = [("write", 1, "before"), ("write", 1, "after"), ("delete", 1, "before"), ("delete", 1, "after")]
PART_POINTS = [
    ("write", 1, "after"),  # the temporary object written, not verified
    ("write", 2, "before"),  # verified, the original not yet replaced
    ("write", 2, "after"),  # replaced, the temporary object still there
    ("delete", 1, "after"),  # the temporary object removed, state not yet "protected"
]


def _check_either(root: Path, key: str, original: bytes, bob: Identity, parts: bool) -> None:
    """The original is there, or the verified protected object: never neither, never half of one."""
    if parts:
        data = (root / key).read_bytes()
        assert data == original or api.unprotect_document(data, [bob], format=Path(key).suffix).data == original
        return
    if (root / key).exists():
        assert (root / key).read_bytes() == original
    else:
        assert files.decrypt_bytes((root / (key + ".c11")).read_bytes(), [bob]).plaintext == original


@pytest.mark.parametrize("method,n,when", WHOLE_POINTS)
def test_crash_whole_file(root: Path, db: S.StateDB, people, method: str, n: int, when: str) -> None:
    me, bob = people
    crashing = CrashingStorage(FileStorage(root), method, n, when)
    with pytest.raises(Crash):
        protector(root, db, me, file_rules(bob), storage=crashing).process("hr/bob.txt")
    _check_either(root, "hr/bob.txt", ORIGINAL, bob, parts=False)
    out = protector(root, db, me, file_rules(bob)).process("hr/bob.txt")  # the next attempt (a new process)
    assert out.status in (S.PROTECTED, "unchanged")
    assert _visible(root) == ["hr/bob.txt.c11", "hr/clean.txt"]
    assert files.decrypt_bytes((root / "hr/bob.txt.c11").read_bytes(), [bob]).plaintext == ORIGINAL
    assert db.get("docs", "hr/bob.txt").status == S.PROTECTED  # type: ignore[union-attr]


@pytest.mark.parametrize("method,n,when", PART_POINTS)
def test_crash_parts(tmp_path: Path, db: S.StateDB, people, method: str, n: int, when: str) -> None:
    me, bob = people
    root = tmp_path / "data"
    root.mkdir()
    md = b"# Staff\n\nBob's SSN is 123-45-6789.\n\nNothing else.\n"
    (root / "staff.md").write_bytes(md)
    crashing = CrashingStorage(FileStorage(root), method, n, when)
    with pytest.raises(Crash):
        protector(root, db, me, part_rules(bob), storage=crashing).process("staff.md")
    _check_either(root, "staff.md", md, bob, parts=True)
    out = protector(root, db, me, part_rules(bob)).process("staff.md")
    assert out.status in (S.PROTECTED, "unchanged")
    assert sorted(p.name for p in root.iterdir()) == ["staff.md"]  # no temporary object left
    data = (root / "staff.md").read_bytes()
    assert b"123-45-6789" not in data and api.unprotect_document(data, [bob], format=".md").data == md
    assert db.get("docs", "staff.md").status == S.PROTECTED  # type: ignore[union-attr]
