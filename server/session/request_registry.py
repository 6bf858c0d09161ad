"""Requests to IB tracked by req_id: registered before sending, each with a deadline.

A `Pending` collects the events of one request (e.g. every contractDetails until the end
marker) and resolves a future. When the connection drops, every pending request fails with
`Unavailable`, so no caller waits for an answer that will never come.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ..domain.errors import BrokerError, DeadlineExceeded

T = TypeVar("T")


@dataclass
class Pending(Generic[T]):
    req_id: int
    what: str
    future: asyncio.Future[T]
    items: list[Any] = field(default_factory=list)

    def finish(self, value: T) -> None:
        if not self.future.done():
            self.future.set_result(value)

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class RequestRegistry:
    def __init__(self, first_req_id: int = 1) -> None:
        self._ids = itertools.count(first_req_id)
        self._pending: dict[int, Pending[Any]] = {}

    def next_id(self) -> int:
        return next(self._ids)

    def register(self, what: str, req_id: int | None = None) -> Pending[Any]:
        rid = self.next_id() if req_id is None else req_id
        loop = asyncio.get_running_loop()
        pending: Pending[Any] = Pending(rid, what, loop.create_future())
        self._pending[rid] = pending

        def forget(_future: asyncio.Future[Any]) -> None:
            self._pending.pop(rid, None)

        pending.future.add_done_callback(forget)
        return pending

    def get(self, req_id: int) -> Pending[Any] | None:
        return self._pending.get(req_id)

    def fail_all(self, make_error: Callable[[Pending[Any]], BrokerError]) -> int:
        pending = list(self._pending.values())
        for p in pending:
            p.fail(make_error(p))
        return len(pending)

    def __len__(self) -> int:
        return len(self._pending)

    @staticmethod
    async def wait(pending: Pending[T], timeout: float) -> T:
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(pending.future)
        except TimeoutError:
            pending.fail(DeadlineExceeded(f"TWS did not answer {pending.what} within {timeout}s"))
            raise DeadlineExceeded(f"TWS did not answer {pending.what} within {timeout}s") from None
