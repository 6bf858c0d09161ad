"""A private asyncio event loop on its own daemon thread, for the blocking face of the client.

BrokerClient runs the one client core (AsyncBrokerClient) here, so a blocking caller never
touches an event loop of its own: it works from any thread, also from inside a running loop
(a notebook, an async framework), and `close()` stops the thread. A caller waiting for a
result can be interrupted (Ctrl-C): the work on the loop is cancelled and the
KeyboardInterrupt goes on up.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import queue
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, cast

T = TypeVar("T")
P = ParamSpec("P")
CoreT = TypeVar("CoreT")

# How long close() waits for the loop to finish its last work before leaving the daemon thread.
_JOIN_SECONDS = 10.0


class ClientClosedError(RuntimeError):
    """The client was closed; create a new one."""


class LoopThread:
    """Runs coroutines on a private loop from any other thread; `close()` ends the thread."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._closed = False
        self._lock = threading.Lock()
        self._waiting: set[concurrent.futures.Future[Any]] = set()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closed

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and wait for its result (or its exception)."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a blocking client cannot be called from its own loop thread")
        with self._lock:
            if self._closed:
                coro.close()
                raise ClientClosedError("the client is closed")
            future = asyncio.run_coroutine_threadsafe(coro, self._loop)
            self._waiting.add(future)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise ClientClosedError("the client was closed during the call") from None
        except BaseException:  # KeyboardInterrupt while waiting: stop the work, then go on up
            future.cancel()
            raise
        finally:
            with self._lock:
                self._waiting.discard(future)

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a plain function on the loop thread (where grpc.aio objects must be made)."""

        async def on_loop() -> T:
            return function(*args, **kwargs)

        return self.run(on_loop())

    def call_soon(self, function: Callable[[], object]) -> None:
        """Schedule `function` on the loop without waiting; nothing once closed."""
        with self._lock:
            if not self._closed:
                self._loop.call_soon_threadsafe(function)

    def close(self, last: Coroutine[Any, Any, object] | None = None) -> None:
        """Run `last` (e.g. closing the channel), stop the loop and end the thread. Idempotent."""
        try:
            if last is not None:
                if self._closed:
                    last.close()
                else:
                    self.run(last)
        finally:
            self.stop_soon()
            if threading.current_thread() is not self._thread:
                self._thread.join(_JOIN_SECONDS)

    def stop_soon(self) -> None:
        """Stop the loop without waiting for the thread (also what a finalizer calls)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._loop.call_soon_threadsafe(self._loop.stop)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._finish()

    def _finish(self) -> None:
        """Cancel what is still pending, let it unwind, close the loop, release the waiters."""
        loop = self._loop
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        with self._lock:
            waiting, self._waiting = self._waiting, set()
        for future in waiting:
            future.cancel()


class BlockingFace(Generic[CoreT]):
    """A blocking object whose work is done by `_core`, an object living on `_loop`."""

    _loop: LoopThread
    _core: CoreT


def blocking(
    method: Callable[Concatenate[CoreT, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[BlockingFace[CoreT], P], T]:
    """The core's coroutine method as a blocking method: same arguments, result and docstring."""

    def run(self: BlockingFace[CoreT], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._loop.run(method(self._core, *args, **kwargs))

    functools.update_wrapper(run, method)
    return run


class BlockingIterator(Iterator[T]):
    """A plain iterator over an async iterator that lives on a LoopThread.

    From the first next() on, a pump task on the loop reads ahead at most `read_ahead` items
    into a thread-safe queue, so an item costs no round trip to the loop. A KeyboardInterrupt
    (or any error) while next() waits ends the iteration (`_abort()`) and goes on up; once the
    loop is closed the iteration just ends.
    """

    def __init__(
        self, items: AsyncIterator[T], loop: LoopThread, owner: object, read_ahead: int = 64
    ) -> None:
        self._items = items
        self._loop = loop
        self._owner = owner  # kept alive (and so open) while the iterator is in use
        self._read_ahead = read_ahead
        self._queue: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._space: asyncio.Semaphore | None = None
        self._pump: asyncio.Task[None] | None = None
        self._ended = False

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._ended:
            raise StopIteration
        try:
            if self._pump is None:
                self._pump = self._loop.call(self._start_pump)
            kind, value = self._queue.get()
        except ClientClosedError:
            self._ended = True
            raise StopIteration from None
        except BaseException:  # KeyboardInterrupt while waiting
            self._ended = True
            self._abort()
            raise
        if kind == "item" and not self._ended:
            space = self._space
            assert space is not None
            self._loop.call_soon(space.release)
            return cast(T, value)
        self._ended = True
        if kind == "error":
            raise value
        raise StopIteration

    def _abort(self) -> None:
        """Stop reading ahead (when next() failed, was interrupted or the caller gave up)."""
        self._ended = True
        pump = self._pump
        if pump is not None:
            self._loop.call_soon(pump.cancel)

    def _start_pump(self) -> asyncio.Task[None]:
        self._space = asyncio.Semaphore(self._read_ahead)
        return asyncio.ensure_future(self._run_pump(self._space))

    async def _run_pump(self, space: asyncio.Semaphore) -> None:
        outcome: tuple[str, Any] = ("end", None)
        try:
            async for item in self._items:
                await space.acquire()
                self._queue.put(("item", item))
        except asyncio.CancelledError:
            pass  # the caller gave up, or the loop is closing: the iteration ends
        except Exception as exc:
            outcome = ("error", exc)
        finally:
            self._queue.put(outcome)
