"""Historical bars, with IB's historical-data pacing kept by the gateway so TWS never has to
answer error 162.

IB's rules (per TWS login): no identical request within 15 s; at most 6 requests for the same
contract, exchange and tick type within 2 s; at most 60 requests in any 10 minutes. Here:

- an identical request within 15 s of the first is answered from the first one's result (it
  waits for that result when the first is still in flight) and never reaches TWS;
- every other request gets a send time: the earliest moment that keeps every rule, with a
  small margin for the time a message spends on its way (send times are handed out in order,
  so each reservation holds for the requests after it). A request whose send time falls after
  its deadline is refused with RateLimited saying when to retry; the others wait for their
  turn, then go.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..domain.errors import DeadlineExceeded, RateLimited
from ..domain.history import BarQuery, BarSeries

IDENTICAL_WINDOW = 15.0
LINE_WINDOW, LINE_MAX = 2.0, 6
TOTAL_WINDOW, TOTAL_MAX = 600.0, 60
MARGIN = 0.5  # seconds added to each window: the trip to TWS, and its receipt there, are not
# instant; 0.25 s was overrun by scheduling delays on a loaded 2-core machine (a test saw TWS
# count 7 requests of one line within 2 s)

Fetch = Callable[[BarQuery, float], Awaitable[BarSeries]]  # (query, timeout) -> bars


@dataclass
class _Recent:
    sent_at: float
    result: asyncio.Future[BarSeries] = field(default_factory=asyncio.Future)


class HistoryPacer:
    """The send times of historical-data requests (pure bookkeeping over a clock)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._all: deque[float] = deque()
        self._lines: dict[tuple[object, ...], deque[float]] = {}
        self._last = float("-inf")

    def earliest(self, query: BarQuery) -> float:
        """When `query` may go to TWS, keeping every rule (no reservation made)."""
        now = self.clock()
        self._forget(now)
        at = max(now, self._last)
        if len(self._all) >= TOTAL_MAX:
            at = max(at, self._all[-TOTAL_MAX] + TOTAL_WINDOW + MARGIN)
        line = self._lines.get(query.line, ())
        if len(line) >= LINE_MAX:
            at = max(at, line[-LINE_MAX] + LINE_WINDOW + MARGIN)
        return at

    def reserve(self, query: BarQuery, at: float) -> None:
        bisect.insort(self._all, at)
        bisect.insort(self._lines.setdefault(query.line, deque()), at)
        self._last = max(self._last, at)

    def _forget(self, now: float) -> None:
        while self._all and self._all[0] < now - TOTAL_WINDOW - MARGIN:
            self._all.popleft()
        for key in [k for k, d in self._lines.items() if not d or d[-1] < now - LINE_WINDOW - 1]:
            del self._lines[key]


class HistoricalData:
    """GetHistoricalBars: paced, with identical requests within 15 s shared."""

    def __init__(self, fetch: Fetch, clock: Callable[[], float]) -> None:
        self._fetch = fetch
        self.pacer = HistoryPacer(clock)
        self._recent: dict[tuple[object, ...], _Recent] = {}
        self._kept: dict[tuple[object, ...], float] = {}  # kept-up-to-date requests: sent at
        self.sent = 0  # requests that went to TWS (a plain count for tests and metrics)
        self.shared = 0  # requests answered from an identical one

    async def bars(self, query: BarQuery, deadline: float) -> BarSeries:
        """The bars of `query`; `deadline` is on the pacer's clock."""
        now = self.pacer.clock()
        self._forget(now)
        key = query.identity
        recent = self._recent.get(key)
        while recent is not None and not recent.result.done():
            self.shared += 1  # the identical first one is in flight: take its result
            await asyncio.wait({recent.result}, timeout=max(0.0, deadline - now))
            if not recent.result.done():
                raise DeadlineExceeded("the identical request in flight did not finish in time")
            if recent.result.cancelled():  # its caller gave up: this one goes itself
                self.shared -= 1
                now = self.pacer.clock()
                recent = self._recent.get(key)
                continue
            return BarSeries(recent.result.result().bars, cached=True)
        if recent is not None and recent.result.exception() is None:
            self.shared += 1
            return BarSeries(recent.result.result().bars, cached=True)
        at = self._identical_turn(query, self.pacer.earliest(query))
        if at > deadline:
            raise RateLimited(
                "IB's historical-data pacing: this request cannot be sent before its deadline",
                retry_after=at - now,
            )
        self.pacer.reserve(query, at)
        entry = _Recent(at)
        self._recent[key] = entry
        try:
            if at > now:
                await asyncio.sleep(at - now)
            self.sent += 1
            series = await self._fetch(query, max(0.1, deadline - self.pacer.clock()))
        except Exception as exc:
            entry.result.set_exception(exc)
            entry.result.exception()  # retrieved: nobody else may be waiting
            raise
        except BaseException:
            entry.result.cancel()
            if self._recent.get(key) is entry:
                del self._recent[key]
            raise
        entry.result.set_result(series)
        return series

    async def turn(self, query: BarQuery, deadline: float) -> None:
        """Wait until `query` may go to TWS (a kept-up-to-date request: nothing to share), or
        RateLimited when that is after `deadline`; the caller sends it right after."""
        now = self.pacer.clock()
        self._forget(now)
        at = self._identical_turn(query, self.pacer.earliest(query))
        if at > deadline:
            raise RateLimited(
                "IB's historical-data pacing: this request cannot be sent before its deadline",
                retry_after=at - now,
            )
        self.pacer.reserve(query, at)
        self._kept[query.identity] = at
        self.sent += 1
        if at > now:
            await asyncio.sleep(at - now)

    def _identical_turn(self, query: BarQuery, at: float) -> float:
        """`at`, or later: an identical request sent within 15 s whose result is not shared
        (one that failed, one kept up to date) holds the next one back."""
        recent = self._recent.get(query.identity)
        sent = [recent.sent_at] if recent is not None else []
        if query.identity in self._kept:
            sent.append(self._kept[query.identity])
        return max([at] + [t + IDENTICAL_WINDOW + MARGIN for t in sent])

    def _forget(self, now: float) -> None:
        horizon = now - IDENTICAL_WINDOW - MARGIN
        for key in [k for k, r in self._recent.items() if r.sent_at < horizon]:
            del self._recent[key]
        for key in [k for k, t in self._kept.items() if t < horizon]:
            del self._kept[key]
