"""Live order handles: place an order, then follow it (its state, fills and events) as it lives.

    async with AsyncBrokerClient() as client:
        handle = await client.place("AAPL", order_spec("buy", 10, "limit", limit_price=190))
        await handle.wait_status(order_pb2.ORDER_STATUS_SUBMITTED)
        fill = await handle.wait_fill(timeout=30)       # the next fill, None if it ended without
        order = await handle.wait_done(timeout=60)      # the final state
        async for event in handle:                      # every event, until it is settled
            ...

    with BrokerClient() as client:                      # the same, blocking
        handle = client.place("AAPL", order_spec("buy", 10))
        order = handle.wait_done(timeout=60)
        for event in handle:
            ...

A client follows all its handles over one order-event stream (OrderFeed), opened before the
first placement and known to be live (its first message arrived) before the order is sent, so
no event of a placed order is missed; a dropped stream resumes after the last event seen. An
order is *done* when its status is final (filled, cancelled, rejected, inactive) and *settled*
when, in addition, every fill and its commission have arrived: iterating a handle ends there.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ibkr_broker.v1 import order_pb2

from .errors import BrokerError, UnavailableError
from .loop_thread import BlockingFace, BlockingIterator, ClientClosedError, LoopThread, blocking
from .streams import AsyncResumableStream, StreamReconnected
from .wire_values import TERMINAL_STATUSES, parse_order_status

if TYPE_CHECKING:
    from .aio import AsyncBrokerClient

OrderPredicate = Callable[[order_pb2.Order], bool]


def fills_complete(order: order_pb2.Order) -> bool:
    """Final status and every fill in (IB may report the status before the last fill)."""
    if order.status not in TERMINAL_STATUSES:
        return False
    reported = sum((Decimal(e.quantity or 0) for e in order.executions), Decimal(0))
    return reported >= Decimal(order.filled_quantity or 0)


def is_settled(order: order_pb2.Order) -> bool:
    """Every fill in with its commission: nothing more will happen to the order."""
    return fills_complete(order) and all(e.commission for e in order.executions)


class AsyncOrderHandle:
    """One placed order followed live. Made by AsyncBrokerClient.place(); use it on its loop."""

    def __init__(self, client: AsyncBrokerClient, request_id: str = "", order_id: str = "") -> None:
        self._client = client
        #: The order as last seen (by the placement's answer, a lookup or an event).
        self.order = order_pb2.Order(request_id=request_id, order_id=order_id)
        #: Every event of the order since it was placed (or followed), oldest first.
        self.events: list[order_pb2.OrderEvent] = []
        self._error: Exception | None = None
        self._changed = asyncio.Condition()
        self._fills_returned = 0

    def __repr__(self) -> str:
        status = order_pb2.OrderStatus.Name(self.order.status)
        return f"<OrderHandle {self.order_id or self.request_id} {status}>"

    @property
    def order_id(self) -> str:
        return self.order.order_id

    @property
    def request_id(self) -> str:
        return self.order.request_id

    @property
    def status(self) -> order_pb2.OrderStatus:
        return self.order.status

    @property
    def fills(self) -> list[order_pb2.Execution]:
        return list(self.order.executions)

    def done(self) -> bool:
        """The status is final: filled, cancelled, rejected or inactive."""
        return self.order.status in TERMINAL_STATUSES

    def settled(self) -> bool:
        """Done, with every fill and its commission reported."""
        return is_settled(self.order)

    # --- waiting ---------------------------------------------------------------------------

    async def wait(
        self, predicate: OrderPredicate, timeout: float | None = None
    ) -> order_pb2.Order:
        """The order once `predicate(order)` holds; TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            async with self._changed:
                await self._changed.wait_for(
                    lambda: self._error is not None or predicate(self.order)
                )
        if self._error is not None and not predicate(self.order):
            raise self._error
        return self.order

    async def wait_done(self, timeout: float | None = None) -> order_pb2.Order:
        """The order in its final status."""
        return await self.wait(lambda order: order.status in TERMINAL_STATUSES, timeout)

    async def wait_settled(self, timeout: float | None = None) -> order_pb2.Order:
        """The order in its final status with every fill and its commission reported."""
        return await self.wait(is_settled, timeout)

    async def wait_status(
        self, *statuses: str | order_pb2.OrderStatus, timeout: float | None = None
    ) -> order_pb2.Order:
        """The order once its status is one of `statuses` ("submitted", "filled", ... or
        OrderStatus values), or final (check `status`)."""
        if not statuses:
            raise ValueError("wait_status needs at least one status")
        wanted = {parse_order_status(s, "statuses") for s in statuses} | TERMINAL_STATUSES
        return await self.wait(lambda order: order.status in wanted, timeout)

    async def wait_fill(self, timeout: float | None = None) -> order_pb2.Execution | None:
        """The first fill this method has not returned yet (so the first fill, then the second,
        ...); None once the order is done and has no more."""
        wanted = self._fills_returned
        order = await self.wait(lambda o: len(o.executions) > wanted or fills_complete(o), timeout)
        if len(order.executions) > wanted:
            self._fills_returned = wanted + 1
            fill: order_pb2.Execution = order.executions[wanted]
            return fill
        return None

    def __aiter__(self) -> AsyncIterator[order_pb2.OrderEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[order_pb2.OrderEvent]:
        """Every event (those already seen first), until the order is settled."""
        seen = 0
        while True:
            await self._wait_for(functools.partial(self._news_after, seen))
            for event in self.events[seen:]:
                seen += 1
                yield event
            if self.settled():
                return
            if self._error is not None:
                raise self._error

    def _news_after(self, seen: int) -> bool:
        return len(self.events) > seen or self.settled()

    async def _wait_for(self, condition: Callable[[], bool], timeout: float | None = None) -> None:
        """Until `condition()` holds or the feed failed; TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: condition() or self._error is not None)

    # --- commands ----------------------------------------------------------------------------

    async def cancel(self, *, timeout: float | None = None) -> order_pb2.Order:
        """Request cancellation (see AsyncBrokerClient.cancel_order)."""
        return await self._client.cancel_order(self.order_id, timeout=timeout)

    async def modify(self, /, **changes: Any) -> order_pb2.Order:
        """Change the working order (the keywords of AsyncBrokerClient.modify_order)."""
        return await self._client.modify_order(self.order_id, **changes)

    # --- fed by the placement and by the OrderFeed ---------------------------------------------

    async def _placed(self, order: order_pb2.Order) -> None:
        """The placement's answer (or a lookup); events already seen are newer, so they win."""
        if not self.events:
            await self._update(order)

    async def _event(self, event: order_pb2.OrderEvent) -> None:
        self.events.append(event)
        await self._update(event.order)

    async def _update(self, order: order_pb2.Order) -> None:
        async with self._changed:
            self.order = order
            self._changed.notify_all()

    async def _fail(self, error: Exception) -> None:
        async with self._changed:
            self._error = error
            self._changed.notify_all()


class OrderFeed:
    """The one order-event stream of a client, handing each event to the handle of its order."""

    def __init__(self, stream: AsyncResumableStream[Any]) -> None:
        self._stream = stream
        self._by_request: weakref.WeakValueDictionary[str, AsyncOrderHandle] = (
            weakref.WeakValueDictionary()
        )
        self._by_order: weakref.WeakValueDictionary[str, AsyncOrderHandle] = (
            weakref.WeakValueDictionary()
        )
        self._closing = False
        self._live: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(), name="ibkr-broker-order-feed")

    @property
    def running(self) -> bool:
        return not self._task.done()

    async def live(self) -> None:
        """Return once the server follows the journal for this feed (its first message came)."""
        await asyncio.shield(self._live)

    def follow(self, handle: AsyncOrderHandle) -> None:
        """Hand the events of the handle's order (by request_id or order_id) to it."""
        if handle.request_id:
            self._by_request[handle.request_id] = handle
        if handle.order_id:
            self._by_order[handle.order_id] = handle

    def close(self) -> None:
        """Stop the stream; handles still waiting get ClientClosedError."""
        self._closing = True
        self._stream.cancel()

    async def _run(self) -> None:
        error: Exception = UnavailableError("the order-event stream ended")
        try:
            async for item in self._stream:
                if not self._live.done():
                    self._live.set_result(None)
                if not isinstance(item, StreamReconnected) and item.HasField("event"):
                    await self._dispatch(item.event)
        except BrokerError as exc:
            error = exc
        finally:
            if self._closing:
                error = ClientClosedError("the client was closed")
            if not self._live.done():
                self._live.set_exception(error)
            for handle in {*self._by_request.values(), *self._by_order.values()}:
                if not handle.settled():
                    await handle._fail(error)

    async def _dispatch(self, event: order_pb2.OrderEvent) -> None:
        order = event.order
        handle = self._by_order.get(order.order_id) or self._by_request.get(order.request_id)
        if handle is None:
            return
        self._by_order[order.order_id] = handle
        await handle._event(event)


