"""Forex, futures and an index through the whole server (gRPC -> session -> ibapi -> simulator),
in both protocol eras: what a user asks of a pair, a future and an index."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import contract_pb2

from .server_env import BUY, ServerEnv, market, place

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("tws_era")]

EURUSD = contract_pb2.Contract(security_type=contract_pb2.SECURITY_TYPE_FOREX, symbol="EUR",
                               exchange="IDEALPRO", currency="USD")  # fmt: skip
ES = contract_pb2.Contract(security_type=contract_pb2.SECURITY_TYPE_FUTURE, symbol="ES",
                           exchange="CME")  # fmt: skip
SPX = contract_pb2.Contract(security_type=contract_pb2.SECURITY_TYPE_INDEX, symbol="SPX",
                            exchange="CBOE")  # fmt: skip


@pytest.fixture
async def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with ServerEnv(tmp_path) as env:
        yield env


async def test_forex_pair_resolves_quotes_and_previews(env: ServerEnv) -> None:
    (pair,) = (await env.stub.ResolveContract(pb.ResolveContractRequest(contract=EURUSD),
                                              timeout=10)).matches  # fmt: skip
    assert pair.contract.con_id == 12087792 and pair.contract.local_symbol == "EUR.USD"
    assert pair.liquid_hours and pair.time_zone_id == "US/Eastern"
    quote = (await env.stub.GetQuote(pb.GetQuoteRequest(contract=EURUSD), timeout=10)).quote
    assert Decimal("0.9") < Decimal(quote.bid) < Decimal(quote.ask) < Decimal("1.3")
    preview = (await env.stub.PlaceOrder(place(EURUSD, market(BUY, "20000"), what_if=True),
                                         timeout=10)).preview  # fmt: skip
    assert Decimal(preview.initial_margin_change) > 0 and Decimal(preview.commission) > 0


async def test_futures_front_and_next_month_and_a_fill(env: ServerEnv) -> None:
    both = (await env.stub.ResolveContract(pb.ResolveContractRequest(contract=ES),
                                           timeout=10)).matches  # fmt: skip
    months = sorted(d.contract.last_trade_date for d in both)
    assert len(months) == 2 and months[0] < months[1]
    front = contract_pb2.Contract(security_type=contract_pb2.SECURITY_TYPE_FUTURE, symbol="ES",
                                  exchange="CME", last_trade_date=months[0][:6])  # fmt: skip
    (one,) = (await env.stub.ResolveContract(pb.ResolveContractRequest(contract=front),
                                             timeout=10)).matches  # fmt: skip
    assert one.contract.multiplier == "50"
    order = (await env.stub.PlaceOrder(place(front, market(BUY, "1")), timeout=10)).order
    assert order.ib_order_id > 0


async def test_index_quotes_but_refuses_orders(env: ServerEnv) -> None:
    quote = (await env.stub.GetQuote(pb.GetQuoteRequest(contract=SPX), timeout=10)).quote
    assert quote.con_id == 416904 and Decimal(quote.last) > 1000
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await env.stub.PlaceOrder(place(SPX, market(BUY, "1")), timeout=10)
    assert "not tradable" in (refused.value.details() or "")
