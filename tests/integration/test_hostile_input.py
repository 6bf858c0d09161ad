"""Hostile requests against the real server and simulator (issue 10): each is refused with
INVALID_ARGUMENT (or another documented code) naming the field, and poisons nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import grpc
import pytest
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import contract_pb2, order_pb2

from .hostile_env import details, refused
from .server_env import AAPL, BUY, MSFT, ServerEnv, limit, market, place

pytestmark = pytest.mark.timeout(60)

ALREADY_EXISTS = grpc.StatusCode.ALREADY_EXISTS


@pytest.fixture
async def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with ServerEnv(tmp_path) as env:
        yield env


# --- defects 1 and 2: decimals with huge exponents ----------------------------------------------


async def test_decimal_exponents_are_refused_before_any_arithmetic(env: ServerEnv) -> None:
    tiny = place(AAPL, limit(BUY, "1", "1E-4999999"))
    assert await refused(env.stub.PlaceOrder(tiny, timeout=10)) == ["order.limit_price"]
    huge = place(AAPL, market(BUY, "1e999999999"))
    assert await refused(env.stub.PlaceOrder(huge, timeout=10)) == ["order.quantity"]
    option = contract_pb2.Contract(
        security_type=contract_pb2.SECURITY_TYPE_OPTION, symbol="AAPL", strike="1e999999999"
    )
    request = pb.ResolveContractRequest(contract=option)
    assert await refused(env.stub.ResolveContract(request, timeout=10)) == ["contract.strike"]
    assert env.sim_orders() == []
    # Bounded values are normalised on the way in: what is stored is what is shown.
    placed = await env.stub.PlaceOrder(place(AAPL, limit(BUY, "1.0", "1.50000")), timeout=10)
    assert (placed.order.spec.quantity, placed.order.spec.limit_price) == ("1", "1.5")
    listed = await env.stub.ListOrders(pb.ListOrdersRequest(), timeout=10)
    assert [o.spec.limit_price for o in listed.orders] == ["1.5"]


async def test_store_holding_an_unbounded_decimal_is_repaired_at_start_up(
    env: ServerEnv, caplog: pytest.LogCaptureFixture
) -> None:
    placed = await env.stub.PlaceOrder(place(AAPL, limit(BUY, "1", "1.25")), timeout=10)
    await env.stop_server()
    # A store written before the bounds existed: the limit price that broke listing for good.
    path = env.tmp_path / "data" / "broker.sqlite3"
    with sqlite3.connect(path) as db:
        (data,) = db.execute(
            "SELECT data FROM orders WHERE order_id = ?", (placed.order.order_id,)
        ).fetchone()
        order = json.loads(data)
        order["spec"]["limit_price"] = "1E-4999999"
        db.execute(
            "UPDATE orders SET data = ? WHERE order_id = ?",
            (json.dumps(order), placed.order.order_id),
        )
    with caplog.at_level(logging.WARNING):
        await env.start_server()
    assert any(
        placed.order.order_id in r.getMessage() and "spec.limit_price" in r.getMessage()
        for r in caplog.records
    ), "no warning names the repaired order and field"
    listed = await env.stub.ListOrders(pb.ListOrdersRequest(), timeout=10)
    assert [o.spec.limit_price for o in listed.orders] == ["0"]
    got = await env.stub.GetOrder(pb.GetOrderRequest(order_id=placed.order.order_id), timeout=10)
    assert got.order.ByteSize() < 10_000


# --- defect 3: page tokens ----------------------------------------------------------------------


async def test_page_tokens_are_opaque_and_validated(env: ServerEnv) -> None:
    for _ in range(3):
        await env.stub.PlaceOrder(place(AAPL, market(BUY, "1")), timeout=10)
    for token in ("²", "٣", "-1", "1e3", "99999999999999", "x"):
        request = pb.ListOrdersRequest(page_size=1, page_token=token)
        assert await refused(env.stub.ListOrders(request, timeout=10)) == ["page_token"]
    seen, token = [], ""
    while True:
        page = await env.stub.ListOrders(
            pb.ListOrdersRequest(page_size=2, page_token=token), timeout=10
        )
        seen += [o.order_id for o in page.orders]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == 3
    assert (await env.stub.GetStatus(pb.GetStatusRequest(), timeout=5)).connection_state


# --- defect 5: refused calls with unknown enum values are audited -------------------------------


async def test_refused_calls_with_unknown_enum_numbers_are_audited(env: ServerEnv) -> None:
    spec = market(BUY, "1")
    spec.time_in_force = 99  # type: ignore[assignment]
    request = place(AAPL, spec)
    assert await refused(env.stub.PlaceOrder(request, timeout=10)) == ["order.time_in_force"]
    modify = pb.ModifyOrderRequest(request_id="m-1", order_id="o1", time_in_force=77)  # type: ignore[arg-type]
    assert await refused(env.stub.ModifyOrder(modify, timeout=10)) == ["time_in_force"]
    lines = [json.loads(line) for line in (env.tmp_path / "data" / "audit.jsonl").open()]
    by_id = {line["request"].get("request_id"): line for line in lines if line["event"] == "call"}
    placed = by_id[request.request_id]
    assert placed["result"] == "INVALID_ARGUMENT"
    assert placed["request"]["order"]["time_in_force"] == 99
    assert by_id["m-1"]["request"]["time_in_force"] == 77


# --- defect 11: request bodies that do not decode -----------------------------------------------

BAD_BODIES = (
    b"\xff\xff\xff\xff",  # a tag that is no valid varint
    b"\x0a\x05ab",  # a length-delimited field cut short
    b"\x08",  # a varint field with no value
)
BAD_UTF8 = b"\x0a\x02\xc3\x28"  # PlaceOrderRequest.request_id (field 1) in invalid UTF-8


async def test_request_bodies_that_do_not_decode_are_invalid_argument(env: ServerEnv) -> None:
    assert env.channel is not None
    for method in ("PlaceOrder", "ListOrders", "GetStatus"):
        call = env.channel.unary_unary(f"/ibkr_broker.v1.BrokerService/{method}")
        for body in BAD_BODIES:
            assert await refused(call(body, timeout=5)) == ["request"], (method, body)
    place_raw = env.channel.unary_unary("/ibkr_broker.v1.BrokerService/PlaceOrder")
    assert await refused(place_raw(BAD_UTF8, timeout=5)) == ["request"]
    stream = env.channel.unary_stream("/ibkr_broker.v1.BrokerService/StreamQuotes")
    assert await refused(stream(BAD_BODIES[0], timeout=5).read()) == ["request"]
    assert (await env.stub.GetStatus(pb.GetStatusRequest(), timeout=5)).server_version
    lines = [json.loads(line) for line in (env.tmp_path / "data" / "audit.jsonl").open()]
    assert [line["result"] for line in lines if line["method"] == "PlaceOrder"] == [
        "INVALID_ARGUMENT"
    ] * (len(BAD_BODIES) + 1)
    assert env.sim_orders() == []


# --- defect 4: idempotency keys never swallow a different request -------------------------------


async def outcomes(*calls: Any) -> list[grpc.StatusCode]:
    """The status codes of calls run concurrently (OK for a success)."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    codes = []
    for result in results:
        if isinstance(result, grpc.aio.AioRpcError):
            details(result)  # a documented error carries its ErrorInfo
            codes.append(result.code())
        else:
            assert not isinstance(result, BaseException), result
            codes.append(grpc.StatusCode.OK)
    return codes


