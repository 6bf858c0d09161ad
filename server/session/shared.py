"""Identical questions share one answer: `SharedCalls` runs one request per key at a time and
every concurrent caller with that key awaits it; `TtlCache` keeps answers that stay true for a
while (resolved contracts), bounded in size and in age.

A waiter that is cancelled leaves the shared request running for the others (it is shielded);
the request itself is bounded by its own deadline. A failed request fails every waiter with the
same error, and the next caller asks again.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedCalls:
    def __init__(self) -> None:
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}
        self.started = 0  # requests actually made (shared ones count once)

    async def run(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> T:
        """`call()`'s answer, shared with every caller of the same `key` meanwhile."""
        shared: asyncio.Future[Any] | None = self._inflight.get(key)
        if shared is None:
            self.started += 1
            shared = asyncio.ensure_future(call())
            self._inflight[key] = shared
            shared.add_done_callback(lambda done: self._finished(key, done))
        result: T = await asyncio.shield(shared)
        return result

    def _finished(self, key: Hashable, done: asyncio.Future[Any]) -> None:
        if self._inflight.get(key) is done:
            del self._inflight[key]
        if not done.cancelled():
            done.exception()  # retrieved: a failure with no waiter left is not "never retrieved"


class TtlCache(Generic[K, V]):
    def __init__(
        self,
        lifetime: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lifetime = lifetime
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() >= entry[0]:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: K, value: V) -> None:
        self._entries[key] = (self._clock() + self.lifetime, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)  # the least recently used

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
