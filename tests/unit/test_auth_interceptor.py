"""The interceptor around stand-in handlers on a real grpc.aio server (127.0.0.1:0): the
principal each handler sees, streams included, and the audit of a failing handler."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from ibkr_broker.server.api.auth import AuthInterceptor, Principal, current_principal
from ibkr_broker.server.audit import AuditLog
from ibkr_broker.server.config import SecuritySettings, TokenSettings
from ibkr_broker.server.trading.limits import RiskLimits
from ibkr_broker.v1 import broker_service_pb2 as pb

pytestmark = pytest.mark.timeout(20)

SERVICE = "ibkr_broker.v1.BrokerService"
RISK = RiskLimits(max_open_orders=2)


def token(name: str, role: str, risk: RiskLimits | None = None) -> TokenSettings:
    return TokenSettings(name, role, hashlib.sha256(f"{name}-secret".encode()).hexdigest(), risk)


class Handlers:
    def __init__(self) -> None:
        self.seen: list[Principal | None] = []

    async def get_status(self, request: pb.GetStatusRequest, context: Any) -> pb.GetStatusResponse:
        self.seen.append(current_principal())
        return pb.GetStatusResponse()

    async def stream_quotes(
        self, request: pb.StreamQuotesRequest, context: Any
    ) -> AsyncIterator[pb.StreamQuotesResponse]:
        for i in range(3):
            self.seen.append(current_principal())
            yield pb.StreamQuotesResponse(sequence=i)

    async def place_order(self, request: pb.PlaceOrderRequest, context: Any) -> Any:
        raise RuntimeError("boom")


async def serve(security: SecuritySettings, audit: AuditLog, handlers: Handlers) -> Any:
    server = grpc.aio.server(interceptors=[AuthInterceptor(security, audit)])
    methods = {
        "GetStatus": grpc.unary_unary_rpc_method_handler(
            handlers.get_status,
            request_deserializer=pb.GetStatusRequest.FromString,
            response_serializer=pb.GetStatusResponse.SerializeToString,
        ),
        "StreamQuotes": grpc.unary_stream_rpc_method_handler(
            handlers.stream_quotes,
            request_deserializer=pb.StreamQuotesRequest.FromString,
            response_serializer=pb.StreamQuotesResponse.SerializeToString,
        ),
        "PlaceOrder": grpc.unary_unary_rpc_method_handler(
            handlers.place_order,
            request_deserializer=pb.PlaceOrderRequest.FromString,
            response_serializer=pb.PlaceOrderResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, methods)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


def stubs(channel: grpc.aio.Channel) -> tuple[Any, Any, Any]:
    return (
        channel.unary_unary(
            f"/{SERVICE}/GetStatus",
            request_serializer=pb.GetStatusRequest.SerializeToString,
            response_deserializer=pb.GetStatusResponse.FromString,
        ),
        channel.unary_stream(
            f"/{SERVICE}/StreamQuotes",
            request_serializer=pb.StreamQuotesRequest.SerializeToString,
            response_deserializer=pb.StreamQuotesResponse.FromString,
        ),
        channel.unary_unary(
            f"/{SERVICE}/PlaceOrder",
            request_serializer=pb.PlaceOrderRequest.SerializeToString,
            response_deserializer=pb.PlaceOrderResponse.FromString,
        ),
    )


def md(name: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {name}-secret"),)


async def test_handlers_see_the_principal_of_their_own_call(tmp_path: Path) -> None:
    security = SecuritySettings(tokens=(token("viewer", "read"), token("bot", "trade", RISK)))
    audit = AuditLog(tmp_path / "audit.jsonl")
    handlers = Handlers()
    server, port = await serve(security, audit, handlers)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            get_status, stream_quotes, place_order = stubs(channel)
            await get_status(pb.GetStatusRequest(), metadata=md("viewer"))
            stream = stream_quotes(pb.StreamQuotesRequest(), metadata=md("bot"))
            first = await stream.read()
            await get_status(pb.GetStatusRequest(), metadata=md("bot"))  # while the stream runs
            rest = [(await stream.read()).sequence for _ in range(2)]
            assert await stream.read() is grpc.aio.EOF
            assert first.sequence == 0 and rest == [1, 2]
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await place_order(pb.PlaceOrderRequest(request_id="r1"), metadata=md("bot"))
            assert err.value.code() == grpc.StatusCode.UNKNOWN
    finally:
        await server.stop(None)
        audit.close()
    viewer, bot = Principal("viewer", "read"), Principal("bot", "trade", RISK)
    assert handlers.seen[0] == viewer
    assert sorted(p.name for p in handlers.seen[1:] if p) == ["bot"] * 4
    assert all(p in (viewer, bot) for p in handlers.seen)
    (line,) = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert (line["method"], line["token"], line["result"]) == ("PlaceOrder", "bot", "UNKNOWN")
    assert line["request"] == {"request_id": "r1"}


async def test_without_tokens_there_is_no_principal(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    handlers = Handlers()
    server, port = await serve(SecuritySettings(), audit, handlers)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            get_status, stream_quotes, _ = stubs(channel)
            await get_status(pb.GetStatusRequest(), metadata=md("anyone"))
            assert len([m async for m in stream_quotes(pb.StreamQuotesRequest())]) == 3
    finally:
        await server.stop(None)
        audit.close()
    assert handlers.seen == [None] * 4
    assert (tmp_path / "audit.jsonl").read_text() == ""
