"""Server streams that re-open themselves after a drop: one implementation, two faces.

A stream dropped by the transport (UNAVAILABLE, RESOURCE_EXHAUSTED, a reset connection) is
re-opened with backoff. The caller observes it: the stream yields one `StreamReconnected` item
just before the first message of the re-opened stream, and the drop is logged at WARNING.
Order-event streams resume with `resume_after_sequence` = the last sequence seen, and drop any
event at or below it, so nothing is lost or delivered twice. Quote streams restart (their
sequence numbers start again at 1). Any other error, or `stream_retries` consecutive failed
re-opens, ends the iteration with the mapped BrokerError.

`AsyncResumableStream` does the work on an event loop; `ResumableStream` is its blocking face,
which drives it on the client's private loop thread (see loop_thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import grpc
from ibkr_broker.v1 import broker_service_pb2, contract_pb2

from .connection import ClientConfig
from .errors import BrokerError, from_rpc_error
from .loop_thread import BlockingIterator, LoopThread

log = logging.getLogger("ibkr_broker.client")

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

_DROP_HINTS = ("rst_stream", "stream removed", "connection reset", "socket closed", "goaway")


@dataclass(frozen=True)
class StreamReconnected:
    """Yielded by a stream once it was re-opened after a drop, before its next message."""

    #: "quotes" or "order_events".
    stream: str
    #: Failed attempts it took (1 = the first re-open worked).
    attempts: int
    #: The error that dropped the stream.
    error: BrokerError
    #: For order events, the sequence the stream resumed after; None for quotes.
    resume_after_sequence: int | None = None


def is_stream_drop(error: BrokerError) -> bool:
    """True when the stream died in transit and re-opening it may help."""
    if error.retryable:
        return True
    if error.code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
        text = error.message.lower()
        return any(hint in text for hint in _DROP_HINTS)
    return False


class Tracker(Protocol[T_co]):
    """What a stream needs to (re)open itself and to filter what it yields."""

    name: str

    def request(self) -> Any: ...

    def accept(self, message: Any) -> bool: ...

    def resume_point(self) -> int | None: ...


class QuoteTracker:
    name = "quotes"

    def __init__(self, contracts: list[contract_pb2.Contract]) -> None:
        self._request = broker_service_pb2.StreamQuotesRequest(contracts=contracts)

    def request(self) -> broker_service_pb2.StreamQuotesRequest:
        return self._request

    def accept(self, message: Any) -> bool:
        return True

    def resume_point(self) -> int | None:
        return None


class OrderEventTracker:
    """Remembers the last sequence seen; re-opens after it and drops anything not newer."""

    name = "order_events"

    def __init__(self, resume_after_sequence: int = 0, account: str = "") -> None:
        self.last_sequence = resume_after_sequence
        self._account = account

    def request(self) -> broker_service_pb2.StreamOrderEventsRequest:
        return broker_service_pb2.StreamOrderEventsRequest(
            resume_after_sequence=self.last_sequence, account=self._account
        )

    def accept(self, message: Any) -> bool:
        sequence = int(message.sequence)
        if message.HasField("event"):
            if self.last_sequence and sequence <= self.last_sequence:
                return False  # already delivered before the re-open
            self.last_sequence = sequence
            return True
        # Status and heartbeat messages carry the last event's number.
        self.last_sequence = max(self.last_sequence, sequence)
        return True

    def resume_point(self) -> int | None:
        return self.last_sequence


class AsyncResumableStream(AsyncIterator["T | StreamReconnected"]):
    """An async iterator; `cancel()` or `await aclose()` ends it cleanly. Use it on one loop."""

    def __init__(self, open_call: Callable[[Any], Any], tracker: Tracker[T], config: ClientConfig):
        self._open = open_call
        self._tracker = tracker
        self._config = config
        # Opened now, not at the first next(): the server starts following events from here.
        self._call: Any = open_call(tracker.request())
        self.reconnects = 0
        self._stopped = False
        self._items = self._run()

    def __aiter__(self) -> AsyncResumableStream[T]:
        return self

    async def __anext__(self) -> T | StreamReconnected:
        return await self._items.__anext__()

    async def __aenter__(self) -> AsyncResumableStream[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def cancel(self) -> None:
        self._stopped = True
        call = self._call
        if call is not None:
            call.cancel()

    async def aclose(self) -> None:
        self.cancel()
        await self._items.aclose()

    async def _run(self) -> AsyncGenerator[T | StreamReconnected, None]:
        failures = 0
        marker: StreamReconnected | None = None
        call = self._call
        while not self._stopped:
            try:
                async for message in call:
                    failures = 0
                    if marker is not None:
                        yield marker
                        marker = None
                    if self._tracker.accept(message):
                        yield message
                return  # the server ended the stream
            except asyncio.CancelledError:
                if self._stopped:
                    return  # our own cancel() of the call
                raise
            except grpc.RpcError as exc:
                if self._stopped:
                    return
                marker = self._dropped(exc, failures)
                await asyncio.sleep(self._config.backoff_delay(failures))
                failures += 1
            finally:
                with contextlib.suppress(Exception):
                    call.cancel()
            if self._stopped:
                return
            call = self._call = self._open(self._tracker.request())

    def _dropped(self, exc: grpc.RpcError, failures: int) -> StreamReconnected:
        """Raise the mapped error unless the stream should be re-opened; else log and mark."""
        error = from_rpc_error(exc)
        if not is_stream_drop(error) or failures >= self._config.stream_retries:
            raise error from exc
        self.reconnects += 1
        resume = self._tracker.resume_point()
        log.warning(
            "%s stream dropped (%s); re-opening (attempt %d%s)",
            self._tracker.name,
            error.one_line(),
            failures + 1,
            f", resuming after sequence {resume}" if resume is not None else "",
        )
        return StreamReconnected(self._tracker.name, failures + 1, error, resume)


class ResumableStream(BlockingIterator["T | StreamReconnected"]):
    """The blocking face of an AsyncResumableStream running on a LoopThread.

    A plain iterator for a `for` loop; `cancel()` (from any thread) or `close()` ends it
    cleanly; a KeyboardInterrupt while it waits stops the stream and goes on up.
    """

    def __init__(self, stream: AsyncResumableStream[T], loop: LoopThread, owner: object) -> None:
        super().__init__(stream, loop, owner)
        self._stream = stream

    @property
    def reconnects(self) -> int:
        return self._stream.reconnects

    def __iter__(self) -> ResumableStream[T]:
        return self

    def __enter__(self) -> ResumableStream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cancel(self) -> None:
        """Stop the stream; a blocked `next()` in another thread then ends the iteration."""
        self._ended = True
        self._loop.call_soon(self._stream.cancel)

    def close(self) -> None:
        self._abort()

    def _abort(self) -> None:
        self.cancel()
        super()._abort()
