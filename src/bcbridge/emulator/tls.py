"""A local certificate authority and a server certificate for BC's and Entra's host names.

``bcbridge emulator --tls`` serves https with a server certificate for
``api.businesscentral.dynamics.com``, ``login.microsoftonline.com``, ``localhost`` and
``127.0.0.1``, signed by a CA made on this machine. Clients trust the emulator by trusting
that CA only (``curl --cacert``, ``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``); nothing is
added to the system's trust store.

The files live in ``$BCBRIDGE_HOME/emulator-tls/`` (``./var`` when unset) and are reused
across runs, so a CA a user trusted once stays valid: ``ca.pem`` (the CA certificate, the
one file to hand to clients), ``ca-key.pem``, ``server.pem`` and ``server-key.pem`` (keys
are written ``0600``). A missing, expiring or foreign server certificate, or one that lacks
a requested name, is issued again from the same CA.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "BC_API_HOST",
    "DEFAULT_NAMES",
    "ENTRA_HOST",
    "TLSFiles",
    "default_folder",
    "ensure_certificates",
]

#: BC online's API host (docs/bc/0-quick-reference.md §0) and Entra ID's sign-in host (docs/bc/1-identity.md §1.1).
BC_API_HOST = "api.businesscentral.dynamics.com"
ENTRA_HOST = "login.microsoftonline.com"
DEFAULT_NAMES: tuple[str, ...] = (BC_API_HOST, ENTRA_HOST, "localhost", "127.0.0.1")

_CA_DAYS = 3650
_SERVER_DAYS = 397  # the longest leaf lifetime browsers and Apple clients accept
_RENEW_BEFORE = dt.timedelta(days=7)


@dataclass(frozen=True)
class TLSFiles:
    """PEM files of the emulator's CA and server certificate.

    Attributes:
        ca: The CA certificate clients trust (``--cacert``, ``SSL_CERT_FILE``).
        certificate: The server certificate (leaf only).
        key: The server's private key.
    """

    ca: Path
    certificate: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` that serves the certificate (TLS 1.2+, HTTP/1.1 by ALPN)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certificate, self.key)
        context.set_alpn_protocols(["http/1.1"])
        return context

    def client_context(self) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` for clients that trusts this CA (and only it)."""
        return ssl.create_default_context(cafile=str(self.ca))


def default_folder() -> Path:
    """``$BCBRIDGE_HOME/emulator-tls`` (``./var/emulator-tls`` when ``BCBRIDGE_HOME`` is unset)."""
    return Path(os.environ.get("BCBRIDGE_HOME") or "var") / "emulator-tls"


def ensure_certificates(folder: str | Path | None = None, names: tuple[str, ...] = DEFAULT_NAMES) -> TLSFiles:
    """Create the CA and server certificate in ``folder`` once, then reuse them.

    Safe to call from several processes at once (a lock file serialises them).

    Args:
        folder: Where the PEM files live; default :func:`default_folder`.
        names: DNS names and IP addresses the server certificate must cover.

    Returns:
        The paths of the CA certificate, the server certificate and its key.

    Raises:
        OSError: The folder cannot be created or written.
        ValueError: A PEM file there is not a certificate or key (delete the folder).
    """
    root = Path(folder) if folder is not None else default_folder()
    root.mkdir(parents=True, exist_ok=True)
    files = TLSFiles(root / "ca.pem", root / "server.pem", root / "server-key.pem")
    ca_key_path = root / "ca-key.pem"
    with open(root / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        now = dt.datetime.now(dt.UTC)
        if files.ca.exists() and ca_key_path.exists() and _valid(_load_cert(files.ca), now):
            ca_cert = _load_cert(files.ca)
            ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        else:
            ca_key = ec.generate_private_key(ec.SECP256R1())
            ca_cert = _ca_certificate(ca_key, now)  # type: ignore[arg-type]
            _write(ca_key_path, _key_pem(ca_key), private=True)  # type: ignore[arg-type]
            _write(files.ca, ca_cert.public_bytes(serialization.Encoding.PEM))
        if not _server_ok(files, ca_cert, names, now):
            key = ec.generate_private_key(ec.SECP256R1())
            cert = _server_certificate(key, ca_key, ca_cert, names, now)  # type: ignore[arg-type]
            _write(files.key, _key_pem(key), private=True)
            _write(files.certificate, cert.public_bytes(serialization.Encoding.PEM))
    return files


def _load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _valid(cert: x509.Certificate, now: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= now < cert.not_valid_after_utc - _RENEW_BEFORE


def _server_ok(files: TLSFiles, ca_cert: x509.Certificate, names: tuple[str, ...], now: dt.datetime) -> bool:
    if not (files.certificate.exists() and files.key.exists()):
        return False
    cert = _load_cert(files.certificate)
    if cert.issuer != ca_cert.subject or not _valid(cert, now):
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, x509.InvalidSignature, x509.ExtensionNotFound):
        return False
    covered = {str(n) for n in san.get_values_for_type(x509.DNSName)}
    covered |= {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    return set(names) <= covered


def _ca_certificate(key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bcbridge emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"bcbridge emulator local CA ({os.uname().nodename})"),
        ]
    )
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    names: tuple[str, ...],
    now: dt.datetime,
) -> x509.Certificate:
    alt_names: list[x509.GeneralName] = []
    for name in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes, private: bool = False) -> None:
    """Write ``data`` atomically (a reader never sees half a PEM file)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)
