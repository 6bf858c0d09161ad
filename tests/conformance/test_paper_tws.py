"""Conformance: the gateway against a real paper TWS / IB Gateway (opt-in).

    .venv/bin/python -m pytest tests/conformance --tws 127.0.0.1:7497

Needs a logged-in PAPER account (the server refuses to trade anything else) with the API
enabled. Uses client id 77. Places only a what-if order and one limit order far from the market,
then cancels it; no order can fill.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from ibkr_broker.server.app import BrokerApp
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import broker_service_pb2_grpc, common_pb2, order_pb2

from tests.integration.server_env import AAPL, BUY, limit, market
from tests.integration.server_env import test_config as server_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.tws, pytest.mark.timeout(120)]


@pytest.fixture
async def stub(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    import grpc

    host, _, port = str(request.config.getoption("--tws")).rpartition(":")
    config = server_config(
        tmp_path / "data",
        int(port),
        client_id=77,
        connect_timeout=10.0,
        request_timeout=20.0,
        order_timeout=20.0,
    )
    config = config.with_overrides("tws", host=host)
    app = BrokerApp(config)
    await app.start()
    try:
        await wait_until(lambda: app.session.ready, 30, "connected to the paper TWS")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            yield broker_service_pb2_grpc.BrokerServiceStub(channel)
    finally:
        await app.stop()


async def test_status_says_paper_and_ready(stub) -> None:  # type: ignore[no-untyped-def]
    status = await stub.GetStatus(pb.GetStatusRequest(), timeout=10)
    assert status.connection_state == common_pb2.CONNECTION_STATE_READY
    assert status.server_version >= 157
    assert status.accounts and all(a.startswith("D") for a in status.accounts)
    assert status.trading_enabled, status.trading_disabled_reason


async def test_contract_chain_and_quote(stub) -> None:  # type: ignore[no-untyped-def]
    (aapl,) = (
        await stub.ResolveContract(pb.ResolveContractRequest(contract=AAPL), timeout=30)
    ).matches
    assert aapl.contract.con_id == 265598
    chains = (
        await stub.GetOptionChain(pb.GetOptionChainRequest(underlying=AAPL), timeout=30)
    ).chains
    assert any(c.expirations and c.strikes for c in chains)
    quote = (await stub.GetQuote(pb.GetQuoteRequest(contract=AAPL), timeout=30)).quote
    assert quote.con_id == 265598  # values may be empty outside market hours


async def test_account_and_positions(stub) -> None:  # type: ignore[no-untyped-def]
    accounts = (await stub.GetAccount(pb.GetAccountRequest(), timeout=30)).accounts
    assert accounts and Decimal(accounts[0].net_liquidation) > 0
    await stub.ListPositions(pb.ListPositionsRequest(), timeout=30)


async def test_what_if_then_a_far_limit_order_cancelled(stub) -> None:  # type: ignore[no-untyped-def]
    preview = (
        await stub.PlaceOrder(
            pb.PlaceOrderRequest(
                request_id=uuid.uuid4().hex, contract=AAPL, order=market(BUY, "1"), what_if=True
            ),
            timeout=30,
        )
    ).preview
    assert preview.commission_currency or preview.initial_margin_change
    order = (
        await stub.PlaceOrder(
            pb.PlaceOrderRequest(
                request_id=uuid.uuid4().hex, contract=AAPL, order=limit(BUY, "1", "1.00")
            ),
            timeout=30,
        )
    ).order
    assert order.status in (order_pb2.ORDER_STATUS_SUBMITTED, order_pb2.ORDER_STATUS_PRE_SUBMITTED)
    cancelled = (
        await stub.CancelOrder(
            pb.CancelOrderRequest(request_id=uuid.uuid4().hex, order_id=order.order_id), timeout=30
        )
    ).order
    assert cancelled.status in (
        order_pb2.ORDER_STATUS_CANCELLED,
        order_pb2.ORDER_STATUS_PENDING_CANCEL,
    )
