"""A session's data feeds, as TWS serves them: per-position PnL (reqPnLSingle) and account PnL
refreshed about once a second as prices move, 5-second real-time bars of the live walk
(reqRealTimeBars), and level-2 books around the quote (reqMktDepth) sent as insert, update and
delete operations. One `DataFeeds` per session; the market clock drives `on_step`."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from . import account_msgs as am
from . import depth_book as db
from .history import format_bar_time
from .market import on_grid
from .model import HistoricalBar

if TYPE_CHECKING:
    from .model import Instrument
    from .session import Session

PNL_INTERVAL = 1.0  # seconds between PnL refreshes, as TWS
KEPT_INTERVAL = 0.25  # seconds between updates of a kept-up-to-date bar
BAR_SECONDS = 5


@dataclass
class BarFeed:
    """One reqRealTimeBars subscription: the bar being built from the walk's samples."""

    req_id: int
    instrument: Instrument
    what_to_show: str
    start: int = 0  # epoch second the current bar starts at; 0 = none yet
    prices: list[Decimal] = field(default_factory=list)
    volume_at_start: Decimal = Decimal(0)


@dataclass
class KeptBars:
    """One reqHistoricalData with keepUpToDate: the forming bar, sent again as it changes."""

    req_id: int
    instrument: Instrument
    what_to_show: str
    bar_seconds: int
    format_date: int
    bar: BarFeed = field(init=False)
    last_sent: tuple[object, ...] = ()
    next_send: float = 0.0

    def __post_init__(self) -> None:
        self.bar = BarFeed(self.req_id, self.instrument, self.what_to_show)


@dataclass
class DepthFeed:
    """One reqMktDepth subscription: the book the client has been sent."""

    req_id: int
    instrument: Instrument
    rows: int
    smart: bool
    rng: random.Random
    asks: list[db.Row] = field(default_factory=list)
    bids: list[db.Row] = field(default_factory=list)
    updates_sent: int = 0


