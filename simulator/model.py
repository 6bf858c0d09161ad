"""Plain data shared by the simulator's codec, exchange and sessions.

These types carry IB's meaning with snake_case names. Prices and quantities are Decimal; None
means "unset" (IB's UNSET_DOUBLE / empty field). Sec types, actions, order types and TIFs keep
IB's spelling ("STK", "BUY", "STP LMT", "GTC") because that is what the wire carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class ComboLegSpec:
    """One leg of a BAG contract as a client sends it."""

    con_id: int
    ratio: int
    action: str  # "BUY" | "SELL"
    exchange: str = "SMART"


@dataclass(frozen=True)
class ContractSpec:
    """A contract as a client sends it in a request: any field may be empty."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""  # "STK" | "OPT" | "BAG" | "FUT" | "CASH" | "IND" | ...
    last_trade_date: str = ""  # "YYYYMMDD" or "YYYYMM" or ""
    strike: Decimal | None = None
    right: str = ""  # "C" | "P" | "" (clients also send "CALL"/"PUT")
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""
    combo_legs: tuple[ComboLegSpec, ...] = ()


@dataclass(frozen=True)
class Instrument:
    """A listed contract of the simulator's universe: everything contractData needs."""

    con_id: int
    symbol: str
    sec_type: str  # "STK" | "OPT" | "FUT" | "CASH" | "IND"
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    min_tick: Decimal
    long_name: str
    multiplier: int = 1
    last_trade_date: str = ""  # options and futures: "YYYYMMDD"
    strike: Decimal | None = None  # options only
    right: str = ""  # options: "C" | "P"
    underlying_con_id: int = 0
    underlying_symbol: str = ""
    under_sec_type: str = "STK"  # of the underlying, when there is one (futures: "IND")
    exchange: str = "SMART"
    valid_exchanges: tuple[str, ...] = ("SMART",)
    order_types: tuple[str, ...] = ("LMT", "MKT", "STP", "STP LMT", "TRAIL")
    industry: str = ""
    category: str = ""
    time_zone_id: str = "US/Eastern"
    trading_hours: str = ""  # contractDetails' sessions (sessions.hours_text), set when sent
    liquid_hours: str = ""


@dataclass(frozen=True)
class OrderRequest:
    """A parsed placeOrder: the fields the simulator acts on (the rest of IB's ~114 are read
    and ignored by the codec)."""

    order_id: int
    contract: ContractSpec
    action: str  # "BUY" | "SELL"
    total_quantity: Decimal
    order_type: str  # "MKT" | "LMT" | "STP" | "STP LMT" | "TRAIL" | "TRAIL LIMIT" | ...
    lmt_price: Decimal | None = None
    aux_price: Decimal | None = None  # stop price, or trailing amount for TRAIL
    tif: str = "DAY"
    oca_group: str = ""
    account: str = ""
    order_ref: str = ""
    transmit: bool = True
    parent_id: int = 0
    outside_rth: bool = False
    trailing_percent: Decimal | None = None
    trail_stop_price: Decimal | None = None
    what_if: bool = False
    order_combo_leg_prices: tuple[Decimal | None, ...] = ()
    smart_combo_routing_params: tuple[tuple[str, str], ...] = field(default=())
    # Added for the codec (read from placeOrder, echoed in openOrder); defaults = IB's unset.
    good_after_time: str = ""
    good_till_date: str = ""
    algo_strategy: str = ""  # e.g. "Adaptive"; "" = none
    algo_params: tuple[tuple[str, str], ...] = ()
    hidden: bool = False
    display_size: int = 0
    all_or_none: bool = False
    min_qty: int | None = None
    oca_type: int = 0
    trigger_method: int = 0
    cash_qty: Decimal | None = None
    model_code: str = ""


@dataclass(frozen=True)
class WhatIfResult:
    """Margin and commission impact of a what-if order (openOrder's OrderState fields)."""

    init_margin_before: Decimal
    maint_margin_before: Decimal
    equity_with_loan_before: Decimal
    init_margin_change: Decimal
    maint_margin_change: Decimal
    equity_with_loan_change: Decimal
    init_margin_after: Decimal
    maint_margin_after: Decimal
    equity_with_loan_after: Decimal
    commission: Decimal
    min_commission: Decimal
    max_commission: Decimal
    commission_currency: str = "USD"
    warning_text: str = ""


@dataclass(frozen=True)
class OrderSnapshot:
    """An order as the simulated exchange holds it: what openOrder and orderStatus report."""

    request: OrderRequest
    client_id: int
    perm_id: int
    status: str  # IB text: "PreSubmitted" | "Submitted" | "Filled" | "Cancelled" | "Inactive" | ...
    filled: Decimal
    remaining: Decimal
    avg_fill_price: Decimal
    last_fill_price: Decimal
    account: str
    instrument: Instrument | None = None  # the resolved contract; None for a BAG
    what_if: WhatIfResult | None = None
    why_held: str = ""


@dataclass(frozen=True)
class Fill:
    """One execution with its commission: what execDetails and commissionReport report."""

    exec_id: str
    order_id: int
    client_id: int
    perm_id: int
    contract: ContractSpec  # fully specified (con_id, symbol, sec_type, ... of what filled)
    time_utc: str  # "YYYYMMDD HH:MM:SS UTC"
    account: str
    exchange: str
    side: str  # "BOT" | "SLD"
    shares: Decimal
    price: Decimal
    cum_qty: Decimal
    avg_price: Decimal
    order_ref: str
    commission: Decimal
    commission_currency: str = "USD"
    realized_pnl: Decimal | None = None  # None = unset (sent as UNSET_DOUBLE)


@dataclass(frozen=True)
class HistoricalBar:
    """One bar of a historicalData reply; ``date`` is already formatted as the request asked
    (formatDate 1: "YYYYMMDD HH:MM:SS tz" or "YYYYMMDD" for daily bars; 2: epoch seconds)."""

    date: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    wap: Decimal
    count: int
