"""Every RPC of the v1 API through the real gRPC server, ibapi session and TWS simulator."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import common_pb2, contract_pb2, market_data_pb2, order_pb2

from tests.waiting import wait_until, wait_until_async

from .server_env import (
    AAPL,
    BUY,
    MSFT,
    PROVEN_MAX_SERVER_VERSION,
    SELL,
    SPY,
    ServerEnv,
    limit,
    market,
    place,
)

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("tws_era")]


@pytest.fixture
async def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with ServerEnv(tmp_path) as env:
        yield env


def error_info(err: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(err)
    assert status is not None, "no google.rpc.Status details"
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    return info


async def quote_of(env: ServerEnv, contract: contract_pb2.Contract) -> market_data_pb2.Quote:
    return (await env.stub.GetQuote(pb.GetQuoteRequest(contract=contract), timeout=10)).quote


async def test_status_health_and_reflection(env: ServerEnv, tws_era: int) -> None:
    status = await env.stub.GetStatus(pb.GetStatusRequest(), timeout=5)
    assert status.connection_state == common_pb2.CONNECTION_STATE_READY
    assert status.server_version == tws_era and status.paper_trading and status.trading_enabled
    assert status.max_server_version == PROVEN_MAX_SERVER_VERSION  # the default ceiling
    assert list(status.accounts) == ["DU1234567"]
    (itself,) = status.gateways  # serving alone, the server lists itself as the one gateway
    assert list(itself.accounts) == ["DU1234567"] and itself.server_version == tws_era
    assert itself.connection_state == status.connection_state and itself.trading_enabled
    assert (itself.tws_port, itself.connect_time) == (status.tws_port, status.connect_time)
    health = health_pb2_grpc.HealthStub(env.channel)
    for service in ("", "ibkr_broker.v1.BrokerService"):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    refl = reflection_pb2_grpc.ServerReflectionStub(env.channel)
    call = refl.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    async for reply in call:
        names = {s.name for s in reply.list_services_response.service}
        assert "ibkr_broker.v1.BrokerService" in names
        break
    call.cancel()


async def test_resolve_contract_and_option_chain(env: ServerEnv) -> None:
    got = await env.stub.ResolveContract(pb.ResolveContractRequest(contract=AAPL), timeout=5)
    (aapl,) = got.matches
    assert aapl.contract.con_id == 265598 and aapl.contract.primary_exchange == "NASDAQ"
    assert Decimal(aapl.min_tick) == Decimal("0.01")
    chain = (
        await env.stub.GetOptionChain(pb.GetOptionChainRequest(underlying=AAPL), timeout=5)
    ).chains[0]
    assert len(chain.expirations) >= 3 and len(chain.strikes) >= 5 and chain.multiplier == "100"
    partial = contract_pb2.Contract(
        security_type=contract_pb2.SECURITY_TYPE_OPTION,
        symbol="AAPL",
        last_trade_date=chain.expirations[0],
        right=contract_pb2.OPTION_RIGHT_CALL,
    )
    options = (
        await env.stub.ResolveContract(pb.ResolveContractRequest(contract=partial), timeout=5)
    ).matches
    assert len(options) > 1 and {o.contract.strike for o in options} <= set(chain.strikes)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.ResolveContract(
            pb.ResolveContractRequest(
                contract=contract_pb2.Contract(security_type=1, symbol="NOSUCH")
            ),
            timeout=5,
        )
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_info(exc.value).metadata["ib_code"] == "200"


async def test_market_buy_fills_with_commission_position_and_account(env: ServerEnv) -> None:
    before = (await env.stub.GetAccount(pb.GetAccountRequest(), timeout=5)).accounts[0]
    placed = await env.stub.PlaceOrder(place(AAPL, market(BUY, "10")), timeout=10)
    order_id = placed.order.order_id
    assert placed.order.ib_order_id > 0

    async def filled() -> order_pb2.Order:
        return (await env.stub.GetOrder(pb.GetOrderRequest(order_id=order_id), timeout=5)).order

    order = await filled()
    for _ in range(200):
        if order.status == order_pb2.ORDER_STATUS_FILLED and order.total_commission not in (
            "",
            "0",
        ):
            break
        await asyncio.sleep(0.02)
        order = await filled()
    assert order.status == order_pb2.ORDER_STATUS_FILLED and order.filled_quantity == "10"
    assert Decimal(order.executions[0].commission) > 0
    # an opening fill has no realized PnL: unset, not zero (in the protobuf era TWS leaves the
    # field out, which ibapi's classic callback would read as 0.0)
    assert order.executions[0].realized_pnl == ""
    positions = (await env.stub.ListPositions(pb.ListPositionsRequest(), timeout=5)).positions
    (aapl,) = [p for p in positions if p.contract.con_id == 265598]
    assert Decimal(aapl.quantity) == 10 and aapl.market_value != ""
    after = (await env.stub.GetAccount(pb.GetAccountRequest(), timeout=5)).accounts[0]
    assert Decimal(after.total_cash) < Decimal(before.total_cash)


async def test_closing_fill_reports_realized_pnl(env: ServerEnv) -> None:
    """A closing fill's realized PnL arrives with its commission (set, in both eras)."""

    async def commissioned(spec: order_pb2.OrderSpec) -> order_pb2.Execution:
        order_id = (await env.stub.PlaceOrder(place(MSFT, spec), timeout=10)).order.order_id
        seen: list[order_pb2.Order] = []

        async def has_commission() -> bool:
            reply = await env.stub.GetOrder(pb.GetOrderRequest(order_id=order_id), timeout=5)
            seen[:] = [reply.order]
            return any(e.commission_currency for e in reply.order.executions)

        await wait_until_async(has_commission, what="a commission report")
        return seen[0].executions[0]

    opening = await commissioned(market(BUY, "7"))
    closing = await commissioned(market(SELL, "7"))
    assert opening.realized_pnl == "" and closing.realized_pnl != ""
    assert Decimal(closing.realized_pnl).is_finite()


