"""An in-memory Gateway for session tests: scripted answers, no threads, no sockets.

Events are delivered with loop.call_soon, as the real bridge does with call_soon_threadsafe.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ibkr_broker.server.domain.errors import Unavailable
from ibkr_broker.server.domain.model import (
    Contract,
    ContractDetails,
    MarketDataType,
    OrderAction,
    OrderPreview,
    OrderType,
    SecurityType,
)
from ibkr_broker.server.session import ib_port as g
from ibkr_broker.server.session.session_config import SessionConfig

AAPL = Contract(
    con_id=265598,
    security_type=SecurityType.STOCK,
    symbol="AAPL",
    exchange="SMART",
    primary_exchange="NASDAQ",
    currency="USD",
)
MSFT = Contract(
    con_id=272093,
    security_type=SecurityType.STOCK,
    symbol="MSFT",
    exchange="SMART",
    primary_exchange="NASDAQ",
    currency="USD",
)


# Session settings for tests: short deadlines, fast reconnects, pacing out of the way.
FAST = SessionConfig(
    connect_timeout=1,
    request_timeout=1,
    order_timeout=1,
    reconnect_initial_delay=0.01,
    reconnect_max_delay=0.05,
    messages_per_second=1000,
    message_burst=1000,
)


class FakeGateway:
    def __init__(self, accounts: tuple[str, ...] = ("DU1234567",), next_id: int = 1) -> None:
        self.accounts = accounts
        self.next_id = next_id
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.connected = False
        self.refuse_connect = False
        self.auto_ack = True  # answer place_order with openOrder + orderStatus Submitted
        self.fill_market_orders = False
        self.contracts = [AAPL, MSFT]
        self._sink: g.EventSink | None = None
        self._perm = 1000

    # --- helpers for tests ------------------------------------------------------------------

    def emit(self, event: g.IbEvent) -> None:
        assert self._sink is not None
        asyncio.get_running_loop().call_soon(self._sink, event)

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.calls if n == name)

    def args(self, name: str) -> list[tuple[Any, ...]]:
        return [a for n, a in self.calls if n == name]

    def drop(self) -> None:
        self.connected = False
        self.emit(g.ConnectionClosedEvent("dropped by test"))

    # --- Gateway ------------------------------------------------------------------------------

    @property
    def server_version(self) -> int:
        return 178 if self.connected else 0

    def set_event_sink(self, sink: g.EventSink) -> None:
        self._sink = sink

    async def connect(self, host: str, port: int, client_id: int, timeout: float) -> None:
        self.calls.append(("connect", (host, port, client_id)))
        if self.refuse_connect:
            raise Unavailable("connection refused")
        self.connected = True
        self.emit(g.NextValidIdEvent(self.next_id))
        self.emit(g.ManagedAccountsEvent(self.accounts))
        self.emit(g.ErrorEvent(-1, 2104, "Market data farm connection is OK:usfarm"))

    async def disconnect(self) -> None:
        self.calls.append(("disconnect", ()))
        if self.connected:
            self.connected = False
            self.emit(g.ConnectionClosedEvent("disconnect()"))

    def _record(self, name: str, *args: Any) -> None:
        if not self.connected:
            raise Unavailable("not connected")
        self.calls.append((name, args))

    def req_ids(self) -> None:
        self._record("req_ids")

    def req_current_time(self) -> None:
        self._record("req_current_time")

    def req_contract_details(self, req_id: int, contract: Contract) -> None:
        self._record("req_contract_details", req_id, contract)
        for c in self.contracts:
            if (contract.con_id and c.con_id == contract.con_id) or (
                not contract.con_id and c.symbol == contract.symbol
            ):
                self.emit(g.ContractDetailsEvent(req_id, ContractDetails(c, Decimal("0.01"))))
        self.emit(g.ContractDetailsEndEvent(req_id))

    def req_sec_def_opt_params(
        self, req_id: int, symbol: str, security_type: str, con_id: int
    ) -> None:
        self._record("req_sec_def_opt_params", req_id, symbol, security_type, con_id)
        self.emit(g.OptionChainEndEvent(req_id))

    def req_market_data_type(self, market_data_type: MarketDataType) -> None:
        self._record("req_market_data_type", market_data_type)

    def req_mkt_data(self, req_id: int, contract: Contract, snapshot: bool) -> None:
        self._record("req_mkt_data", req_id, contract, snapshot)
        if snapshot:
            self.emit(g.TickPriceEvent(req_id, 1, Decimal("100.01")))
            self.emit(g.TickPriceEvent(req_id, 2, Decimal("100.03")))
            self.emit(g.TickSnapshotEndEvent(req_id))

    def cancel_mkt_data(self, req_id: int) -> None:
        self._record("cancel_mkt_data", req_id)

    def place_order(self, ib_order_id: int, contract: Contract, order: g.IbOrderRequest) -> None:
        self._record("place_order", ib_order_id, contract, order)
        if order.what_if:
            preview = OrderPreview(
                initial_margin_change=Decimal("1234.5"),
                commission=Decimal("1"),
                commission_currency="USD",
            )
            self.emit(self.open_order(ib_order_id, contract, order, "PreSubmitted", preview))
            return
        if not self.auto_ack:
            return
        self._perm += 1
        self.emit(self.open_order(ib_order_id, contract, order, "Submitted"))
        self.emit(
            g.OrderStatusEvent(
                ib_order_id,
                "Submitted",
                Decimal(0),
                order.spec.quantity,
                None,
                self._perm,
                order.parent_ib_order_id,
                None,
                1,
            )
        )
        if self.fill_market_orders and order.spec.order_type is OrderType.MARKET:
            self.emit(
                self.execution(
                    ib_order_id,
                    contract,
                    order,
                    order.spec.quantity,
                    Decimal("100.02"),
                    f"exec-{ib_order_id}",
                )
            )

    def open_order(
        self,
        ib_order_id: int,
        contract: Contract,
        order: g.IbOrderRequest,
        status: str,
        preview: OrderPreview | None = None,
    ) -> g.OpenOrderEvent:
        spec = order.spec
        return g.OpenOrderEvent(
            ib_order_id,
            self._perm,
            1,
            order.parent_ib_order_id,
            contract,
            spec.action,
            spec.quantity,
            spec.order_type.value,
            spec.limit_price,
            spec.trailing_amount if spec.order_type.is_trailing else spec.stop_price,
            spec.account,
            order.order_ref,
            status,
            preview,
        )

    def execution(
        self,
        ib_order_id: int,
        contract: Contract,
        order: g.IbOrderRequest,
        shares: Decimal,
        price: Decimal,
        exec_id: str,
        cum_qty: Decimal | None = None,
    ) -> g.ExecutionEvent:
        return g.ExecutionEvent(
            -1,
            ib_order_id,
            self._perm,
            1,
            exec_id,
            datetime.now(UTC),
            order.spec.account,
            "ISLAND",
            OrderAction.BUY if order.spec.action is OrderAction.BUY else OrderAction.SELL,
            shares,
            price,
            cum_qty if cum_qty is not None else shares,
            price,
            order.order_ref,
            contract,
        )

    def cancel_order(self, ib_order_id: int) -> None:
        self._record("cancel_order", ib_order_id)
        self.emit(g.ErrorEvent(ib_order_id, 202, "Order Canceled - reason:"))
        self.emit(
            g.OrderStatusEvent(
                ib_order_id, "Cancelled", Decimal(0), Decimal(0), None, 0, 0, None, 1
            )
        )

    def req_global_cancel(self) -> None:
        self._record("req_global_cancel")

    def req_open_orders(self) -> None:
        self._record("req_open_orders")
        self.emit(g.OpenOrderEndEvent())

    def req_executions(self, req_id: int) -> None:
        self._record("req_executions", req_id)
        self.emit(g.ExecutionsEndEvent(req_id))

    def req_account_updates(self, subscribe: bool, account: str) -> None:
        self._record("req_account_updates", subscribe, account)

    def req_positions(self) -> None:
        self._record("req_positions")
        self.emit(g.PositionEvent(self.accounts[0], AAPL, Decimal(10), Decimal("150.5")))
        self.emit(g.PositionEndEvent())

    def req_account_summary(self, req_id: int, tags: str) -> None:
        self._record("req_account_summary", req_id, tags)
        for tag, value in (("NetLiquidation", "1000000.00"), ("TotalCashValue", "998000.5")):
            self.emit(g.AccountSummaryEvent(req_id, self.accounts[0], tag, value, "USD"))
        self.emit(g.AccountSummaryEndEvent(req_id))

    def cancel_account_summary(self, req_id: int) -> None:
        self._record("cancel_account_summary", req_id)


def replace(obj: Any, **kw: Any) -> Any:
    return dataclasses.replace(obj, **kw)
