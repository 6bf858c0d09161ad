"""The session's data feeds in one place (PnL, live bars, market depth): their IB events, their
errors, and what a lost connection and a reconnect do to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import ib_port as g
from .depth import MarketDepth
from .history import HistoricalData
from .live_bars import LiveBars
from .pnl import PnlFeeds
from .queries import Queries, Send


class DataFeeds:
    def __init__(
        self,
        gateway: g.IbPort,
        send: Send,
        next_id: Callable[[], int],
        history: HistoricalData,
        queries: Queries,
    ) -> None:
        self.pnl = PnlFeeds(gateway, send, next_id)
        self.bars = LiveBars(gateway, send, next_id, history)
        self.depth = MarketDepth(gateway, send, next_id)
        self._queries = queries

    def handlers(self) -> dict[type[g.IbEvent], Callable[[Any], None]]:
        """Entries of the session's event table."""
        return {
            g.PnlEvent: self.pnl.on_pnl,
            g.PnlSingleEvent: self.pnl.on_pnl_single,
            g.RealTimeBarEvent: self.bars.on_real_time_bar,
            g.HistoricalBarUpdateEvent: self.bars.on_history_bar,
            g.HistoricalBarEvent: self._on_history_bar,
            g.HistoricalBarsEndEvent: self._on_history_end,
            g.DepthEvent: self.depth.on_depth,
        }

    def _on_history_bar(self, ev: g.HistoricalBarEvent) -> None:
        if self.bars.owns(ev.req_id):
            self.bars.on_history_bar(ev)
        else:
            self._queries.on_item(ev)

    def _on_history_end(self, ev: g.HistoricalBarsEndEvent) -> None:
        if self.bars.owns(ev.req_id):
            self.bars.on_history_end(ev)
        else:
            self._queries.on_items_end(ev)

    def on_error(self, req_id: int, code: int, message: str) -> bool:
        """True when the error was about a feed (and is handled)."""
        return (
            self.pnl.hub.on_error(req_id, code, message)
            or self.bars.hub.on_error(req_id, code, message)
            or self.depth.on_error(req_id, code, message)
        )

    def on_connection_lost(self, reason: str) -> None:
        for hub in (self.pnl.hub, self.bars.hub, self.depth.hub):
            hub.on_connection_lost(reason)

    async def restore(self) -> int:
        restored = 0
        for hub in (self.pnl.hub, self.bars.hub, self.depth.hub):
            restored += await hub.restore()
        return restored
