"""One token bucket that every message to TWS passes (IB allows 50 messages/s per client)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; `acquire` waits for a token.

    In any window of T seconds at most `burst + rate * T` tokens are handed out, so with the
    defaults no second ever sees more than 49 messages (IB's limit is 50).
    Waiters are served in arrival order (an asyncio.Lock is fair), so a burst of requests is
    spread evenly instead of starving anyone.
    """

    def __init__(self, rate: float = 45.0, burst: int = 4) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()
        self.sent = 0
        self.on_wait: Callable[[float], None] | None = None  # seconds each message waited

    def _granted(self, waited: float) -> None:
        self._tokens -= 1
        self.sent += 1
        if self.on_wait is not None:
            self.on_wait(waited)

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self) -> None:
        if not self._lock.locked():  # fast path: a token is there and nobody is queued
            self._refill()
            if self._tokens >= 1:
                self._granted(0.0)
                return
        started = time.monotonic()
        async with self._lock:
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._granted(time.monotonic() - started)
