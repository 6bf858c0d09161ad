"""Tokens, roles, client addresses and the [security] settings, without sockets."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from ibkr_broker.server.api import auth
from ibkr_broker.server.config import ConfigError, TokenSettings, build
from ibkr_broker.server.trading.limits import RiskLimits
from ibkr_broker.v1 import broker_service_pb2

pytestmark = pytest.mark.timeout(10)

SERVICE = broker_service_pb2.DESCRIPTOR.services_by_name["BrokerService"]


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_every_method_of_the_service_has_a_role() -> None:
    methods = {m.name for m in SERVICE.methods}
    assert set(auth.METHOD_ROLES) == methods
    assert set(auth.METHOD_ROLES.values()) <= set(auth.ROLE_RANK)
    assert SERVICE.full_name == auth.SERVICE
    mutating = {
        "PlaceOrder", "ModifyOrder", "CancelOrder", "CancelAllOrders", "HaltTrading",
        "ResumeTrading",
    }  # fmt: skip
    assert mutating == auth.MUTATING
    assert {m for m, r in auth.METHOD_ROLES.items() if r == "admin"} == {
        "CancelAllOrders", "HaltTrading", "ResumeTrading"
    }  # fmt: skip
    assert auth.required_role("SomeFutureMethod") == "admin"
    assert auth.is_mutating("SomeFutureMethod")


TABLE = auth.TokenTable(
    [
        TokenSettings("reader", "read", sha("r-token")),
        TokenSettings("trader", "trade", sha("t-token"), RiskLimits(max_open_orders=3)),
    ]
)


def md(value: Any) -> list[tuple[str, Any]]:
    return [("user-agent", "x"), ("authorization", value)]


def test_a_known_token_gives_its_principal() -> None:
    assert TABLE.authenticate(md("Bearer r-token")) == auth.Principal("reader", "read")
    trader = TABLE.authenticate(md("bearer   t-token  "))
    assert trader.name == "trader" and trader.risk == RiskLimits(max_open_orders=3)
    assert TABLE.authenticate([("Authorization", "Bearer t-token")]).role == "trade"


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        [],
        md(""),
        md("Bearer"),
        md("Bearer "),
        md("r-token"),  # "Bearer" missing
        md("Basic r-token"),
        md("Token r-token"),
        md("Bearer " + sha("r-token")),  # the hash instead of the token
        md("Bearer R-TOKEN"),
        md("Bearer r-token-"),
        md("Bearer tökén"),
        md("Bearer \ud800"),  # a lone surrogate
        md(b"Bearer \xff\xfe"),
        md("Bearer " + "a" * 1_000_000),
        md("Bearer r-token\x00"),
        [("authorization", "Bearer r-token"), ("authorization", "Bearer t-token")],
    ],
)
def test_hostile_or_wrong_tokens_are_unauthenticated(metadata: Any) -> None:
    with pytest.raises(auth.Refused) as refused:
        TABLE.authenticate(metadata)
    assert refused.value.code.name == "UNAUTHENTICATED"
    assert refused.value.reason == "UNAUTHENTICATED"
    assert "r-token" not in refused.value.message


def test_every_configured_hash_is_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    real = auth.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append(b)
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    TABLE.authenticate(md("Bearer r-token"))  # matches the first: no early exit
    assert len(calls) == 2


def test_refusal_status_carries_error_info() -> None:
    refused = auth.Refused(
        auth.grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED", "no", required_role="admin"
    )
    status = refused.status()
    assert status.code.name == "PERMISSION_DENIED"
    trailer = dict(status.trailing_metadata)["grpc-status-details-bin"]
    assert b"ibkr-broker" in trailer and b"required_role" in trailer and b"admin" in trailer


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        ("ipv4:127.0.0.1:5555", "127.0.0.1"),
        ("ipv6:[::1]:5555", "::1"),
        ("ipv6:%5B::1%5D:5555", "::1"),
        ("ipv6:[::ffff:10.1.2.3]:80", "10.1.2.3"),
        ("ipv6:[fe80::1%25eth0]:80", "fe80::1"),
        ("unix:/tmp/socket", None),
        ("garbage", None),
        ("ipv4:not-an-ip:1", None),
        ("", None),
    ],
)
def test_peer_addresses(peer: str, address: str | None) -> None:
    parsed = auth.peer_address(peer)
    assert (str(parsed) if parsed else None) == address


def test_allowlist() -> None:
    allow = auth.Allowlist(["10.0.0.0/8", "192.168.1.7", "fd00::/8"])
    assert allow.allows("ipv4:10.9.8.7:1")
    assert allow.allows("ipv4:192.168.1.7:1")
    assert allow.allows("ipv6:[fd12::1]:1")
    assert allow.allows("ipv6:[::ffff:10.0.0.1]:1")
    assert not allow.allows("ipv4:127.0.0.1:1")
    assert not allow.allows("ipv6:[::1]:1")
    assert not allow.allows("unix:/x")
    assert not auth.Allowlist([])


def security(**values: Any) -> dict[str, Any]:
    return {"security": values}


TLS = {"tls_cert_file": "s.pem", "tls_key_file": "s.key"}
TOKEN = {"name": "a", "role": "admin", "sha256": sha("x")}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"server": {"listen": "0.0.0.0:50051"}}, "missing: TLS"),
        ({"server": {"listen": "0.0.0.0:1"}, **security(**TLS)}, "missing: at least one"),
        ({"server": {"listen": "[::]:1"}, **security(tokens=[TOKEN])}, "missing: TLS"),
        ({"server": {"listen": "192.168.1.2:1"}}, "not a loopback address"),
        ({"server": {"listen": "myhost:1"}}, "not a loopback address"),
        (security(tls_cert_file="s.pem"), "go together"),
        (security(client_ca_file="ca.pem"), "needs TLS"),
        (security(allowed_clients=["10.0.0.0/33"]), "security.allowed_clients"),
        (security(allowed_clients=["example.com"]), "security.allowed_clients"),
        (security(tokens=[TOKEN, {**TOKEN, "sha256": sha("y")}]), "used twice"),
        (security(tokens=[TOKEN, {**TOKEN, "name": "b"}]), "configured twice"),
        (security(tokens=[{**TOKEN, "role": "root"}]), "security.tokens[0].role"),
        (security(tokens=[{**TOKEN, "sha256": "x"}]), "security.tokens[0].sha256"),
        (security(tokens=[{"name": "a", "role": "read", "token": "x"}]), "unknown setting"),
    ],
)
def test_security_settings_are_checked(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        build(data, env={})


@pytest.mark.parametrize("listen", ["127.0.0.1:1", "127.8.9.1:1", "localhost:1", "[::1]:1"])
def test_loopback_needs_neither_tls_nor_tokens(listen: str) -> None:
    assert build({"server": {"listen": listen}}, env={}).server.listen == listen


def test_network_listener_with_tls_and_a_token_is_accepted() -> None:
    config = build({"server": {"listen": "0.0.0.0:1"}, **security(**TLS, tokens=[TOKEN])}, env={})
    assert config.security.tokens[0].name == "a"


def test_the_client_config_never_shows_its_token() -> None:
    from ibkr_broker.client import ClientConfig

    config = ClientConfig(token="s3cret-token")
    assert "s3cret-token" not in repr(config) and config.metadata()[0][1] == "Bearer s3cret-token"
