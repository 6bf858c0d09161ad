"""PnL feeds: reqPnL per account and reqPnLSingle per position, one IB subscription per
account or position shared by every stream. IB sends a value when it changes; a stream that
joins later gets the newest one at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from ..domain.feeds import PnlKey, PnlValue
from . import ib_port as g
from .feeds import Feed, FeedHub

Send = Callable[..., Awaitable[None]]


class PnlFeeds:
    def __init__(self, gateway: g.IbPort, send: Send, next_id: Callable[[], int]) -> None:
        self._gateway = gateway
        self._send = send
        self.hub: FeedHub[PnlKey] = FeedHub(next_id, self._start, self._stop)

    async def _start(self, feed: Feed[PnlKey]) -> None:
        key = feed.key
        if key.con_id:
            await self._send(self._gateway.req_pnl_single, feed.req_id, key.account, key.con_id)
        else:
            await self._send(self._gateway.req_pnl, feed.req_id, key.account)

    async def _stop(self, feed: Feed[PnlKey]) -> None:
        if feed.key.con_id:
            await self._send(self._gateway.cancel_pnl_single, feed.req_id)
        else:
            await self._send(self._gateway.cancel_pnl, feed.req_id)

    def on_pnl(self, ev: g.PnlEvent) -> None:
        feed = self.hub.get(ev.req_id)
        if feed is not None:
            self._publish(feed, PnlValue(feed.key, ev.daily, ev.unrealized, ev.realized,
                                         time=datetime.now(UTC)))

    def on_pnl_single(self, ev: g.PnlSingleEvent) -> None:
        feed = self.hub.get(ev.req_id)
        if feed is not None:
            value = PnlValue(feed.key, ev.daily, ev.unrealized, ev.realized, ev.position,
                             ev.value, datetime.now(UTC))
            self._publish(feed, value)

    @staticmethod
    def _publish(feed: Feed[Any], value: PnlValue) -> None:
        feed.latest = value
        feed.publish(value)
