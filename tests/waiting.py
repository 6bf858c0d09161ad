"""Await a condition with a deadline (never sleep for state)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


def wait_until_sync(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """The same for blocking code (a thread that is not running an event loop)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {what or predicate}")
        time.sleep(0.005)  # poll interval, not a wait for state: the deadline bounds it


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {what or predicate}")
        await asyncio.sleep(0.005)  # poll interval, not a wait for state: the deadline bounds it


async def wait_until_async(
    predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0, what: str = ""
) -> None:
    """`wait_until` for a predicate that has to await (a gRPC call, say)."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {what or predicate}")
        await asyncio.sleep(0.02)  # poll interval, not a wait for state: the deadline bounds it
