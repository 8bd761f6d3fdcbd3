"""Tables of the log service: entries, Merkle tree nodes (the `HashStore`), and one state row.

Entries are canonical JSON text (ASCII); the state row holds the tree size and root and names the log key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from c11.server.db import Base, UTCDateTime, utcnow


class LogEntry(Base):
    """Entry `idx` of the log: its bytes (`data`), leaf hash, kind and the subject it is about."""

    __tablename__ = "log_entries"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    #: What the entry is about, for lookups (e.g. the email hash of a key entry); never a plain email.
    subject: Mapped[str | None] = mapped_column(String(64), index=True)
    data: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LogNode(Base):
    """Hash of the perfect subtree (level, idx) of the Merkle tree; written once."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogState(Base):
    """The single row (id 1): current tree size and root, and the log's origin and verifier key."""

    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    origin: Mapped[str] = mapped_column(String(255))
    verifier_key: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LogOpening(Base):
    """The opening of a v2 entry's `actor` commitment (docs/log.md section 7): never public.

    Readable through the API only by `person` (verified email hash), their organization's admins, and for a
    `release` entry the document's author; the server operator can read it and so link entries to people.
    """

    __tablename__ = "log_openings"

    log_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: The email hash the entry is about (None: nobody's, e.g. a release "by key holder").
    person: Mapped[str | None] = mapped_column(String(64), index=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: The canonical private JSON object committed to (with `person`).
    private: Mapped[str] = mapped_column(Text)
