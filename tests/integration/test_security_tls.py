"""TLS and mutual TLS on the gRPC port, the clients (BrokerClient, IBKRAdapter, CLI) against a
TLS + token server, and `ibkr-broker serve` refusing the network without TLS and tokens."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from ibkr_broker.client import (
    AuthenticationError,
    BrokerClient,
    IBKRAdapter,
    PermissionDeniedError,
    UnavailableError,
)
from ibkr_broker.client import cli as client_cli
from ibkr_broker.server import certs
from ibkr_broker.v1 import broker_service_pb2 as pb

from .client_env import ThreadedServerEnv
from .security_env import NAMES, TOKENS, bearer, sha256, with_tokens
from .server_env import ServerEnv

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("tws_era")]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> certs.CertFiles:
    return certs.generate(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> certs.CertFiles:
    return certs.generate(tmp_path_factory.mktemp("other-pki"))


@pytest.fixture(autouse=True)
def no_client_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("IBKR_BROKER_"):
            monkeypatch.delenv(name)


def tls(pki: certs.CertFiles, mutual: bool = False) -> dict[str, str]:
    settings = {"tls_cert_file": str(pki.server_cert), "tls_key_file": str(pki.server_key)}
    if mutual:
        settings["client_ca_file"] = str(pki.ca_cert)
    return settings


def credentials(
    pki: certs.CertFiles, client: certs.CertFiles | None = None
) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=pki.ca_cert.read_bytes(),
        private_key=client.client_key.read_bytes() if client else None,
        certificate_chain=client.client_cert.read_bytes() if client else None,
    )


async def status_code(channel: grpc.aio.Channel) -> grpc.StatusCode:
    call = channel.unary_unary(
        "/ibkr_broker.v1.BrokerService/GetStatus",
        request_serializer=pb.GetStatusRequest.SerializeToString,
        response_deserializer=pb.GetStatusResponse.FromString,
    )(pb.GetStatusRequest(), metadata=bearer("read"), timeout=5)
    code: grpc.StatusCode = await call.code()
    return code


async def test_tls_with_the_right_ca_works_and_plaintext_fails(
    tmp_path: Path, pki: certs.CertFiles, other_pki: certs.CertFiles
) -> None:
    sections = with_tokens(**tls(pki))
    async with ServerEnv(tmp_path, sections=sections, credentials=credentials(pki)) as env:
        status = await env.stub.GetStatus(pb.GetStatusRequest(), metadata=bearer("read"))
        assert status.accounts
        async with env.open_channel() as plaintext:
            assert await status_code(plaintext) == grpc.StatusCode.UNAVAILABLE
        async with env.open_channel(credentials(other_pki)) as wrong_ca:
            assert await status_code(wrong_ca) == grpc.StatusCode.UNAVAILABLE
        async with env.open_channel(credentials(pki)) as right:
            assert await status_code(right) == grpc.StatusCode.OK


async def test_mutual_tls_refuses_clients_without_a_certificate_of_the_ca(
    tmp_path: Path, pki: certs.CertFiles, other_pki: certs.CertFiles
) -> None:
    sections = with_tokens(**tls(pki, mutual=True))
    async with ServerEnv(tmp_path, sections=sections, credentials=credentials(pki, pki)) as env:
        status = await env.stub.GetStatus(pb.GetStatusRequest(), metadata=bearer("read"))
        assert status.accounts
        async with env.open_channel(credentials(pki)) as no_cert:
            assert await status_code(no_cert) == grpc.StatusCode.UNAVAILABLE
        async with env.open_channel(credentials(pki, other_pki)) as foreign_cert:
            assert await status_code(foreign_cert) == grpc.StatusCode.UNAVAILABLE
        async with env.open_channel() as plaintext:
            assert await status_code(plaintext) == grpc.StatusCode.UNAVAILABLE


@pytest.fixture
def mtls_env(tmp_path: Path, pki: certs.CertFiles) -> Iterator[ThreadedServerEnv]:
    sections = with_tokens(**tls(pki, mutual=True))
    with ThreadedServerEnv(tmp_path, sections=sections, credentials=credentials(pki, pki)) as env:
        yield env


def tls_files(pki: certs.CertFiles) -> dict[str, str]:
    return {
        "ca_cert": str(pki.ca_cert),
        "client_cert": str(pki.client_cert),
        "client_key": str(pki.client_key),
    }


def test_broker_client_with_token_and_certificates(
    mtls_env: ThreadedServerEnv, pki: certs.CertFiles
) -> None:
    with BrokerClient(mtls_env.target, token=TOKENS["trade"], **tls_files(pki)) as client:
        assert client.status().accounts
        with pytest.raises(PermissionDeniedError) as err:
            client.cancel_all_orders()
        assert err.value.reason == "PERMISSION_DENIED" and err.value.metadata == {
            "required_role": "admin"
        }
    anonymous = BrokerClient(mtls_env.target, **tls_files(pki))
    with anonymous, pytest.raises(AuthenticationError):
        anonymous.status()
    no_cert = BrokerClient(mtls_env.target, token=TOKENS["read"], ca_cert=str(pki.ca_cert))
    with no_cert, pytest.raises(UnavailableError):
        no_cert.status(timeout=3)


def test_adapter_with_token_and_certificates(
    mtls_env: ThreadedServerEnv, pki: certs.CertFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"target": mtls_env.target, "token": TOKENS["admin"], "retries": 0, **tls_files(pki)}
    with IBKRAdapter(config) as adapter:
        assert adapter.auth()
        assert adapter.get_account()["account_id"]
        order = adapter.buy_stock_limit("AAPL", 1, "1.00")
        assert adapter.cancel_all_orders() == [order["order_id"]]
    with IBKRAdapter({**config, "token": "wrong"}) as refused:
        assert not refused.auth()
    # the token also comes from the environment
    monkeypatch.setenv("IBKR_BROKER_TOKEN", TOKENS["read"])
    with IBKRAdapter({k: v for k, v in config.items() if k != "token"}) as from_env:
        assert from_env.get_status()["ready"]


def test_cli_with_token_and_certificates(
    mtls_env: ThreadedServerEnv, pki: certs.CertFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--target", mtls_env.target, "--ca-cert", str(pki.ca_cert), "--client-cert",
             str(pki.client_cert), "--client-key", str(pki.client_key)]  # fmt: skip
    assert client_cli.main(["status", *flags, "--token", TOKENS["read"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accounts"]
    assert client_cli.main(["status", *flags, "--token", "nope"]) != 0
    err = capsys.readouterr().err
    assert "UNAUTHENTICATED" in err and "nope" not in err
    code = client_cli.main(["buy", "AAPL", "1", "--limit", "1", *flags, "--token", TOKENS["read"]])
    assert code != 0 and "PERMISSION_DENIED" in capsys.readouterr().err


# --- ibkr-broker serve --------------------------------------------------------------------------


def serve(*args: str, env: dict[str, str] | None = None, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ibkr_broker", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **kw,  # type: ignore[call-overload]
    )


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (["--sim", "--listen", "0.0.0.0:0"], {}, ["0.0.0.0 is not a loopback", "TLS", "tokens"]),
        (["--sim", "--listen", "[::]:0"], {}, ["is not a loopback", "TLS", "tokens"]),
        (["--sim"], {"IBKR_BROKER_SERVER_LISTEN": "0.0.0.0:0"}, ["not a loopback"]),
    ],
)
def test_serve_refuses_the_network_without_tls_and_tokens(
    tmp_path: Path, args: list[str], env: dict[str, str], names: list[str]
) -> None:
    proc = serve(*args, "--data-dir", str(tmp_path / "data"), env=env)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, (out, err)
    for name in names:
        assert name in err
    assert "serving" not in out and "Traceback" not in err
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_serve_names_an_unreadable_certificate(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text('[security]\ntls_cert_file = "missing.pem"\ntls_key_file = "missing.key"\n')
    proc = serve("--sim", "--listen", "127.0.0.1:0", "--config", str(config),
                 "--data-dir", str(tmp_path / "data"))  # fmt: skip
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "security.tls_cert_file: cannot read missing.pem" in err and "Traceback" not in err


def test_serve_with_tls_and_tokens(
    tmp_path: Path, pki: certs.CertFiles
) -> None:
    config = tmp_path / "server.toml"
    config.write_text(
        f"""[security]
tls_cert_file = "{pki.server_cert}"
tls_key_file = "{pki.server_key}"
[[security.tokens]]
name = "{NAMES["read"]}"
role = "read"
sha256 = "{sha256(TOKENS["read"])}"
"""
    )
    # (a network address with this config passes the check: see tests/unit/test_auth.py)
    proc = serve("--sim", "--listen", "127.0.0.1:0", "--config", str(config),
                 "--data-dir", str(tmp_path / "data"))  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = re.search(r"on 127\.0\.0\.1:(\d+) \(TWS simulator", line)
        assert port, line
        assert "TLS, 1 token(s)" in proc.stdout.readline()
        with BrokerClient(f"127.0.0.1:{port.group(1)}", token=TOKENS["read"],
                          ca_cert=str(pki.ca_cert)) as client:  # fmt: skip
            assert client.status(timeout=10).server_software_version
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
