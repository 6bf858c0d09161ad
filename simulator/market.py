"""Simulated market data: a seeded random walk per stock, Black-Scholes quotes for options.

Everything is deterministic for a seed: the n-th step of a walk depends only on the seed, the
con_id and n. Prices are on the min-tick grid, bid < ask. The server calls ``step()`` every
``tick_interval`` seconds (or as fast as clients drain in fast mode); consumers read ``quote()``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from .universe import Universe

RATE = 0.04
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Quote:
    """Top of book and day statistics of one instrument at one step."""

    con_id: int
    step: int
    bid: Decimal
    ask: Decimal
    last: Decimal
    bid_size: Decimal
    ask_size: Decimal
    last_size: Decimal
    volume: Decimal
    high: Decimal
    low: Decimal
    open: Decimal
    close: Decimal  # previous session's close
    last_time: int  # epoch seconds of the last trade

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


@dataclass(frozen=True)
class Greeks:
    """tickOptionComputation values (floats: they are floats on the wire too)."""

    iv: float
    delta: float
    gamma: float
    vega: float
    theta: float
    model_price: float
    und_price: float
    pv_dividend: float = 0.0


@dataclass(frozen=True)
class Bar:
    time: int  # epoch seconds of the bar start
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    wap: Decimal
    count: int


def on_grid(price: Decimal, tick: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    return (price / tick).to_integral_value(rounding=rounding) * tick


def _ncdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _npdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def black_scholes(spot: float, strike: float, t: float, vol: float, right: str,
                  rate: float = RATE) -> Greeks:
    """Price and greeks of a European option (vega per vol point, theta per calendar day)."""
    t = max(t, 1.0 / 365.0)
    sq = vol * math.sqrt(t)
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * t) / sq
    d2 = d1 - sq
    disc = math.exp(-rate * t)
    if right == "C":
        price = spot * _ncdf(d1) - strike * disc * _ncdf(d2)
        delta = _ncdf(d1)
        theta = -spot * _npdf(d1) * vol / (2 * math.sqrt(t)) - rate * strike * disc * _ncdf(d2)
    else:
        price = strike * disc * _ncdf(-d2) - spot * _ncdf(-d1)
        delta = _ncdf(d1) - 1.0
        theta = -spot * _npdf(d1) * vol / (2 * math.sqrt(t)) + rate * strike * disc * _ncdf(-d2)
    gamma = _npdf(d1) / (spot * sq)
    vega = spot * _npdf(d1) * math.sqrt(t) / 100.0
    return Greeks(iv=vol, delta=delta, gamma=gamma, vega=vega, theta=theta / 365.0,
                  model_price=max(price, 0.0), und_price=spot)


class _Walk:
    """The mutable state of one stock's walk."""

    def __init__(self, con_id: int, start: Decimal, seed: int, tick: Decimal) -> None:
        self.con_id = con_id
        self.rng = random.Random(f"walk:{seed}:{con_id}")
        self.tick = tick
        self.start = start
        self.mid = start
        self.close = on_grid(start * Decimal(str(1 + self.rng.uniform(-0.01, 0.01))), tick)
        self.sigma = float(start) * 0.0004 / float(tick)  # ticks per step
        self.volume = Decimal(self.rng.randrange(100_000, 2_000_000, 100))
        self.last = start
        self.high = start
        self.low = start
        self.quote: Quote | None = None

    def advance(self, step: int, now: int) -> Quote:
        rng = self.rng
        move = round(rng.gauss(0.0, self.sigma))
        revert = round(float(self.start - self.mid) / float(self.tick) * 0.002)
        mid = self.mid + self.tick * (move + revert)
        self.mid = max(mid, self.tick * 100)
        spread = self.tick * rng.choice((1, 1, 2, 3))
        bid = on_grid(self.mid - spread / 2, self.tick, ROUND_FLOOR)
        ask = bid + spread
        last = bid if rng.random() < 0.5 else ask
        last_size = Decimal(rng.randrange(1, 50) * 10)
        self.volume += last_size
        self.last = last
        self.high = max(self.high, last)
        self.low = min(self.low, last)
        self.quote = Quote(
            con_id=self.con_id, step=step, bid=bid, ask=ask, last=last,
            bid_size=Decimal(rng.randrange(1, 30) * 100),
            ask_size=Decimal(rng.randrange(1, 30) * 100),
            last_size=last_size, volume=self.volume, high=self.high, low=self.low,
            open=self.start, close=self.close, last_time=now,
        )
        return self.quote


