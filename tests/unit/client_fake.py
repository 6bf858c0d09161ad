"""A scripted, in-process BrokerService for unit tests of the client layer only.

It records every call (method, request, metadata), can fail the next calls of a method with a
chosen status + google.rpc.ErrorInfo, and keeps just enough state (orders by request_id, an
order-event log) for the client's behaviour to be observable. The real server is tested
against the real client in tests/integration.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from ibkr_broker.client.connection import ENV, ClientConfig
from ibkr_broker.v1 import (
    account_pb2,
    broker_service_pb2_grpc,
    common_pb2,
    contract_pb2,
    market_data_pb2,
    order_pb2,
)
from ibkr_broker.v1 import (
    broker_service_pb2 as bs,
)

# The environment variables the client reads (tests clear them: see conftest.no_client_env).
CLIENT_ENV = tuple(ENV.values())


@dataclass
class Failure:
    code: grpc.StatusCode
    message: str
    reason: str = ""
    ib_code: int | None = None
    field: str | None = None


@dataclass
class Call:
    method: str
    request: Any
    metadata: dict[str, str]


def status_with_info(failure: Failure) -> grpc.Status:
    status = status_pb2.Status(code=failure.code.value[0], message=failure.message)
    if failure.reason:
        metadata = {}
        if failure.ib_code is not None:
            metadata["ib_code"] = str(failure.ib_code)
        if failure.field:
            metadata["field"] = failure.field
        info = error_details_pb2.ErrorInfo(
            reason=failure.reason, domain="ibkr-broker", metadata=metadata
        )
        detail = any_pb2.Any()
        detail.Pack(info)
        status.details.append(detail)
    return rpc_status.to_status(status)


def aapl_details() -> contract_pb2.ContractDetails:
    return contract_pb2.ContractDetails(
        contract=contract_pb2.Contract(
            con_id=265598,
            security_type=contract_pb2.SECURITY_TYPE_STOCK,
            symbol="AAPL",
            exchange="SMART",
            primary_exchange="NASDAQ",
            currency="USD",
            local_symbol="AAPL",
            trading_class="NMS",
        ),
        min_tick="0.01",
        long_name="APPLE INC",
        valid_exchanges=["SMART", "NASDAQ"],
        order_types=["LMT", "MKT"],
    )


@dataclass
class FakeBroker(broker_service_pb2_grpc.BrokerServiceServicer):
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    status: bs.GetStatusResponse = field(
        default_factory=lambda: bs.GetStatusResponse(
            connection_state=common_pb2.CONNECTION_STATE_READY,
            server_version=178,
            accounts=["DU1234567"],
            paper_trading=True,
            trading_enabled=True,
            tws_host="127.0.0.1",
            tws_port=7497,
            client_id=1,
            server_software_version="0.1.0",
        )
    )
    contracts: dict[str, list[contract_pb2.ContractDetails]] = field(
        default_factory=lambda: {"AAPL": [aapl_details()]}
    )
    orders: dict[str, order_pb2.Order] = field(default_factory=dict)
    responses_by_request: dict[str, bs.PlaceOrderResponse] = field(default_factory=dict)
    placed: int = 0
    page_size: int = 2
    # Order-event log (sequence = index + 1) and, per StreamOrderEvents call, how many messages
    # to send before dropping the stream with UNAVAILABLE (None = send all, then end).
    events: list[order_pb2.OrderEvent] = field(default_factory=list)
    event_drops: list[int | None] = field(default_factory=list)
    replay_overlap: int = 0  # resend this many already-delivered events after a resume (a bug)
    quote_messages: list[bs.StreamQuotesResponse] = field(default_factory=list)
    quote_drops: list[int | None] = field(default_factory=list)
    hold_streams_open: bool = False
    hold_status: bool = False  # GetStatus waits like a held stream (for interrupting a call)
    holding: int = 0  # calls held open right now (they end when the client cancels them)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- scripting ---------------------------------------------------------------------

    def fail(self, method: str, failure: Failure, times: int = 1) -> None:
        self.failures.setdefault(method, []).extend([failure] * times)

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def _enter(self, method: str, request: Any, context: grpc.ServicerContext) -> None:
        metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        with self._lock:
            self.calls.append(Call(method, request, metadata))
            pending = self.failures.get(method)
            failure = pending.pop(0) if pending else None
        if failure is not None:
            context.abort_with_status(status_with_info(failure))

    def _abort(self, context: grpc.ServicerContext, failure: Failure) -> None:
        context.abort_with_status(status_with_info(failure))

    # --- unary -------------------------------------------------------------------------

    def GetStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("GetStatus", request, context)
        if self.hold_status:
            self._hold(context)  # answers only once the client gives up on the call
        return self.status

    def ResolveContract(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("ResolveContract", request, context)
        matches = self.contracts.get(request.contract.symbol)
        if not matches:
            self._abort(context, _not_found(request.contract.symbol))
        return bs.ResolveContractResponse(matches=matches)

    def GetOptionChain(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("GetOptionChain", request, context)
        if request.underlying.symbol not in self.contracts:
            self._abort(context, _not_found(request.underlying.symbol))
        underlying = self.contracts[request.underlying.symbol][0].contract
        return bs.GetOptionChainResponse(
            underlying=underlying,
            chains=[
                contract_pb2.OptionChain(
                    exchange="SMART",
                    underlying_con_id=underlying.con_id,
                    trading_class=underlying.symbol,
                    multiplier="100",
                    expirations=["20260116", "20260220"],
                    strikes=["180", "190", "200"],
                ),
                contract_pb2.OptionChain(
                    exchange="CBOE",
                    underlying_con_id=underlying.con_id,
                    trading_class=underlying.symbol,
                    multiplier="100",
                    expirations=["20260116"],
                    strikes=["185", "190"],
                ),
            ],
        )

    def PlaceOrder(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("PlaceOrder", request, context)
        if not request.request_id:
            self._abort(
                context,
                Failure(grpc.StatusCode.INVALID_ARGUMENT, "request_id is required",
                        "INVALID_ARGUMENT", field="request_id"),
            )  # fmt: skip
        with self._lock:
            if request.request_id in self.responses_by_request:
                return self.responses_by_request[request.request_id]
            if request.what_if:
                response = bs.PlaceOrderResponse(
                    preview=order_pb2.OrderPreview(
                        initial_margin_change="1900.5",
                        maintenance_margin_change="1900.5",
                        commission="1",
                        commission_currency="USD",
                    )
                )
            else:
                self.placed += 1
                order = self._new_order(request.request_id, request.contract, request.order)
                response = bs.PlaceOrderResponse(order=order)
                if request.HasField("bracket"):
                    buy = request.order.action == common_pb2.ORDER_ACTION_BUY
                    exit_spec = order_pb2.OrderSpec(
                        action=common_pb2.ORDER_ACTION_SELL if buy else common_pb2.ORDER_ACTION_BUY,
                        quantity=request.order.quantity,
                        order_type=order_pb2.ORDER_TYPE_LIMIT,
                        limit_price=request.bracket.take_profit_limit_price,
                    )
                    child = self._new_order(request.request_id + "-tp", request.contract, exit_spec)
                    child.parent_order_id = order.order_id
                    child.status = order_pb2.ORDER_STATUS_PRE_SUBMITTED
                    response.bracket_orders.append(child)
            self.responses_by_request[request.request_id] = response
            return response

    def _new_order(
        self, request_id: str, contract: Any, spec: order_pb2.OrderSpec
    ) -> order_pb2.Order:
        order_id = f"ord-{next(self._ids)}"
        resolved = contract_pb2.Contract()
        resolved.CopyFrom(contract)
        if resolved.symbol in self.contracts and not resolved.con_id:
            resolved.con_id = self.contracts[resolved.symbol][0].contract.con_id
        market = spec.order_type == order_pb2.ORDER_TYPE_MARKET
        order = order_pb2.Order(
            order_id=order_id,
            request_id=request_id,
            contract=resolved,
            spec=spec,
            status=order_pb2.ORDER_STATUS_FILLED if market else order_pb2.ORDER_STATUS_SUBMITTED,
            filled_quantity=spec.quantity if market else "0",
            remaining_quantity="0" if market else spec.quantity,
            average_fill_price="100.25" if market else "",
            ib_order_id=next(self._ids),
            account=spec.account or "DU1234567",
            total_commission="1" if market else "0",
            commission_currency="USD" if market else "",
        )
        order.create_time.FromSeconds(1_700_000_000)
        order.update_time.FromSeconds(1_700_000_000)
        if market:
            order.executions.append(
                order_pb2.Execution(
                    execution_id=f"exec-{order_id}",
                    order_id=order_id,
                    side=spec.action,
                    quantity=spec.quantity,
                    price="100.25",
                    exchange="NASDAQ",
                    commission="1",
                    commission_currency="USD",
                    cumulative_quantity=spec.quantity,
                    average_price="100.25",
                    account=order.account,
                )
            )
        self.orders[order_id] = order
        return order

    def _order(self, order_id: str, context: grpc.ServicerContext) -> order_pb2.Order:
        order = self.orders.get(order_id)
        if order is None:
            self._abort(
                context,
                Failure(grpc.StatusCode.NOT_FOUND, f"no order {order_id}", "ORDER_NOT_FOUND"),
            )
        assert order is not None
        return order

    def ModifyOrder(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("ModifyOrder", request, context)
        order = self._order(request.order_id, context)
        if request.quantity:
            order.spec.quantity = request.quantity
        if request.limit_price:
            order.spec.limit_price = request.limit_price
        return bs.ModifyOrderResponse(order=order)

    def CancelOrder(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("CancelOrder", request, context)
        order = self._order(request.order_id, context)
        if order.status != order_pb2.ORDER_STATUS_FILLED:
            order.status = order_pb2.ORDER_STATUS_CANCELLED
        return bs.CancelOrderResponse(order=order)

    def CancelAllOrders(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("CancelAllOrders", request, context)
        ids = []
        for order in self.orders.values():
            if order.status == order_pb2.ORDER_STATUS_SUBMITTED:
                order.status = order_pb2.ORDER_STATUS_PENDING_CANCEL
                ids.append(order.order_id)
        return bs.CancelAllOrdersResponse(order_ids=ids)

    def GetOrder(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("GetOrder", request, context)
        if request.order_id:
            return bs.GetOrderResponse(order=self._order(request.order_id, context))
        for order in self.orders.values():
            if order.request_id == request.request_id:
                return bs.GetOrderResponse(order=order)
        return self._order("?", context)

    def ListOrders(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("ListOrders", request, context)
        terminal = {order_pb2.ORDER_STATUS_FILLED, order_pb2.ORDER_STATUS_CANCELLED}
        orders = list(reversed(self.orders.values()))
        if request.filter == order_pb2.ORDER_FILTER_OPEN:
            orders = [o for o in orders if o.status not in terminal]
        elif request.filter == order_pb2.ORDER_FILTER_COMPLETED:
            orders = [o for o in orders if o.status in terminal]
        start = int(request.page_token or 0)
        page = orders[start : start + self.page_size]
        more = start + self.page_size < len(orders)
        return bs.ListOrdersResponse(
            orders=page, next_page_token=str(start + self.page_size) if more else ""
        )

    def GetAccount(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("GetAccount", request, context)
        summary = account_pb2.AccountSummary(
            account_id="DU1234567",
            currency="USD",
            net_liquidation="1000000.00",
            total_cash="950000.50",
            buying_power="4000000",
            available_funds="900000",
            excess_liquidity="910000",
            maintenance_margin="10000",
            initial_margin="12000",
            equity_with_loan="1000000",
            gross_position_value="50000",
            unrealized_pnl="123.45",
            realized_pnl="-6.7",
        )
        summary.update_time.FromSeconds(1_700_000_000)
        return bs.GetAccountResponse(accounts=[summary])

    def ListPositions(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("ListPositions", request, context)
        option = contract_pb2.Contract(
            con_id=555,
            security_type=contract_pb2.SECURITY_TYPE_OPTION,
            symbol="AAPL",
            last_trade_date="20260116",
            strike="190",
            right=contract_pb2.OPTION_RIGHT_CALL,
            multiplier="100",
            currency="USD",
        )
        return bs.ListPositionsResponse(
            positions=[
                account_pb2.Position(
                    account_id="DU1234567",
                    contract=self.contracts["AAPL"][0].contract,
                    quantity="10",
                    average_cost="150.5",
                    market_price="190",
                    market_value="1900",
                    unrealized_pnl="395",
                    realized_pnl="0",
                ),
                account_pb2.Position(
                    account_id="DU1234567",
                    contract=option,
                    quantity="-2",
                    average_cost="512.30",
                    market_price="4.1",
                    market_value="-820",
                    unrealized_pnl="204.6",
                    realized_pnl="",
                ),
            ]
        )

    def GetQuote(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("GetQuote", request, context)
        if request.contract.symbol not in self.contracts:
            self._abort(context, _not_found(request.contract.symbol))
        return bs.GetQuoteResponse(quote=quote("AAPL", "189.99", "190.01", "190"))

    # --- streams -------------------------------------------------------------------------

    def _hold(self, context: grpc.ServicerContext) -> None:
        done = threading.Event()
        context.add_callback(done.set)
        with self._lock:
            self.holding += 1
        try:
            if context.is_active():
                done.wait(timeout=30)
        finally:
            with self._lock:
                self.holding -= 1

    def StreamQuotes(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        self._enter("StreamQuotes", request, context)
        number = len(self.calls_of("StreamQuotes")) - 1
        drop = self.quote_drops[number] if number < len(self.quote_drops) else None
        for sent, message in enumerate(self.quote_messages):
            if drop is not None and sent == drop:
                self._abort(context, Failure(grpc.StatusCode.UNAVAILABLE, "connection reset"))
            yield message
        if self.hold_streams_open:
            self._hold(context)

    def StreamOrderEvents(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        self._enter("StreamOrderEvents", request, context)
        number = len(self.calls_of("StreamOrderEvents")) - 1
        drop = self.event_drops[number] if number < len(self.event_drops) else None
        start = int(request.resume_after_sequence)
        if start and number:
            start = max(0, start - self.replay_overlap)
        sent = 0
        for index, event in enumerate(self.events):
            sequence = index + 1
            if sequence <= start:
                continue
            if drop is not None and sent == drop:
                self._abort(context, Failure(grpc.StatusCode.UNAVAILABLE, "socket closed"))
            yield bs.StreamOrderEventsResponse(sequence=sequence, event=event)
            sent += 1
        if self.hold_streams_open:
            self._hold(context)


def _not_found(symbol: str) -> Failure:
    return Failure(
        grpc.StatusCode.NOT_FOUND,
        f"No security definition has been found for the request ({symbol})",
        "CONTRACT_NOT_FOUND",
        ib_code=200,
    )


def quote(symbol: str, bid: str, ask: str, last: str) -> market_data_pb2.Quote:
    result = market_data_pb2.Quote(
        con_id=265598 if symbol == "AAPL" else 4815747,
        symbol=symbol,
        bid=bid,
        ask=ask,
        last=last,
        bid_size="100",
        ask_size="200",
        last_size="5",
        volume="123456",
        close="188.5",
        market_data_type=market_data_pb2.MARKET_DATA_TYPE_LIVE,
    )
    result.update_time.FromSeconds(1_700_000_000)
    return result


def quote_batch(sequence: int, *quotes: market_data_pb2.Quote) -> bs.StreamQuotesResponse:
    return bs.StreamQuotesResponse(
        sequence=sequence, quotes=market_data_pb2.QuoteBatch(quotes=list(quotes))
    )


def order_event(order_id: str, status: int) -> order_pb2.OrderEvent:
    return order_pb2.OrderEvent(
        type=order_pb2.ORDER_EVENT_TYPE_STATUS_CHANGED,
        order=order_pb2.Order(
            order_id=order_id,
            status=status,  # type: ignore[arg-type]
            contract=contract_pb2.Contract(symbol="AAPL"),
        ),
    )


@dataclass
class FakeServer:
    broker: FakeBroker
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def config(self, **changes: Any) -> ClientConfig:
        """Fast client settings for tests: no backoff delays, short deadlines."""
        values: dict[str, Any] = {
            "target": self.target, "timeout": 5.0, "backoff": 0.0, "max_backoff": 0.0,
            "retries": 3, "stream_retries": 3,
        }  # fmt: skip
        values.update(changes)
        return ClientConfig(**values)


@contextmanager
def running_fake(broker: FakeBroker | None = None, credentials: Any = None) -> Iterator[FakeServer]:
    """Serve a FakeBroker on 127.0.0.1:0 in this process (threads) for the duration."""
    broker = broker or FakeBroker()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    broker_service_pb2_grpc.add_BrokerServiceServicer_to_server(broker, server)
    if credentials is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield FakeServer(broker, port)
    finally:
        server.stop(grace=None)


def free_port_target() -> str:
    """A target nothing listens on (a port bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"
