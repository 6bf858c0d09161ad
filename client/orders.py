"""Order terms: `order_spec(...)`, `bracket(...)` and `order_from_dict(...)` (the agents' dicts).

Everything is validated locally, before any network call, and a bad value raises ValueError
whose message starts with the offending key, e.g. "limit_price is required for a limit order".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ibkr_broker.v1 import contract_pb2, order_pb2

from .contracts import check_date, check_symbol, positive_decimal
from .wire_values import (
    parse_option_right,
    parse_order_action,
    parse_order_type,
    parse_security_type,
    parse_time_in_force,
    to_decimal,
    wire_decimal,
)

_LIMIT_TYPES = {
    order_pb2.ORDER_TYPE_LIMIT,
    order_pb2.ORDER_TYPE_STOP_LIMIT,
    order_pb2.ORDER_TYPE_TRAILING_STOP_LIMIT,
}
_STOP_TYPES = {order_pb2.ORDER_TYPE_STOP, order_pb2.ORDER_TYPE_STOP_LIMIT}
_TRAILING_TYPES = {order_pb2.ORDER_TYPE_TRAILING_STOP, order_pb2.ORDER_TYPE_TRAILING_STOP_LIMIT}
_OPTION_TYPES = {contract_pb2.SECURITY_TYPE_OPTION, contract_pb2.SECURITY_TYPE_FUTURE_OPTION}
_DATED_TYPES = {*_OPTION_TYPES, contract_pb2.SECURITY_TYPE_FUTURE}

# Every key an order dict may have, with the aliases agents use, mapped to one canonical name.
ORDER_KEYS: dict[str, str] = {
    "symbol": "symbol",
    "quantity": "quantity",
    "qty": "quantity",
    "side": "side",
    "action": "side",
    "type": "type",
    "order_type": "type",
    "secType": "sec_type",
    "sec_type": "sec_type",
    "limit_price": "limit_price",
    "stop_price": "stop_price",
    "trailing_amount": "trailing_amount",
    "trailing_percent": "trailing_percent",
    "tif": "tif",
    "time_in_force": "tif",
    "lastTradeDate": "last_trade_date",
    "last_trade_date": "last_trade_date",
    "expiry": "last_trade_date",
    "expiration": "last_trade_date",
    "strike": "strike",
    "right": "right",
    "multiplier": "multiplier",
    "exchange": "exchange",
    "primary_exchange": "primary_exchange",
    "primaryExchange": "primary_exchange",
    "currency": "currency",
    "con_id": "con_id",
    "conId": "con_id",
    "trading_class": "trading_class",
    "local_symbol": "local_symbol",
    "account": "account",
    "outside_rth": "outside_rth",
    "order_ref": "order_ref",
    "oca_group": "oca_group",
    "take_profit": "take_profit",
    "stop_loss": "stop_loss",
    "stop_loss_limit": "stop_loss_limit",
    "what_if": "what_if",
    "request_id": "request_id",
}


# How a missing key is named in errors (the spelling agents use most).
_DISPLAY = {"last_trade_date": "lastTradeDate", "sec_type": "secType"}


@dataclass(frozen=True)
class PreparedOrder:
    """A validated order, ready for `BrokerClient.place_order`."""

    contract: contract_pb2.Contract
    spec: order_pb2.OrderSpec
    bracket: order_pb2.BracketSpec | None = None
    what_if: bool = False
    request_id: str | None = None


def check_request_id(value: object, name: str = "request_id") -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise ValueError(f"{name} must be a string of 1 to 64 characters, got {value!r}")
    return value


def positive_quantity(value: object, name: str = "quantity") -> str:
    if value is None:
        raise ValueError(f"{name} is required")
    number = to_decimal(value, name)
    if number <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return wire_decimal(number, name)


def order_spec(
    side: str,
    quantity: object,
    type: str = "market",
    *,
    limit_price: object = None,
    stop_price: object = None,
    trailing_amount: object = None,
    trailing_percent: object = None,
    tif: str = "day",
    account: str = "",
    outside_rth: bool = False,
    order_ref: str = "",
    oca_group: str = "",
    allow_negative_limit: bool = False,
) -> order_pb2.OrderSpec:
    """Validated OrderSpec; prices a type does not use are refused, not silently dropped.

    `allow_negative_limit` is for combos, whose net limit price may be zero or negative (credit).
    """
    order_type = parse_order_type(type)
    spec = order_pb2.OrderSpec(
        action=parse_order_action(side),
        quantity=positive_quantity(quantity),
        order_type=order_type,
        time_in_force=parse_time_in_force(tif),
        account=_as_str(account, "account"),
        order_ref=_as_str(order_ref, "order_ref"),
        oca_group=_as_str(oca_group, "oca_group"),
    )
    if not isinstance(outside_rth, bool):
        raise ValueError(f"outside_rth must be true or false, got {outside_rth!r}")
    spec.outside_regular_hours = outside_rth
    type_name = type.strip().lower()
    if order_type in _LIMIT_TYPES:
        if limit_price is None:
            raise ValueError(f"limit_price is required for a {type_name} order")
        spec.limit_price = (
            wire_decimal(limit_price, "limit_price")
            if allow_negative_limit
            else positive_decimal(limit_price, "limit_price")
        )
    elif limit_price is not None:
        raise ValueError(f"limit_price is not used by a {type_name} order (set type)")
    if order_type in _STOP_TYPES:
        if stop_price is None:
            raise ValueError(f"stop_price is required for a {type_name} order")
        spec.stop_price = positive_decimal(stop_price, "stop_price")
    elif stop_price is not None and order_type not in _TRAILING_TYPES:
        raise ValueError(f"stop_price is not used by a {type_name} order (set type)")
    elif stop_price is not None:
        spec.stop_price = positive_decimal(stop_price, "stop_price")
    if order_type in _TRAILING_TYPES:
        if (trailing_amount is None) == (trailing_percent is None):
            raise ValueError(
                f"trailing_amount or trailing_percent (exactly one) is required for a "
                f"{type_name} order"
            )
        if trailing_amount is not None:
            spec.trailing_amount = positive_decimal(trailing_amount, "trailing_amount")
        else:
            spec.trailing_percent = positive_decimal(trailing_percent, "trailing_percent")
    else:
        for key, value in (
            ("trailing_amount", trailing_amount),
            ("trailing_percent", trailing_percent),
        ):
            if value is not None:
                raise ValueError(f"{key} is only used by trailing orders")
    return spec


def bracket(
    take_profit: object = None, stop_loss: object = None, stop_loss_limit: object = None
) -> order_pb2.BracketSpec | None:
    """Exit orders for a parent: take-profit limit and/or stop-loss; None when neither."""
    if take_profit is None and stop_loss is None:
        if stop_loss_limit is not None:
            raise ValueError("stop_loss_limit needs stop_loss")
        return None
    spec = order_pb2.BracketSpec()
    if take_profit is not None:
        spec.take_profit_limit_price = positive_decimal(take_profit, "take_profit")
    if stop_loss is not None:
        spec.stop_loss_stop_price = positive_decimal(stop_loss, "stop_loss")
    if stop_loss_limit is not None:
        if stop_loss is None:
            raise ValueError("stop_loss_limit needs stop_loss")
        spec.stop_loss_limit_price = positive_decimal(stop_loss_limit, "stop_loss_limit")
    return spec


def order_from_dict(order: Mapping[str, object]) -> PreparedOrder:
    """Validate an agent's order dict (see IBKRAdapter.place_order for its keys)."""
    if not isinstance(order, Mapping):
        raise ValueError(f"order must be a dict, got {type(order).__name__}")
    values: dict[str, object] = {}
    given_as: dict[str, str] = {}
    for key, value in order.items():
        canonical = ORDER_KEYS.get(key) if isinstance(key, str) else None
        if canonical is None:
            raise ValueError(f"{key} is not an order key (known: {', '.join(sorted(ORDER_KEYS))})")
        if canonical in values:
            raise ValueError(f"{key} and {given_as[canonical]} both given; use one")
        if value is not None:
            values[canonical] = value
            given_as[canonical] = key

    def name(canonical: str) -> str:
        return given_as.get(canonical, _DISPLAY.get(canonical, canonical))

    if "symbol" not in values:
        raise ValueError("symbol is required")
    if "side" not in values:
        raise ValueError("side is required ('buy' or 'sell')")
    if "quantity" not in values:
        raise ValueError("quantity is required")
    contract = _contract(values, name)
    spec = order_spec(
        _as_str(values["side"], name("side")),
        values["quantity"],
        _as_str(values.get("type", "market"), name("type")),
        limit_price=values.get("limit_price"),
        stop_price=values.get("stop_price"),
        trailing_amount=values.get("trailing_amount"),
        trailing_percent=values.get("trailing_percent"),
        tif=_as_str(values.get("tif", "day"), name("tif")),
        account=_as_str(values.get("account", ""), "account"),
        outside_rth=_as_bool(values.get("outside_rth", False), "outside_rth"),
        order_ref=_as_str(values.get("order_ref", ""), "order_ref"),
        oca_group=_as_str(values.get("oca_group", ""), "oca_group"),
    )
    exits = bracket(
        values.get("take_profit"), values.get("stop_loss"), values.get("stop_loss_limit")
    )
    request_id = values.get("request_id")
    return PreparedOrder(
        contract=contract,
        spec=spec,
        bracket=exits,
        what_if=_as_bool(values.get("what_if", False), "what_if"),
        request_id=check_request_id(request_id) if request_id is not None else None,
    )


