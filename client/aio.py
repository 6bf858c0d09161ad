"""AsyncBrokerClient: the one client core (grpc.aio); BrokerClient is its blocking face.

    async with AsyncBrokerClient() as client:
        print((await client.status()).connection_state)
        async for item in client.order_events():        # re-opens itself after a drop
            ...

Unary calls get the default deadline (`timeout`), and are retried with backoff on UNAVAILABLE
and RESOURCE_EXHAUSTED only. Mutating calls (place, modify, cancel, cancel all, halt, resume)
carry a `request_id`, made once per call (uuid4) unless given, and the SAME id is sent on every
retry, so a retry can never place a second order. Every gRPC error is raised as a BrokerError
subclass (see `errors`); one from a mutating call carries its `request_id`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import weakref
from collections.abc import Iterable
from typing import Any, Unpack

import grpc
from google.protobuf.message import Message
from ibkr_broker.v1 import account_pb2, contract_pb2, market_data_pb2, order_pb2
from ibkr_broker.v1 import broker_service_pb2 as bs
from ibkr_broker.v1.broker_service_pb2_grpc import BrokerServiceStub

from . import data_values as dv
from . import request_builders as build
from .connection import ClientConfig, ClientSettings
from .errors import DeadlineExceededError, from_rpc_error
from .order_handle import AsyncOrderHandle, OrderFeed
from .streams import AsyncResumableStream, OrderEventTracker, QuoteTracker, Tracker

log = logging.getLogger("ibkr_broker.client")

# A retry the server says can succeed only later than this is not made: the error is raised.
MAX_RETRY_AFTER = 30.0

AsyncQuoteStream = AsyncResumableStream[bs.StreamQuotesResponse]
AsyncOrderEventStream = AsyncResumableStream[bs.StreamOrderEventsResponse]


class AsyncBrokerClient:
    """grpc.aio client of ibkr_broker.v1.BrokerService; create and use it on one event loop.

    Arguments: `target` ("host:port") and the keywords of ClientSettings (token, ca_cert,
    client_cert, client_key, timeout, config); what is not given comes from the environment.
    """

    def __init__(self, target: str | None = None, **settings: Unpack[ClientSettings]) -> None:
        self.config = ClientConfig.for_client(target, settings)
        self._channel: Any = self.config.open_channel(aio=True)
        stub_class: Any = BrokerServiceStub  # generated code has no annotations
        self._stub = stub_class(self._channel)
        self._metadata = self.config.metadata()
        self._streams: weakref.WeakSet[AsyncResumableStream[Any]] = weakref.WeakSet()
        self._order_feed: OrderFeed | None = None

    # --- lifecycle -----------------------------------------------------------------------

    async def close(self) -> None:
        """End the open streams (their iteration stops), then close the channel."""
        if self._order_feed is not None:
            self._order_feed.close()
        for stream in list(self._streams):
            stream.cancel()
        await self._channel.close()

    async def __aenter__(self) -> AsyncBrokerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the one place calls are made ----------------------------------------------------

    async def _unary(
        self,
        method: str,
        request: Message,
        timeout: float | None,
        request_id: str | None = None,
    ) -> Any:
        """Call with the deadline; retry UNAVAILABLE / RESOURCE_EXHAUSTED with the same request."""
        rpc = getattr(self._stub, method)
        attempt = 0
        while True:
            try:
                return await rpc(
                    request, timeout=timeout or self.config.timeout, metadata=self._metadata
                )
            except grpc.RpcError as exc:
                error = from_rpc_error(exc, request_id=request_id)
                if not error.retryable or attempt >= self.config.retries:
                    raise error from exc
                delay = self.config.backoff_delay(attempt)
                wait = error.retry_after
                if wait is not None and wait > MAX_RETRY_AFTER:
                    raise error from exc  # the server says a retry cannot succeed soon
                delay = max(delay, wait or 0.0)
                attempt += 1
                log.warning(
                    "%s failed (%s); retry %d/%d in %.2fs%s",
                    method,
                    error.one_line(),
                    attempt,
                    self.config.retries,
                    delay,
                    f" with the same request_id {request_id}" if request_id else "",
                )
                await asyncio.sleep(delay)

    def _open_stream(self, method: str, tracker: Tracker[Any]) -> AsyncResumableStream[Any]:
        rpc = getattr(self._stub, method)
        stream: AsyncResumableStream[Any] = AsyncResumableStream(
            lambda request: rpc(request, metadata=self._metadata), tracker, self.config
        )
        self._streams.add(stream)
        return stream

    # --- queries -------------------------------------------------------------------------

    async def status(self, *, timeout: float | None = None) -> bs.GetStatusResponse:
        """The server's TWS connection state, accounts, paper or live."""
        result: bs.GetStatusResponse = await self._unary(
            "GetStatus", bs.GetStatusRequest(), timeout
        )
        return result

    async def resolve_contract(
        self, contract: contract_pb2.Contract | str, *, timeout: float | None = None
    ) -> list[contract_pb2.ContractDetails]:
        """Every contract matching a (possibly partial) spec; ContractNotFoundError if none."""
        request = bs.ResolveContractRequest(contract=build.as_contract(contract))
        response: bs.ResolveContractResponse = await self._unary(
            "ResolveContract", request, timeout
        )
        return list(response.matches)

    async def option_chain(
        self, underlying: contract_pb2.Contract | str, *, timeout: float | None = None
    ) -> bs.GetOptionChainResponse:
        """Expiries, strikes and multipliers of an underlying (a symbol means a US stock)."""
        request = bs.GetOptionChainRequest(underlying=build.as_contract(underlying))
        result: bs.GetOptionChainResponse = await self._unary("GetOptionChain", request, timeout)
        return result

    async def get_order(
        self, order_id: str = "", *, request_id: str = "", timeout: float | None = None
    ) -> order_pb2.Order:
        """One order with its fills, by the server's order_id or by its request_id."""
        if not order_id and not request_id:
            raise ValueError("order_id or request_id is required")
        request = bs.GetOrderRequest(order_id=order_id, request_id=request_id)
        response: bs.GetOrderResponse = await self._unary("GetOrder", request, timeout)
        return response.order

    async def list_orders(
        self,
        filter: build.OrderFilterArg = None,
        account: str = "",
        *,
        page_size: int = 0,
        timeout: float | None = None,
    ) -> list[order_pb2.Order]:
        """Orders, newest first: filter None/"all", "open" or "completed"; every page."""
        orders: list[order_pb2.Order] = []
        token = ""
        while True:
            request = bs.ListOrdersRequest(
                filter=build.order_filter(filter),
                account=account,
                page_size=page_size,
                page_token=token,
            )
            response: bs.ListOrdersResponse = await self._unary("ListOrders", request, timeout)
            orders.extend(response.orders)
            token = response.next_page_token
            if not token:
                return orders

    async def account(
        self, account_id: str = "", *, timeout: float | None = None
    ) -> list[account_pb2.AccountSummary]:
        """Summary values of one account, or of every managed account."""
        request = bs.GetAccountRequest(account_id=account_id)
        response: bs.GetAccountResponse = await self._unary("GetAccount", request, timeout)
        return list(response.accounts)

    async def positions(
        self, account_id: str = "", *, timeout: float | None = None
    ) -> list[account_pb2.Position]:
        request = bs.ListPositionsRequest(account_id=account_id)
        response: bs.ListPositionsResponse = await self._unary("ListPositions", request, timeout)
        return list(response.positions)

    async def quote(
        self, contract: contract_pb2.Contract | str, *, timeout: float | None = None
    ) -> market_data_pb2.Quote:
        request = bs.GetQuoteRequest(contract=build.as_contract(contract))
        response: bs.GetQuoteResponse = await self._unary("GetQuote", request, timeout)
        return response.quote

    async def historical_bars(
        self,
        contract: contract_pb2.Contract | str,
        duration: str = "1 D",
        bar_size: str = "5 mins",
        *,
        end_time: dt.datetime | None = None,
        what: str | int = "trades",
        outside_rth: bool = False,
        timeout: float | None = None,
    ) -> bs.GetHistoricalBarsResponse:
        """Bars (oldest first) ending at end_time (None = now) over IB's duration ("1 D",
        "3600 S") in IB's bar size ("1 min", "1 day"); what: trades, midpoint, bid, ask, ...
        IB's pacing is kept by the server (RateLimitedError.retry_after says when)."""
        request = dv.historical_bars_request(
            build.as_contract(contract), duration, bar_size, end_time, what, outside_rth
        )
        response: bs.GetHistoricalBarsResponse = await self._unary(
            "GetHistoricalBars", request, timeout
        )
        return response

    # --- commands (each with a request_id reused on retries) -----------------------------

    async def place_order(
        self,
        contract: contract_pb2.Contract | str,
        spec: order_pb2.OrderSpec,
        bracket: order_pb2.BracketSpec | None = None,
        what_if: bool = False,
        request_id: str | None = None,
        *,
        timeout: float | None = None,
    ) -> bs.PlaceOrderResponse:
        """Place an order (optionally a bracket); what_if only previews margin and commission."""
        rid = build.request_id_or_new(request_id)
        request = build.place_order(build.as_contract(contract), spec, bracket, what_if, rid)
        result: bs.PlaceOrderResponse = await self._unary("PlaceOrder", request, timeout, rid)
        return result

    async def modify_order(
        self,
        order_id: str,
        *,
        quantity: object = None,
        limit_price: object = None,
        stop_price: object = None,
        trailing_amount: object = None,
        trailing_percent: object = None,
        tif: str | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> order_pb2.Order:
        """Change a working order; only the values given change."""
        rid = build.request_id_or_new(request_id)
        request = build.modify_order(
            order_id,
            rid,
            quantity=quantity,
            limit_price=limit_price,
            stop_price=stop_price,
            trailing_amount=trailing_amount,
            trailing_percent=trailing_percent,
            tif=tif,
        )
        response: bs.ModifyOrderResponse = await self._unary("ModifyOrder", request, timeout, rid)
        return response.order

    async def cancel_order(
        self, order_id: str, *, request_id: str | None = None, timeout: float | None = None
    ) -> order_pb2.Order:
        """Request cancellation; the order comes back PENDING_CANCEL, CANCELLED or FILLED."""
        rid = build.request_id_or_new(request_id)
        request = bs.CancelOrderRequest(request_id=rid, order_id=build.check_order_id(order_id))
        response: bs.CancelOrderResponse = await self._unary("CancelOrder", request, timeout, rid)
        return response.order

    async def cancel_all_orders(
        self, *, request_id: str | None = None, timeout: float | None = None
    ) -> list[str]:
        """Cancel every working order of the session; returns the ids being cancelled."""
        rid = build.request_id_or_new(request_id)
        request = bs.CancelAllOrdersRequest(request_id=rid)
        response: bs.CancelAllOrdersResponse = await self._unary(
            "CancelAllOrders", request, timeout, rid
        )
        return list(response.order_ids)

    async def halt_trading(
        self, reason: str = "", *, request_id: str | None = None, timeout: float | None = None
    ) -> bs.HaltTradingResponse:
        """Engage the kill switch (admin): cancel every open order at TWS and refuse new ones
        until resume_trading(). Returns the kill switch and the ids of the cancelled orders."""
        rid = build.request_id_or_new(request_id)
        request = bs.HaltTradingRequest(request_id=rid, reason=reason)
        result: bs.HaltTradingResponse = await self._unary("HaltTrading", request, timeout, rid)
        return result

    async def resume_trading(
        self, *, request_id: str | None = None, timeout: float | None = None
    ) -> bs.KillSwitch:
        """Re-arm trading after halt_trading() (admin); returns the kill switch (not engaged)."""
        rid = build.request_id_or_new(request_id)
        request = bs.ResumeTradingRequest(request_id=rid)
        response: bs.ResumeTradingResponse = await self._unary(
            "ResumeTrading", request, timeout, rid
        )
        return response.kill_switch

    # --- live order handles (see order_handle) --------------------------------------------

    async def place(
        self,
        contract: contract_pb2.Contract | str,
        spec: order_pb2.OrderSpec,
        bracket: order_pb2.BracketSpec | None = None,
        request_id: str | None = None,
        *,
        timeout: float | None = None,
    ) -> AsyncOrderHandle:
        """Place an order like place_order() and return a live handle on it: its state,
        fills and events as they come, and waits for a status, a fill or the final state."""
        rid = build.request_id_or_new(request_id)
        feed = await self._live_order_feed(timeout)
        handle = AsyncOrderHandle(self, request_id=rid)
        feed.follow(handle)  # before the order exists, so no event of it is missed
        response = await self.place_order(contract, spec, bracket, False, rid, timeout=timeout)
        await handle._placed(response.order)
        feed.follow(handle)
        return handle

    async def follow_order(
        self, order_id: str, *, timeout: float | None = None
    ) -> AsyncOrderHandle:
        """A live handle on an order placed before (events from now on; its state as of now)."""
        feed = await self._live_order_feed(timeout)
        handle = AsyncOrderHandle(self, order_id=build.check_order_id(order_id))
        feed.follow(handle)
        await handle._placed(await self.get_order(order_id, timeout=timeout))
        feed.follow(handle)
        return handle

    async def _live_order_feed(self, timeout: float | None) -> OrderFeed:
        """The client's order feed, opened on first use, once the server follows it for us."""
        if self._order_feed is None or not self._order_feed.running:
            self._order_feed = OrderFeed(self.order_events())
        seconds = timeout or self.config.timeout
        try:
            await asyncio.wait_for(self._order_feed.live(), seconds)
        except TimeoutError:
            raise DeadlineExceededError(
                f"the order-event stream did not start within {seconds}s; nothing was sent"
            ) from None
        return self._order_feed

    # --- streams -------------------------------------------------------------------------

    def stream_quotes(self, contracts: Iterable[contract_pb2.Contract | str]) -> AsyncQuoteStream:
        """Live quotes (batches, statuses, heartbeats, and StreamReconnected after a drop)."""
        tracker = QuoteTracker(build.contracts_list(contracts))
        return self._open_stream("StreamQuotes", tracker)

    def stream_bars(
        self,
        contract: contract_pb2.Contract | str,
        bar_size: str = "",
        *,
        what: str | int = "trades",
        outside_rth: bool = False,
    ) -> AsyncResumableStream[bs.StreamBarsResponse]:
        """Live bars: IB's 5-second real-time bars (bar_size "") or bars of bar_size kept up to
        date (the forming bar again and again, then completed); restarted after a drop."""
        request = dv.stream_bars_request(build.as_contract(contract), bar_size, what, outside_rth)
        return self._open_stream("StreamBars", dv.RestartTracker("bars", request))

    def stream_pnl(
        self, account_ids: Iterable[str] = (), *, positions: bool = False
    ) -> AsyncResumableStream[bs.StreamPnLResponse]:
        """Daily, unrealized and realized PnL of the accounts (all managed when none given),
        and with positions=True of each position held when the stream starts."""
        request = bs.StreamPnLRequest(account_ids=list(account_ids), include_positions=positions)
        return self._open_stream("StreamPnL", dv.RestartTracker("pnl", request))

    def stream_market_depth(
        self, contract: contract_pb2.Contract | str, rows: int = 10
    ) -> AsyncResumableStream[bs.StreamMarketDepthResponse]:
        """The level-2 book: a full book first (and after a drop), then changes in order
        (dv.DepthKeeper keeps the book from them)."""
        request = bs.StreamMarketDepthRequest(contract=build.as_contract(contract), rows=rows)
        return self._open_stream("StreamMarketDepth", dv.RestartTracker("depth", request))

    def order_events(
        self, resume_after_sequence: int = 0, account: str = ""
    ) -> AsyncOrderEventStream:
        """Order events after `resume_after_sequence` (0 = live only), resumed across drops."""
        if resume_after_sequence < 0:
            raise ValueError("resume_after_sequence must be >= 0")
        tracker = OrderEventTracker(resume_after_sequence, account)
        return self._open_stream("StreamOrderEvents", tracker)
