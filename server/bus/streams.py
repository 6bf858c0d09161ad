"""Liveness of the streams a gateway runs for edges (StreamBars, StreamPnL, StreamMarketDepth).

Both ends hold a lease on each stream, by the same rule and on a monotonic clock (a wall-clock
jump changes nothing):

- the edge renews its streams every KEEP_EVERY seconds (one request per gateway naming them);
  the gateway cancels a stream not renewed for LAPSE_AFTER seconds (its edge died or lost the
  bus), which releases the stream's market-data lines at TWS;
- the gateway answers a renewal with the streams it does not run (ended, lapsed, or the gateway
  was replaced by a standby); the edge ends a stream so named twice in a row with UNAVAILABLE,
  and so a stream whose renewals went unanswered for LAPSE_AFTER (the gateway died).

A client that cancels its stream at the edge cancels it at the gateway at once (a cancel
message); the leases are the backstop for what dies without a word.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

KEEP_EVERY = 5.0  # seconds between an edge's renewals of its streams
LAPSE_AFTER = 20.0  # seconds a stream lives at either end without a renewal (4 missed)
Clock = Callable[[], float]


class Leases:
    """When each stream (by its inbox) was last renewed; which ones lapsed."""

    def __init__(self, lapse_after: float = LAPSE_AFTER, clock: Clock = time.monotonic) -> None:
        if lapse_after <= 0:
            raise ValueError(f"lapse_after must be positive, not {lapse_after}")
        self.lapse_after = lapse_after
        self.clock = clock
        self._renewed: dict[str, float] = {}

    def add(self, key: str) -> None:
        self._renewed[key] = self.clock()

    def discard(self, key: str) -> None:
        self._renewed.pop(key, None)

    def renew(self, keys: Iterable[str]) -> list[str]:
        """Renew the keys held; the ones not held, in the order given."""
        now = self.clock()
        unknown = []
        for key in keys:
            if key in self._renewed:
                self._renewed[key] = now
            else:
                unknown.append(key)
        return unknown

    def lapsed(self) -> list[str]:
        """The keys not renewed for lapse_after seconds, no longer held."""
        now = self.clock()
        gone = [k for k, when in self._renewed.items() if now - when > self.lapse_after]
        for key in gone:
            del self._renewed[key]
        return gone

    def __contains__(self, key: object) -> bool:
        return key in self._renewed

    def __len__(self) -> int:
        return len(self._renewed)
