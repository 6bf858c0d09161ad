"""Ending the bus's background tasks without hanging a stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

STOP_TIMEOUT = 2.0  # seconds a stop waits for cancelled tasks


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any]], timeout: float = STOP_TIMEOUT
) -> None:
    """Cancel `tasks` and wait at most `timeout` seconds for them to end. A task that swallows
    its cancellation (nats-py can, inside a call: an edge once never exited on SIGTERM) is left
    behind with a warning instead of being waited for forever."""
    tasks = [task for task in tasks if not task.done()]
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _, stuck = await asyncio.wait(tasks, timeout=timeout)
    for task in stuck:
        log.warning("task %s did not end when cancelled; left behind", task.get_name())
