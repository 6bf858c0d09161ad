"""Market-data subscriptions of one session: which ticks to send for a step.

A subscription remembers what it last sent and emits only what changed, so a session that
skips steps (its client reads slowly) simply coalesces to the newest quote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from types import ModuleType

from .market import Market, Quote
from .model import ComboLegSpec, Instrument
from .orders import leg_prices, net_price


@dataclass(frozen=True)
class TickTypes:
    bid: int
    ask: int
    last: int
    bid_size: int
    ask_size: int
    last_size: int
    high: int
    low: int
    volume: int
    close: int
    open: int
    last_timestamp: int
    option: tuple[int, int, int, int]  # bid, ask, last, model computations


LIVE = TickTypes(1, 2, 4, 0, 3, 5, 6, 7, 8, 9, 14, 45, (10, 11, 12, 13))
DELAYED = TickTypes(66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 88, (80, 81, 82, 83))


@dataclass
class MarketDataSub:
    """One reqMktData of one client."""

    req_id: int
    instrument: Instrument | None  # None for a BAG
    legs: tuple[tuple[Instrument, ComboLegSpec], ...] = ()
    delayed: bool = False
    sent: dict[str, object] = field(default_factory=dict)

    @property
    def ticks(self) -> TickTypes:
        return DELAYED if self.delayed else LIVE

    @property
    def con_ids(self) -> tuple[int, ...]:
        if self.instrument is not None:
            return (self.instrument.con_id,)
        return tuple(inst.con_id for inst, _ in self.legs)

    def quote(self, market: Market) -> Quote:
        if self.instrument is not None:
            return market.quote(self.instrument.con_id)
        return combo_quote(market, self.legs)

    def frames(self, market: Market, out: ModuleType) -> list[bytes]:
        """The ticks that changed since the last call (everything on the first call), built
        by ``out`` (the session's reply builders)."""
        q = self.quote(market)
        t = self.ticks
        rid = self.req_id
        sent = self.sent
        frames: list[bytes] = []
        first = not sent
        if first:
            frames.append(out.tick_price(rid, t.close, q.close, None))
            frames.append(out.tick_price(rid, t.open, q.open, None))
        for key, tick_type, price, size in (
            ("bid", t.bid, q.bid, q.bid_size),
            ("ask", t.ask, q.ask, q.ask_size),
        ):
            if sent.get(key) != (price, size):
                sent[key] = (price, size)
                frames.append(out.tick_price(rid, tick_type, price, size))
        if sent.get("last") != (q.last, q.last_size, q.step):
            sent["last"] = (q.last, q.last_size, q.step)
            frames.append(out.tick_price(rid, t.last, q.last, q.last_size))
            if sent.get("ts") != q.last_time:
                sent["ts"] = q.last_time
                frames.append(out.tick_string(rid, t.last_timestamp, str(q.last_time)))
        if sent.get("volume") != q.volume:
            sent["volume"] = q.volume
            frames.append(out.tick_size(rid, t.volume, q.volume))
        for key, tick_type, price in (("high", t.high, q.high), ("low", t.low, q.low)):
            if sent.get(key) != price:
                sent[key] = price
                frames.append(out.tick_price(rid, tick_type, price, None))
        inst = self.instrument
        if inst is not None and inst.sec_type == "OPT":
            frames += self._option_frames(market, q, first, out)
        return frames

    def _option_frames(self, market: Market, q: Quote, first: bool,
                       out: ModuleType) -> list[bytes]:
        assert self.instrument is not None
        g = market.greeks(self.instrument.con_id)
        if self.sent.get("greeks") == g:
            return []
        self.sent["greeks"] = g
        t_bid, t_ask, t_last, t_model = self.ticks.option
        frames = []
        ticks = ((t_bid, q.bid), (t_ask, q.ask), (t_last, q.last)) if first else ()
        for tick_type, price in (*ticks, (t_model, None)):
            frames.append(out.tick_option_computation(
                self.req_id, tick_type, g.iv, g.delta,
                g.model_price if price is None else price, g.pv_dividend, g.gamma, g.vega,
                g.theta, g.und_price, tick_attrib=1))
        return frames

    def snapshot_frames(self, market: Market, out: ModuleType) -> list[bytes]:
        self.sent.clear()
        return [*self.frames(market, out), out.tick_snapshot_end(self.req_id)]


def combo_quote(market: Market, legs: tuple[tuple[Instrument, ComboLegSpec], ...]) -> Quote:
    """A combo's quote: ask = what a buyer pays, bid = what a seller receives, per unit."""
    buy = leg_prices(market, legs, True)
    sell = leg_prices(market, legs, False)
    ask = net_price(buy, True)
    bid = net_price(sell, False)
    quotes = [market.quote(inst.con_id) for inst, _ in legs]
    size = min(min(q.bid_size, q.ask_size) for q in quotes)
    mid = ((bid + ask) / 2).quantize(Decimal("0.01"))
    step = max(q.step for q in quotes)
    return Quote(con_id=0, step=step, bid=bid, ask=ask, last=mid, bid_size=size, ask_size=size,
                 last_size=Decimal(1), volume=min(q.volume for q in quotes), high=max(bid, ask),
                 low=min(bid, ask), open=mid, close=mid, last_time=quotes[0].last_time)
