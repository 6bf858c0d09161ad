"""The data feeds' shared machinery (server/session/feeds.py) and the depth book
(server/session/depth.py, domain/feeds.py), without sockets: one IB subscription per key,
late subscribers greeted, errors as statuses, reconnects restored, books rebuilt."""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from typing import Any

import pytest
from ibkr_broker.server.domain.feeds import (
    DepthBook,
    DepthChange,
    DepthError,
    DepthOperation,
    DepthRow,
    DepthSide,
    FeedStatus,
    apply_change,
)
from ibkr_broker.server.domain.model import Contract, SubscriptionState
from ibkr_broker.server.session import ib_port as g
from ibkr_broker.server.session.depth import DepthKey, MarketDepth
from ibkr_broker.server.session.feeds import Feed, FeedHub, Mailbox

pytestmark = pytest.mark.timeout(10)


class Calls:
    def __init__(self) -> None:
        self.started: list[int] = []
        self.stopped: list[int] = []

    async def start(self, feed: Feed[Any]) -> None:
        self.started.append(feed.req_id)

    async def stop(self, feed: Feed[Any]) -> None:
        self.stopped.append(feed.req_id)


def hub(calls: Calls) -> FeedHub[str]:
    ids = itertools.count(100)
    return FeedHub(lambda: next(ids), calls.start, calls.stop)


async def test_one_subscription_per_key_and_the_last_one_out_cancels() -> None:
    calls = Calls()
    feeds = hub(calls)
    a, b = Mailbox(), Mailbox()
    first = await feeds.subscribe("AAPL", a)
    first.latest = "newest"
    first.publish("tick")
    second = await feeds.subscribe("AAPL", b)
    assert first is second and calls.started == [100]
    assert a.take() == ["tick"] and b.take() == ["newest"]  # the late one is greeted
    await feeds.unsubscribe(first, a)
    assert calls.stopped == []
    await feeds.unsubscribe(first, b)
    assert calls.stopped == [100] and feeds.get(100) is None


async def test_an_ib_error_ends_the_feed_with_a_status_and_a_new_one_starts_afresh() -> None:
    calls = Calls()
    feeds = hub(calls)
    box = Mailbox()
    feed = await feeds.subscribe("AAPL", box)
    assert feeds.on_error(100, 2104, "farm OK")  # informational: nothing ends
    assert feed.ended is None and box.take() == []
    assert feeds.on_error(100, 354, "not subscribed")
    (status,) = box.take()
    assert isinstance(status, FeedStatus) and status.final and status.key == "AAPL"
    assert status.error is not None and status.error.code == 354
    assert not feeds.on_error(100, 354, "again")  # no longer ours
    await feeds.unsubscribe(feed, box)
    assert calls.stopped == []  # IB already ended it
    await feeds.subscribe("AAPL", Mailbox())
    assert calls.started == [100, 101]


async def test_a_lost_connection_interrupts_and_restore_resubscribes_under_new_ids() -> None:
    calls = Calls()
    feeds = hub(calls)
    box = Mailbox()
    feed = await feeds.subscribe("AAPL", box)
    feeds.on_connection_lost("gone")
    assert [s.state for s in box.take()] == [SubscriptionState.INTERRUPTED]
    assert await feeds.restore() == 1
    assert feed.req_id == 101 and feeds.get(101) is feed and feeds.get(100) is None
    assert [s.state for s in box.take()] == [SubscriptionState.SUBSCRIBED]


def test_a_full_mailbox_drops_the_oldest_and_counts() -> None:
    box = Mailbox(limit=3)
    for i in range(5):
        box.put(i)
    assert box.take() == [2, 3, 4] and box.dropped == 2


def row(price: str, size: str = "100") -> DepthRow:
    return DepthRow(D(price), D(size))


def change(op: DepthOperation, position: int, price: str, side: DepthSide = DepthSide.BID
           ) -> g.DepthEvent:
    return g.DepthEvent(0, DepthChange(side, op, position, row(price)))


async def test_depth_book_from_operations_and_a_reset_on_one_that_does_not_fit() -> None:
    sent: list[tuple[Any, ...]] = []

    async def send(method: Any, *args: Any) -> None:
        sent.append((method, *args))

    gateway: Any = type("G", (), {"req_mkt_depth": "req", "cancel_mkt_depth": "cancel"})()
    depth = MarketDepth(gateway, send, itertools.count(7).__next__)
    box = Mailbox()
    aapl = Contract(con_id=265598, symbol="AAPL")
    feed = await depth.hub.subscribe(DepthKey(265598, 5, True), box, aapl)
    assert sent == [("req", 7, aapl, 5, True)]
    assert box.take() == [DepthBook(aapl, (), ())]
    for op, position, price in [(DepthOperation.INSERT, 0, "10.00"),
                                (DepthOperation.INSERT, 0, "10.01"),
                                (DepthOperation.INSERT, 2, "9.99"),
                                (DepthOperation.UPDATE, 1, "10.00"),
                                (DepthOperation.DELETE, 0, "10.01")]:
        depth.on_depth(g.DepthEvent(7, change(op, position, price).change))
    assert feed.book().bids == (row("10.00"), row("9.99"))  # type: ignore[attr-defined]
    assert len(box.take()) == 5
    depth.on_depth(g.DepthEvent(7, change(DepthOperation.DELETE, 5, "1").change))
    assert box.take() == [DepthBook(aapl, (), ())]  # out of step: start again
    assert depth.on_error(7, 317, "Market depth data has been RESET")
    assert box.take() == [DepthBook(aapl, (), ())]
    assert depth.on_error(7, 309, "Max number (3) of market depth requests has been reached")
    (status,) = box.take()
    assert status.state is SubscriptionState.DEPTH_LIMIT_REACHED


def test_apply_change_refuses_positions_out_of_range() -> None:
    rows = [row("1")]
    with pytest.raises(DepthError):
        apply_change(rows, DepthChange(DepthSide.ASK, DepthOperation.INSERT, 3, row("2")))
    with pytest.raises(DepthError):
        apply_change(rows, DepthChange(DepthSide.ASK, DepthOperation.UPDATE, 1, row("2")))
    assert apply_change(rows, DepthChange(DepthSide.ASK, DepthOperation.DELETE, 0, row("1"))
                        ) == row("1")
    assert rows == []
