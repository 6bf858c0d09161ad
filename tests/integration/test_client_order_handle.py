"""Live order handles (BrokerClient.place / AsyncBrokerClient.place) against the real server
and the TWS simulator, over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from ibkr_broker.client import (
    AsyncBrokerClient,
    BrokerClient,
    ClientClosedError,
    OrderRejectedError,
    order_spec,
    stock,
)
from ibkr_broker.v1 import order_pb2

from .client_env import ThreadedServerEnv
from .client_env import fast_config as fast

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("tws_era")]

E = order_pb2
EVENT = order_pb2.OrderEventType.Name


@pytest.fixture
def env(tmp_path: Path) -> Iterator[ThreadedServerEnv]:
    with ThreadedServerEnv(tmp_path) as running:
        yield running


@pytest.fixture
def client(env: ThreadedServerEnv) -> Iterator[BrokerClient]:
    with BrokerClient(config=fast(env.target)) as c:
        yield c


def far_below_bid(client: BrokerClient, symbol: str) -> Decimal:
    return (Decimal(client.quote(symbol).bid) / 2).quantize(Decimal("0.01"))


def test_a_market_order_handle_sees_its_fill_final_state_and_every_event(
    client: BrokerClient,
) -> None:
    handle = client.place(stock("AAPL"), order_spec("buy", 3))
    assert handle.order_id and handle.request_id
    fill = handle.wait_fill(timeout=20)
    assert fill is not None and Decimal(fill.quantity) > 0
    final = handle.wait_done(timeout=20)
    assert final.status == E.ORDER_STATUS_FILLED and Decimal(final.filled_quantity) == 3
    settled = handle.wait_settled(timeout=20)
    assert all(e.commission for e in settled.executions)
    events = list(handle)  # ends by itself: the order is filled and every commission is in
    kinds = [EVENT(e.type) for e in events]
    assert "ORDER_EVENT_TYPE_FILL" in kinds and "ORDER_EVENT_TYPE_COMMISSION" in kinds
    assert kinds.index("ORDER_EVENT_TYPE_FILL") < kinds.index("ORDER_EVENT_TYPE_COMMISSION")
    assert {e.order.order_id for e in events} == {handle.order_id}
    assert events[-1].order.status == E.ORDER_STATUS_FILLED
    assert handle.done() and handle.settled() and handle.fills == list(settled.executions)
    assert client.get_order(handle.order_id) == handle.order


def test_a_resting_order_handle_follows_status_changes_to_its_cancel(
    client: BrokerClient,
) -> None:
    limit = far_below_bid(client, "MSFT")
    handle = client.place("MSFT", order_spec("buy", 5, "limit", limit_price=limit))
    working = handle.wait_status("submitted", timeout=20)
    assert working.status == E.ORDER_STATUS_SUBMITTED and not handle.done()
    with pytest.raises(TimeoutError):
        handle.wait_done(timeout=0.2)  # still working: the deadline ends the wait, not the order
    modified = handle.modify(limit_price=limit - 1)
    assert Decimal(modified.spec.limit_price) == limit - 1
    handle.cancel()
    final = handle.wait_done(timeout=20)
    assert final.status == E.ORDER_STATUS_CANCELLED and handle.fills == []
    statuses = [e.order.status for e in handle]
    assert statuses[-1] == E.ORDER_STATUS_CANCELLED
    assert E.ORDER_STATUS_SUBMITTED in statuses


def test_follow_an_order_placed_elsewhere(env: ThreadedServerEnv, client: BrokerClient) -> None:
    limit = far_below_bid(client, "AAPL")
    with BrokerClient(config=fast(env.target)) as other:
        placed = other.place_order("AAPL", order_spec("buy", 1, "limit", limit_price=limit)).order
        handle = client.follow_order(placed.order_id)
        assert handle.request_id == placed.request_id and not handle.done()
        other.cancel_order(handle.order_id)
    assert handle.wait_done(timeout=20).status == E.ORDER_STATUS_CANCELLED


def test_a_handle_keeps_following_across_a_reset_connection(env: ThreadedServerEnv) -> None:
    with BrokerClient(config=fast(env.proxy_target)) as client:
        limit = far_below_bid(client, "AAPL")
        handle = client.place("AAPL", order_spec("buy", 2, "limit", limit_price=limit))
        handle.wait_status(E.ORDER_STATUS_SUBMITTED, timeout=20)  # the enum value works too
        with pytest.raises(ValueError, match="statuses must be one of"):
            handle.wait_status("workin")
        assert env.cut_connections() >= 1
        client.cancel_order(handle.order_id)  # retried over a new connection
        assert handle.wait_done(timeout=30).status == E.ORDER_STATUS_CANCELLED
        assert [e.order.status for e in handle][-1] == E.ORDER_STATUS_CANCELLED


def test_a_rejected_placement_raises_and_gives_no_handle(
    env: ThreadedServerEnv, client: BrokerClient
) -> None:
    env.call(lambda: env.sim.reject_next_order("no buying power"))
    with pytest.raises(OrderRejectedError) as caught:
        client.place("AAPL", order_spec("buy", 1))
    assert caught.value.ib_code == 201


async def test_the_async_handle(env: ThreadedServerEnv) -> None:
    async with AsyncBrokerClient(config=fast(env.target)) as client:
        first = await client.place("AAPL", order_spec("buy", 1))
        second = await client.place("MSFT", order_spec("sell", 2))
        done = [await h.wait_done(timeout=20) for h in (first, second)]
        assert [o.status for o in done] == [E.ORDER_STATUS_FILLED] * 2
        events = [event async for event in second]
        assert {e.order.order_id for e in events} == {second.order_id}
        assert "ORDER_EVENT_TYPE_COMMISSION" in {EVENT(e.type) for e in events}
        assert second.settled() and len(second.fills) >= 1


async def test_closing_the_client_ends_a_wait_with_client_closed(env: ThreadedServerEnv) -> None:
    client = AsyncBrokerClient(config=fast(env.target))
    bid = Decimal((await client.quote("AAPL")).bid)
    handle = await client.place("AAPL", order_spec("buy", 1, "limit", limit_price=bid / 2))
    waiting = asyncio.ensure_future(handle.wait_done(timeout=30))
    await client.close()
    with pytest.raises(ClientClosedError):
        await waiting
    assert not handle.done()
