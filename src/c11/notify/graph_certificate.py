"""The certificate the Graph transport signs in with, and the secret store that keeps its private key.

We generate an RSA 2048 key pair and a self-signed X.509 certificate (Entra accepts RSA certificates for
client assertions). The customer uploads the certificate (public part only) to their app registration
under Certificates & secrets > Certificates; Entra accepts `.cer`, `.pem` and `.crt` files. We write
`.cer` as DER (binary X.509, the Windows default) and `.pem` / `.crt` as PEM text.

The private key never leaves `<data-dir>/secrets/graph/` (folder 0700, files 0600). Two certificates can
be live at once so the certificate can be rotated without downtime: the newest valid one is used first,
and the transport falls back to the older one while Entra does not know the new one yet. An admin alert
is due 30 days before the certificate in use expires (`due_alerts`).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from c11.errors import NotifyError

DEFAULT_DAYS = 730
ALERT_DAYS = 30


@dataclass(frozen=True)
class GraphCertificate:
    """One certificate of the store: its public part, thumbprints, validity and where its key is."""

    cert_pem: bytes
    key_path: Path

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def sha1_thumbprint(self) -> str:
        """Upper-case hex SHA-1 of the DER certificate: what Entra shows in the Thumbprint column."""
        return self.cert.fingerprint(hashes.SHA1()).hex().upper()

    @property
    def sha256_thumbprint(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex().upper()

    @property
    def not_before(self) -> datetime:
        return self.cert.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        return self.cert.not_valid_after_utc

    @property
    def subject(self) -> str:
        return self.cert.subject.rfc4514_string()

    def private_key_pem(self) -> bytes:
        return self.key_path.read_bytes()

    def valid_at(self, when: datetime) -> bool:
        return self.not_before <= when < self.not_after

    def export(self, path: Path) -> Path:
        """Write the public certificate for upload: DER for .cer, PEM for .pem/.crt."""
        data = self.cert_pem if path.suffix.lower() in (".pem", ".crt") else self.der
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def info(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "thumbprint_sha1": self.sha1_thumbprint,
            "thumbprint_sha256": self.sha256_thumbprint,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
        }


@dataclass(frozen=True)
class CertificateAlert:
    """An admin alert due because the certificate in use expires soon."""

    thumbprint: str
    not_after: datetime
    title: str
    detail: str


def generate(
    common_name: str = "c11 notifications",
    *,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
) -> tuple[bytes, bytes]:
    """A new RSA 2048 private key (PKCS#8 PEM) and self-signed certificate (PEM) valid for `days`."""
    now = now or datetime.now(UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def _write_private(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class CertificateStore:
    """Certificates for the Graph transport under `<data-dir>/secrets/graph/` (keys 0600)."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = Path(data_dir) / "secrets" / "graph"

    def _ensure(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder.parent, 0o700)
        os.chmod(self.folder, 0o700)

    def create(
        self, common_name: str = "c11 notifications", *, days: int = DEFAULT_DAYS, now: datetime | None = None
    ) -> GraphCertificate:
        """Generate and store a new certificate; older ones stay live until they expire or are removed."""
        self._ensure()
        key_pem, cert_pem = generate(common_name, days=days, now=now)
        tmp = GraphCertificate(cert_pem, Path())
        base = tmp.sha1_thumbprint.lower()
        _write_private(self.folder / f"{base}.key", key_pem)
        _write_private(self.folder / f"{base}.crt", cert_pem)
        return GraphCertificate(cert_pem, self.folder / f"{base}.key")

    def add(self, key_pem: bytes, cert_pem: bytes) -> GraphCertificate:
        """Store an existing key pair (tests, migrations from another installation)."""
        self._ensure()
        base = GraphCertificate(cert_pem, Path()).sha1_thumbprint.lower()
        _write_private(self.folder / f"{base}.key", key_pem)
        _write_private(self.folder / f"{base}.crt", cert_pem)
        return GraphCertificate(cert_pem, self.folder / f"{base}.key")

    def all(self) -> list[GraphCertificate]:
        """Every stored certificate, newest first."""
        if not self.folder.is_dir():
            return []
        found = [
            GraphCertificate(p.read_bytes(), p.with_suffix(".key"))
            for p in self.folder.glob("*.crt")
            if p.with_suffix(".key").exists()
        ]
        # X.509 times have 1 s resolution: the file's write time breaks ties between certificates made together
        return sorted(
            found,
            key=lambda c: (c.not_before, c.not_after, c.key_path.with_suffix(".crt").stat().st_mtime_ns),
            reverse=True,
        )

    def live(self, now: datetime | None = None) -> list[GraphCertificate]:
        """Valid certificates, newest first: the first is used, the others are fallbacks during rotation."""
        now = now or datetime.now(UTC)
        return [c for c in self.all() if c.valid_at(now)]

    def active(self, now: datetime | None = None) -> GraphCertificate:
        live = self.live(now)
        if not live:
            raise NotifyError(
                "no valid Graph certificate: run `c11 notify graph certificate create` and upload "
                "the .cer file to the app registration"
            )
        return live[0]

    def get(self, thumbprint: str) -> GraphCertificate:
        t = thumbprint.lower().replace(":", "")
        for c in self.all():
            if c.sha1_thumbprint.lower().startswith(t) or c.sha256_thumbprint.lower().startswith(t):
                return c
        raise NotifyError(f"no Graph certificate with thumbprint {thumbprint}")

    def remove(self, thumbprint: str) -> None:
        c = self.get(thumbprint)
        c.key_path.unlink(missing_ok=True)
        c.key_path.with_suffix(".crt").unlink(missing_ok=True)
        c.key_path.with_suffix(".alerted").unlink(missing_ok=True)

    def prune_expired(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        gone = [c for c in self.all() if c.not_after <= now]
        for c in gone:
            self.remove(c.sha1_thumbprint)
        return len(gone)

    # -- expiry alerts -------------------------------------------------------------------------------

    def due_alerts(self, now: datetime | None = None, days: int = ALERT_DAYS) -> list[CertificateAlert]:
        """Alerts due now: the certificate with the latest expiry expires within `days` and was not yet alerted.

        A newer certificate that lives longer means rotation already happened, so no alert.
        """
        now = now or datetime.now(UTC)
        live = self.live(now)
        if not live:
            return []
        longest = max(live, key=lambda c: c.not_after)
        if longest.not_after - now > timedelta(days=days):
            return []
        if longest.key_path.with_suffix(".alerted").exists():
            return []
        left = max(0, (longest.not_after - now).days)
        return [
            CertificateAlert(
                thumbprint=longest.sha1_thumbprint,
                not_after=longest.not_after,
                title=f"The Microsoft Graph certificate expires in {left} days",
                detail=(
                    f"The certificate c11 uses to send email through Microsoft Graph (thumbprint "
                    f"{longest.sha1_thumbprint}) expires on {longest.not_after:%Y-%m-%d %H:%M} UTC. After that, "
                    "notifications cannot be sent.\n\n"
                    "Run `c11 notify graph certificate create --out c11-graph.cer` and upload the new .cer file "
                    "to the app registration (Certificates & secrets > Certificates > Upload certificate). Both "
                    "certificates work until the old one expires, so there is no downtime."
                ),
            )
        ]

    def mark_alerted(self, thumbprint: str, when: datetime | None = None) -> None:
        c = self.get(thumbprint)
        data = json.dumps({"alerted_at": (when or datetime.now(UTC)).isoformat()}).encode()
        _write_private(c.key_path.with_suffix(".alerted"), data)
