"""PnL feeds: reqPnL per account and reqPnLSingle per position, one IB subscription per
account or position shared by every stream. IB sends a value when it changes; a stream that
joins later gets the newest one at once."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..domain.feeds import PnlKey, PnlValue
from ..domain.model import Position
from . import ib_port as g
from .feeds import Feed, FeedHub, Mailbox

Send = Callable[..., Awaitable[None]]
PRICE_STEP = Decimal("1e-8")  # a market price derived from a position's value


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

    async def position_values(
        self, positions: list[Position], timeout: float
    ) -> list[Position]:
        """`positions` with market value, price and PnL from reqPnLSingle where TWS reported
        no portfolio line (reqAccountUpdates follows one account at a time: an advisor's other
        accounts get theirs here). What does not answer within `timeout` stays unknown."""
        missing = [p for p in positions if p.market_value is None]
        if not missing:
            return positions
        mailbox = Mailbox()
        feeds = []
        try:
            for p in missing:
                key = PnlKey(p.account_id, p.contract.con_id)
                feeds.append(await self.hub.subscribe(key, mailbox))
            await _until(lambda: all(f.latest is not None or f.ended for f in feeds), timeout,
                         mailbox)
            values = {f.key: f.latest for f in feeds if f.latest is not None}
        finally:
            for feed in feeds:
                await self.hub.unsubscribe(feed, mailbox)
        return [_with_values(p, values.get(PnlKey(p.account_id, p.contract.con_id)))
                for p in positions]


async def _until(done: Callable[[], bool], timeout: float, mailbox: Mailbox) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        mailbox.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(mailbox.wake.wait(), remaining)


def _with_values(p: Position, value: PnlValue | None) -> Position:
    if value is None or value.market_value is None or p.market_value is not None:
        return p
    units = p.quantity * (Decimal(p.contract.multiplier) if p.contract.multiplier else 1)
    price = (value.market_value / units).quantize(PRICE_STEP).normalize() if units else None
    return dataclasses.replace(
        p,
        market_price=price,
        market_value=value.market_value,
        unrealized_pnl=value.unrealized,
        realized_pnl=value.realized,
    )
