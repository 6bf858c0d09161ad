"""The broker's vocabulary: instruments, orders, fills, account values and quotes.

Money and quantities are `Decimal`; `None` means "not known". Enums use IB's spelling as values
where IB has one, so the bridge can translate with a lookup.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


class SecurityType(enum.Enum):
    STOCK = "STK"
    OPTION = "OPT"
    FUTURE = "FUT"
    FOREX = "CASH"
    INDEX = "IND"
    COMBO = "BAG"
    FUTURE_OPTION = "FOP"


class OptionRight(enum.Enum):
    CALL = "C"
    PUT = "P"


class OrderAction(enum.Enum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> OrderAction:
        return OrderAction.SELL if self is OrderAction.BUY else OrderAction.BUY


class OrderType(enum.Enum):
    MARKET = "MKT"
    LIMIT = "LMT"
    STOP = "STP"
    STOP_LIMIT = "STP LMT"
    TRAILING_STOP = "TRAIL"
    TRAILING_STOP_LIMIT = "TRAIL LIMIT"

    @property
    def needs_limit_price(self) -> bool:
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP_LIMIT)

    @property
    def needs_stop_price(self) -> bool:
        return self in (OrderType.STOP, OrderType.STOP_LIMIT)

    @property
    def is_trailing(self) -> bool:
        return self in (OrderType.TRAILING_STOP, OrderType.TRAILING_STOP_LIMIT)


class TimeInForce(enum.Enum):
    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    OPG = "OPG"


class OrderStatus(enum.Enum):
    PENDING_SUBMIT = "PendingSubmit"
    PRE_SUBMITTED = "PreSubmitted"
    SUBMITTED = "Submitted"
    PARTIALLY_FILLED = "PartiallyFilled"
    FILLED = "Filled"
    PENDING_CANCEL = "PendingCancel"
    CANCELLED = "Cancelled"
    REJECTED = "Rejected"
    INACTIVE = "Inactive"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


# An order in one of these may stop being watched (order.proto says the same; INACTIVE is not
# one of them: IB may activate an inactive order again).
TERMINAL_STATUSES = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED})


class ConnectionState(enum.Enum):
    CONNECTING = "connecting"
    READY = "ready"
    RECONNECTING = "reconnecting"
    DISCONNECTED = "disconnected"


class MarketDataType(enum.Enum):
    LIVE = 1
    FROZEN = 2
    DELAYED = 3
    DELAYED_FROZEN = 4


class SubscriptionState(enum.Enum):
    SUBSCRIBED = "subscribed"
    DELAYED = "delayed"
    NOT_ENTITLED = "not_entitled"
    LINE_LIMIT_REACHED = "line_limit_reached"
    ERROR = "error"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class IbError:
    code: int
    message: str


@dataclass(frozen=True)
class ComboLeg:
    """A leg by con_id, or by a contract the session resolves to one con_id."""

    ratio: int
    action: OrderAction
    con_id: int = 0
    contract: Contract | None = None
    exchange: str = "SMART"


@dataclass(frozen=True)
class Contract:
    con_id: int = 0
    security_type: SecurityType | None = None
    symbol: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""
    multiplier: str = ""
    last_trade_date: str = ""
    strike: Decimal | None = None
    right: OptionRight | None = None
    combo_legs: tuple[ComboLeg, ...] = ()

    @property
    def is_combo(self) -> bool:
        return self.security_type is SecurityType.COMBO


@dataclass(frozen=True)
class ContractDetails:
    contract: Contract
    min_tick: Decimal | None = None
    long_name: str = ""
    valid_exchanges: tuple[str, ...] = ()
    order_types: tuple[str, ...] = ()
    time_zone_id: str = ""
    trading_hours: str = ""
    liquid_hours: str = ""
    underlying_con_id: int = 0
    underlying_symbol: str = ""
    industry: str = ""
    category: str = ""
    min_size: Decimal | None = None
    size_increment: Decimal | None = None


@dataclass(frozen=True)
class OptionChain:
    exchange: str
    underlying_con_id: int
    trading_class: str
    multiplier: str
    expirations: tuple[str, ...]
    strikes: tuple[Decimal, ...]


@dataclass(frozen=True)
class OrderSpec:
    """The terms a client asks for."""

    action: OrderAction
    quantity: Decimal
    order_type: OrderType
    account: str = ""
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_amount: Decimal | None = None
    trailing_percent: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    outside_regular_hours: bool = False
    order_ref: str = ""
    oca_group: str = ""


@dataclass(frozen=True)
class BracketSpec:
    take_profit_limit_price: Decimal | None = None
    stop_loss_stop_price: Decimal | None = None
    stop_loss_limit_price: Decimal | None = None


@dataclass(frozen=True)
class Execution:
    execution_id: str
    order_id: str
    execution_time: datetime
    side: OrderAction
    quantity: Decimal
    price: Decimal
    exchange: str
    account: str
    contract: Contract
    cumulative_quantity: Decimal
    average_price: Decimal
    commission: Decimal | None = None
    commission_currency: str = ""
    realized_pnl: Decimal | None = None


@dataclass(frozen=True)
class Order:
    """An order as the server tracks it; replaced, never mutated."""

    order_id: str
    request_id: str
    contract: Contract
    spec: OrderSpec
    account: str
    status: OrderStatus
    create_time: datetime
    update_time: datetime
    filled_quantity: Decimal = Decimal(0)
    average_fill_price: Decimal | None = None
    ib_order_id: int = 0
    perm_id: int = 0
    parent_order_id: str = ""
    last_error: IbError | None = None
    executions: tuple[Execution, ...] = ()

    @property
    def remaining_quantity(self) -> Decimal:
        if self.status.is_terminal:
            return Decimal(0)
        return max(self.spec.quantity - self.filled_quantity, Decimal(0))

    @property
    def total_commission(self) -> Decimal:
        return sum((e.commission for e in self.executions if e.commission), Decimal(0))

    @property
    def commission_currency(self) -> str:
        return next((e.commission_currency for e in self.executions if e.commission_currency), "")


@dataclass(frozen=True)
class OrderPreview:
    initial_margin_change: Decimal | None = None
    maintenance_margin_change: Decimal | None = None
    equity_with_loan_change: Decimal | None = None
    initial_margin_after: Decimal | None = None
    maintenance_margin_after: Decimal | None = None
    commission: Decimal | None = None
    min_commission: Decimal | None = None
    max_commission: Decimal | None = None
    commission_currency: str = ""
    warning_text: str = ""


class OrderEventType(enum.Enum):
    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    FILL = "fill"
    COMMISSION = "commission"
    ERROR = "error"


@dataclass(frozen=True)
class OrderEvent:
    sequence: int
    type: OrderEventType
    order: Order
    event_time: datetime
    execution: Execution | None = None
    error: IbError | None = None


@dataclass(frozen=True)
class AccountSummary:
    account_id: str
    currency: str = ""
    values: dict[str, Decimal] = field(default_factory=dict)  # IB tag -> value
    update_time: datetime | None = None


@dataclass(frozen=True)
class Position:
    account_id: str
    contract: Contract
    quantity: Decimal
    average_cost: Decimal
    market_price: Decimal | None = None
    market_value: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    realized_pnl: Decimal | None = None


@dataclass(frozen=True)
class OptionGreeks:
    implied_volatility: Decimal | None = None
    delta: Decimal | None = None
    gamma: Decimal | None = None
    vega: Decimal | None = None
    theta: Decimal | None = None
    option_price: Decimal | None = None
    underlying_price: Decimal | None = None


@dataclass(frozen=True)
class Quote:
    con_id: int
    symbol: str
    bid: Decimal | None = None
    ask: Decimal | None = None
    last: Decimal | None = None
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    last_size: Decimal | None = None
    volume: Decimal | None = None
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    close: Decimal | None = None
    last_trade_time: datetime | None = None
    market_data_type: MarketDataType = MarketDataType.LIVE
    greeks: OptionGreeks | None = None
    update_time: datetime | None = None


@dataclass(frozen=True)
class QuoteStatus:
    con_id: int
    contract: Contract
    state: SubscriptionState
    error: IbError | None = None
