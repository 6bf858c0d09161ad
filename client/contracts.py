"""Builders of `Contract` protos: `stock("AAPL")`, `option(...)`, `combo(...)`, `contract(...)`.

They validate what they can locally and raise ValueError naming the bad argument; the server
resolves the rest (a partial spec may match several contracts: see ResolveContract).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ibkr_broker.v1 import contract_pb2

from .wire_values import parse_option_right, parse_order_action, parse_security_type, wire_decimal

Contract = contract_pb2.Contract
ComboLeg = contract_pb2.ComboLeg

_DATE = re.compile(r"^\d{6}(\d{2})?$")

# Keyword spellings accepted by `contract()` for each Contract field (agents write them all).
FIELD_ALIASES: dict[str, str] = {
    "con_id": "con_id",
    "conId": "con_id",
    "exchange": "exchange",
    "primary_exchange": "primary_exchange",
    "primaryExchange": "primary_exchange",
    "currency": "currency",
    "local_symbol": "local_symbol",
    "localSymbol": "local_symbol",
    "trading_class": "trading_class",
    "tradingClass": "trading_class",
    "multiplier": "multiplier",
    "last_trade_date": "last_trade_date",
    "lastTradeDate": "last_trade_date",
    "lastTradeDateOrContractMonth": "last_trade_date",
    "expiry": "last_trade_date",
    "expiration": "last_trade_date",
    "strike": "strike",
    "right": "right",
}


def check_symbol(symbol: object, name: str = "symbol") -> str:
    if not isinstance(symbol, str) or not symbol.strip():
        raise ValueError(f"{name} must be a non-empty string, got {symbol!r}")
    return symbol.strip().upper()


def check_date(value: object, name: str = "last_trade_date") -> str:
    """ "YYYYMMDD" or "YYYYMM" (ints accepted too)."""
    text = (
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )
    if not _DATE.match(text):
        raise ValueError(f"{name} must be YYYYMMDD or YYYYMM, got {value!r}")
    return text


def positive_decimal(value: object, name: str) -> str:
    text = wire_decimal(value, name)
    if text.startswith("-") or text == "0":
        raise ValueError(f"{name} must be positive, got {value!r}")
    return text


def stock(
    symbol: str, exchange: str = "SMART", currency: str = "USD", primary_exchange: str = ""
) -> contract_pb2.Contract:
    """A stock or ETF, SMART-routed in USD by default."""
    return contract_pb2.Contract(
        security_type=contract_pb2.SECURITY_TYPE_STOCK,
        symbol=check_symbol(symbol),
        exchange=exchange,
        currency=currency,
        primary_exchange=primary_exchange,
    )


def option(
    symbol: str,
    last_trade_date: str | int,
    strike: object,
    right: str,
    exchange: str = "SMART",
    currency: str = "USD",
    multiplier: str = "",
    trading_class: str = "",
) -> contract_pb2.Contract:
    """An option on `symbol`; `right` is "C"/"P"/"CALL"/"PUT", `last_trade_date` YYYYMMDD."""
    return contract_pb2.Contract(
        security_type=contract_pb2.SECURITY_TYPE_OPTION,
        symbol=check_symbol(symbol),
        last_trade_date=check_date(last_trade_date),
        strike=positive_decimal(strike, "strike"),
        right=parse_option_right(right),
        exchange=exchange,
        currency=currency,
        multiplier=positive_decimal(multiplier, "multiplier") if multiplier else "",
        trading_class=trading_class,
    )


# Keys of a leg dict that describe the leg, not the leg's contract.
LEG_KEYS = ("ratio", "action", "exchange")


def combo_leg(leg: object, index: int = 0) -> contract_pb2.ComboLeg:
    """A ComboLeg from a ComboLeg, a dict or a tuple (target, ratio, action[, exchange]).

    The target is the leg's con_id, a Contract, or a contract spec dict (keys as for
    `contract_from_dict`; the server resolves it). A dict leg gives the target as "con_id",
    "contract", or by its own contract keys: {"symbol": "SPY", "sec_type": "OPT", "strike":
    450, ..., "ratio": 1, "action": "buy"}. ratio defaults to 1, exchange to SMART.
    """
    name = f"legs[{index}]"
    if isinstance(leg, contract_pb2.ComboLeg):
        return leg
    if isinstance(leg, Mapping):
        parts: tuple[Any, ...] = (
            _leg_target(leg),
            leg.get("ratio", 1),
            leg.get("action"),
            leg.get("exchange") or "SMART",
        )
    elif isinstance(leg, tuple | list) and len(leg) in (3, 4):
        parts = (*leg, "SMART") if len(leg) == 3 else tuple(leg)
    else:
        raise ValueError(f"{name} must be (con_id, ratio, action, exchange), got {leg!r}")
    target, ratio, action, exchange = parts
    result = contract_pb2.ComboLeg(action=parse_order_action(action, f"{name}.action"))
    if isinstance(target, contract_pb2.Contract):
        result.contract.CopyFrom(target)
    elif isinstance(target, Mapping):
        result.contract.CopyFrom(_leg_contract(target, name))
    elif isinstance(target, int) and not isinstance(target, bool) and target > 0:
        result.con_id = target
    else:
        raise ValueError(
            f"{name}.con_id must be a positive int (or give the leg's contract), got {target!r}"
        )
    if isinstance(ratio, bool) or not isinstance(ratio, int) or ratio <= 0:
        raise ValueError(f"{name}.ratio must be a positive int, got {ratio!r}")
    result.ratio = ratio
    if not isinstance(exchange, str):
        raise ValueError(f"{name}.exchange must be a string, got {exchange!r}")
    result.exchange = exchange or "SMART"
    return result


def _leg_target(leg: Mapping[str, Any]) -> object:
    """A dict leg's con_id, its "contract", or (it has a symbol) its own contract keys."""
    con_id = leg.get("con_id", leg.get("conId"))
    if con_id is not None:
        return con_id
    if leg.get("contract") is not None:
        return leg["contract"]
    if "symbol" in leg:
        return {k: v for k, v in leg.items() if k not in LEG_KEYS}
    return None


