"""Members' keys: generated here, wrapped under the master key, unwrapped only to open a stanza; KEK rotation."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from c11._web.db import Database, new_id, utcnow
from c11.enterprise.kek import Kek, KeyRing, aad
from c11.enterprise.models import Member
from c11.errors import C11Error
from c11.keys.identity import Identity


class MemberError(C11Error):
    """A member operation that cannot be done (unknown member, duplicate email)."""


def _normal(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise MemberError(f"not an email address: {email!r}")
    return email


def add(db: Database, ring: KeyRing, email: str) -> Member:
    """Generate a member's X-Wing and Ed25519 keys here and store them wrapped under the current KEK."""
    email = _normal(email)
    ident = Identity.generate(email, created=int(time.time()))
    member_id, kek = new_id(), ring.current
    with db.session() as s:
        if s.scalar(select(Member.id).where(Member.email == email)) is not None:
            raise MemberError(f"{email} is a member already")
        row = Member(
            id=member_id,
            email=email,
            active=True,
            kem=ident.kem,
            key_id=ident.public.key_id.hex(),
            public_line=ident.public.line(),
            created_at=ident.created,
            kek_id=kek.kek_id,
            enc_wrapped=kek.wrap(ident.enc_seed, aad(member_id, kek.kek_id, "enc")),
            sig_wrapped=kek.wrap(ident.sig_seed, aad(member_id, kek.kek_id, "sig")),
        )
        s.add(row)
    return row


def identity(ring: KeyRing, row: Any) -> Identity:
    """The member's private keys (`row`: a Member or a result row with its columns), unwrapped by the KEK the row
    names (inside the HSM for PKCS#11)."""
    kek = ring.get(row.kek_id)
    enc = kek.unwrap(row.enc_wrapped, aad(row.id, row.kek_id, "enc"))
    sig = kek.unwrap(row.sig_wrapped, aad(row.id, row.kek_id, "sig"))
    return Identity(row.email, row.kem, enc, sig, row.created_at)


def enc_seed(ring: KeyRing, row: Any) -> bytes:
    """Only the member's X-Wing seed (what opening a stanza needs), unwrapped by the KEK the row names."""
    return ring.get(row.kek_id).unwrap(row.enc_wrapped, aad(row.id, row.kek_id, "enc"))


def set_active(db: Database, email: str, active: bool) -> None:
    """Deactivate (or reactivate) a member: a deactivated member's keys are never used."""
    with db.session() as s:
        row = s.scalar(select(Member).where(Member.email == _normal(email)))
        if row is None:
            raise MemberError(f"{email} is not a member")
        row.active = active
        row.deactivated_at = None if active else utcnow()


def rotate(db: Database, ring: KeyRing, new: Kek, progress: Callable[[int], None] | None = None) -> int:
    """Re-wrap every member's keys under `new`, one row per transaction (unwraps keep working throughout:
    each row names its KEK, and a row is switched only if nobody changed it meanwhile). Returns rows moved."""
    ring.use(new)
    moved = 0
    while True:
        with db.session() as s:
            ids = list(s.scalars(select(Member.id).where(Member.kek_id != new.kek_id).limit(100)))
        if not ids:
            return moved
        for member_id in ids:
            with db.session() as s:
                row = s.get(Member, member_id)
                if row is None or row.kek_id == new.kek_id:
                    continue
                ident = identity(ring, row)
                res = s.execute(
                    update(Member)
                    .where(Member.id == row.id, Member.kek_id == row.kek_id)
                    .values(
                        kek_id=new.kek_id,
                        enc_wrapped=new.wrap(ident.enc_seed, aad(row.id, new.kek_id, "enc")),
                        sig_wrapped=new.wrap(ident.sig_seed, aad(row.id, new.kek_id, "sig")),
                    )
                    .execution_options(synchronize_session=False)
                )
                moved += int(getattr(res, "rowcount", 0) or 0)
            if progress:
                progress(moved)
