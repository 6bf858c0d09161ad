"""Hostile and lossy TWS: bad messages from TWS, lost links and replays against the real server
(issue 10). TWS is a proxy in front of the simulator (tws_proxy.py): the session is real, and
the test adds, swallows or cuts what the simulator cannot get wrong by itself."""

from __future__ import annotations

import asyncio
import gc
import logging
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from ibkr_broker.server.domain.model import OrderStatus
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import order_pb2

from tests.waiting import wait_until

from .hostile_env import proxied_env
from .server_env import AAPL, BUY, ServerEnv, market, place
from .tws_proxy import PROTOBUF_ID, TwsProxy, frame

# Every test here runs in both protocol eras (tests/conftest.py --tws-era).
pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("tws_era")]

END = {
    order_pb2.ORDER_STATUS_FILLED,
    order_pb2.ORDER_STATUS_CANCELLED,
    order_pb2.ORDER_STATUS_REJECTED,
}


async def filled(env: ServerEnv, qty: str = "1") -> order_pb2.Order:
    """Place a market order and await its fill (the order as GetOrder shows it then)."""
    placed = await env.stub.PlaceOrder(place(AAPL, market(BUY, qty)), timeout=10)
    order_id = placed.order.order_id
    assert env.app is not None
    book = env.app.session.orders
    await wait_until(
        lambda: (o := book.get(order_id)) is not None and o.status is OrderStatus.FILLED,
        10,
        f"{order_id} filled",
    )
    got = await env.stub.GetOrder(pb.GetOrderRequest(order_id=order_id), timeout=5)
    assert got.order.status == order_pb2.ORDER_STATUS_FILLED
    return got.order


# --- defect 8: an order id that is not ours ---------------------------------------------------


async def test_foreign_order_ids_from_tws_never_become_our_next_id(tmp_path: Path) -> None:
    async with proxied_env(tmp_path) as (env, proxy):
        first = await filled(env)
        bogus = 2**63
        proxy.inject(proxy.message(3, bogus, "Submitted", 0, 1, 0, 7, 0, 0, 0, "", ""))
        proxy.inject(proxy.message(9, 1, bogus))  # nextValidId out of range
        proxy.inject(proxy.message(9, 1, -5))
        # The messages were handled (a later message was too) and trading goes on.
        second = await filled(env)
        assert first.ib_order_id < second.ib_order_id < 2**31
        await env.restart_server()
        third = await filled(env)
        assert second.ib_order_id < third.ib_order_id < 2**31
        listed = await env.stub.ListOrders(pb.ListOrdersRequest(), timeout=10)
        assert len(listed.orders) == 3


async def test_corrupt_stored_high_water_mark_is_repaired_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with ServerEnv(tmp_path) as env:
        first = await filled(env)
        await env.stop_server()
        with sqlite3.connect(tmp_path / "data" / "broker.sqlite3") as db:
            db.execute(
                "UPDATE meta SET value = ? WHERE key LIKE 'ib_order_id_high_water:%'",
                (str(2**63),),
            )
        with caplog.at_level(logging.WARNING):
            await env.start_server()
        assert any(
            "high-water mark" in r.getMessage() and str(2**63) in r.getMessage()
            for r in caplog.records
        ), "no log line says the stored mark was repaired"
        second = await filled(env)
        assert first.ib_order_id < second.ib_order_id < 2**31
        listed = await env.stub.ListOrders(pb.ListOrdersRequest(), timeout=10)
        assert len(listed.orders) == 2


# --- defect 9: commissions replayed on reconnect -------------------------------------------


async def test_commissions_are_reported_once_per_execution_across_reconnects(
    tmp_path: Path,
) -> None:
    async with ServerEnv(tmp_path) as env:
        events = env.stub.StreamOrderEvents(pb.StreamOrderEventsRequest())
        await events.read()  # the stream's start
        for _ in range(3):
            await filled(env)
        for reconnects in range(1, 4):
            env.sim.drop_all()
            await wait_until(
                lambda n=reconnects: env.sim.stats.requests["ReqExecutions"] > n,  # type: ignore[misc]
                10,
                "executions replayed after the reconnect",
            )
            await env.wait_ready()
        last = await filled(env)  # its commission comes after every replayed one
        commissions: dict[str, list[str]] = {}
        while True:
            msg = await events.read()
            if msg.HasField("event") and msg.event.type == order_pb2.ORDER_EVENT_TYPE_COMMISSION:
                execution = msg.event.execution
                commissions.setdefault(execution.execution_id, []).append(execution.commission)
                if execution.order_id == last.order_id:
                    break
        events.cancel()
        sim_fills = env.sim.exchange.executions()
        assert {f.exec_id: [f.commission] for f in sim_fills} == {
            k: [Decimal(c) for c in v] for k, v in commissions.items()
        }
        listed = await env.stub.ListOrders(pb.ListOrdersRequest(), timeout=10)
        total = sum(Decimal(o.total_commission) for o in listed.orders)
        assert total == sum(f.commission for f in sim_fills)


# --- defect 12: a message from TWS that does not decode -------------------------------------


