"""The wire's scalar values in plain Python and back: decimals, enums, times (pure, no I/O).

Every decimal string becomes a `decimal.Decimal` (an empty string, "not known", becomes None);
timestamps become timezone-aware `datetime` in UTC (unset: None); enums become short lowercase
names ("filled", "buy", "limit", "day") except IB's own codes for security types ("STK", "OPT")
and option rights ("C", "P"). Going the other way, `wire_decimal` turns a number given by a
caller into the exact string the API wants, refusing NaN, infinities, booleans and junk, and
the `parse_*` functions turn a caller's name into the enum value.

Whole messages as dicts are in message_dicts.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from google.protobuf.message import Message
from ibkr_broker.v1 import common_pb2, contract_pb2, market_data_pb2, order_pb2

Number = Decimal | int | float | str

SECURITY_TYPES: dict[str, contract_pb2.SecurityType] = {
    "STK": contract_pb2.SECURITY_TYPE_STOCK,
    "OPT": contract_pb2.SECURITY_TYPE_OPTION,
    "FUT": contract_pb2.SECURITY_TYPE_FUTURE,
    "CASH": contract_pb2.SECURITY_TYPE_FOREX,
    "IND": contract_pb2.SECURITY_TYPE_INDEX,
    "BAG": contract_pb2.SECURITY_TYPE_COMBO,
    "FOP": contract_pb2.SECURITY_TYPE_FUTURE_OPTION,
}
_SECURITY_TYPE_CODES: dict[int, str] = {v: k for k, v in SECURITY_TYPES.items()}

OPTION_RIGHTS: dict[str, contract_pb2.OptionRight] = {
    "C": contract_pb2.OPTION_RIGHT_CALL,
    "CALL": contract_pb2.OPTION_RIGHT_CALL,
    "P": contract_pb2.OPTION_RIGHT_PUT,
    "PUT": contract_pb2.OPTION_RIGHT_PUT,
}
_OPTION_RIGHT_CODES: dict[int, str] = {
    contract_pb2.OPTION_RIGHT_CALL: "C",
    contract_pb2.OPTION_RIGHT_PUT: "P",
}

ORDER_ACTIONS: dict[str, common_pb2.OrderAction] = {
    "buy": common_pb2.ORDER_ACTION_BUY,
    "sell": common_pb2.ORDER_ACTION_SELL,
}

ORDER_TYPES: dict[str, order_pb2.OrderType] = {
    "market": order_pb2.ORDER_TYPE_MARKET,
    "limit": order_pb2.ORDER_TYPE_LIMIT,
    "stop": order_pb2.ORDER_TYPE_STOP,
    "stop_limit": order_pb2.ORDER_TYPE_STOP_LIMIT,
    "trailing_stop": order_pb2.ORDER_TYPE_TRAILING_STOP,
    "trailing_stop_limit": order_pb2.ORDER_TYPE_TRAILING_STOP_LIMIT,
}
# IB's own spellings, accepted as input.
ORDER_TYPE_ALIASES = {
    "mkt": "market",
    "lmt": "limit",
    "stp": "stop",
    "stp_lmt": "stop_limit",
    "trail": "trailing_stop",
    "trail_limit": "trailing_stop_limit",
}

TIME_IN_FORCE: dict[str, order_pb2.TimeInForce] = {
    "day": order_pb2.TIME_IN_FORCE_DAY,
    "gtc": order_pb2.TIME_IN_FORCE_GTC,
    "ioc": order_pb2.TIME_IN_FORCE_IOC,
    "fok": order_pb2.TIME_IN_FORCE_FOK,
    "opg": order_pb2.TIME_IN_FORCE_OPG,
}

# As order.proto documents them (INACTIVE is not terminal: IB may activate the order again).
TERMINAL_STATUSES = frozenset(
    {
        order_pb2.ORDER_STATUS_FILLED,
        order_pb2.ORDER_STATUS_CANCELLED,
        order_pb2.ORDER_STATUS_REJECTED,
    }
)


# --- decimals -------------------------------------------------------------------------------


def dec(text: str) -> Decimal | None:
    """A decimal string from the wire as a Decimal; "" (not known) as None."""
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"the server sent a malformed decimal {text!r}") from None


def to_decimal(value: object, name: str) -> Decimal:
    """A caller's number (Decimal, int, float or numeric str) as a finite Decimal.

    Floats go through their shortest repr, so 0.1 becomes Decimal("0.1"), not the binary
    expansion. Raises ValueError naming `name` for booleans, NaN, infinities and non-numbers.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def wire_decimal(value: object, name: str) -> str:
    """A caller's number as the API's exact decimal string ("100", "0.1", "-2.5")."""
    number = to_decimal(value, name)
    if number == 0:
        return "0"
    return format(number, "f")  # positional, never an exponent; exact (no context rounding)


# --- enums ----------------------------------------------------------------------------------


def _enum_name(enum_type: Any, prefix: str, value: int) -> str:
    try:
        name: str = enum_type.Name(value)
    except ValueError:
        return f"unknown_{value}"
    return name.removeprefix(prefix).lower()