async def test_a_request_id_reused_concurrently_for_another_order_is_already_exists(
    env: ServerEnv,
) -> None:
    for round_ in range(5):
        key = f"same-key-{round_}"
        codes = await outcomes(
            env.stub.PlaceOrder(place(AAPL, market(BUY, "1"), request_id=key), timeout=10),
            env.stub.PlaceOrder(place(MSFT, market(BUY, "7"), request_id=key), timeout=10),
        )
        assert sorted(c.name for c in codes) == ["ALREADY_EXISTS", "OK"], codes
    assert len(env.sim_orders()) == 5
    # The same request sent twice at once is one order, and both callers get it.
    twice = place(AAPL, market(BUY, "2"), request_id="retry")
    first, second = await asyncio.gather(
        env.stub.PlaceOrder(twice, timeout=10), env.stub.PlaceOrder(twice, timeout=10)
    )
    assert first.order.order_id == second.order.order_id
    assert len(env.sim_orders()) == 6


async def test_a_request_id_reused_for_another_method_is_already_exists(env: ServerEnv) -> None:
    resume = pb.ResumeTradingRequest(request_id="k-resume")
    await env.stub.ResumeTrading(resume, timeout=10)
    cancel_all = pb.CancelAllOrdersRequest(request_id="k-resume")
    await refused(env.stub.CancelAllOrders(cancel_all, timeout=10), ALREADY_EXISTS)
    await env.stub.CancelAllOrders(pb.CancelAllOrdersRequest(request_id="k-cancel"), timeout=10)
    again = pb.ResumeTradingRequest(request_id="k-cancel")
    await refused(env.stub.ResumeTrading(again, timeout=10), ALREADY_EXISTS)
    for round_ in range(5):
        key = f"race-{round_}"
        codes = await outcomes(
            env.stub.CancelAllOrders(pb.CancelAllOrdersRequest(request_id=key), timeout=10),
            env.stub.ResumeTrading(pb.ResumeTradingRequest(request_id=key), timeout=10),
        )
        assert sorted(c.name for c in codes) == ["ALREADY_EXISTS", "OK"], codes