def malformed(proxy: TwsProxy) -> list[bytes]:
    """Messages ibapi cannot decode, in the connection's era."""
    frames = [
        proxy.message(1, 6, "abc", 1, "1.0", 1, 0),  # tickPrice with a text tick type
        proxy.message(3, "not-an-id", "Filled"),  # orderStatus, mistyped and short
        proxy.message(11, -1, "x"),  # execDetails cut short
    ]
    if proxy.server_version > 178:  # a protobuf orderStatus that is no protobuf
        frames.append(frame((PROTOBUF_ID + 3).to_bytes(4, "big") + b"\xff\xff\xff"))
    else:  # a message without an id
        frames.append(proxy.message("x"))
    return frames


async def test_messages_that_do_not_decode_are_skipped_and_the_link_stays_up(
    tmp_path: Path,
) -> None:
    async with proxied_env(tmp_path) as (env, proxy):
        assert env.app is not None
        link = env.app.session.gateway.link  # type: ignore[attr-defined]
        bad = malformed(proxy)
        for _ in range(20):
            for message in bad:
                proxy.inject(message)
        await wait_until(lambda: link.decode_errors == 80, 10, "malformed messages skipped")
        await filled(env)
        assert proxy.connections == 1 and env.app.session.gateway.link is link  # type: ignore[attr-defined]
        assert env.app.session.ready


# --- defect 10: what happened to an order across a dropped link -----------------------------


async def order_statuses(events: Any, order_id: str, until: set[int]) -> list[int]:
    """The statuses of one order on an event stream, until one in `until` (deadline-bound)."""
    statuses: list[int] = []
    async with asyncio.timeout(20):
        while not statuses or statuses[-1] not in until:
            msg = await events.read()
            if (
                msg.HasField("event")
                and msg.event.order.order_id == order_id
                and (not statuses or statuses[-1] != msg.event.order.status)
            ):
                statuses.append(msg.event.order.status)
    return statuses


async def test_an_order_tws_never_got_before_the_drop_is_rejected_as_not_placed(
    tmp_path: Path,
) -> None:
    async with proxied_env(tmp_path) as (env, proxy):
        events = env.stub.StreamOrderEvents(pb.StreamOrderEventsRequest())
        await events.read()
        proxy.hold_to_tws(lambda msg_id, _: msg_id == 3)  # placeOrder is lost on the way
        call = env.stub.PlaceOrder(place(AAPL, market(BUY, "1"), request_id="lost"), timeout=20)
        await wait_until(lambda: bool(proxy.held_to_tws), 10, "placeOrder held")
        proxy.hold_to_tws(None)
        proxy.drop_all()
        with pytest.raises(grpc.aio.AioRpcError) as lost:
            await call
        assert lost.value.code() == grpc.StatusCode.UNAVAILABLE
        order = (await env.stub.GetOrder(pb.GetOrderRequest(request_id="lost"), timeout=5)).order
        statuses = await order_statuses(events, order.order_id, END)
        events.cancel()
        assert statuses == [order_pb2.ORDER_STATUS_PENDING_SUBMIT, order_pb2.ORDER_STATUS_REJECTED]
        got = await env.stub.GetOrder(pb.GetOrderRequest(order_id=order.order_id), timeout=5)
        assert "not placed" in got.order.last_error.message
        assert env.sim_orders() == []


async def test_an_order_filled_while_the_link_was_down_goes_straight_to_filled(
    tmp_path: Path,
) -> None:
    async with proxied_env(tmp_path) as (env, proxy):
        events = env.stub.StreamOrderEvents(pb.StreamOrderEventsRequest())
        await events.read()
        # Nothing about the order comes back: orderStatus, openOrder, execDetails, commission.
        proxy.hold_from_tws(lambda msg_id, _: msg_id in (3, 5, 11, 59))
        call = env.stub.PlaceOrder(place(AAPL, market(BUY, "2"), request_id="dark"), timeout=20)
        await wait_until(lambda: bool(env.sim.exchange.executions()), 10, "filled at TWS")
        proxy.hold_from_tws(None)
        proxy.drop_all()
        with pytest.raises(grpc.aio.AioRpcError):
            await call
        order = (await env.stub.GetOrder(pb.GetOrderRequest(request_id="dark"), timeout=5)).order
        statuses = await order_statuses(events, order.order_id, END)
        events.cancel()
        assert statuses == [order_pb2.ORDER_STATUS_PENDING_SUBMIT, order_pb2.ORDER_STATUS_FILLED]
        got = await env.stub.GetOrder(pb.GetOrderRequest(order_id=order.order_id), timeout=5)
        assert got.order.filled_quantity == "2" and Decimal(got.order.total_commission) > 0


# --- defect 13: a pending reqExecutions when the link drops ---------------------------------


async def test_a_lost_executions_request_leaves_no_unretrieved_future(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with proxied_env(tmp_path) as (env, proxy):
        proxy.hold_from_tws(lambda msg_id, _: msg_id == 55)  # execDetailsEnd never comes
        proxy.drop_all()
        await wait_until(lambda: proxy.connections == 2, 10, "reconnected")
        await env.wait_ready()
        with caplog.at_level(logging.ERROR):
            proxy.drop_all()  # the executions request of this connection is pending
            await wait_until(lambda: proxy.connections == 3, 10, "reconnected again")
            await env.wait_ready()
            gc.collect()  # an unretrieved failed future logs from its finaliser
        assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
