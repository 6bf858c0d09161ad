"""The order-event journal: a server-wide sequence, a bounded window, and live readers.

Readers keep a cursor (the last sequence they saw) instead of a queue, so a slow reader costs
nothing; one that falls behind the window learns it (OUT_OF_RANGE) instead of missing events
silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from ..domain.errors import JournalGap
from ..domain.model import Execution, IbError, Order, OrderEvent, OrderEventType

log = logging.getLogger(__name__)


class OrderJournal:
    def __init__(
        self,
        first_sequence: int = 0,
        window: int = 10_000,
        on_append: Callable[[int], None] | None = None,
    ) -> None:
        self._events: deque[OrderEvent] = deque(maxlen=window)
        self._last = first_sequence
        self._changed = asyncio.Event()
        self._on_append = on_append
        # Called with every event after it is appended (the app's metrics and order log); a
        # listener that raises is logged and never stops the order path.
        self.listeners: list[Callable[[OrderEvent], None]] = []

    @property
    def last_sequence(self) -> int:
        return self._last

    def append(
        self,
        type_: OrderEventType,
        order: Order,
        execution: Execution | None = None,
        error: IbError | None = None,
    ) -> OrderEvent:
        self._last += 1
        event = OrderEvent(self._last, type_, order, datetime.now(UTC), execution, error)
        self._events.append(event)
        if self._on_append:
            self._on_append(self._last)
        self._changed.set()
        self._changed = asyncio.Event()
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                log.exception("order event listener failed on event %d", event.sequence)
        return event

    def since(self, after: int) -> list[OrderEvent]:
        """Events with a sequence above `after` still in the window."""
        if after >= self._last:
            return []
        oldest = self._events[0].sequence if self._events else self._last + 1
        if after + 1 < oldest:
            raise JournalGap(
                f"events after sequence {after} are no longer kept (oldest is {oldest})"
            )
        return [e for e in self._events if e.sequence > after]

    async def wait_after(self, after: int, timeout: float) -> bool:
        """Wait until an event above `after` exists; False on timeout."""
        if self._last > after:
            return True
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return False
        return self._last > after