class DataFeeds:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.pnl_single: dict[int, tuple[str, int]] = {}  # req_id -> (account, con_id)
        self.bars: dict[int, BarFeed] = {}
        self.depth: dict[int, DepthFeed] = {}
        self.kept: dict[int, KeptBars] = {}
        self._last_pnl: dict[int, bytes] = {}  # req_id -> last PnL frame sent
        self._next_pnl = 0.0

    @property
    def active(self) -> bool:
        s = self.session
        return bool(self.pnl_single or self.bars or self.depth or self.kept or s.pnl)

    # -- PnL -----------------------------------------------------------------------------------

    def pnl_single_frame(self, req_id: int) -> bytes:
        account, con_id = self.pnl_single[req_id]
        ex = self.session.server.exchange
        line = next((p for p in ex.ledgers[account].portfolio(ex.market.mark)
                     if p.instrument.con_id == con_id), None)
        out = self.session.replies
        if line is None:  # nothing held: IB answers with a zero position
            frame: bytes = out.pnl_single(req_id, Decimal(0), Decimal(0), Decimal(0),
                                          Decimal(0), Decimal(0))
            return frame
        unrealized = line.unrealized_pnl.quantize(am.CENT)
        realized = line.realized_pnl.quantize(am.CENT)
        frame = out.pnl_single(req_id, line.position, unrealized + realized, unrealized,
                               realized, line.market_value.quantize(am.CENT))
        return frame

    def refresh_pnl(self, force: bool = False) -> None:
        """Send every PnL whose values changed (all of them when `force`)."""
        s = self.session
        frames: list[bytes] = []
        for req_id, account in s.pnl.items():
            frames += self._changed(req_id, am.pnl_frame(s.replies, s.server.exchange, req_id,
                                                         account), force)
        for req_id in self.pnl_single:
            frames += self._changed(req_id, self.pnl_single_frame(req_id), force)
        s.send_many(frames)

    def _changed(self, req_id: int, frame: bytes, force: bool) -> list[bytes]:
        if not force and self._last_pnl.get(req_id) == frame:
            return []
        self._last_pnl[req_id] = frame
        return [frame]

    def forget(self, req_id: int) -> None:
        self._last_pnl.pop(req_id, None)

    # -- the market clock ------------------------------------------------------------------------

    def on_step(self) -> None:
        now = time.monotonic()
        if now >= self._next_pnl and (self.pnl_single or self.session.pnl):
            self._next_pnl = now + PNL_INTERVAL
            self.refresh_pnl()
        epoch = self.session.server.market.now()
        for feed in list(self.bars.values()):
            self._bar_step(feed, epoch)
        for depth in list(self.depth.values()):
            self.send_depth(depth)
        for kept in list(self.kept.values()):
            self._kept_step(kept, epoch, now)

    def _bar_step(self, feed: BarFeed, epoch: int) -> None:
        market = self.session.server.market
        quote = market.quote(feed.instrument.con_id)
        price = {"BID": quote.bid, "ASK": quote.ask, "MIDPOINT": quote.mid}.get(
            feed.what_to_show, quote.last)
        start = epoch - epoch % BAR_SECONDS
        if feed.start and start != feed.start and feed.prices:
            p = feed.prices
            volume = max(Decimal(0), quote.volume - feed.volume_at_start)
            if feed.what_to_show != "TRADES":
                volume = Decimal(-1)  # IB sends -1 for non-trade bars
            wap = on_grid(sum(p, Decimal(0)) / len(p), Decimal("0.0001"))
            self.session.send(self.session.replies.real_time_bar(
                feed.req_id, feed.start, p[0], max(p), min(p), p[-1], volume, wap, len(p)))
        if start != feed.start:
            feed.start, feed.prices, feed.volume_at_start = start, [], quote.volume
        feed.prices.append(price)

    def _kept_step(self, kept: KeptBars, epoch: int, now: float) -> None:
        """historicalDataUpdate of the forming bar, at most every KEPT_INTERVAL when it moved."""
        feed = kept.bar
        quote = self.session.server.market.quote(kept.instrument.con_id)
        price = {"BID": quote.bid, "ASK": quote.ask, "MIDPOINT": quote.mid}.get(
            kept.what_to_show, quote.last)
        start = epoch - epoch % kept.bar_seconds
        if start != feed.start:
            feed.start, feed.prices, feed.volume_at_start = start, [], quote.volume
        feed.prices.append(price)
        p = feed.prices
        volume = max(Decimal(0), quote.volume - feed.volume_at_start)
        state = (start, p[0], max(p), min(p), p[-1], volume)
        if state == kept.last_sent or now < kept.next_send:
            return
        kept.last_sent, kept.next_send = state, now + KEPT_INTERVAL
        wap = on_grid(sum(p, Decimal(0)) / len(p), Decimal("0.0001"))
        bar = HistoricalBar(date=format_bar_time(start, kept.bar_seconds, kept.format_date),
                            open=p[0], high=max(p), low=min(p), close=p[-1], volume=volume,
                            wap=wap, count=len(p))
        self.session.send(self.session.replies.historical_data_update(kept.req_id, bar))

    def send_depth(self, feed: DepthFeed) -> None:
        market = self.session.server.market
        quote = market.quote(feed.instrument.con_id)
        asks, bids = db.book_around(quote, feed.instrument.min_tick, feed.rows, feed.rng,
                                    (feed.asks, feed.bids))
        ops = (db.diff_side(feed.asks, asks, db.ASK, feed.rows)
               + db.diff_side(feed.bids, bids, db.BID, feed.rows))
        feed.asks, feed.bids = asks, bids
        out = self.session.replies
        frames = [
            out.market_depth_l2(feed.req_id, op.position, op.row.market_maker, op.operation,
                                op.side, op.row.price, op.row.size, True)
            if feed.smart else
            out.market_depth(feed.req_id, op.position, op.operation, op.side, op.row.price,
                             op.row.size)
            for op in ops
        ]
        feed.updates_sent += len(frames)
        self.session.server.stats.depth_updates += len(frames)
        self.session.send_many(frames)