# --- defect 7: sizes and prices against the contract's increments -------------------------------


async def test_sizes_and_prices_off_the_contracts_increments_never_reach_tws(
    env: ServerEnv,
) -> None:
    cases = [
        (market(BUY, "1e-9"), "order.quantity", "size increment 1"),
        (market(BUY, "0.5"), "order.quantity", "size increment 1"),
        (limit(BUY, "1", "100.005"), "order.limit_price", "minimum tick 0.01"),
    ]
    for spec, field, words in cases:
        try:
            await env.stub.PlaceOrder(place(AAPL, spec), timeout=10)
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert details(err)[1] == [field] and words in err.details(), err.details()
        else:
            raise AssertionError(f"{spec} was accepted")
    bracketed = place(AAPL, limit(BUY, "1", "100"))
    bracketed.bracket.take_profit_limit_price = "110.001"
    bracketed.bracket.stop_loss_stop_price = "90"
    fields = await refused(env.stub.PlaceOrder(bracketed, timeout=10))
    assert fields == ["bracket.take_profit_limit_price"]
    assert env.sim_orders() == []
    resting = (await env.stub.PlaceOrder(place(AAPL, limit(BUY, "2", "100")), timeout=10)).order
    modify = pb.ModifyOrderRequest(request_id="m", order_id=resting.order_id, quantity="1.5")
    assert await refused(env.stub.ModifyOrder(modify, timeout=10)) == ["quantity"]
    modify = pb.ModifyOrderRequest(request_id="m", order_id=resting.order_id, quantity="3")
    assert (await env.stub.ModifyOrder(modify, timeout=10)).order.spec.quantity == "3"
    assert [o.request.total_quantity for o in env.sim_orders()] == [3]


async def test_order_types_the_contract_does_not_take_and_full_trails_never_reach_tws(
    env: ServerEnv,
) -> None:
    """Found by the fuzz campaign: TWS refused both (387 and 'Invalid trailing percent')."""
    trail_limit = order_pb2.OrderSpec(
        action=BUY,
        quantity="1",
        order_type=order_pb2.ORDER_TYPE_TRAILING_STOP_LIMIT,
        limit_price="100",
        trailing_amount="1",
    )
    fields = await refused(env.stub.PlaceOrder(place(AAPL, trail_limit), timeout=10))
    assert fields == ["order.order_type"]
    full_trail = order_pb2.OrderSpec(
        action=BUY, quantity="1", order_type=order_pb2.ORDER_TYPE_TRAILING_STOP,
        trailing_percent="100",
    )  # fmt: skip
    fields = await refused(env.stub.PlaceOrder(place(AAPL, full_trail), timeout=10))
    assert fields == ["order.trailing_percent"]
    assert env.sim_orders() == []
