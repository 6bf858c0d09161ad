"""Every managed account: an advisor login of the simulator managing three paper accounts,
through the real server in both eras. Each account's positions and values are its own; an order
must name its account."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import order_pb2

from tests.waiting import wait_until, wait_until_async

from .server_env import AAPL, BUY, MSFT, ServerEnv, market, new_simulator, place

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("tws_era")]

ACCOUNTS = ("DU1234567", "DU1234568", "DU1234569")


@pytest.fixture
async def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    sim = new_simulator(seed=7, tick_interval=0.05, accounts=3)
    await sim.start()
    try:
        async with ServerEnv(tmp_path, sim) as env:
            yield env
    finally:
        await sim.stop()


async def filled(env: ServerEnv, order_id: str) -> None:
    async def is_filled() -> bool:
        got = await env.stub.GetOrder(pb.GetOrderRequest(order_id=order_id), timeout=5)
        return got.order.status == order_pb2.ORDER_STATUS_FILLED

    await wait_until_async(is_filled, 10, f"{order_id} filled")


async def test_three_accounts_each_with_its_own_positions_and_values(env: ServerEnv) -> None:
    status = await env.stub.GetStatus(pb.GetStatusRequest(), timeout=5)
    assert tuple(status.accounts) == ACCOUNTS
    buys = [(ACCOUNTS[0], AAPL, "10"), (ACCOUNTS[1], AAPL, "20"), (ACCOUNTS[2], MSFT, "30")]
    for account, contract, qty in buys:
        spec = market(BUY, qty)
        spec.account = account
        placed = await env.stub.PlaceOrder(place(contract, spec), timeout=10)
        assert placed.order.account == account
        await filled(env, placed.order.order_id)
    ledgers = env.sim.exchange.ledgers
    await wait_until(lambda: all(ledgers[a].positions for a in ACCOUNTS), 5, "fills booked")
    positions = (await env.stub.ListPositions(pb.ListPositionsRequest(), timeout=5)).positions
    got = sorted((p.account_id, p.contract.symbol, Decimal(p.quantity)) for p in positions)
    assert got == sorted((a, c.symbol, Decimal(q)) for a, c, q in buys)
    for account in ACCOUNTS:
        own = await env.stub.ListPositions(pb.ListPositionsRequest(account_id=account), timeout=5)
        (position,) = own.positions
        ledger_position = next(iter(ledgers[account].positions.values()))
        # IB sends the average cost as a double
        assert abs(Decimal(position.average_cost) - ledger_position.avg_cost) < Decimal("1e-9")
        # every account's position is valued (reqAccountUpdates follows only one account)
        value = Decimal(position.market_value)
        price = Decimal(position.market_price)
        assert value > 0 and abs(price * Decimal(position.quantity) - value) < Decimal("0.01")
        assert position.unrealized_pnl != ""
    env.sim.pause_market()
    summaries = (await env.stub.GetAccount(pb.GetAccountRequest(), timeout=5)).accounts
    assert sorted(s.account_id for s in summaries) == list(ACCOUNTS)
    for summary in summaries:
        values = ledgers[summary.account_id].values(env.sim.market.mark)
        assert Decimal(summary.total_cash) == values["TotalCashValue"].quantize(Decimal("0.01"))
        assert Decimal(summary.net_liquidation) == values["NetLiquidation"].quantize(
            Decimal("0.01")
        )
    cash = {s.account_id: Decimal(s.total_cash) for s in summaries}
    assert len(set(cash.values())) == 3  # three different purchases, three different balances
    one = await env.stub.GetAccount(pb.GetAccountRequest(account_id=ACCOUNTS[1]), timeout=5)
    assert [s.account_id for s in one.accounts] == [ACCOUNTS[1]]


async def test_an_order_without_an_account_is_refused_naming_the_field(env: ServerEnv) -> None:
    before = env.sim.stats.requests["PlaceOrder"]
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.PlaceOrder(place(AAPL, market(BUY, "1")), timeout=5)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "order.account" in (exc.value.details() or "")
    spec = market(BUY, "1")
    spec.account = "DU9999999"
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.PlaceOrder(place(AAPL, spec), timeout=5)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert env.sim.stats.requests["PlaceOrder"] == before
