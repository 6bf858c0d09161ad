"""Live bars: IB's 5-second real-time bars (reqRealTimeBars) and bars of any size kept up to
date (reqHistoricalData with keepUpToDate), one IB subscription per contract and bar kind
shared by every stream. A kept-up-to-date request is a historical request for IB's pacing, so
it waits its turn in `HistoricalData`'s pacer."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

from ..domain.feeds import LiveBar, LiveBarKey, LiveBarKind
from ..domain.history import Bar, BarQuery, bar_size_seconds
from . import ib_port as g
from .feeds import Feed, FeedHub
from .history import HistoricalData

Send = Callable[..., Awaitable[None]]
PACING_WAIT = 10.0  # seconds a kept-up-to-date request may wait for IB's historical pacing


def keep_up_duration(bar_size: str) -> str:
    """The shortest duration IB accepts that holds about two bars of `bar_size`."""
    seconds = max(60, 2 * bar_size_seconds("bar_size", bar_size))
    if seconds <= 86400:
        return f"{seconds} S"
    return f"{math.ceil(seconds / 86400)} D"


class LiveBars:
    def __init__(
        self, gateway: g.IbPort, send: Send, next_id: Callable[[], int], history: HistoricalData
    ) -> None:
        self._gateway = gateway
        self._send = send
        self._history = history
        self.hub: FeedHub[LiveBarKey] = FeedHub(next_id, self._start, self._stop)

    def _query(self, feed: Feed[LiveBarKey]) -> BarQuery:
        key = feed.key
        assert feed.contract is not None
        return BarQuery(feed.contract, None, keep_up_duration(key.bar_size), key.bar_size,
                        key.source, key.regular_hours_only)

    async def _start(self, feed: Feed[LiveBarKey]) -> None:
        key = feed.key
        assert feed.contract is not None
        if key.kind is LiveBarKind.REAL_TIME:
            await self._send(self._gateway.req_real_time_bars, feed.req_id, feed.contract,
                             key.source, key.regular_hours_only)
            return
        query = self._query(feed)
        await self._history.turn(query, time.monotonic() + PACING_WAIT)
        await self._send(self._gateway.req_historical_data, feed.req_id, query, True)

    async def _stop(self, feed: Feed[LiveBarKey]) -> None:
        if feed.key.kind is LiveBarKind.REAL_TIME:
            await self._send(self._gateway.cancel_real_time_bars, feed.req_id)
        else:
            await self._send(self._gateway.cancel_historical_data, feed.req_id)

    def owns(self, req_id: int) -> bool:
        return self.hub.get(req_id) is not None

    def on_real_time_bar(self, ev: g.RealTimeBarEvent) -> None:
        feed = self.hub.get(ev.req_id)
        if feed is not None:
            feed.publish(LiveBar(ev.bar, completed=True))

    def on_history_bar(self, ev: g.HistoricalBarEvent | g.HistoricalBarUpdateEvent) -> None:
        """The first answer's bars, then updates of the newest: a bar whose start differs from
        the forming one completes it."""
        feed = self.hub.get(ev.req_id)
        if feed is None:
            return
        forming: LiveBar | None = feed.latest
        if forming is not None and forming.bar.start_time < ev.bar.start_time:
            if isinstance(ev, g.HistoricalBarUpdateEvent):
                feed.publish(LiveBar(forming.bar, completed=True))
        elif forming is not None and forming.bar.start_time > ev.bar.start_time:
            return  # an older bar of the first answer
        feed.latest = LiveBar(ev.bar, completed=False)
        if isinstance(ev, g.HistoricalBarUpdateEvent) and _changed(forming, ev.bar):
            feed.publish(feed.latest)

    def on_history_end(self, ev: g.HistoricalBarsEndEvent) -> None:
        feed = self.hub.get(ev.req_id)
        if feed is not None and feed.latest is not None:
            feed.publish(feed.latest)  # the forming bar, as the first answer left it


def _changed(before: LiveBar | None, bar: Bar) -> bool:
    return before is None or before.bar != bar
