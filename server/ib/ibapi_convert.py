"""Pure converters between the domain and ibapi's objects (no I/O, no state).

Floats exist only on the ibapi side of these functions. IB's "unset" sentinels (UNSET_DOUBLE,
UNSET_INTEGER, UNSET_DECIMAL, their string spellings) and IB's "not computed" option values
become `None`; numbers become `Decimal` through their shortest repr, so 101.23 stays 101.23.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ibapi.commission_and_fees_report import CommissionAndFeesReport as IbCommissionReport
from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER, UNSET_LONG
from ibapi.contract import ComboLeg as IbComboLeg
from ibapi.contract import Contract as IbContract
from ibapi.contract import ContractDetails as IbContractDetails
from ibapi.execution import Execution as IbExecution
from ibapi.order import Order as IbOrder
from ibapi.order_state import OrderState as IbOrderState

from ..domain.errors import InvalidArgument
from ..domain.model import (
    ComboLeg,
    Contract,
    ContractDetails,
    OptionChain,
    OptionGreeks,
    OptionRight,
    OrderAction,
    OrderPreview,
    SecurityType,
)
from ..session.ib_port import CommissionEvent, ExecutionEvent, IbOrderRequest

DEFAULT_EXCHANGE = "SMART"
DEFAULT_CURRENCY = "USD"

# Anything this large is one of IB's "unset" spellings, never a real price or quantity.
_UNSET_THRESHOLD = Decimal("1e300")
_UNSET_STRINGS = frozenset(
    {
        "",
        "2147483647",
        "9223372036854775807",
        "-9223372036854775808",
        "1.7976931348623157E308",
        "1.7976931348623157e+308",
        "1.7976931348623157e308",
    }
)
_SEC_TYPES = {t.value: t for t in SecurityType}
_RIGHTS = {
    "C": OptionRight.CALL,
    "CALL": OptionRight.CALL,
    "P": OptionRight.PUT,
    "PUT": OptionRight.PUT,
}
_ACTIONS = {
    "BUY": OrderAction.BUY,
    "BOT": OrderAction.BUY,
    "SELL": OrderAction.SELL,
    "SLD": OrderAction.SELL,
    "SSHORT": OrderAction.SELL,
    "SHORT": OrderAction.SELL,
}


# --- scalars -----------------------------------------------------------------------------------


def float_to_decimal(value: float | None) -> Decimal | None:
    """An ibapi double as an exact Decimal of its shortest repr; unset, NaN and ±inf -> None."""
    if value is None or value == UNSET_DOUBLE or not math.isfinite(value):
        return None
    return Decimal(repr(float(value)))


def int_or_none(value: int | None) -> int | None:
    if value is None or value in (UNSET_INTEGER, UNSET_LONG):
        return None
    return int(value)


def decimal_or_none(value: Decimal | float | str | None) -> Decimal | None:
    """An ibapi Decimal (or a decimal string such as OrderState's margins) or None if unset."""
    if value is None:
        return None
    if isinstance(value, float):
        return float_to_decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if text in _UNSET_STRINGS:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            return None
    if value == UNSET_DECIMAL or not value.is_finite() or abs(value) >= _UNSET_THRESHOLD:
        return None
    return value


def decimal_or_zero(value: Decimal | float | str | None) -> Decimal:
    result = decimal_or_none(value)
    return Decimal(0) if result is None else result


def action_from_ib(text: str) -> OrderAction:
    """IB's BUY/SELL (orders) or BOT/SLD (executions); SSHORT counts as a sell."""
    try:
        return _ACTIONS[text.strip().upper()]
    except KeyError:
        raise ValueError(f"unknown IB side/action {text!r}") from None


def right_from_ib(text: str) -> OptionRight | None:
    return _RIGHTS.get(text.strip().upper())


def sec_type_from_ib(text: str) -> SecurityType | None:
    return _SEC_TYPES.get(text.strip().upper())


# --- contracts ---------------------------------------------------------------------------------


def contract_to_ib(contract: Contract) -> IbContract:
    """A domain contract as ibapi's Contract; exchange defaults to SMART, currency to USD."""
    ib = IbContract()
    ib.conId = contract.con_id
    ib.symbol = contract.symbol
    ib.secType = contract.security_type.value if contract.security_type is not None else ""
    ib.lastTradeDateOrContractMonth = contract.last_trade_date
    ib.strike = float(contract.strike) if contract.strike is not None else UNSET_DOUBLE
    ib.right = contract.right.value if contract.right is not None else ""
    ib.multiplier = contract.multiplier
    ib.exchange = contract.exchange or DEFAULT_EXCHANGE
    ib.primaryExchange = contract.primary_exchange
    ib.currency = contract.currency or DEFAULT_CURRENCY
    ib.localSymbol = contract.local_symbol
    ib.tradingClass = contract.trading_class
    if contract.combo_legs:
        ib.comboLegs = [_combo_leg_to_ib(leg) for leg in contract.combo_legs]
    return ib


def _combo_leg_to_ib(leg: ComboLeg) -> IbComboLeg:
    con_id = leg.con_id or (leg.contract.con_id if leg.contract is not None else 0)
    if con_id <= 0:
        raise InvalidArgument("contract.combo_legs", "every leg needs a resolved con_id")
    if leg.ratio <= 0:
        raise InvalidArgument("contract.combo_legs", "every leg needs a positive ratio")
    ib = IbComboLeg()
    ib.conId = con_id
    ib.ratio = leg.ratio
    ib.action = leg.action.value
    ib.exchange = leg.exchange or DEFAULT_EXCHANGE
    return ib


def contract_from_ib(ib: IbContract) -> Contract:
    """ibapi's Contract as a domain contract (unknown sec types -> None, strike 0/unset -> None)."""
    strike = float_to_decimal(ib.strike)
    legs = tuple(
        ComboLeg(
            ratio=int(leg.ratio),
            action=action_from_ib(leg.action),
            con_id=int(leg.conId),
            exchange=leg.exchange or "",
        )
        for leg in (ib.comboLegs or ())
    )
    return Contract(
        con_id=int(ib.conId or 0),
        security_type=sec_type_from_ib(ib.secType or ""),
        symbol=ib.symbol or "",
        exchange=ib.exchange or "",
        primary_exchange=ib.primaryExchange or "",
        currency=ib.currency or "",
        local_symbol=ib.localSymbol or "",
        trading_class=ib.tradingClass or "",
        multiplier=ib.multiplier or "",
        last_trade_date=ib.lastTradeDateOrContractMonth or "",
        strike=strike if strike else None,
        right=right_from_ib(ib.right or ""),
        combo_legs=legs,
    )


def _split_csv(text: str) -> tuple[str, ...]:
    return tuple(part for part in (p.strip() for p in (text or "").split(",")) if part)


def details_from_ib(ib: IbContractDetails) -> ContractDetails:
    min_tick = float_to_decimal(ib.minTick)
    return ContractDetails(
        contract=contract_from_ib(ib.contract),
        min_tick=min_tick if min_tick else None,
        long_name=ib.longName or "",
        valid_exchanges=_split_csv(ib.validExchanges),
        order_types=_split_csv(ib.orderTypes),
        time_zone_id=ib.timeZoneId or "",
        trading_hours=ib.tradingHours or "",
        liquid_hours=ib.liquidHours or "",
        underlying_con_id=int(ib.underConId or 0),
        underlying_symbol=ib.underSymbol or "",
        industry=ib.industry or "",
        category=ib.category or "",
        min_size=decimal_or_none(ib.minSize),
        size_increment=decimal_or_none(ib.sizeIncrement),
    )


def option_chain_from_ib(
    exchange: str,
    underlying_con_id: int,
    trading_class: str,
    multiplier: str,
    expirations: Iterable[str],
    strikes: Iterable[float],
) -> OptionChain:
    decimals = (float_to_decimal(s) for s in strikes)
    return OptionChain(
        exchange=exchange,
        underlying_con_id=int(underlying_con_id),
        trading_class=trading_class,
        multiplier=multiplier,
        expirations=tuple(sorted(expirations)),
        strikes=tuple(sorted(d for d in decimals if d is not None)),
    )


# --- orders ------------------------------------------------------------------------------------


def _price_to_ib(value: Decimal | None) -> float:
    return float(value) if value is not None else UNSET_DOUBLE


def order_to_ib(request: IbOrderRequest) -> IbOrder:
    """The session's order request as ibapi's Order: the one conversion of an order to IB's
    form (prices become floats here and only here)."""
    spec = request.spec
    trailing = spec.order_type.is_trailing
    order = IbOrder()
    order.action = spec.action.value
    order.totalQuantity = spec.quantity
    order.orderType = spec.order_type.value  # the enum's values are IB's spelling
    order.lmtPrice = _price_to_ib(spec.limit_price)
    # auxPrice: the stop price, or the trailing amount of a trailing order.
    order.auxPrice = _price_to_ib(spec.trailing_amount if trailing else spec.stop_price)
    order.trailingPercent = _price_to_ib(spec.trailing_percent if trailing else None)
    order.tif = spec.time_in_force.value
    order.account = spec.account
    order.orderRef = request.order_ref
    order.ocaGroup = spec.oca_group
    if spec.oca_group:
        order.ocaType = 1  # cancel the rest of the group (with block) when one fills
    order.parentId = request.parent_ib_order_id
    order.transmit = request.transmit
    order.outsideRth = spec.outside_regular_hours
    order.whatIf = request.what_if
    return order


def preview_from_ib(state: IbOrderState) -> OrderPreview:
    """A what-if answer (OrderState strings and doubles) as an OrderPreview."""
    return OrderPreview(
        initial_margin_change=decimal_or_none(state.initMarginChange),
        maintenance_margin_change=decimal_or_none(state.maintMarginChange),
        equity_with_loan_change=decimal_or_none(state.equityWithLoanChange),
        initial_margin_after=decimal_or_none(state.initMarginAfter),
        maintenance_margin_after=decimal_or_none(state.maintMarginAfter),
        commission=float_to_decimal(state.commissionAndFees),
        min_commission=float_to_decimal(state.minCommissionAndFees),
        max_commission=float_to_decimal(state.maxCommissionAndFees),
        commission_currency=state.commissionAndFeesCurrency or "",
        warning_text=state.warningText or "",
    )


# --- executions --------------------------------------------------------------------------------

_FIXED_ZONES: dict[str, tzinfo] = {
    name: timezone(timedelta(hours=hours), name)
    for name, hours in {
        "UTC": 0,
        "GMT": 0,
        "Z": 0,
        "WET": 0,
        "BST": 1,
        "CET": 1,
        "MET": 1,
        "CEST": 2,
        "MEST": 2,
        "EET": 2,
        "EEST": 3,
        "MSK": 3,
        "IST": 5.5,
        "HKT": 8,
        "SGT": 8,
        "CST": -6,
        "CDT": -5,
        "EST": -5,
        "EDT": -4,
        "MST": -7,
        "MDT": -6,
        "PST": -8,
        "PDT": -7,
        "JST": 9,
        "AEST": 10,
        "AEDT": 11,
    }.items()
}
_IB_TIME = re.compile(
    r"^(\d{4})-?(\d{2})-?(\d{2})[ T-]+(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?"
    r"(?:\s+(\S+)|([Zz]))?\s*$"
)


def _zone(name: str) -> tzinfo | None:
    fixed = _FIXED_ZONES.get(name.upper())
    if fixed is not None:
        return fixed
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_ib_time(text: str, default_tz: tzinfo = UTC) -> datetime:
    """An IB timestamp as an aware UTC datetime.

    Accepts "YYYYMMDD HH:MM:SS <zone>" (IANA name or abbreviation), "YYYYMMDD  HH:MM:SS"
    (no zone: `default_tz`, which is TWS's own time zone), "YYYYMMDD-HH:MM:SS", UTC with a
    glued "Z" ("YYYYMMDD-HH:MM:SSZ", server version 214 and later), a bare "YYYYMMDD"
    (midnight) and epoch seconds (or milliseconds). Raises ValueError otherwise.
    """
    text = text.strip()
    if len(text) == 8 and text.isdigit():  # a bare date: its midnight
        midnight = datetime.strptime(text, "%Y%m%d")
        return midnight.replace(tzinfo=default_tz).astimezone(UTC)
    if text.isdigit() and 9 <= len(text) <= 13:
        seconds = int(text)
        if seconds > 10**11:  # milliseconds
            return datetime.fromtimestamp(seconds / 1000, UTC)
        return datetime.fromtimestamp(seconds, UTC)
    match = _IB_TIME.match(text)
    if match is None:
        raise ValueError(f"unrecognised IB time {text!r}")
    year, month, day, hour, minute, second, zone_name, zulu = match.groups()
    zone_name = zone_name or zulu
    tz = default_tz
    if zone_name:
        zone = _zone(zone_name)
        if zone is None:
            raise ValueError(f"unknown time zone {zone_name!r} in IB time {text!r}")
        tz = zone
    local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    return local.replace(tzinfo=tz).astimezone(UTC)


def execution_from_ib(
    req_id: int, contract: IbContract, execution: IbExecution, default_tz: tzinfo = UTC
) -> ExecutionEvent:
    return ExecutionEvent(
        req_id=req_id,
        ib_order_id=int(execution.orderId),
        perm_id=int(execution.permId),
        client_id=int(execution.clientId),
        exec_id=execution.execId,
        execution_time=parse_ib_time(execution.time, default_tz),
        account=execution.acctNumber,
        exchange=execution.exchange,
        side=action_from_ib(execution.side),
        shares=decimal_or_zero(execution.shares),
        price=decimal_or_zero(execution.price),
        cum_qty=decimal_or_zero(execution.cumQty),
        avg_price=decimal_or_zero(execution.avgPrice),
        order_ref=execution.orderRef or "",
        contract=contract_from_ib(contract),
    )


def commission_from_ib(report: IbCommissionReport) -> CommissionEvent:
    return CommissionEvent(
        exec_id=report.execId,
        commission=decimal_or_zero(report.commissionAndFees),
        currency=report.currency or "",
        realized_pnl=float_to_decimal(report.realizedPNL),
    )


# --- option computations -----------------------------------------------------------------------


def _not_computed(value: Any, sentinel: float) -> Decimal | None:
    if value is None:
        return None
    number = float(value)
    if number == sentinel:
        return None
    return float_to_decimal(number)


def greeks_from_ib(
    implied_vol: float | None,
    delta: float | None,
    option_price: float | None,
    pv_dividend: float | None,
    gamma: float | None,
    vega: float | None,
    theta: float | None,
    underlying_price: float | None,
) -> OptionGreeks:
    """tickOptionComputation values as OptionGreeks: IB's "not computed" -1 (implied
    volatility, option and underlying price) and -2 (delta, gamma, vega, theta), None and unset
    -> None."""
    del pv_dividend  # not part of the domain's OptionGreeks
    iv = _not_computed(implied_vol, -1.0)
    d = _not_computed(delta, -2.0)
    return OptionGreeks(
        implied_volatility=iv if iv is None or iv >= 0 else None,
        delta=d if d is None or abs(d) <= 1 else None,
        gamma=_not_computed(gamma, -2.0),
        vega=_not_computed(vega, -2.0),
        theta=_not_computed(theta, -2.0),
        option_price=_not_computed(option_price, -1.0),
        underlying_price=_not_computed(underlying_price, -1.0),
    )

