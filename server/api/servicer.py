"""BrokerService over a BrokerSession and its Trader: validate, call, translate. No state of its
own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from ibkr_broker import __version__
from ibkr_broker.v1 import (
    broker_service_pb2 as pb,
)
from ibkr_broker.v1 import (
    broker_service_pb2_grpc,
    common_pb2,
    order_pb2,
)

from ..domain import errors
from ..domain.model import ConnectionState, IbError
from ..session.broker_session import BrokerSession
from ..session.fan_out import IdleWaiter, Signal, wait_any
from ..session.market_data import Subscriber
from ..trading.order_terms import Modification
from ..trading.trader import Trader
from . import proto_convert as cv
from . import quote_wire
from . import validate as v
from .auth import current_principal
from .data_rpcs import DataRpcs
from .errors import streaming, unary
from .proto_enums import CONNECTION_STATES, TIFS
from .quote_wire import QuoteFields

MAX_STREAM_CONTRACTS = 500
MAX_BATCH = 500
DEFAULT_PAGE = 100
MAX_PAGE = 1000
MAX_HALT_REASON = 500
POSITION_VALUES_WAIT = 2.0  # seconds ListPositions waits for reqPnLSingle values it lacks


def now_ts() -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.now(UTC))
    return ts


class BrokerServicer(DataRpcs, broker_service_pb2_grpc.BrokerServiceServicer):
    read_only = False  # security.read_only, set by BrokerApp; shown by GetStatus

    def __init__(
        self,
        session: BrokerSession,
        trader: Trader,
        heartbeat_interval: float = 5.0,
    ) -> None:
        self.session = session
        self.trader = trader
        self.heartbeat_interval = heartbeat_interval
        self.draining = Signal()  # set once, when the server drains
        self.quote_fields = QuoteFields()  # each contract's quote encoded once per version

    # --- status and contracts -------------------------------------------------------------------

    @unary
    async def GetStatus(self, request: pb.GetStatusRequest, context: Any) -> pb.GetStatusResponse:
        s = self.session
        reason = self.trader.kill_switch.disabled_reason() or s.trading_disabled_reason()
        this = pb.GatewayStatus(
            accounts=list(s.accounts),
            connection_state=CONNECTION_STATES[s.state],
            server_version=s.server_version,
            tws_host=s.config.host,
            tws_port=s.config.port,
            client_id=s.config.client_id,
            trading_enabled=not reason,
            trading_disabled_reason=reason,
            connect_time=cv._ts(s.connect_time) if s.ready else None,
            server_software_version=__version__,
            paper_trading=s.config.paper_trading,
        )
        return pb.GetStatusResponse(
            connection_state=this.connection_state,
            server_version=this.server_version,
            accounts=this.accounts,
            paper_trading=this.paper_trading,
            trading_enabled=this.trading_enabled,
            trading_disabled_reason=reason,
            tws_host=this.tws_host,
            tws_port=this.tws_port,
            client_id=this.client_id,
            connect_time=this.connect_time if this.HasField("connect_time") else None,
            server_software_version=__version__,
            kill_switch=cv.kill_switch_to_proto(self.trader.kill_switch.state),
            read_only=self.read_only,
            max_server_version=s.config.max_server_version,
            gateways=[this],  # the server itself; an edge lists every gateway on the bus
        )

    @unary
    async def ResolveContract(
        self, request: pb.ResolveContractRequest, context: Any
    ) -> pb.ResolveContractResponse:
        contract = cv.contract_from_proto(request.contract)
        if contract.is_combo:
            raise errors.InvalidArgument("contract.security_type", "a combo is not resolvable")
        matches = await self.session.queries.contract_details(contract)
        if not matches:
            raise errors.ContractNotFound("no contract matches the request")
        return pb.ResolveContractResponse(matches=[cv.details_to_proto(d) for d in matches])

    @unary
    async def GetOptionChain(
        self, request: pb.GetOptionChainRequest, context: Any
    ) -> pb.GetOptionChainResponse:
        underlying = await self.trader.resolve_one(
            cv.contract_from_proto(request.underlying, "underlying")
        )
        chains = await self.session.queries.option_chains(underlying)
        return pb.GetOptionChainResponse(
            underlying=cv.contract_to_proto(underlying),
            chains=[cv.chain_to_proto(c) for c in chains],
        )

    # --- orders -----------------------------------------------------------------------------------

    @unary
    async def PlaceOrder(
        self, request: pb.PlaceOrderRequest, context: Any
    ) -> pb.PlaceOrderResponse:
        request_id = v.request_id("request_id", request.request_id)
        if not request.HasField("contract"):
            raise errors.InvalidArgument("contract", "required")
        if not request.HasField("order"):
            raise errors.InvalidArgument("order", "required")
        contract = cv.contract_from_proto(request.contract)
        spec = cv.spec_from_proto(request.order, combo=contract.is_combo)
        bracket = (
            cv.bracket_from_proto(request.bracket, spec) if request.HasField("bracket") else None
        )
        if bracket and request.what_if:
            raise errors.InvalidArgument("what_if", "not supported together with a bracket")
        placed = await self.trader.place(
            request_id, contract, spec, bracket, request.what_if, caller=current_principal()
        )
        return pb.PlaceOrderResponse(
            order=cv.order_to_proto(placed.order) if placed.order else None,
            bracket_orders=[cv.order_to_proto(o) for o in placed.bracket_orders],
            preview=cv.preview_to_proto(placed.preview) if placed.preview else None,
        )

    @unary
    async def ModifyOrder(
        self, request: pb.ModifyOrderRequest, context: Any
    ) -> pb.ModifyOrderResponse:
        request_id = v.request_id("request_id", request.request_id)
        order_id = v.text("order_id", request.order_id, required=True, limit=v.MAX_ID)
        v.enum_value("time_in_force", order_pb2.TimeInForce, request.time_in_force, required=False)
        change = Modification(
            quantity=v.decimal("quantity", request.quantity, positive=True, maximum=v.MAX_QUANTITY),
            limit_price=v.decimal("limit_price", request.limit_price),
            stop_price=v.decimal("stop_price", request.stop_price),
            trailing_amount=v.decimal("trailing_amount", request.trailing_amount, positive=True),
            trailing_percent=v.percent("trailing_percent", request.trailing_percent),
            time_in_force=TIFS.get(request.time_in_force),
        )
        order = await self.trader.modify(request_id, order_id, change, current_principal())
        return pb.ModifyOrderResponse(order=cv.order_to_proto(order))

    @unary
    async def CancelOrder(
        self, request: pb.CancelOrderRequest, context: Any
    ) -> pb.CancelOrderResponse:
        request_id = v.request_id("request_id", request.request_id)
        order_id = v.text("order_id", request.order_id, required=True, limit=v.MAX_ID)
        order = await self.trader.cancel(request_id, order_id)
        return pb.CancelOrderResponse(order=cv.order_to_proto(order))

    @unary
    async def CancelAllOrders(
        self, request: pb.CancelAllOrdersRequest, context: Any
    ) -> pb.CancelAllOrdersResponse:
        request_id = v.request_id("request_id", request.request_id)
        return pb.CancelAllOrdersResponse(order_ids=await self.trader.cancel_all(request_id))

    @unary
    async def HaltTrading(
        self, request: pb.HaltTradingRequest, context: Any
    ) -> pb.HaltTradingResponse:
        request_id = v.request_id("request_id", request.request_id)
        reason = v.text("reason", request.reason, limit=MAX_HALT_REASON)
        principal = current_principal()
        halted = await self.trader.halt(request_id, reason, principal.name if principal else "")
        return pb.HaltTradingResponse(
            kill_switch=cv.kill_switch_to_proto(halted.kill_switch),
            cancelled_order_ids=list(halted.cancelled_order_ids),
        )

    @unary
    async def ResumeTrading(
        self, request: pb.ResumeTradingRequest, context: Any
    ) -> pb.ResumeTradingResponse:
        request_id = v.request_id("request_id", request.request_id)
        state = await self.trader.resume(request_id)
        return pb.ResumeTradingResponse(kill_switch=cv.kill_switch_to_proto(state))

    @unary
    async def GetOrder(self, request: pb.GetOrderRequest, context: Any) -> pb.GetOrderResponse:
        order_id = v.text("order_id", request.order_id, limit=v.MAX_ID)
        request_id = v.text("request_id", request.request_id, limit=v.MAX_ID)
        if not order_id and not request_id:
            raise errors.InvalidArgument("order_id", "give order_id or request_id")
        book = self.session.orders
        order = book.get(order_id) if order_id else book.by_request(request_id)
        if order is None:
            raise errors.OrderNotFound(f"no order {order_id or request_id!r}")
        return pb.GetOrderResponse(order=cv.order_to_proto(order))

    @unary
    async def ListOrders(
        self, request: pb.ListOrdersRequest, context: Any
    ) -> pb.ListOrdersResponse:
        v.enum_value("filter", order_pb2.OrderFilter, request.filter, required=False)
        account = v.text("account", request.account, limit=32)
        if not 0 <= request.page_size <= MAX_PAGE:
            raise errors.InvalidArgument("page_size", f"must be 0 to {MAX_PAGE}")
        size = request.page_size or DEFAULT_PAGE
        start = v.page_offset("page_token", request.page_token)
        which = {
            order_pb2.ORDER_FILTER_OPEN: "open",
            order_pb2.ORDER_FILTER_COMPLETED: "completed",
        }.get(request.filter, "all")
        page, more = self.session.orders.page(which, account, start, size)
        return pb.ListOrdersResponse(
            orders=[cv.order_to_proto(o) for o in page],
            next_page_token=v.page_token(start + size) if more else "",
        )

    @streaming
    async def StreamOrderEvents(
        self, request: pb.StreamOrderEventsRequest, context: Any
    ) -> AsyncIterator[pb.StreamOrderEventsResponse]:
        account = v.text("account", request.account, limit=32)
        journal = self.session.journal
        if request.resume_after_sequence > journal.last_sequence:
            raise errors.JournalGap(
                f"resume_after_sequence {request.resume_after_sequence} is ahead of the last "
                f"event ({journal.last_sequence}): the server lost its journal; start afresh"
            )
        cursor = request.resume_after_sequence or journal.last_sequence
        journal.since(cursor)  # OUT_OF_RANGE now when the resume point has left the window
        # The first message tells a fresh subscriber where the stream starts, so it can resume
        # from there without a gap even if the stream drops before the first event.
        yield pb.StreamOrderEventsResponse(
            sequence=cursor,
            status=common_pb2.SessionStatus(
                connection_state=CONNECTION_STATES[self.session.state],
                message=f"streaming order events after sequence {cursor}",
            ),
        )
        states: asyncio.Queue[tuple[ConnectionState, IbError | None]] = asyncio.Queue(maxsize=64)

        state_changed = asyncio.Event()

        def on_state(state: ConnectionState, error: IbError | None) -> None:
            with contextlib.suppress(asyncio.QueueFull):
                states.put_nowait((state, error))
            state_changed.set()

        self.session.state_listeners.append(on_state)
        try:
            while not self.draining.is_set():
                for event in journal.since(cursor):
                    cursor = event.sequence
                    if account and event.order.account != account:
                        continue
                    yield pb.StreamOrderEventsResponse(
                        sequence=cursor, event=cv.event_to_proto(event)
                    )
                state_changed.clear()
                while not states.empty():
                    state, error = states.get_nowait()
                    yield pb.StreamOrderEventsResponse(
                        sequence=cursor,
                        status=common_pb2.SessionStatus(
                            connection_state=CONNECTION_STATES[state],
                            message=f"TWS session {state.value}",
                            ib_error=cv.error_to_proto(error),
                        ),
                    )
                woke = await self._wait_any(
                    journal.wait_after(cursor, self.heartbeat_interval), state_changed
                )
                if not woke and not self.draining.is_set():
                    yield pb.StreamOrderEventsResponse(
                        sequence=cursor, heartbeat=common_pb2.Heartbeat(server_time=now_ts())
                    )
        finally:
            self.session.state_listeners.remove(on_state)

    async def _wait_any(self, journal_wait: Awaitable[bool], state_changed: asyncio.Event) -> bool:
        """Wait for a journal event, a state change or draining; False on heartbeat timeout."""
        tasks = [
            asyncio.ensure_future(journal_wait),
            asyncio.ensure_future(state_changed.wait()),
            asyncio.ensure_future(self.draining.wait()),
        ]
        try:
            done, _ = await asyncio.wait(
                tasks, timeout=self.heartbeat_interval, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for t in tasks:
                t.cancel()
        return any(t.result() for t in done if not t.cancelled())

    # --- account --------------------------------------------------------------------------------

    @unary
    async def GetAccount(
        self, request: pb.GetAccountRequest, context: Any
    ) -> pb.GetAccountResponse:
        account = v.text("account_id", request.account_id, limit=32)
        summaries = await self.session.queries.account_summaries()
        if account:
            summaries = [s for s in summaries if s.account_id == account]
            if not summaries:
                raise errors.NotFound(f"account {account} is not managed")
        return pb.GetAccountResponse(accounts=[cv.summary_to_proto(s) for s in summaries])

    @unary
    async def ListPositions(
        self, request: pb.ListPositionsRequest, context: Any
    ) -> pb.ListPositionsResponse:
        account = v.text("account_id", request.account_id, limit=32)
        positions = await self.session.queries.positions()
        if account:
            positions = [p for p in positions if p.account_id == account]
        positions = await self.session.feeds.pnl.position_values(positions, POSITION_VALUES_WAIT)
        return pb.ListPositionsResponse(positions=[cv.position_to_proto(p) for p in positions])

    # --- quotes -----------------------------------------------------------------------------------

    @unary
    async def GetQuote(self, request: pb.GetQuoteRequest, context: Any) -> pb.GetQuoteResponse:
        contract = await self.trader.resolve_one(cv.contract_from_proto(request.contract))
        quote = await self.session.queries.snapshot_quote(contract)
        return pb.GetQuoteResponse(quote=cv.quote_to_proto(quote))

    @streaming
    async def StreamQuotes(
        self, request: pb.StreamQuotesRequest, context: Any
    ) -> AsyncIterator[pb.StreamQuotesResponse | bytes]:
        """Quote batches go out as bytes encoded once for every subscriber (quote_wire)."""
        if not request.contracts:
            raise errors.InvalidArgument("contracts", "give at least one contract")
        if len(request.contracts) > MAX_STREAM_CONTRACTS:
            raise errors.InvalidArgument("contracts", f"at most {MAX_STREAM_CONTRACTS}")
        specs = [
            cv.contract_from_proto(c, f"contracts[{i}]") for i, c in enumerate(request.contracts)
        ]
        self.session.require_ready()
        contracts = {}
        for i, spec in enumerate(specs):
            if spec.is_combo:
                raise errors.InvalidArgument(f"contracts[{i}]", "combos are not streamed")
            resolved = await self.trader.resolve_one(spec)
            contracts[resolved.con_id] = resolved
        subscriber = Subscriber()
        hub = self.session.market_data
        sequence = 0
        waiter = IdleWaiter((subscriber.wake, self.draining), self.heartbeat_interval)
        try:
            await hub.subscribe(subscriber, list(contracts.values()))
            while not self.draining.is_set():
                statuses, quotes, coalesced = subscriber.take()
                for status in statuses:
                    sequence += 1
                    yield pb.StreamQuotesResponse(
                        sequence=sequence, status=cv.quote_status_to_proto(status)
                    )
                for start in range(0, len(quotes), MAX_BATCH):
                    sequence += 1
                    fields = [self.quote_fields.get(q) for q in quotes[start : start + MAX_BATCH]]
                    yield quote_wire.quotes_response(
                        sequence, fields, coalesced if start == 0 else 0
                    )
                if await waiter.wait():
                    continue  # woken in the hub's fan-out turn (market_data.py)
                if not self.draining.is_set():
                    sequence += 1
                    yield pb.StreamQuotesResponse(
                        sequence=sequence, heartbeat=common_pb2.Heartbeat(server_time=now_ts())
                    )
        finally:
            waiter.close()
            await hub.unsubscribe(subscriber)

    async def _wait_wake(self, wake: Signal) -> bool:
        """True when the stream has news or the server drains; False after heartbeat_interval."""
        if wake.is_set():
            return True
        return await wait_any((wake, self.draining), self.heartbeat_interval)