def _leg_contract(spec: Mapping[str, Any], name: str) -> contract_pb2.Contract:
    try:
        built = contract_from_dict(spec)
    except ValueError as exc:
        raise ValueError(f"{name}.{exc}") from None
    if built.security_type == contract_pb2.SECURITY_TYPE_COMBO:
        raise ValueError(f"{name}.sec_type: a leg cannot be a combo")
    return built


def combo(
    symbol: str, legs: Iterable[object], exchange: str = "SMART", currency: str = "USD"
) -> contract_pb2.Contract:
    """A combo (IB "BAG") of 2 or more legs, each (con_id, ratio, action[, exchange])."""
    built = [combo_leg(leg, i) for i, leg in enumerate(legs)]
    if len(built) < 2:
        raise ValueError(f"legs must have at least 2 legs, got {len(built)}")
    return contract_pb2.Contract(
        security_type=contract_pb2.SECURITY_TYPE_COMBO,
        symbol=check_symbol(symbol),
        exchange=exchange,
        currency=currency,
        combo_legs=built,
    )


def contract_from_dict(spec: Mapping[str, Any]) -> contract_pb2.Contract:
    """A contract from a dict: symbol, sec_type (or secType; default STK) and the keywords of
    `contract` (the dicts the adapter returns for contracts are accepted as they are)."""
    if not isinstance(spec, Mapping):
        raise ValueError(f"contract must be a dict, got {spec!r}")
    fields = {k: v for k, v in spec.items() if k not in ("symbol", "sec_type", "secType", "legs")}
    symbol, sec_type = spec.get("symbol"), spec.get("sec_type", spec.get("secType")) or "STK"
    if not isinstance(symbol, str):
        raise ValueError(f"symbol must be a non-empty string, got {symbol!r}")
    return contract(symbol, sec_type, **fields)


def contract(symbol: str, sec_type: str = "STK", **fields: object) -> contract_pb2.Contract:
    """A (possibly partial) contract from keyword fields, e.g. for ResolveContract.

    Accepts snake_case and IB's camelCase names (see FIELD_ALIASES); None values are ignored.
    """
    result = contract_pb2.Contract(
        symbol=check_symbol(symbol), security_type=parse_security_type(sec_type)
    )
    for key, value in fields.items():
        if value is None or value == "":
            continue
        target = FIELD_ALIASES.get(key)
        if target is None:
            raise ValueError(f"unknown contract field {key!r}")
        if target == "con_id":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{key} must be a positive int, got {value!r}")
            result.con_id = value
        elif target == "last_trade_date":
            result.last_trade_date = check_date(value, key)
        elif target in ("strike", "multiplier"):
            setattr(result, target, positive_decimal(value, key))
        elif target == "right":
            result.right = parse_option_right(value, key)
        elif isinstance(value, str):
            setattr(result, target, value)
        else:
            raise ValueError(f"{key} must be a string, got {value!r}")
    return result
