"""The session's port to IB: the `IbPort` protocol (what the session needs from IB) and the
events it delivers.

The concrete adapter (server/ib's IbGateway) owns the ibapi connection. Every `IbPort` method
is called on the event loop and only writes to the socket (no waiting): answers come back as
`IbEvent`s, delivered on the event loop to the sink given to `set_event_sink`, in the order TWS
sent them. Request ids (`req_id`) and IB order ids are chosen by the session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from ..domain.feeds import DepthChange
from ..domain.history import Bar, BarQuery, BarSource
from ..domain.model import (
    Contract,
    ContractDetails,
    MarketDataType,
    OptionChain,
    OptionGreeks,
    OrderAction,
    OrderPreview,
    OrderSpec,
)


@dataclass(frozen=True)
class IbOrderRequest:
    """An order as the session hands it to IB: the terms (domain values, the account set in
    `spec.account`) and how IB is to route it. Only the bridge converts it (to ibapi's Order)."""

    spec: OrderSpec
    order_ref: str = ""  # IB's orderRef: the server's idempotency key (not spec.order_ref)
    parent_ib_order_id: int = 0  # a bracket's exits name their parent
    transmit: bool = True  # False holds the order at TWS until a later one of its group
    what_if: bool = False  # a margin and commission preview: nothing is traded


# --- events (ibapi callbacks, copied into immutable values) ------------------------------------


@dataclass(frozen=True)
class IbEvent:
    """What the port delivers: one class per kind of IB message (a new kind is one subclass
    here, one wrapper method in server/ib, one entry in the session's handler table)."""


@dataclass(frozen=True)
class ConnectionClosedEvent(IbEvent):
    reason: str


@dataclass(frozen=True)
class NextValidIdEvent(IbEvent):
    ib_order_id: int  # the lowest IB order id TWS accepts next


@dataclass(frozen=True)
class ManagedAccountsEvent(IbEvent):
    accounts: tuple[str, ...]


@dataclass(frozen=True)
class ErrorEvent(IbEvent):
    req_id: int  # -1 when not about a request; an IB order id for order errors
    code: int
    message: str
    advanced_reject_json: str = ""


@dataclass(frozen=True)
class ContractDetailsEvent(IbEvent):
    req_id: int
    details: ContractDetails


@dataclass(frozen=True)
class ContractDetailsEndEvent(IbEvent):
    req_id: int


@dataclass(frozen=True)
class OptionChainEvent(IbEvent):
    req_id: int
    chain: OptionChain


@dataclass(frozen=True)
class OptionChainEndEvent(IbEvent):
    req_id: int


@dataclass(frozen=True)
class OpenOrderEvent(IbEvent):
    ib_order_id: int
    perm_id: int
    client_id: int
    parent_ib_order_id: int
    contract: Contract
    action: OrderAction
    quantity: Decimal
    order_type: str
    limit_price: Decimal | None
    aux_price: Decimal | None
    account: str
    order_ref: str
    status: str  # IB's OrderState.status text
    preview: OrderPreview | None = None  # set for what-if answers


@dataclass(frozen=True)
class OpenOrderEndEvent(IbEvent):
    pass


@dataclass(frozen=True)
class OrderStatusEvent(IbEvent):
    ib_order_id: int
    status: str  # IB text: "Submitted", "Filled", "Cancelled", "PreSubmitted", "Inactive", ...
    filled: Decimal
    remaining: Decimal
    avg_fill_price: Decimal | None
    perm_id: int
    parent_ib_order_id: int
    last_fill_price: Decimal | None
    client_id: int
    why_held: str = ""


@dataclass(frozen=True)
class ExecutionEvent(IbEvent):
    req_id: int  # -1 for live fills
    ib_order_id: int
    perm_id: int
    client_id: int
    exec_id: str
    execution_time: datetime
    account: str
    exchange: str
    side: OrderAction
    shares: Decimal
    price: Decimal
    cum_qty: Decimal
    avg_price: Decimal
    order_ref: str
    contract: Contract


@dataclass(frozen=True)
class ExecutionsEndEvent(IbEvent):
    req_id: int


@dataclass(frozen=True)
class CommissionEvent(IbEvent):
    exec_id: str
    commission: Decimal
    currency: str
    realized_pnl: Decimal | None


# The two events of a quote flood (two per tickPrice) set their fields in __init__ through the
# instance dict: a frozen dataclass's generated __init__ sets each through object.__setattr__,
# which was a quarter of the cost of ingesting a tick (issue 13). Still frozen, same fields,
# equality, hash and repr.


@dataclass(frozen=True, init=False)
class TickPriceEvent(IbEvent):
    req_id: int
    tick_type: int  # 1 bid, 2 ask, 4 last, 6 high, 7 low, 9 close, 14 open; 66.. delayed
    price: Decimal

    def __init__(self, req_id: int, tick_type: int, price: Decimal) -> None:
        fields = self.__dict__
        fields["req_id"], fields["tick_type"], fields["price"] = req_id, tick_type, price


@dataclass(frozen=True, init=False)
class TickSizeEvent(IbEvent):
    req_id: int
    tick_type: int  # 0 bid size, 3 ask size, 5 last size, 8 volume, delayed 69..74
    size: Decimal

    def __init__(self, req_id: int, tick_type: int, size: Decimal) -> None:
        fields = self.__dict__
        fields["req_id"], fields["tick_type"], fields["size"] = req_id, tick_type, size


@dataclass(frozen=True)
class TickStringEvent(IbEvent):
    req_id: int
    tick_type: int  # 45 last timestamp (epoch seconds), delayed 88
    value: str


@dataclass(frozen=True)
class TickOptionComputationEvent(IbEvent):
    req_id: int
    tick_type: int  # 10 bid, 11 ask, 12 last, 13 model; delayed 80..83
    greeks: OptionGreeks


@dataclass(frozen=True)
class TickSnapshotEndEvent(IbEvent):
    req_id: int


@dataclass(frozen=True)
class MarketDataTypeEvent(IbEvent):
    req_id: int
    market_data_type: MarketDataType


@dataclass(frozen=True)
class AccountValueEvent(IbEvent):
    account: str
    key: str
    value: str
    currency: str


@dataclass(frozen=True)
class PortfolioEvent(IbEvent):
    account: str
    contract: Contract
    position: Decimal
    market_price: Decimal | None
    market_value: Decimal | None
    average_cost: Decimal | None
    unrealized_pnl: Decimal | None
    realized_pnl: Decimal | None


@dataclass(frozen=True)
class AccountDownloadEndEvent(IbEvent):
    account: str


@dataclass(frozen=True)
class PositionEvent(IbEvent):
    account: str
    contract: Contract
    position: Decimal
    average_cost: Decimal


@dataclass(frozen=True)
class PositionEndEvent(IbEvent):
    pass


@dataclass(frozen=True)
class AccountSummaryEvent(IbEvent):
    req_id: int
    account: str
    tag: str
    value: str
    currency: str


@dataclass(frozen=True)
class AccountSummaryEndEvent(IbEvent):
    req_id: int


@dataclass(frozen=True)
class CurrentTimeEvent(IbEvent):
    time: datetime  # TWS's clock (answer to reqCurrentTime), UTC


@dataclass(frozen=True)
class HistoricalBarEvent(IbEvent):
    req_id: int
    bar: Bar


@dataclass(frozen=True)
class HistoricalBarsEndEvent(IbEvent):
    req_id: int


@dataclass(frozen=True)
class HistoricalBarUpdateEvent(IbEvent):
    """historicalDataUpdate: the newest bar of a kept-up-to-date request (still forming)."""

    req_id: int
    bar: Bar


@dataclass(frozen=True)
class RealTimeBarEvent(IbEvent):
    req_id: int
    bar: Bar


@dataclass(frozen=True)
class PnlEvent(IbEvent):
    req_id: int
    daily: Decimal | None
    unrealized: Decimal | None
    realized: Decimal | None


@dataclass(frozen=True)
class PnlSingleEvent(IbEvent):
    req_id: int
    position: Decimal | None
    daily: Decimal | None
    unrealized: Decimal | None
    realized: Decimal | None
    value: Decimal | None


@dataclass(frozen=True)
class DepthEvent(IbEvent):
    """updateMktDepth / updateMktDepthL2: one operation on one row of the book."""

    req_id: int
    change: DepthChange


EventSink = Callable[[IbEvent], None]


class IbPort(Protocol):
    """The session's view of one TWS / IB Gateway connection."""

    @property
    def server_version(self) -> int:
        """The negotiated TWS API server version; 0 before the first connection."""
        ...

    def set_event_sink(self, sink: EventSink) -> None:
        """Where events go; called once, before connect. Events arrive on the event loop."""

    async def connect(self, host: str, port: int, client_id: int, timeout: float) -> None:
        """Open the socket and do the API handshake (startApi sent) within `timeout` seconds.

        Raises `Unavailable` when refused, timed out or closed during the handshake. Readiness
        (NextValidIdEvent and ManagedAccountsEvent) arrives afterwards as events. A
        ConnectionClosedEvent is delivered whenever an established connection ends, however it
        ends.
        """

    async def disconnect(self) -> None:
        """Close the connection (a ConnectionClosedEvent event follows if it was open)."""

    def req_ids(self) -> None: ...

    def req_current_time(self) -> None: ...

    def req_contract_details(self, req_id: int, contract: Contract) -> None: ...

    def req_sec_def_opt_params(
        self, req_id: int, symbol: str, security_type: str, con_id: int
    ) -> None: ...

    def req_market_data_type(self, market_data_type: MarketDataType) -> None: ...

    def req_mkt_data(self, req_id: int, contract: Contract, snapshot: bool) -> None: ...

    def cancel_mkt_data(self, req_id: int) -> None: ...

    def place_order(self, ib_order_id: int, contract: Contract, order: IbOrderRequest) -> None: ...

    def cancel_order(self, ib_order_id: int) -> None: ...

    def req_global_cancel(self) -> None: ...

    def req_open_orders(self) -> None: ...

    def req_executions(self, req_id: int) -> None: ...

    def req_account_updates(self, subscribe: bool, account: str) -> None: ...

    def req_positions(self) -> None: ...

    def req_account_summary(self, req_id: int, tags: str) -> None: ...

    def cancel_account_summary(self, req_id: int) -> None: ...

    def req_historical_data(
        self, req_id: int, query: BarQuery, keep_up_to_date: bool = False
    ) -> None:
        """reqHistoricalData: bars (epoch-second times) answered by HistoricalBarEvents and one
        HistoricalBarsEndEvent; kept up to date: then HistoricalBarUpdateEvents."""

    def cancel_historical_data(self, req_id: int) -> None: ...

    def req_real_time_bars(
        self, req_id: int, contract: Contract, source: BarSource, regular_hours_only: bool
    ) -> None: ...

    def cancel_real_time_bars(self, req_id: int) -> None: ...

    def req_pnl(self, req_id: int, account: str) -> None: ...

    def cancel_pnl(self, req_id: int) -> None: ...

    def req_pnl_single(self, req_id: int, account: str, con_id: int) -> None: ...

    def cancel_pnl_single(self, req_id: int) -> None: ...

    def req_mkt_depth(self, req_id: int, contract: Contract, rows: int, smart: bool) -> None: ...

    def cancel_mkt_depth(self, req_id: int, smart: bool) -> None: ...