async def test_limit_modify_cancel_and_list(env: ServerEnv) -> None:
    quote = await quote_of(env, MSFT)
    far = str((Decimal(quote.ask) * 2).quantize(Decimal("0.01")))
    order = (await env.stub.PlaceOrder(place(MSFT, limit(SELL, "5", far)), timeout=10)).order
    assert order.status in (order_pb2.ORDER_STATUS_SUBMITTED, order_pb2.ORDER_STATUS_PRE_SUBMITTED)
    higher = str(Decimal(far) + 1)
    modified = (
        await env.stub.ModifyOrder(
            pb.ModifyOrderRequest(request_id="mod-1", order_id=order.order_id, limit_price=higher),
            timeout=10,
        )
    ).order
    assert Decimal(modified.spec.limit_price) == Decimal(higher)  # normalised: "1.50" is "1.5"
    (sim_order,) = [o for o in env.sim_orders() if o.request.order_id == order.ib_order_id]
    assert sim_order.request.lmt_price == Decimal(higher)
    open_ = (
        await env.stub.ListOrders(
            pb.ListOrdersRequest(filter=order_pb2.ORDER_FILTER_OPEN), timeout=5
        )
    ).orders
    assert order.order_id in {o.order_id for o in open_}
    cancelled = (
        await env.stub.CancelOrder(
            pb.CancelOrderRequest(request_id="cx-1", order_id=order.order_id), timeout=10
        )
    ).order
    assert cancelled.status == order_pb2.ORDER_STATUS_CANCELLED
    done = (
        await env.stub.ListOrders(
            pb.ListOrdersRequest(filter=order_pb2.ORDER_FILTER_COMPLETED), timeout=5
        )
    ).orders
    assert order.order_id in {o.order_id for o in done}


