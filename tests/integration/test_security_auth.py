"""Tokens, roles, read-only mode, the client allowlist and the audit log, over real sockets
(the gRPC server on 127.0.0.1:0 against the TWS simulator)."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from ibkr_broker.server.api.auth import METHOD_ROLES, MUTATING
from ibkr_broker.v1 import broker_service_pb2 as pb

from .security_env import (
    METHODS,
    NAMES,
    TOKENS,
    bearer,
    call,
    outcome,
    raw_unary_call,
    sha256,
    with_tokens,
)
from .server_env import AAPL, BUY, ServerEnv, limit, place

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("tws_era")]

GS = "GetStatus"


@pytest.fixture
async def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with ServerEnv(tmp_path, sections=with_tokens()) as env:
        yield env


def audit_lines(env: ServerEnv) -> list[dict[str, Any]]:
    path = env.tmp_path / "data" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


async def assert_refused(rpc: Any, code: grpc.StatusCode, reason: str, **metadata: str) -> None:
    got, info = await outcome(rpc)
    assert got == code
    assert info is not None and info.domain == "ibkr-broker" and info.reason == reason
    assert dict(info.metadata) == metadata


async def resting_order(env: ServerEnv, role: str) -> str:
    placed = await env.stub.PlaceOrder(place(AAPL, limit(BUY, "1", "1.00")), metadata=bearer(role))
    return str(placed.order.order_id)


def rid() -> str:
    return uuid.uuid4().hex


async def test_every_rpc_without_a_token_is_unauthenticated(env: ServerEnv) -> None:
    assert set(METHODS) == set(METHOD_ROLES)
    for method in METHODS:
        await assert_refused(call(env.channel, method), grpc.StatusCode.UNAUTHENTICATED,
                             "UNAUTHENTICATED")  # fmt: skip
    assert env.sim_orders() == []
    # health checks and reflection stay open
    health = health_pb2_grpc.HealthStub(env.channel)
    reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(env.channel)
    replies = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    async for r in replies:
        assert "ibkr_broker.v1.BrokerService" in {s.name for s in r.list_services_response.service}


async def test_a_read_token_reads_and_every_mutating_rpc_is_denied(env: ServerEnv) -> None:
    status = await env.stub.GetStatus(pb.GetStatusRequest(), metadata=bearer("read"), timeout=5)
    assert status.accounts and not status.read_only
    await env.stub.ListOrders(pb.ListOrdersRequest(), metadata=bearer("read"), timeout=5)
    stream = call(env.channel, "StreamOrderEvents", bearer("read"))
    first = await stream.read()
    assert first.HasField("status")
    stream.cancel()
    for method in sorted(MUTATING):
        await assert_refused(
            call(env.channel, method, bearer("read")),
            grpc.StatusCode.PERMISSION_DENIED,
            "PERMISSION_DENIED",
            required_role=METHOD_ROLES[method],
        )
    assert env.sim_orders() == []


async def test_a_trade_token_trades_but_cannot_cancel_all_or_halt(env: ServerEnv) -> None:
    md = bearer("trade")
    order_id = await resting_order(env, "trade")
    modified = await env.stub.ModifyOrder(
        pb.ModifyOrderRequest(request_id=rid(), order_id=order_id, limit_price="1.05"), metadata=md
    )
    assert modified.order.order_id == order_id
    await env.stub.CancelOrder(pb.CancelOrderRequest(request_id=rid(), order_id=order_id),
                               metadata=md)  # fmt: skip
    for method in ("CancelAllOrders", "HaltTrading", "ResumeTrading"):
        await assert_refused(
            call(env.channel, method, md, request_of_id(method)),
            grpc.StatusCode.PERMISSION_DENIED,
            "PERMISSION_DENIED",
            required_role="admin",
        )


def request_of_id(method: str) -> Any:
    from .security_env import request_of

    return request_of(method, request_id=rid())


async def test_an_admin_cancels_all_and_halts(env: ServerEnv) -> None:
    md = bearer("admin")
    order_id = await resting_order(env, "admin")
    cancelled = await env.stub.CancelAllOrders(
        pb.CancelAllOrdersRequest(request_id=rid()), metadata=md, timeout=10
    )
    assert list(cancelled.order_ids) == [order_id]
    halted = await env.stub.HaltTrading(
        pb.HaltTradingRequest(request_id=rid(), reason="test"), metadata=md, timeout=10
    )
    assert halted.kill_switch.engaged and halted.kill_switch.engaged_by == NAMES["admin"]
    resumed = await env.stub.ResumeTrading(
        pb.ResumeTradingRequest(request_id=rid()), metadata=md, timeout=10
    )
    assert not resumed.kill_switch.engaged


HOSTILE = [
    ("empty", "", grpc.StatusCode.UNAUTHENTICATED),
    ("bearer only", "Bearer ", grpc.StatusCode.UNAUTHENTICATED),
    ("no scheme", TOKENS["admin"], grpc.StatusCode.UNAUTHENTICATED),
    ("wrong scheme", f"Basic {TOKENS['admin']}", grpc.StatusCode.UNAUTHENTICATED),
    ("hash of the token", f"Bearer {sha256(TOKENS['admin'])}", grpc.StatusCode.UNAUTHENTICATED),
    ("configured hash", f"Bearer {sha256(TOKENS['admin']).upper()}",
     grpc.StatusCode.UNAUTHENTICATED),
    ("4 KB", "Bearer " + "A" * 4096, grpc.StatusCode.UNAUTHENTICATED),
    # gRPC's own header limit (16 KB hard) answers before the server's code runs
    ("1 MB", "Bearer " + "A" * (1 << 20), grpc.StatusCode.RESOURCE_EXHAUSTED),
]  # fmt: skip


@pytest.mark.parametrize(("label", "value", "code"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_tokens_are_refused_and_the_server_keeps_serving(
    env: ServerEnv, label: str, value: str, code: grpc.StatusCode
) -> None:
    for method in (GS, "PlaceOrder", "StreamQuotes"):
        got, _ = await outcome(call(env.channel, method, (("authorization", value),)))
        assert got == code, (label, method)
    status = await env.stub.GetStatus(pb.GetStatusRequest(), metadata=bearer("read"), timeout=5)
    assert status.accounts
    assert env.sim_orders() == []


async def test_non_ascii_tokens_are_refused(env: ServerEnv) -> None:
    assert env.app is not None
    port = env.app.port
    # grpc clients refuse to send a non-ASCII header value at all...
    with pytest.raises(Exception, match=r"(?i)metadata|header|execute_batch"):
        await call(env.channel, GS, (("authorization", "Bearer tökén"),))
    # ...so send the bytes over HTTP/2 by hand: the server answers UNAUTHENTICATED (16)
    for raw in ("Bearer tökén".encode(), b"Bearer \xff\xfe\x00\x01", "Bearer 🔑".encode()):
        trailers = await asyncio.to_thread(raw_unary_call, port, "PlaceOrder", raw)
        assert b"grpc-status\x0216" in trailers, trailers
    refused = [r for r in audit_lines(env) if r["event"] == "refused"]
    assert [r["reason"] for r in refused] == ["UNAUTHENTICATED"] * 3
    status = await env.stub.GetStatus(pb.GetStatusRequest(), metadata=bearer("read"), timeout=5)
    assert status.accounts


async def test_read_only_mode_refuses_mutations_even_for_admins(tmp_path: Path) -> None:
    async with ServerEnv(tmp_path, sections=with_tokens(read_only=True)) as env:
        status = await env.stub.GetStatus(pb.GetStatusRequest(), metadata=bearer("read"))
        assert status.read_only
        for method in sorted(MUTATING):
            await assert_refused(
                call(env.channel, method, bearer("admin"), request_of_id(method)),
                grpc.StatusCode.PERMISSION_DENIED,
                "READ_ONLY",
            )
        await assert_refused(
            env.stub.PlaceOrder(place(AAPL, limit(BUY, "1", "1.00")), metadata=bearer("admin")),
            grpc.StatusCode.PERMISSION_DENIED,
            "READ_ONLY",
        )
        assert env.sim_orders() == []


async def test_read_only_mode_without_tokens(tmp_path: Path) -> None:
    async with ServerEnv(tmp_path, sections={"security": {"read_only": True}}) as env:
        assert (await env.stub.GetStatus(pb.GetStatusRequest())).read_only
        await assert_refused(
            env.stub.PlaceOrder(place(AAPL, limit(BUY, "1", "1.00"))),
            grpc.StatusCode.PERMISSION_DENIED,
            "READ_ONLY",
        )


async def test_a_client_outside_the_allowlist_is_refused(tmp_path: Path) -> None:
    sections = with_tokens(allowed_clients=["10.0.0.0/8", "fd00::/8"])
    async with ServerEnv(tmp_path, sections=sections) as env:
        for method in (GS, "PlaceOrder", "StreamOrderEvents"):
            await assert_refused(
                call(env.channel, method, bearer("admin")),
                grpc.StatusCode.PERMISSION_DENIED,
                "CLIENT_NOT_ALLOWED",
            )
        health = health_pb2_grpc.HealthStub(env.channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert env.sim_orders() == []


async def test_a_client_inside_the_allowlist_is_served(tmp_path: Path) -> None:
    sections = with_tokens(allowed_clients=["10.0.0.0/8", "127.0.0.1/32"])
    async with ServerEnv(tmp_path, sections=sections) as env:
        status = await env.stub.GetStatus(pb.GetStatusRequest(), metadata=bearer("read"))
        assert status.accounts
        health = health_pb2_grpc.HealthStub(env.channel)
        await health.Check(health_pb2.HealthCheckRequest(), timeout=5)


async def test_the_audit_log_has_one_line_per_mutating_call_and_no_secret(env: ServerEnv) -> None:
    made: list[tuple[str, str, str]] = []  # (method, token name, result)
    order_id = await resting_order(env, "trade")
    made.append(("PlaceOrder", NAMES["trade"], "OK"))
    await env.stub.ModifyOrder(
        pb.ModifyOrderRequest(request_id=rid(), order_id=order_id, quantity="2"),
        metadata=bearer("trade"),
    )
    made.append(("ModifyOrder", NAMES["trade"], "OK"))
    got, _ = await outcome(call(env.channel, "PlaceOrder", bearer("trade")))  # invalid request
    made.append(("PlaceOrder", NAMES["trade"], got.name))
    got, _ = await outcome(call(env.channel, "CancelAllOrders", bearer("trade")))
    made.append(("CancelAllOrders", NAMES["trade"], got.name))
    got, _ = await outcome(call(env.channel, "CancelOrder", (("authorization", "Bearer x"),)))
    made.append(("CancelOrder", "", got.name))
    await env.stub.CancelAllOrders(pb.CancelAllOrdersRequest(request_id=rid()),
                                   metadata=bearer("admin"))  # fmt: skip
    made.append(("CancelAllOrders", NAMES["admin"], "OK"))
    await env.stub.GetStatus(pb.GetStatusRequest(), metadata=bearer("admin"))  # not audited

    lines = audit_lines(env)
    assert [r["method"] for r in lines] == [m for m, _, _ in made]
    assert [r["result"] for r in lines] == [
        "OK", "OK", "INVALID_ARGUMENT", "PERMISSION_DENIED", "UNAUTHENTICATED", "OK"
    ]  # fmt: skip
    assert [r["token"] for r in lines] == [t for _, t, _ in made]
    assert [r["event"] for r in lines] == ["call"] * 3 + ["refused"] * 2 + ["call"]
    assert [r["reason"] for r in lines[2:5]] == [
        "INVALID_ARGUMENT", "PERMISSION_DENIED", "UNAUTHENTICATED"
    ]  # fmt: skip
    place_line = lines[0]
    assert place_line["order_ids"] == [order_id] and place_line["peer"].startswith("ipv4:127.")
    assert place_line["request"]["contract"]["symbol"] == "AAPL"
    assert place_line["request"]["order"]["limit_price"] == "1.00"
    assert lines[-1]["order_ids"] == [order_id]
    text = (env.tmp_path / "data" / "audit.jsonl").read_text()
    for token in TOKENS.values():
        assert token not in text and sha256(token) not in text
    assert "authorization" not in text.lower() and "bearer" not in text.lower()


async def test_with_authentication_off_mutations_are_audited_without_a_name(
    tmp_path: Path,
) -> None:
    audit = tmp_path / "elsewhere" / "audit.log"
    async with ServerEnv(tmp_path, sections={"security": {"audit_log": str(audit)}}) as env:
        placed = await env.stub.PlaceOrder(place(AAPL, limit(BUY, "1", "1.00")))
        await env.stub.GetStatus(pb.GetStatusRequest())
    (line,) = [json.loads(x) for x in audit.read_text().splitlines()]
    assert line["token"] == "" and line["order_ids"] == [placed.order.order_id]


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
async def test_the_allowlist_over_ipv6(tmp_path: Path) -> None:
    for allowed, code in ((["::1/128"], grpc.StatusCode.OK),
                          (["127.0.0.1"], grpc.StatusCode.PERMISSION_DENIED)):  # fmt: skip
        sections = {"server": {"listen": "[::1]:0"}, **with_tokens(allowed_clients=allowed)}
        async with ServerEnv(tmp_path / code.name, sections=sections) as env:
            assert env.app is not None
            async with grpc.aio.insecure_channel(f"[::1]:{env.app.port}") as channel:
                got, _ = await outcome(call(channel, GS, bearer("read")))
                assert got == code