def security_type_code(value: int) -> str:
    """SECURITY_TYPE_STOCK -> "STK"; unspecified -> ""."""
    return _SECURITY_TYPE_CODES.get(value, "")


def option_right_code(value: int) -> str | None:
    """OPTION_RIGHT_CALL -> "C", OPTION_RIGHT_PUT -> "P", otherwise None."""
    return _OPTION_RIGHT_CODES.get(value)


def order_status_name(value: int) -> str:
    """ORDER_STATUS_PARTIALLY_FILLED -> "partially_filled"."""
    return _enum_name(order_pb2.OrderStatus, "ORDER_STATUS_", value)


def order_action_name(value: int) -> str:
    return _enum_name(common_pb2.OrderAction, "ORDER_ACTION_", value)


def order_type_name(value: int) -> str:
    return _enum_name(order_pb2.OrderType, "ORDER_TYPE_", value)


def time_in_force_name(value: int) -> str:
    return _enum_name(order_pb2.TimeInForce, "TIME_IN_FORCE_", value)


def connection_state_name(value: int) -> str:
    return _enum_name(common_pb2.ConnectionState, "CONNECTION_STATE_", value)


def market_data_type_name(value: int) -> str:
    return _enum_name(market_data_pb2.MarketDataType, "MARKET_DATA_TYPE_", value)


def subscription_state_name(value: int) -> str:
    return _enum_name(market_data_pb2.SubscriptionState, "SUBSCRIPTION_STATE_", value)


def order_event_type_name(value: int) -> str:
    return _enum_name(order_pb2.OrderEventType, "ORDER_EVENT_TYPE_", value)


def _key(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value.strip()


def parse_security_type(value: object, name: str = "sec_type") -> contract_pb2.SecurityType:
    """ "STK", "opt", ... (IB codes, any case) to SecurityType."""
    code = _key(value, name).upper()
    if code not in SECURITY_TYPES:
        raise ValueError(f"{name} must be one of {', '.join(SECURITY_TYPES)}, got {value!r}")
    return SECURITY_TYPES[code]


def parse_option_right(value: object, name: str = "right") -> contract_pb2.OptionRight:
    """ "C", "P", "CALL", "PUT" (any case) to OptionRight."""
    code = _key(value, name).upper()
    if code not in OPTION_RIGHTS:
        raise ValueError(f"{name} must be C, P, CALL or PUT, got {value!r}")
    return OPTION_RIGHTS[code]


def parse_order_action(value: object, name: str = "side") -> common_pb2.OrderAction:
    """ "buy" / "sell" (any case) to OrderAction."""
    code = _key(value, name).lower()
    if code not in ORDER_ACTIONS:
        raise ValueError(f"{name} must be 'buy' or 'sell', got {value!r}")
    return ORDER_ACTIONS[code]


def parse_order_type(value: object, name: str = "type") -> order_pb2.OrderType:
    """ "market", "limit", "stop", "stop_limit", "trailing_stop", "trailing_stop_limit"
    (any case; "-" or " " for "_"; IB's "MKT", "LMT", "STP", "STP LMT", "TRAIL" too)."""
    code = _key(value, name).lower().replace("-", "_").replace(" ", "_")
    code = ORDER_TYPE_ALIASES.get(code, code)
    if code not in ORDER_TYPES:
        raise ValueError(f"{name} must be one of {', '.join(ORDER_TYPES)}, got {value!r}")
    return ORDER_TYPES[code]


def parse_time_in_force(value: object, name: str = "tif") -> order_pb2.TimeInForce:
    """ "day", "gtc", "ioc", "fok", "opg" (any case) to TimeInForce."""
    code = _key(value, name).lower()
    if code not in TIME_IN_FORCE:
        raise ValueError(f"{name} must be one of {', '.join(TIME_IN_FORCE)}, got {value!r}")
    return TIME_IN_FORCE[code]


def parse_order_status(value: object, name: str = "status") -> order_pb2.OrderStatus:
    """ "submitted", "partially_filled", "filled", ... (any case), or an OrderStatus value."""
    by_name = {order_status_name(v): v for v in order_pb2.OrderStatus.values() if v}
    if isinstance(value, int) and not isinstance(value, bool):
        if value not in by_name.values():
            raise ValueError(f"{name} must be an order status, got {value!r}")
        return cast("order_pb2.OrderStatus", value)
    code = _key(value, name).lower()
    if code not in by_name:
        raise ValueError(f"{name} must be one of {', '.join(by_name)}, got {value!r}")
    return cast("order_pb2.OrderStatus", by_name[code])


# --- times ----------------------------------------------------------------------------------


def time_of(message: Message, field: str) -> dt.datetime | None:
    """The Timestamp field `field` of `message` as an aware UTC datetime; None when unset."""
    if not message.HasField(field):
        return None
    stamp: Any = getattr(message, field)
    result: dt.datetime = stamp.ToDatetime(tzinfo=dt.UTC)
    return result