def _contract(values: Mapping[str, object], key: Callable[[str], str]) -> contract_pb2.Contract:
    sec_type = parse_security_type(values.get("sec_type", "STK"), key("sec_type"))
    if sec_type == contract_pb2.SECURITY_TYPE_COMBO:
        raise ValueError(f"{key('sec_type')} BAG: use place_multi_leg_order for combos")
    if sec_type == contract_pb2.SECURITY_TYPE_INDEX:
        raise ValueError(f"{key('sec_type')} IND: an index cannot be traded")
    contract = contract_pb2.Contract(
        security_type=sec_type,
        symbol=check_symbol(values["symbol"], key("symbol")),
        exchange=_as_str(values.get("exchange", "SMART"), key("exchange")),
        currency=_as_str(values.get("currency", "USD"), key("currency")),
        primary_exchange=_as_str(values.get("primary_exchange", ""), key("primary_exchange")),
        trading_class=_as_str(values.get("trading_class", ""), key("trading_class")),
        local_symbol=_as_str(values.get("local_symbol", ""), key("local_symbol")),
    )
    con_id = values.get("con_id")
    if con_id is not None:
        if isinstance(con_id, bool) or not isinstance(con_id, int) or con_id <= 0:
            raise ValueError(f"{key('con_id')} must be a positive int, got {con_id!r}")
        contract.con_id = con_id
    if sec_type in _DATED_TYPES:
        if "last_trade_date" not in values:
            raise ValueError(f"{key('last_trade_date')} is required for {_code(sec_type)}")
        contract.last_trade_date = check_date(values["last_trade_date"], key("last_trade_date"))
    elif "last_trade_date" in values:
        raise ValueError(f"{key('last_trade_date')} is only for options and futures")
    if sec_type in _OPTION_TYPES:
        for field in ("strike", "right"):
            if field not in values:
                raise ValueError(f"{key(field)} is required for {_code(sec_type)}")
        contract.strike = positive_decimal(values["strike"], key("strike"))
        contract.right = parse_option_right(values["right"], key("right"))
    else:
        for field in ("strike", "right"):
            if field in values:
                raise ValueError(f"{key(field)} is only for options")
    if "multiplier" in values:
        contract.multiplier = positive_decimal(values["multiplier"], key("multiplier"))
    return contract


def _code(sec_type: int) -> str:
    names: dict[int, str] = {
        contract_pb2.SECURITY_TYPE_OPTION: "options (OPT)",
        contract_pb2.SECURITY_TYPE_FUTURE_OPTION: "futures options (FOP)",
        contract_pb2.SECURITY_TYPE_FUTURE: "futures (FUT)",
    }
    return names.get(sec_type, "this security type")


def _as_str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {value!r}")
    return value


def _as_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value
