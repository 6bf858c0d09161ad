"""`ibkr-broker certs DIR`: a self-signed CA, a server and a client certificate, for trying TLS.

    DIR/ca.pem, ca.key          the CA (trust ca.pem in clients; client_ca_file for mutual TLS)
    DIR/server.pem, server.key  for localhost, 127.0.0.1, ::1 and every --host
    DIR/client.pem, client.key  a client certificate for mutual TLS

Keys are ECDSA P-256, written 0600. For development and tests: a production deployment uses
certificates from its own CA.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
FILES = ("ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key")


@dataclass(frozen=True)
class CertFiles:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ibkr-broker (development)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*enabled: str) -> x509.KeyUsage:
    flags = (
        "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
        "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
    )  # fmt: skip
    return x509.KeyUsage(**{flag: flag in enabled for flag in flags})


def _alt_names(hosts: Iterable[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):  # unique, in order
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host.strip("[]"))))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _builder(
    subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, days: int
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _leaf(
    subject: str,
    usage: x509.ObjectIdentifier,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    days: int,
    hosts: Sequence[str] = (),
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(subject, ca_cert.subject, key, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage("digital_signature", "key_agreement"), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(_alt_names(hosts)), False)
    return builder.sign(ca_key, hashes.SHA256()), key


def generate(
    directory: Path, *, days: int = 365, hosts: Sequence[str] = (), force: bool = False
) -> CertFiles:
    """Write the CA, server and client certificates and keys into `directory`."""
    files = CertFiles(*(directory / name for name in FILES))
    existing = [str(p) for p in vars(files).values() if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{existing[0]} exists (--force overwrites)")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        _builder("ibkr-broker development CA", _name("ibkr-broker development CA"), ca_key, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage("digital_signature", "key_cert_sign", "crl_sign"), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_cert, server_key = _leaf(
        "ibkr-broker server", ExtendedKeyUsageOID.SERVER_AUTH, ca_key, ca_cert, days,
        [*DEFAULT_HOSTS, *hosts],
    )  # fmt: skip
    client_cert, client_key = _leaf(
        "ibkr-broker client", ExtendedKeyUsageOID.CLIENT_AUTH, ca_key, ca_cert, days
    )
    for cert, path in ((ca_cert, files.ca_cert), (server_cert, files.server_cert),
                       (client_cert, files.client_cert)):  # fmt: skip
        _write(path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    for key, path in ((ca_key, files.ca_key), (server_key, files.server_key),
                      (client_key, files.client_key)):  # fmt: skip
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write(path, pem, 0o600)
    return files


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # also when the file existed with other permissions
        os.write(fd, data)
    finally:
        os.close(fd)


def usage_text(files: CertFiles) -> str:
    return f"""\
wrote {files.ca_cert.parent}/: ca.pem ca.key server.pem server.key client.pem client.key

server (config TOML):
    [security]
    tls_cert_file = "{files.server_cert}"
    tls_key_file = "{files.server_key}"
    client_ca_file = "{files.ca_cert}"    # optional: mutual TLS (clients need client.pem)

client (flags, or IBKR_BROKER_CA_CERT / IBKR_BROKER_CLIENT_CERT / IBKR_BROKER_CLIENT_KEY):
    ibkr-broker status --target localhost:50051 --ca-cert {files.ca_cert} \\
        --client-cert {files.client_cert} --client-key {files.client_key}

Keep ca.key away from the server: it signs certificates. For development only."""


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        prog="ibkr-broker certs",
        description="Write a development CA and server and client certificates signed by it.",
    )
    p.add_argument("directory", type=Path, help="where to write the files (created if missing)")
    p.add_argument("--days", type=int, default=365, help="validity in days (default 365)")
    p.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="NAME",
        help="another server name or IP address (besides localhost, 127.0.0.1, ::1); repeatable",
    )
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    args = p.parse_args(list(argv))
    if args.days < 1:
        p.error("--days must be at least 1")
    try:
        files = generate(args.directory, days=args.days, hosts=args.host, force=args.force)
    except (OSError, ValueError) as exc:
        print(f"ibkr-broker certs: {exc}", file=sys.stderr)
        return 1
    print(usage_text(files))
    return 0
