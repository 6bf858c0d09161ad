"""The token bucket every message to TWS passes."""

from __future__ import annotations

import asyncio
import time

import pytest
from ibkr_broker.server.session.pacing import TokenBucket


@pytest.mark.timeout(20)
async def test_no_one_second_window_exceeds_rate_plus_burst() -> None:
    bucket = TokenBucket(rate=45, burst=4)
    stamps: list[float] = []

    async def send() -> None:
        await bucket.acquire()
        stamps.append(time.monotonic())

    await asyncio.gather(*(send() for _ in range(70)))
    worst = max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)
    assert worst <= 49
    assert stamps[-1] - stamps[0] >= (70 - 4) / 45 * 0.95  # and it does not stall either
    assert bucket.sent == 70


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0)
    with pytest.raises(ValueError):
        TokenBucket(rate=10, burst=0)
