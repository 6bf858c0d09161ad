"""`ibkr-broker token` and `ibkr-broker certs`: what they print and write."""

from __future__ import annotations

import hashlib
import io
import ipaddress
import stat
import tomllib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from ibkr_broker.server import certs, tokens
from ibkr_broker.server.config import build

pytestmark = pytest.mark.timeout(30)


def test_token_prints_the_token_once_and_its_config_block(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert tokens.main(['desk "1"', "trade"]) == 0
    out = capsys.readouterr().out
    token = out.splitlines()[1].strip()
    assert len(token) >= 43 and out.count(token) == 1
    block = out[out.index("[[security.tokens]]") :]
    data = tomllib.loads(block)
    entry = data["security"]["tokens"][0]
    assert entry == {
        "name": 'desk "1"',
        "role": "trade",
        "sha256": hashlib.sha256(token.encode()).hexdigest(),
    }
    assert build(data, env={}).security.tokens[0].role == "trade"


def test_token_hashes_one_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("my-token\n"))
    assert tokens.main(["ops", "admin", "--stdin"]) == 0
    out = capsys.readouterr().out
    assert "my-token" not in out
    assert hashlib.sha256(b"my-token").hexdigest() in out


def test_token_refuses_unknown_roles(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        tokens.main(["x", "root"])
    assert "invalid choice" in capsys.readouterr().err


def test_certs_writes_a_ca_and_signed_certificates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert certs.main([str(tmp_path / "c"), "--days", "3", "--host", "broker.lan",
                       "--host", "10.1.2.3"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "tls_cert_file" in out and "--ca-cert" in out
    d = tmp_path / "c"
    for name in ("ca.key", "server.key", "client.key"):
        assert stat.S_IMODE((d / name).stat().st_mode) == 0o600
    ca = x509.load_pem_x509_certificate((d / "ca.pem").read_bytes())
    server = x509.load_pem_x509_certificate((d / "server.pem").read_bytes())
    client = x509.load_pem_x509_certificate((d / "client.pem").read_bytes())
    for cert in (server, client):
        cert.verify_directly_issued_by(ca)
    alt = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(alt.get_values_for_type(x509.DNSName)) == {"localhost", "broker.lan"}
    assert set(alt.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address(a) for a in ("127.0.0.1", "::1", "10.1.2.3")
    }
    usage = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    days = (server.not_valid_after_utc - server.not_valid_before_utc).days
    assert 3 <= days <= 4
    # existing files are kept unless --force
    assert certs.main([str(d)]) == 1
    assert "exists" in capsys.readouterr().err
    assert certs.main([str(d), "--force"]) == 0