async def test_option_combo_bracket_and_what_if(env: ServerEnv) -> None:
    chain = (
        await env.stub.GetOptionChain(pb.GetOptionChainRequest(underlying=AAPL), timeout=5)
    ).chains[0]
    mid = chain.strikes[len(chain.strikes) // 2]
    call = contract_pb2.Contract(
        security_type=contract_pb2.SECURITY_TYPE_OPTION,
        symbol="AAPL",
        last_trade_date=chain.expirations[0],
        strike=mid,
        right=contract_pb2.OPTION_RIGHT_CALL,
        exchange="SMART",
        multiplier="100",
    )
    single = (await env.stub.PlaceOrder(place(call, market(BUY, "1")), timeout=10)).order
    assert single.contract.con_id > 0
    higher = chain.strikes[len(chain.strikes) // 2 + 1]
    short_call = contract_pb2.Contract()
    short_call.CopyFrom(call)
    short_call.strike = higher
    combo = contract_pb2.Contract(
        security_type=contract_pb2.SECURITY_TYPE_COMBO,
        symbol="AAPL",
        currency="USD",
        combo_legs=[
            contract_pb2.ComboLeg(contract=call, ratio=1, action=BUY),
            contract_pb2.ComboLeg(contract=short_call, ratio=1, action=SELL),
        ],
    )
    spread = (await env.stub.PlaceOrder(place(combo, market(BUY, "2")), timeout=10)).order
    assert [leg.con_id > 0 for leg in spread.contract.combo_legs] == [True, True]
    await wait_until_status(env, spread.order_id, order_pb2.ORDER_STATUS_FILLED)
    quote = await quote_of(env, SPY)
    entry = Decimal(quote.bid) - Decimal(5)
    bracket = order_pb2.BracketSpec(
        take_profit_limit_price=str(entry + 10), stop_loss_stop_price=str(entry - 10)
    )
    result = await env.stub.PlaceOrder(
        place(SPY, limit(BUY, "3", str(entry)), bracket=bracket), timeout=10
    )
    assert len(result.bracket_orders) == 2
    assert {o.parent_order_id for o in result.bracket_orders} == {result.order.order_id}
    count = len(env.sim_orders())
    preview = (
        await env.stub.PlaceOrder(place(SPY, market(BUY, "100"), what_if=True), timeout=10)
    ).preview
    assert Decimal(preview.initial_margin_change) > 0
    assert len(env.sim_orders()) == count  # what-if placed nothing


async def wait_until_status(env: ServerEnv, order_id: str, status: int) -> None:
    book = env.app.session.orders  # type: ignore[union-attr]
    expected = order_pb2.OrderStatus.Name(status)
    await wait_until(
        lambda: book.get(order_id).status.name == expected.removeprefix("ORDER_STATUS_"),
        10,
        f"{order_id} {expected}",
    )


async def test_streams_share_one_ib_subscription(env: ServerEnv) -> None:
    request = pb.StreamQuotesRequest(contracts=[AAPL, MSFT])
    calls = [env.stub.StreamQuotes(request) for _ in range(3)]
    seen: list[dict[int, Any]] = [{} for _ in calls]

    async def read(i: int) -> None:
        async for msg in calls[i]:
            if msg.HasField("quotes"):
                for q in msg.quotes.quotes:
                    seen[i][q.con_id] = q
            if len(seen[i]) == 2:
                return

    await asyncio.wait_for(asyncio.gather(*(read(i) for i in range(3))), 15)
    assert env.sim.stats.mkt_data[265598] == 1 and env.sim.stats.mkt_data[272093] == 1
    for call in calls:
        call.cancel()
    hub = env.app.session.market_data  # type: ignore[union-attr]
    await wait_until(lambda: not hub.subscriptions, 5, "last subscriber left")


async def test_order_events_stream_sees_creation_fill_and_commission(env: ServerEnv) -> None:
    stream = env.stub.StreamOrderEvents(pb.StreamOrderEventsRequest())
    placed = await env.stub.PlaceOrder(place(AAPL, market(BUY, "1")), timeout=10)
    kinds = set()
    async for msg in stream:
        if msg.HasField("event") and msg.event.order.order_id == placed.order.order_id:
            kinds.add(msg.event.type)
        if {order_pb2.ORDER_EVENT_TYPE_FILL, order_pb2.ORDER_EVENT_TYPE_COMMISSION} <= kinds:
            break
    stream.cancel()
    assert order_pb2.ORDER_EVENT_TYPE_FILL in kinds


BAD_REQUESTS: list[tuple[str, Any, str]] = [
    ("PlaceOrder", place(AAPL, market(BUY, "0")), "order.quantity"),
    ("PlaceOrder", place(AAPL, market(BUY, "-3")), "order.quantity"),
    ("PlaceOrder", place(AAPL, market(BUY, "NaN")), "order.quantity"),
    ("PlaceOrder", place(AAPL, market(BUY, "1,5")), "order.quantity"),
    (
        "PlaceOrder",
        place(AAPL, order_pb2.OrderSpec(action=BUY, quantity="1", order_type=99)),
        "order.order_type",
    ),
    (
        "PlaceOrder",
        place(AAPL, order_pb2.OrderSpec(action=7, quantity="1", order_type=1)),
        "order.action",
    ),
    (
        "PlaceOrder",
        place(
            AAPL,
            order_pb2.OrderSpec(action=BUY, quantity="1", order_type=order_pb2.ORDER_TYPE_LIMIT),
        ),
        "order.limit_price",
    ),
    ("PlaceOrder", place(AAPL, limit(BUY, "1", "abc")), "order.limit_price"),
    ("PlaceOrder", pb.PlaceOrderRequest(request_id="x", order=market(BUY, "1")), "contract"),
    ("PlaceOrder", pb.PlaceOrderRequest(contract=AAPL, order=market(BUY, "1")), "request_id"),
    (
        "PlaceOrder",
        place(
            contract_pb2.Contract(security_type=contract_pb2.SECURITY_TYPE_COMBO, symbol="AAPL"),
            market(BUY, "1"),
        ),
        "contract.combo_legs",
    ),
    ("PlaceOrder", place(AAPL, market(BUY, "1"), request_id="r" * 500), "request_id"),
    (
        "ModifyOrder",
        pb.ModifyOrderRequest(request_id="m", order_id="o1", quantity="-1"),
        "quantity",
    ),
    ("StreamQuotes", pb.StreamQuotesRequest(), "contracts"),
    (
        "GetQuote",
        pb.GetQuoteRequest(contract=contract_pb2.Contract(symbol="AAPL")),
        "contract.security_type",
    ),
]


@pytest.mark.parametrize(
    ("method", "request_msg", "field"), BAD_REQUESTS, ids=[f"{m}-{f}" for m, _, f in BAD_REQUESTS]
)
async def test_bad_input_is_invalid_argument_and_nothing_reaches_tws(
    env: ServerEnv, method: str, request_msg: Any, field: str
) -> None:
    before = env.sim.stats.requests["PlaceOrder"]
    call = getattr(env.stub, method)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        if method == "StreamQuotes":
            async for _ in call(request_msg, timeout=5):
                pass
        else:
            await call(request_msg, timeout=5)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT, exc.value.details()
    assert error_info(exc.value).metadata["field"] == field
    assert env.sim.stats.requests["PlaceOrder"] == before
    status = await env.stub.GetStatus(pb.GetStatusRequest(), timeout=5)
    assert status.connection_state == common_pb2.CONNECTION_STATE_READY


async def test_oversized_request_is_refused_and_server_keeps_serving(env: ServerEnv) -> None:
    huge = pb.StreamQuotesRequest(contracts=[AAPL] * 600)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        async for _ in env.stub.StreamQuotes(huge, timeout=5):
            pass
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    blob = pb.PlaceOrderRequest(request_id="big", contract=AAPL, order=market(BUY, "1"))
    blob.order.order_ref = "x" * (5 * 1024 * 1024)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.PlaceOrder(blob, timeout=5)
    assert exc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (await env.stub.GetStatus(pb.GetStatusRequest(), timeout=5)).trading_enabled


async def test_rejection_maps_to_failed_precondition_with_ib_code(env: ServerEnv) -> None:
    env.sim.reject_next_order("no buying power")
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.PlaceOrder(place(AAPL, market(BUY, "1")), timeout=10)
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(exc.value)
    assert info.reason == "ORDER_REJECTED" and info.metadata["ib_code"] == "201"


async def test_a_failing_disk_while_placing_is_unavailable_and_the_retry_places_once(
    env: ServerEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite fails to record the order: UNAVAILABLE with reason STORE_FAILED, nothing reaches
    TWS, no order is listed, and the same request_id then places the order once."""
    assert env.app is not None
    store = env.app.session.store
    real, failures = store.save_order, [sqlite3.OperationalError("disk I/O error")]

    def save_order(order: Any) -> None:
        if failures:
            raise failures.pop()
        real(order)

    monkeypatch.setattr(store, "save_order", save_order)
    request = place(AAPL, limit(BUY, "1", "1.00"))
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.PlaceOrder(request, timeout=10)
    assert exc.value.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(exc.value).reason == "STORE_FAILED"
    assert "disk I/O error" in (exc.value.details() or "")
    assert env.sim.stats.requests["PlaceOrder"] == 0
    listed = await env.stub.ListOrders(pb.ListOrdersRequest(), timeout=5)
    assert list(listed.orders) == []
    placed = await env.stub.PlaceOrder(request, timeout=10)
    again = await env.stub.PlaceOrder(request, timeout=10)
    assert again.order.order_id == placed.order.order_id
    assert env.sim.stats.requests["PlaceOrder"] == 1


async def test_cancel_all_orders_cancels_every_resting_order_at_tws(env: ServerEnv) -> None:
    quote = await quote_of(env, MSFT)
    far = str((Decimal(quote.bid) / 2).quantize(Decimal("0.01")))
    ids = [
        (await env.stub.PlaceOrder(place(MSFT, limit(BUY, "1", far)), timeout=10)).order.order_id
        for _ in range(3)
    ]
    reply = await env.stub.CancelAllOrders(
        pb.CancelAllOrdersRequest(request_id="all-1"), timeout=10
    )
    assert set(ids) <= set(reply.order_ids)
    await wait_until(lambda: not env.sim.exchange.open_orders(), 10, "nothing open at TWS")
    book = env.app.session.orders  # type: ignore[union-attr]
    await wait_until(lambda: all(book.get(i).status.name == "CANCELLED" for i in ids), 10)
    again = await env.stub.CancelAllOrders(
        pb.CancelAllOrdersRequest(request_id="all-1"), timeout=10
    )
    assert list(again.order_ids) == list(reply.order_ids)  # the retry repeats the first answer


async def test_idle_streams_send_heartbeats(env: ServerEnv) -> None:
    env.sim.pause_market()
    stream = env.stub.StreamQuotes(pb.StreamQuotesRequest(contracts=[AAPL]))
    kinds = []
    async for msg in stream:
        kinds.append(msg.WhichOneof("payload"))
        if kinds.count("heartbeat") == 2:
            break
    stream.cancel()
    assert kinds[0] == "status" and "heartbeat" in kinds
    events = env.stub.StreamOrderEvents(pb.StreamOrderEventsRequest())
    first = await events.read()
    second = await events.read()
    events.cancel()
    assert first.WhichOneof("payload") == "status" and second.WhichOneof("payload") == "heartbeat"
