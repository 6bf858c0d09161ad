"""AsyncOrderHandle and OrderFeed on their own: which state wins, when waits end, routing.

The handle over real sockets is tested in tests/integration/test_client_order_handle.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from ibkr_broker.client import UnavailableError
from ibkr_broker.client.order_handle import AsyncOrderHandle, OrderFeed
from ibkr_broker.v1 import broker_service_pb2 as bs
from ibkr_broker.v1 import common_pb2, order_pb2

from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(20)

S = order_pb2
T = order_pb2.OrderEventType


def order(status: int, filled: str = "0", fills: int = 0, commissions: int = 0) -> S.Order:
    executions = [
        S.Execution(execution_id=f"e{i}", quantity="1", commission="1" if i < commissions else "")
        for i in range(fills)
    ]
    return S.Order(
        order_id="o1", request_id="r1", status=status,  # type: ignore[arg-type]
        filled_quantity=filled, executions=executions,
    )  # fmt: skip


def event(kind: int, state: S.Order) -> S.OrderEvent:
    return S.OrderEvent(type=kind, order=state)  # type: ignore[arg-type]


def handle() -> AsyncOrderHandle:
    return AsyncOrderHandle(client=None, request_id="r1")  # type: ignore[arg-type]


async def test_events_win_over_a_later_placement_answer() -> None:
    h = handle()
    await h._event(event(T.ORDER_EVENT_TYPE_STATUS_CHANGED, order(S.ORDER_STATUS_FILLED, "1", 1)))
    await h._placed(order(S.ORDER_STATUS_SUBMITTED))
    assert h.status == S.ORDER_STATUS_FILLED and h.order_id == "o1"


async def test_wait_fill_returns_each_fill_once_and_none_when_no_more_can_come() -> None:
    h = handle()
    await h._placed(order(S.ORDER_STATUS_SUBMITTED))
    # IB may report the final status before the last fill: that is not the end of the fills.
    await h._event(event(T.ORDER_EVENT_TYPE_FILL, order(S.ORDER_STATUS_PARTIALLY_FILLED, "1", 1)))
    await h._event(event(T.ORDER_EVENT_TYPE_STATUS_CHANGED, order(S.ORDER_STATUS_FILLED, "2", 1)))
    first = await h.wait_fill(timeout=1)
    assert first is not None and first.execution_id == "e0"
    second = asyncio.ensure_future(h.wait_fill(timeout=5))
    await asyncio.sleep(0)  # one turn of the loop: the wait runs its first step, then blocks
    assert not second.done()
    await h._event(event(T.ORDER_EVENT_TYPE_FILL, order(S.ORDER_STATUS_FILLED, "2", 2)))
    assert (await second).execution_id == "e1"  # type: ignore[union-attr]
    assert await h.wait_fill(timeout=1) is None


async def test_iteration_ends_once_settled_not_at_the_final_status() -> None:
    h = handle()
    seen: list[int] = []

    async def read() -> None:
        async for e in h:
            seen.append(e.type)

    reader = asyncio.ensure_future(read())
    await h._event(event(T.ORDER_EVENT_TYPE_FILL, order(S.ORDER_STATUS_FILLED, "1", 1)))
    await wait_until(lambda: seen == [T.ORDER_EVENT_TYPE_FILL], 5, "the reader saw the fill")
    assert h.done() and not h.settled() and not reader.done()
    await h._event(event(T.ORDER_EVENT_TYPE_COMMISSION, order(S.ORDER_STATUS_FILLED, "1", 1, 1)))
    await asyncio.wait_for(reader, 5)
    assert seen == [T.ORDER_EVENT_TYPE_FILL, T.ORDER_EVENT_TYPE_COMMISSION]
    assert [e.type async for e in h] == seen  # a later iteration replays them


async def test_waits_have_deadlines_and_check_their_arguments() -> None:
    h = handle()
    with pytest.raises(TimeoutError):
        await h.wait_done(timeout=0.05)
    with pytest.raises(ValueError, match="at least one status"):
        await h.wait_status()
    with pytest.raises(ValueError, match=r"^statuses must be one of"):
        await h.wait_status("working")


class ScriptedStream:
    """An order-event stream that yields the queued items, then ends or fails."""

    def __init__(self) -> None:
        self.items: asyncio.Queue[Any] = asyncio.Queue()
        self.cancelled = False

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._run()

    async def _run(self) -> AsyncIterator[Any]:
        while True:
            item = await self.items.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    def cancel(self) -> None:
        self.cancelled = True
        self.items.put_nowait(None)


def status_message(sequence: int) -> bs.StreamOrderEventsResponse:
    return bs.StreamOrderEventsResponse(sequence=sequence, status=common_pb2.SessionStatus())


def event_message(sequence: int, state: S.Order) -> bs.StreamOrderEventsResponse:
    return bs.StreamOrderEventsResponse(
        sequence=sequence, event=event(T.ORDER_EVENT_TYPE_STATUS_CHANGED, state)
    )


async def test_the_feed_routes_by_request_id_then_order_id_and_ignores_others() -> None:
    stream = ScriptedStream()
    feed = OrderFeed(stream)  # type: ignore[arg-type]
    h = handle()
    feed.follow(h)
    stream.items.put_nowait(status_message(7))
    await asyncio.wait_for(feed.live(), 5)
    child = S.Order(order_id="o2", request_id="r1#1", status=S.ORDER_STATUS_FILLED)
    other = S.Order(order_id="o9", request_id="r9", status=S.ORDER_STATUS_FILLED)
    stream.items.put_nowait(event_message(8, order(S.ORDER_STATUS_SUBMITTED)))
    stream.items.put_nowait(event_message(9, child))
    stream.items.put_nowait(event_message(10, other))
    by_order_id = order(S.ORDER_STATUS_CANCELLED)
    by_order_id.request_id = ""
    stream.items.put_nowait(event_message(11, by_order_id))
    done = await h.wait_done(timeout=5)
    assert done.status == S.ORDER_STATUS_CANCELLED
    assert [e.order.order_id for e in h.events] == ["o1", "o1"]
    feed.close()


async def test_a_failed_feed_fails_the_waits_and_a_feed_that_never_started() -> None:
    stream = ScriptedStream()
    feed = OrderFeed(stream)  # type: ignore[arg-type]
    h = handle()
    feed.follow(h)
    stream.items.put_nowait(status_message(1))
    await feed.live()
    waiting = asyncio.ensure_future(h.wait_done(timeout=5))
    dropped = UnavailableError("gone", code=grpc.StatusCode.UNAVAILABLE)
    stream.items.put_nowait(dropped)
    with pytest.raises(UnavailableError):
        await waiting
    never = ScriptedStream()
    unstarted = OrderFeed(never)  # type: ignore[arg-type]
    never.items.put_nowait(dropped)
    with pytest.raises(UnavailableError):
        await unstarted.live()
    assert not unstarted.running
