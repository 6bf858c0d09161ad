"""End to end: ib_async's IB against the simulator (same scenario as the ibapi test), with the
simulator capped at 178 and at 226: ib_async 2.1 offers 157..178, so it gets the text era
either way."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from ib_async import (
    IB,
    Bag,
    ComboLeg,
    ExecutionFilter,
    LimitOrder,
    MarketOrder,
    Option,
    Stock,
)
from ibkr_broker.simulator.server import SimulatorServer

from tests.waiting import wait_until as until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=[pytest.param(178, id="sim-178"), pytest.param(226, id="sim-226")])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[SimulatorServer]:
    s = SimulatorServer(seed=21, tick_interval=0.02, max_server_version=request.param)
    await s.start()
    yield s
    await s.stop()


async def connect(server: SimulatorServer, client_id: int) -> IB:
    ib = IB()
    ib.RaiseRequestErrors = False
    await ib.connectAsync(
        "127.0.0.1", server.port, clientId=client_id, timeout=5, raiseSyncErrors=True
    )
    return ib


async def test_connect_is_complete(server: SimulatorServer) -> None:
    # raiseSyncErrors=True: a start-up request the simulator leaves unanswered fails connect.
    ib = await connect(server, 3)
    try:
        assert ib.managedAccounts() == ["DU1234567"]
        assert ib.client.serverVersion() == 178
        assert server.stats.requests["ReqPositions"] == 1
        assert server.stats.requests["ReqExecutions"] == 1
        assert server.stats.protobuf_requests == 0
    finally:
        ib.disconnect()


async def test_end_to_end_trading_session(server: SimulatorServer) -> None:
    ib = await connect(server, 1)
    try:
        [aapl] = await ib.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"))
        assert aapl.conId == 265598 and aapl.primaryExchange == "NASDAQ"
        [chain] = await ib.reqSecDefOptParamsAsync("AAPL", "", "STK", aapl.conId)
        expiry, strike = chain.expirations[0], chain.strikes[10]
        call = Option("AAPL", expiry, strike, "C", "SMART", "100", "USD")
        short_call = Option("AAPL", expiry, chain.strikes[11], "C", "SMART", "100", "USD")
        await ib.qualifyContractsAsync(call, short_call)
        assert call.conId and short_call.conId and call.conId != short_call.conId

        # quotes
        ticker = ib.reqMktData(aapl)
        opt_ticker = ib.reqMktData(call)
        await until(lambda: ticker.bid > 0 and ticker.ask > 0 and ticker.last > 0, what="quote")
        await until(lambda: opt_ticker.modelGreeks is not None, what="greeks")
        assert ticker.bid < ticker.ask
        assert 0 < opt_ticker.modelGreeks.delta < 1  # type: ignore[union-attr]
        assert opt_ticker.modelGreeks.undPrice > 0  # type: ignore[union-attr]

        # market buy: fills with a commission
        buy = ib.placeOrder(aapl, MarketOrder("BUY", 100))
        await until(
            lambda: buy.isDone() and buy.fills and buy.fills[0].commissionReport.commission > 0,
            what="buy filled",
        )
        assert buy.orderStatus.status == "Filled" and buy.orderStatus.filled == 100
        assert buy.fills[0].commissionReport.commission == 1.0
        await until(
            lambda: any(
                p.contract.conId == aapl.conId and p.position == 100 for p in ib.positions()
            ),
            what="position",
        )
        await until(
            lambda: any(
                i.contract.conId == aapl.conId and i.position == 100 for i in ib.portfolio()
            ),
            what="portfolio",
        )
        values = {(v.tag, v.currency): v.value for v in ib.accountValues()}
        assert float(values[("TotalCashValue", "USD")]) < 1_000_000 - 100 * 200
        assert "NetLiquidation" in {v.tag for v in await ib.accountSummaryAsync()}

        # a resting limit sell fills when the walk crosses it
        sell = ib.placeOrder(aapl, LimitOrder("SELL", 100, round(ticker.bid + 0.02, 2)))
        await until(lambda: sell.orderStatus.status == "Filled", timeout=30, what="sell")
        await until(
            lambda: not any(p.contract.conId == aapl.conId and p.position for p in ib.positions()),
            what="flat",
        )

        # cancel a resting order
        rest = ib.placeOrder(aapl, LimitOrder("BUY", 10, 100.0))
        await until(lambda: rest.orderStatus.status == "Submitted", what="submitted")
        ib.cancelOrder(rest.order)
        await until(lambda: rest.orderStatus.status == "Cancelled", what="cancelled")
        assert not [t for t in ib.openTrades() if t.order.orderId == rest.order.orderId]

        # a 2-leg combo
        bag = Bag(
            symbol="AAPL",
            exchange="SMART",
            currency="USD",
            comboLegs=[
                ComboLeg(conId=call.conId, ratio=1, action="BUY", exchange="SMART"),
                ComboLeg(conId=short_call.conId, ratio=1, action="SELL", exchange="SMART"),
            ],
        )
        combo = ib.placeOrder(bag, MarketOrder("BUY", 1))
        await until(
            lambda: combo.orderStatus.status == "Filled" and len(combo.fills) == 3,
            what="combo filled",
        )
        sec_types = sorted(f.contract.secType for f in combo.fills)
        assert sec_types == ["BAG", "OPT", "OPT"]
        await until(
            lambda: (
                {p.contract.conId: p.position for p in ib.positions()}.get(short_call.conId) == -1
            ),
            what="short leg position",
        )

        # history
        bars = await ib.reqHistoricalDataAsync(aapl, "", "1 D", "5 mins", "TRADES", True)
        # one trade date of regular hours (useRTH): at most 78 five-minute bars, 09:30..15:55
        assert 1 <= len(bars) <= 78 and bars[-1].close > 0
        assert all(dt.time(9, 30) <= b.date.time() <= dt.time(15, 55) for b in bars)
        last_order_id = combo.order.orderId
    finally:
        ib.disconnect()

    # reconnect: executions survive in the simulator
    await until(lambda: server.client_ids() == [], what="disconnected")
    ib2 = await connect(server, 1)
    try:
        fills = await ib2.reqExecutionsAsync(ExecutionFilter(clientId=1))
        assert len(fills) == 2 + 3
        assert {f.execution.execId for f in fills} == {f.execution.execId for f in ib2.fills()}
        # ib_async keeps the commission on the fills it saw first (its start-up reqExecutions)
        assert all(
            f.commissionReport.commission > 0 or f.contract.secType == "BAG" for f in ib2.fills()
        )
        assert ib2.client._reqIdSeq > last_order_id
    finally:
        ib2.disconnect()


async def test_what_if_and_reject_and_bracket(server: SimulatorServer) -> None:
    ib = await connect(server, 4)
    try:
        [spy] = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
        state = await ib.whatIfOrderAsync(spy, MarketOrder("BUY", 10))
        assert float(state.initMarginChange) > 0 and float(state.commission) == 1.0
        assert server.exchange.orders() == []

        server.reject_next_order()
        rejected = ib.placeOrder(spy, MarketOrder("BUY", 10))
        await until(lambda: rejected.orderStatus.status == "Cancelled", what="rejected")
        assert any(e.errorCode == 201 for e in rejected.log)

        ticker = ib.reqMktData(spy)
        await until(lambda: ticker.ask > 0, what="spy quote")
        parent, take, stop = ib.bracketOrder(
            "BUY",
            10,
            round(ticker.ask + 1, 2),
            round(ticker.ask + 50, 2),
            round(ticker.ask - 50, 2),
        )
        trades = [ib.placeOrder(spy, o) for o in (parent, take, stop)]
        await until(lambda: trades[0].orderStatus.status == "Filled", what="parent filled")
        await until(
            lambda: all(t.orderStatus.status == "Submitted" for t in trades[1:]),
            what="children live",
        )
        ib.cancelOrder(take)
        await until(lambda: trades[1].orderStatus.status == "Cancelled", what="child cancelled")
        assert trades[2].orderStatus.status == "Submitted"
    finally:
        ib.disconnect()
