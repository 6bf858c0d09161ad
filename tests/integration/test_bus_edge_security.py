"""Tokens, roles and the audit log at an edge, exactly as on the gateway (the same interceptor)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
from ibkr_broker.v1 import broker_service_pb2 as pb

from tests.waiting import wait_until

from .bus_env import Client, NatsServer, start_edge, start_gateway
from .security_env import NAMES, TOKENS, bearer, sha256, with_tokens
from .server_env import AAPL, BUY, limit, new_simulator, place

pytestmark = pytest.mark.timeout(90)


async def test_tokens_roles_and_audit_apply_at_the_edge(tmp_path: Path) -> None:
    sim = new_simulator(seed=9, tick_interval=0.05)
    await sim.start()
    security = with_tokens()
    async with NatsServer(tmp_path) as nats_server:
        gateway = await start_gateway(tmp_path / "gw", sim.port, nats_server.url, **security)
        edge = await start_edge(tmp_path / "edge", nats_server.url, **security)
        client = Client(edge.port)
        try:
            await wait_until(lambda: bool(edge.backend.live()), 10, "edge sees the gateway")
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await client.stub.GetStatus(pb.GetStatusRequest(), timeout=10)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            status = await client.stub.GetStatus(
                pb.GetStatusRequest(), metadata=bearer("read"), timeout=10
            )
            assert list(status.accounts) == ["DU1234567"]
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await client.stub.PlaceOrder(
                    place(AAPL, limit(BUY, "1", "1.00")), metadata=bearer("read"), timeout=10
                )
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert not list(sim.exchange.orders())
            placed = await client.stub.PlaceOrder(
                place(AAPL, limit(BUY, "1", "1.00"), request_id=uuid.uuid4().hex),
                metadata=bearer("trade"),
                timeout=15,
            )
            assert placed.order.order_id
            audit_path = tmp_path / "edge" / "audit.jsonl"
            lines: list[dict[str, Any]] = [
                json.loads(line) for line in audit_path.read_text().splitlines()
            ]
            assert [(r["event"], r["method"], r["token"]) for r in lines] == [
                ("refused", "GetStatus", ""),
                ("refused", "PlaceOrder", NAMES["read"]),
                ("call", "PlaceOrder", NAMES["trade"]),
            ]
            assert lines[2]["order_ids"] == [placed.order.order_id]
            text = audit_path.read_text()
            for token in TOKENS.values():
                assert token not in text and sha256(token) not in text
            with pytest.raises(grpc.aio.AioRpcError) as err:  # a relayed stream: the same rules
                async for _ in client.stub.StreamPnL(pb.StreamPnLRequest(), timeout=10):
                    pass
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            pnl = client.stub.StreamPnL(pb.StreamPnLRequest(), metadata=bearer("read"))
            message = await asyncio.wait_for(pnl.read(), 15)
            while not message.HasField("pnl"):
                message = await asyncio.wait_for(pnl.read(), 15)
            assert message.pnl.account_id == "DU1234567"
            pnl.cancel()
        finally:
            await client.close()
            await edge.stop()
            await gateway.stop()
    await sim.stop()