class Market:
    """Quotes for every instrument of a universe, advanced one step at a time."""

    def __init__(self, universe: Universe, seed: int = 1, clock: object = None) -> None:
        self.universe = universe
        self.seed = seed
        self.step_no = 0
        self._clock = clock  # a callable returning epoch seconds; None = wall clock
        self._walks: dict[int, _Walk] = {}
        self._quotes: dict[int, Quote] = {}
        self._option_cache: dict[int, tuple[int, Quote, Greeks]] = {}
        for inst in universe.walked():
            self._walks[inst.con_id] = _Walk(inst.con_id, universe.start_price(inst.con_id),
                                             seed, inst.min_tick)
        self.step()

    def now(self) -> int:
        if self._clock is None:
            return int(dt.datetime.now(dt.UTC).timestamp())
        return int(self._clock())  # type: ignore[operator]

    def step(self) -> int:
        """Advance every walk one step; returns the new step number."""
        self.step_no += 1
        now = self.now()
        for con_id, walk in self._walks.items():
            self._quotes[con_id] = walk.advance(self.step_no, now)
        return self.step_no

    def has(self, con_id: int) -> bool:
        return self.universe.get(con_id) is not None

    def quote(self, con_id: int) -> Quote:
        """The current quote (KeyError for an unknown con_id)."""
        q = self._quotes.get(con_id)
        if q is not None:
            return q
        return self._option(con_id)[0]

    def greeks(self, con_id: int) -> Greeks:
        return self._option(con_id)[1]

    def mark(self, con_id: int) -> Decimal:
        """The price positions are valued at: the mid of the current quote."""
        q = self.quote(con_id)
        return on_grid(q.mid, Decimal("0.0001"))

    def _option(self, con_id: int) -> tuple[Quote, Greeks]:
        cached = self._option_cache.get(con_id)
        if cached and cached[0] == self.step_no:
            return cached[1], cached[2]
        inst = self.universe.get(con_id)
        if inst is None or inst.sec_type != "OPT" or inst.strike is None:
            raise KeyError(con_id)
        und = self._quotes[inst.underlying_con_id]
        expiry = dt.datetime.strptime(inst.last_trade_date, "%Y%m%d").date()
        t = max((expiry - self.universe.today).days, 0) / 365.0 + 0.5 / 365.0
        vol = self.universe.volatility(con_id)
        g = black_scholes(float(und.mid), float(inst.strike), t, vol, inst.right)
        tick = inst.min_tick
        theo = Decimal(str(round(g.model_price, 6)))
        half = max(tick, on_grid(theo * Decimal("0.01"), tick, ROUND_CEILING))
        bid = max(_ZERO, on_grid(theo - half, tick, ROUND_FLOOR))
        ask = max(bid + tick, on_grid(theo + half, tick, ROUND_CEILING))
        rng = random.Random(f"opt:{self.seed}:{con_id}:{self.step_no}")
        last = on_grid(theo, tick) if theo >= tick else tick
        last = min(max(last, bid), ask)
        day_vol = Decimal(rng.randrange(10, 5000) + self.step_no // 10)
        start_theo = Decimal(str(round(black_scholes(
            float(self.universe.start_price(inst.underlying_con_id)), float(inst.strike), t, vol,
            inst.right).model_price, 2)))
        q = Quote(
            con_id=con_id, step=self.step_no, bid=bid, ask=ask, last=last,
            bid_size=Decimal(rng.randrange(1, 50)), ask_size=Decimal(rng.randrange(1, 50)),
            last_size=Decimal(rng.randrange(1, 10)), volume=day_vol,
            high=max(last, start_theo), low=min(last, start_theo),
            open=start_theo, close=start_theo, last_time=und.last_time,
        )
        self._option_cache[con_id] = (self.step_no, q, g)
        return q, g

    def history(self, con_id: int, count: int, bar_seconds: int, end: int) -> list[Bar]:
        """``count`` evenly spaced bars of ``bar_seconds`` ending at epoch ``end``."""
        end -= end % bar_seconds
        return self.history_at(con_id, [end - (count - i) * bar_seconds for i in range(count)],
                               bar_seconds)

    def history_at(self, con_id: int, starts: list[int], bar_seconds: int) -> list[Bar]:
        """One bar of at most ``bar_seconds`` at each start time (oldest first): a seeded walk
        backwards from the current last price, so the newest bar closes at today's price."""
        inst = self.universe.get(con_id)
        if inst is None:
            raise KeyError(con_id)
        tick = inst.min_tick
        rng = random.Random(f"hist:{self.seed}:{con_id}:{bar_seconds}")
        price = self.quote(con_id).last
        sigma = max(1.0, float(price) * 0.0015 * math.sqrt(bar_seconds / 60) / float(tick))
        bars: list[Bar] = []
        for start in reversed(starts):
            close = price
            open_ = max(tick, close + tick * round(rng.gauss(0.0, sigma)))
            high = max(open_, close) + tick * abs(round(rng.gauss(0.0, sigma / 2)))
            low = max(tick, min(open_, close) - tick * abs(round(rng.gauss(0.0, sigma / 2))))
            vol = Decimal(rng.randrange(10, 1000) * 100)
            wap = on_grid((open_ + high + low + close) / 4, Decimal("0.0001"))
            bars.append(Bar(time=start, open=open_, high=high, low=low, close=close, volume=vol,
                            wap=wap, count=rng.randrange(10, 500)))
            price = open_
        bars.reverse()
        return bars