class OrderHandle(BlockingFace[AsyncOrderHandle]):
    """The blocking face of an AsyncOrderHandle (made by BrokerClient.place())."""

    def __init__(self, core: AsyncOrderHandle, loop: LoopThread, owner: object) -> None:
        self._core = core
        self._loop = loop
        self._owner = owner  # the client: kept alive (and open) while the handle is in use

    def __repr__(self) -> str:
        return repr(self._core)

    @property
    def request_id(self) -> str:
        return self._core.request_id

    @property
    def order_id(self) -> str:
        return self._core.order_id

    @property
    def order(self) -> order_pb2.Order:
        return self._core.order

    @property
    def status(self) -> order_pb2.OrderStatus:
        return self._core.status

    @property
    def events(self) -> list[order_pb2.OrderEvent]:
        return list(self._core.events)

    @property
    def fills(self) -> list[order_pb2.Execution]:
        return self._core.fills

    def done(self) -> bool:
        return self._core.done()

    def settled(self) -> bool:
        return self._core.settled()

    def __iter__(self) -> Iterator[order_pb2.OrderEvent]:
        """Every event (those already seen first), until the order is settled."""
        return BlockingIterator(self._core.__aiter__(), self._loop, self)

    wait = blocking(AsyncOrderHandle.wait)
    wait_done = blocking(AsyncOrderHandle.wait_done)
    wait_settled = blocking(AsyncOrderHandle.wait_settled)
    wait_status = blocking(AsyncOrderHandle.wait_status)
    wait_fill = blocking(AsyncOrderHandle.wait_fill)
    cancel = blocking(AsyncOrderHandle.cancel)
    modify = blocking(AsyncOrderHandle.modify)
