"""Market depth: one reqMktDepth per contract and row count, shared by every stream. The feed
keeps the book, rebuilt from IB's insert/update/delete operations, so a stream starts from a
full snapshot and then follows the changes. IB's limit on concurrent depth subscriptions (309)
ends the feed with a DEPTH_LIMIT_REACHED status; a reset (317) or an operation that does not fit
the book starts every stream again from a snapshot."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..domain.feeds import DepthBook, DepthError, DepthRow, DepthSide, apply_change
from ..domain.model import SubscriptionState
from . import ib_port as g
from .feeds import Feed, FeedHub

log = logging.getLogger(__name__)

Send = Callable[..., Awaitable[None]]
DEPTH_LIMIT = 309
DEPTH_RESET = 317


@dataclass(frozen=True)
class DepthKey:
    con_id: int
    rows: int
    smart: bool  # SMART depth: aggregated over exchanges, each row naming its exchange


class DepthFeed(Feed[DepthKey]):
    def __init__(self, key: DepthKey, req_id: int) -> None:
        super().__init__(key, req_id)
        self.asks: list[DepthRow] = []
        self.bids: list[DepthRow] = []
        self.changes = 0  # operations applied (for tests and metrics)

    def book(self) -> DepthBook:
        assert self.contract is not None
        return DepthBook(self.contract, tuple(self.asks), tuple(self.bids))

    def greet(self, mailbox: object) -> None:
        mailbox.put(self.book())  # type: ignore[attr-defined]

    def reset(self) -> None:
        self.asks.clear()
        self.bids.clear()
        self.publish(self.book())


def _state_for_code(code: int) -> SubscriptionState:
    return SubscriptionState.DEPTH_LIMIT_REACHED if code == DEPTH_LIMIT else SubscriptionState.ERROR


class MarketDepth:
    def __init__(self, gateway: g.IbPort, send: Send, next_id: Callable[[], int]) -> None:
        self._gateway = gateway
        self._send = send
        self.hub: FeedHub[DepthKey] = FeedHub(
            next_id, self._start, self._stop, DepthFeed, _state_for_code
        )

    async def _start(self, feed: Feed[DepthKey]) -> None:
        assert feed.contract is not None
        if isinstance(feed, DepthFeed) and (feed.asks or feed.bids):
            feed.reset()  # a re-subscription sends the whole book again
        key = feed.key
        await self._send(self._gateway.req_mkt_depth, feed.req_id, feed.contract, key.rows,
                         key.smart)

    async def _stop(self, feed: Feed[DepthKey]) -> None:
        await self._send(self._gateway.cancel_mkt_depth, feed.req_id, feed.key.smart)

    def on_depth(self, ev: g.DepthEvent) -> None:
        feed = self.hub.get(ev.req_id)
        if not isinstance(feed, DepthFeed):
            return
        side = feed.asks if ev.change.side is DepthSide.ASK else feed.bids
        try:
            apply_change(side, ev.change)
        except DepthError as exc:
            log.warning("depth of %s out of step with TWS (%s): starting again", feed.key, exc)
            feed.reset()
            return
        feed.changes += 1
        feed.publish(ev.change)

    def on_error(self, req_id: int, code: int, message: str) -> bool:
        feed = self.hub.get(req_id)
        if code == DEPTH_RESET and isinstance(feed, DepthFeed):
            feed.reset()
            return True
        return self.hub.on_error(req_id, code, message)
