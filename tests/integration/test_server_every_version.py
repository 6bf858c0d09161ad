"""The gateway at every protobuf-era server version TWS may answer (213..226, ibapi 10.50's
range) and at 178: handshake, a fill with its execution time (from 214 a UTC time with a glued
"Z") and commission, realized PnL unset on opening and set on closing, positions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import order_pb2

from tests.waiting import wait_until_async

from .server_env import BUY, MSFT, SELL, ServerEnv, market, new_simulator, place

pytestmark = pytest.mark.timeout(60)


async def executed(env: ServerEnv, spec: order_pb2.OrderSpec) -> order_pb2.Execution:
    """The execution of a new order, once its commission report arrived."""
    order_id = (await env.stub.PlaceOrder(place(MSFT, spec), timeout=10)).order.order_id
    seen: list[order_pb2.Execution] = []

    async def commissioned() -> bool:
        order = (await env.stub.GetOrder(pb.GetOrderRequest(order_id=order_id), timeout=5)).order
        seen[:] = [e for e in order.executions if e.commission_currency]
        return bool(seen)

    await wait_until_async(commissioned, what="an execution with its commission")
    return seen[0]


@pytest.mark.parametrize("version", [178, *range(213, 227)])
async def test_fill_commission_and_positions_at_every_version(tmp_path: Path, version: int) -> None:
    sim = new_simulator(seed=7, tick_interval=0.05, max_server_version=version)
    await sim.start()
    try:
        async with ServerEnv(tmp_path, sim) as env:
            status = await env.stub.GetStatus(pb.GetStatusRequest(), timeout=5)
            assert status.server_version == version
            opening = await executed(env, market(BUY, "3"))
            when = opening.execution_time.ToDatetime(tzinfo=UTC)
            assert abs(datetime.now(UTC) - when) < timedelta(hours=1)  # parsed, not dropped
            assert opening.realized_pnl == "" and opening.commission != ""
            closing = await executed(env, market(SELL, "3"))
            assert closing.realized_pnl != ""
            positions = await env.stub.ListPositions(pb.ListPositionsRequest(), timeout=5)
            assert all(
                p.contract.symbol != "MSFT" or p.quantity == "0" for p in positions.positions
            )
    finally:
        await sim.stop()
