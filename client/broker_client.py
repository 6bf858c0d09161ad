"""BrokerClient: the blocking face of the one client core (AsyncBrokerClient, in aio).

    with BrokerClient() as client:                      # IBKR_BROKER_TARGET or 127.0.0.1:50051
        print(client.status().connection_state)
        spec = order_spec("buy", 10, "limit", limit_price=190)
        response = client.place_order(stock("AAPL"), spec)
        for item in client.order_events():              # re-opens itself after a drop
            ...

Every method is the core's method of the same name, run to its end on a private event loop
that lives in a daemon thread of its own (see loop_thread): deadlines, retries with the same
request_id, the error mapping and self-healing streams are the core's. No event loop of the
caller's is touched, so a BrokerClient works from any thread, also inside a running loop;
Ctrl-C while it waits cancels the call; `close()` closes the channel and ends the thread.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar, Unpack

from ibkr_broker.v1 import broker_service_pb2 as bs

from .aio import AsyncBrokerClient
from .connection import ClientConfig, ClientSettings
from .loop_thread import BlockingFace, LoopThread, blocking
from .order_handle import AsyncOrderHandle, OrderHandle
from .streams import AsyncResumableStream, ResumableStream

P = ParamSpec("P")
M = TypeVar("M")

QuoteStream = ResumableStream[bs.StreamQuotesResponse]
OrderEventStream = ResumableStream[bs.StreamOrderEventsResponse]


def _iterating(
    method: Callable[Concatenate[AsyncBrokerClient, P], AsyncResumableStream[M]],
) -> Callable[Concatenate[BrokerClient, P], ResumableStream[M]]:
    """The core's stream method as one returning a blocking iterator over the same stream."""

    def iterating(self: BrokerClient, /, *args: P.args, **kwargs: P.kwargs) -> ResumableStream[M]:
        stream = self._loop.call(method, self._core, *args, **kwargs)
        return ResumableStream(stream, self._loop, owner=self)

    functools.update_wrapper(iterating, method)
    return iterating


def _with_handle(
    method: Callable[Concatenate[AsyncBrokerClient, P], Coroutine[Any, Any, AsyncOrderHandle]],
) -> Callable[Concatenate[BrokerClient, P], OrderHandle]:
    """The core's method returning an order handle, returning its blocking face."""

    def with_handle(self: BrokerClient, /, *args: P.args, **kwargs: P.kwargs) -> OrderHandle:
        handle = self._loop.run(method(self._core, *args, **kwargs))
        return OrderHandle(handle, self._loop, owner=self)

    functools.update_wrapper(with_handle, method)
    return with_handle


class BrokerClient(BlockingFace[AsyncBrokerClient]):
    """Blocking client of ibkr_broker.v1.BrokerService. Thread-safe; close() when done.

    Arguments as for AsyncBrokerClient: `target` and the ClientSettings keywords.
    """

    config: ClientConfig

    def __init__(self, target: str | None = None, **settings: Unpack[ClientSettings]) -> None:
        self._loop = LoopThread("ibkr-broker-client")
        try:
            self._core: AsyncBrokerClient = self._loop.call(AsyncBrokerClient, target, **settings)
        except BaseException:
            self._loop.close()
            raise
        self.config = self._core.config
        # Forgotten without close(): the thread still ends when the client is collected.
        weakref.finalize(self, self._loop.stop_soon)

    def close(self) -> None:
        """Close the channel (open streams end) and stop the loop thread. Idempotent."""
        self._loop.close(self._core.close())

    def __enter__(self) -> BrokerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    status = blocking(AsyncBrokerClient.status)
    resolve_contract = blocking(AsyncBrokerClient.resolve_contract)
    option_chain = blocking(AsyncBrokerClient.option_chain)
    get_order = blocking(AsyncBrokerClient.get_order)
    list_orders = blocking(AsyncBrokerClient.list_orders)
    account = blocking(AsyncBrokerClient.account)
    positions = blocking(AsyncBrokerClient.positions)
    quote = blocking(AsyncBrokerClient.quote)
    historical_bars = blocking(AsyncBrokerClient.historical_bars)

    place_order = blocking(AsyncBrokerClient.place_order)
    modify_order = blocking(AsyncBrokerClient.modify_order)
    cancel_order = blocking(AsyncBrokerClient.cancel_order)
    cancel_all_orders = blocking(AsyncBrokerClient.cancel_all_orders)
    halt_trading = blocking(AsyncBrokerClient.halt_trading)
    resume_trading = blocking(AsyncBrokerClient.resume_trading)

    place = _with_handle(AsyncBrokerClient.place)
    follow_order = _with_handle(AsyncBrokerClient.follow_order)

    stream_quotes = _iterating(AsyncBrokerClient.stream_quotes)
    stream_bars = _iterating(AsyncBrokerClient.stream_bars)
    stream_pnl = _iterating(AsyncBrokerClient.stream_pnl)
    stream_market_depth = _iterating(AsyncBrokerClient.stream_market_depth)
    order_events = _iterating(AsyncBrokerClient.order_events)
