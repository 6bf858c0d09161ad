"""Conformance: the gateway against a real paper TWS / IB Gateway (opt-in).

    .venv/bin/python -m pytest tests/conformance --tws 127.0.0.1:7497 -rA

Needs a logged-in PAPER account (the server refuses to trade anything else) with the API
enabled. Uses client id 77. Places only a what-if order and one limit order far from the market,
then cancels it; no order can fill.

The server offers TWS its default range (up to `[tws] max_server_version`), so a TWS 10.40 or
later answers 213 or more and the whole flow runs in the protobuf era. The first test asks for
the negotiated version and asserts it: `--tws-expect-version N` pins it exactly,
`--tws-max-server-version 178` runs the same flow in the text era (what ib_async users see).
The README ("Tests") says what to send back when a test fails.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ibkr_broker.server.app import BrokerApp
from ibkr_broker.server.ib.versions import PROTOBUF_MIN, PROVEN_MAX_SERVER_VERSION, era_name
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import broker_service_pb2_grpc, common_pb2, order_pb2

from tests.integration.server_env import AAPL, BUY, limit, market
from tests.integration.server_env import test_config as server_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.tws, pytest.mark.timeout(120)]

PROTOBUF_EVERYWHERE = 213  # TWS 10.40+: every request and reply the gateway uses is protobuf
OLDEST_TWS = 157  # the lowest server version a supported TWS answers


@dataclass
class Tws:
    stub: Any  # BrokerServiceStub
    ceiling: int  # the highest server version the server offered
    expected: int  # the version TWS must answer; 0 = any the server accepts


@pytest.fixture
async def tws(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Tws]:
    import grpc

    host, _, port = str(request.config.getoption("--tws")).rpartition(":")
    ceiling = request.config.getoption("--tws-max-server-version") or PROVEN_MAX_SERVER_VERSION
    config = server_config(
        tmp_path / "data",
        int(port),
        client_id=77,
        connect_timeout=10.0,
        request_timeout=20.0,
        order_timeout=20.0,
        max_server_version=ceiling,
    )
    config = config.with_overrides("tws", host=host)
    app = BrokerApp(config)
    await app.start()
    try:
        await wait_until(lambda: app.session.ready, 30, "connected to the paper TWS")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            yield Tws(
                broker_service_pb2_grpc.BrokerServiceStub(channel),
                ceiling,
                request.config.getoption("--tws-expect-version"),
            )
    finally:
        await app.stop()


async def test_negotiated_version_and_paper_ready(tws: Tws) -> None:
    status = await tws.stub.GetStatus(pb.GetStatusRequest(), timeout=10)
    version = status.server_version
    print(f"TWS negotiated server version {version} ({era_name(version)}), offered {tws.ceiling}")
    assert status.connection_state == common_pb2.CONNECTION_STATE_READY
    assert status.max_server_version == tws.ceiling
    assert OLDEST_TWS <= version <= tws.ceiling
    if tws.expected:
        assert version == tws.expected, f"expected {tws.expected}, TWS answered {version}"
    elif tws.ceiling >= PROTOBUF_EVERYWHERE:
        assert version >= PROTOBUF_EVERYWHERE, (
            f"TWS answered {version}: the protobuf-era flow needs TWS / IB Gateway 10.40 or later "
            "(or run with --tws-max-server-version 178 for the text era)"
        )
    else:
        assert version < PROTOBUF_MIN or tws.ceiling >= PROTOBUF_MIN
    assert status.accounts and all(a.startswith("D") for a in status.accounts)
    assert status.paper_trading and status.trading_enabled, status.trading_disabled_reason


async def test_contract_chain_and_quote(tws: Tws) -> None:
    (aapl,) = (
        await tws.stub.ResolveContract(pb.ResolveContractRequest(contract=AAPL), timeout=30)
    ).matches
    assert aapl.contract.con_id == 265598 and aapl.contract.currency == "USD"
    assert Decimal(aapl.min_tick) > 0 and aapl.time_zone_id
    chains = (
        await tws.stub.GetOptionChain(pb.GetOptionChainRequest(underlying=AAPL), timeout=30)
    ).chains
    assert any(c.expirations and c.strikes for c in chains)
    quote = (await tws.stub.GetQuote(pb.GetQuoteRequest(contract=AAPL), timeout=30)).quote
    assert quote.con_id == 265598  # values may be empty outside market hours


async def test_account_and_positions(tws: Tws) -> None:
    accounts = (await tws.stub.GetAccount(pb.GetAccountRequest(), timeout=30)).accounts
    assert accounts and Decimal(accounts[0].net_liquidation) > 0
    positions = (await tws.stub.ListPositions(pb.ListPositionsRequest(), timeout=30)).positions
    for position in positions:  # every line parsed: a quantity, and unset or a decimal PnL
        assert Decimal(position.quantity).is_finite()
        for value in (position.market_value, position.unrealized_pnl, position.realized_pnl):
            assert value == "" or Decimal(value).is_finite()


async def test_what_if_then_a_far_limit_order_cancelled(tws: Tws) -> None:
    preview = (
        await tws.stub.PlaceOrder(
            pb.PlaceOrderRequest(
                request_id=uuid.uuid4().hex, contract=AAPL, order=market(BUY, "1"), what_if=True
            ),
            timeout=30,
        )
    ).preview
    assert preview.commission_currency or preview.initial_margin_change
    order = (
        await tws.stub.PlaceOrder(
            pb.PlaceOrderRequest(
                request_id=uuid.uuid4().hex, contract=AAPL, order=limit(BUY, "1", "1.00")
            ),
            timeout=30,
        )
    ).order
    assert order.status in (order_pb2.ORDER_STATUS_SUBMITTED, order_pb2.ORDER_STATUS_PRE_SUBMITTED)
    assert order.ib_order_id > 0 and Decimal(order.spec.limit_price) == Decimal("1.00")
    listed = (
        await tws.stub.ListOrders(
            pb.ListOrdersRequest(filter=order_pb2.ORDER_FILTER_OPEN), timeout=30
        )
    ).orders
    assert order.order_id in {o.order_id for o in listed}
    cancelled = (
        await tws.stub.CancelOrder(
            pb.CancelOrderRequest(request_id=uuid.uuid4().hex, order_id=order.order_id), timeout=30
        )
    ).order
    assert cancelled.status in (
        order_pb2.ORDER_STATUS_CANCELLED,
        order_pb2.ORDER_STATUS_PENDING_CANCEL,
    )
