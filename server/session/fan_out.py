"""Fan-out of news to many waiting streams: a `Signal` a stream waits on (with one future), and
`FanOutTurns`, which batches news into turns so that a stream writes at most once per turn.

The quote hub of a gateway (market_data.py) and the quote readers of an edge (bus) fan out the
same way: news only marks what changed; at most once per `interval` a turn hands it to the
subscribers and wakes them `step` at a time, each group queued behind whatever the loop had
ready, so fan-out work per loop iteration is bounded and never starves order traffic.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable

TURN_INTERVAL = 0.005  # seconds: at most one fan-out turn per interval
WAKE_STEP = 16  # streams woken per loop iteration within a turn


class Signal:
    """An asyncio.Event that a waiter can also watch with a plain future (`watch`), so that a
    stream waits for its news, a drain or a timeout with one future instead of a task each."""

    def __init__(self) -> None:
        self._set = False
        self._watchers: set[asyncio.Future[bool]] = set()

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        watchers, self._watchers = self._watchers, set()
        for fut in watchers:
            if not fut.done():
                fut.set_result(True)

    def clear(self) -> None:
        self._set = False

    def watch(self, fut: asyncio.Future[bool]) -> None:
        """Resolve `fut` with True when the signal is set (at once if it is)."""
        if self._set:
            if not fut.done():
                fut.set_result(True)
        else:
            self._watchers.add(fut)

    def unwatch(self, fut: asyncio.Future[bool]) -> None:
        self._watchers.discard(fut)

    async def wait(self) -> bool:
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.watch(fut)
        try:
            return await fut
        finally:
            self.unwatch(fut)


def _resolve(fut: asyncio.Future[bool], value: bool) -> None:
    if not fut.done():
        fut.set_result(value)


async def wait_any(signals: tuple[Signal, ...], timeout: float) -> bool:
    """True when one of `signals` is set within `timeout` seconds, else False."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[bool] = loop.create_future()
    for signal in signals:
        signal.watch(fut)
    timer = loop.call_later(timeout, _resolve, fut, False)
    try:
        return await fut
    finally:
        timer.cancel()
        for signal in signals:
            signal.unwatch(fut)


class IdleWaiter:
    """One stream's wait for news: `wait()` is True when one of `signals` is set, False once
    the stream has been idle `idle` seconds (since the last `wait()` returned), for a heartbeat.

    The same as `wait_any(signals, idle)` in a loop, without a timer per wait: a stream that
    writes hundreds of times a second would arm and cancel a timer each time. Its one timer
    fires at most once per `idle` seconds and re-arms itself while the stream is busy."""

    def __init__(self, signals: tuple[Signal, ...], idle: float) -> None:
        self._signals = signals
        self._idle = idle
        self._loop = asyncio.get_running_loop()
        self._since = self._loop.time()  # when the stream last had something to send
        self._fut: asyncio.Future[bool] | None = None
        self._timer = self._loop.call_at(self._since + idle, self._check)

    def _check(self) -> None:
        due = self._since + self._idle
        if self._loop.time() < due or self._fut is None:
            # Busy (a message was sent meanwhile, or one is being written now): look again
            # when the stream would next be idle long enough.
            self._timer = self._loop.call_at(max(due, self._loop.time() + 0.001), self._check)
            return
        _resolve(self._fut, False)
        self._timer = self._loop.call_at(self._loop.time() + self._idle, self._check)

    async def wait(self) -> bool:
        try:
            if any(signal.is_set() for signal in self._signals):
                return True
            fut: asyncio.Future[bool] = self._loop.create_future()
            self._fut = fut
            for signal in self._signals:
                signal.watch(fut)
            try:
                return await fut
            finally:
                self._fut = None
                for signal in self._signals:
                    signal.unwatch(fut)
        finally:
            self._since = self._loop.time()

    def close(self) -> None:
        self._timer.cancel()


class FanOutTurns:
    """Runs `turn` (which hands out the news and gives the signals to set) at most once per
    `interval` after `request()`, and sets those signals `step` at a time."""

    def __init__(
        self,
        turn: Callable[[], Iterable[Signal]],
        interval: float = TURN_INTERVAL,
        step: int = WAKE_STEP,
    ) -> None:
        self._turn = turn
        self.interval = interval
        self.step = max(1, step)
        self._pending = False
        self._last = float("-inf")
        self.turns = 0

    def request(self) -> None:
        """There is news: a turn runs within `interval` of the last one (not twice)."""
        if self._pending:
            return
        self._pending = True
        loop = asyncio.get_running_loop()
        delay = self._last + self.interval - loop.time()
        if delay > 0:
            loop.call_later(delay, self._run)
        else:
            loop.call_soon(self._run)

    def _run(self) -> None:
        self._pending = False
        self._last = asyncio.get_running_loop().time()
        self.turns += 1
        self._wake(deque(self._turn()))

    def _wake(self, waiting: deque[Signal]) -> None:
        for _ in range(min(self.step, len(waiting))):
            waiting.popleft().set()
        if waiting:  # the rest after what is ready now (call_soon queues behind it)
            asyncio.get_running_loop().call_soon(self._wake, waiting)
