"""Fan-out turns: quote streams write in turns, so that quotes never crowd out the TWS session
and order acknowledgements on the one event loop (issue 13).

A stream with news awaits `FanoutPacer.turn()`. Turns start at most once per `interval`, and a
turn wakes its streams `per_step` at a time, each group after the loop ran whatever was ready
before it (events from TWS, order calls, acknowledgements): the work of quotes per loop
iteration is bounded, and a busy stream writes at most once per turn, taking everything that
changed meanwhile (the mailbox keeps the newest quote of each contract).
"""

from __future__ import annotations

import asyncio
from collections import deque


class FanoutPacer:
    def __init__(self, interval: float = 0.005, per_step: int = 16) -> None:
        if interval < 0 or per_step < 1:
            raise ValueError("interval >= 0 and per_step >= 1")
        self.interval = interval
        self.per_step = per_step
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._scheduled = False
        self._last_turn = float("-inf")
        self.turns = 0

    async def turn(self) -> None:
        """Return at the stream's next turn."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiting.append(fut)
        if not self._scheduled:
            self._scheduled = True
            delay = self._last_turn + self.interval - loop.time()
            if delay > 0:
                loop.call_later(delay, self._start_turn)
            else:
                loop.call_soon(self._start_turn)
        await fut

    def _start_turn(self) -> None:
        self._scheduled = False
        self._last_turn = asyncio.get_running_loop().time()
        self.turns += 1
        group, self._waiting = self._waiting, deque()  # later arrivals wait for the next turn
        self._wake(group)

    def _wake(self, group: deque[asyncio.Future[None]]) -> None:
        woken = 0
        while group and woken < self.per_step:
            fut = group.popleft()
            if not fut.done():  # a stream cancelled meanwhile
                fut.set_result(None)
                woken += 1
        if group:  # the rest after what is ready now (call_soon queues behind it)
            asyncio.get_running_loop().call_soon(self._wake, group)
