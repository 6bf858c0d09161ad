"""Pure functions between the v1 protos and plain Python: no I/O, no state.

Every decimal string becomes a `decimal.Decimal` (an empty string, "not known", becomes None);
timestamps become timezone-aware `datetime` in UTC (unset: None); enums become short lowercase
names ("filled", "buy", "limit", "day") except IB's own codes for security types ("STK", "OPT")
and option rights ("C", "P"). Going the other way, `wire_decimal` turns a number given by a
caller into the exact string the API wants, refusing NaN, infinities, booleans and junk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from google.protobuf.message import Message
from ibkr_broker.v1 import (
    account_pb2,
    broker_service_pb2,
    common_pb2,
    contract_pb2,
    market_data_pb2,
    order_pb2,
)

Number = Decimal | int | float | str

SEC_TYPES: dict[str, contract_pb2.SecurityType] = {
    "STK": contract_pb2.SECURITY_TYPE_STOCK,
    "OPT": contract_pb2.SECURITY_TYPE_OPTION,
    "FUT": contract_pb2.SECURITY_TYPE_FUTURE,
    "CASH": contract_pb2.SECURITY_TYPE_FOREX,
    "IND": contract_pb2.SECURITY_TYPE_INDEX,
    "BAG": contract_pb2.SECURITY_TYPE_COMBO,
    "FOP": contract_pb2.SECURITY_TYPE_FUTURE_OPTION,
}
_SEC_TYPE_CODES: dict[int, str] = {v: k for k, v in SEC_TYPES.items()}

RIGHTS: dict[str, contract_pb2.OptionRight] = {
    "C": contract_pb2.OPTION_RIGHT_CALL,
    "CALL": contract_pb2.OPTION_RIGHT_CALL,
    "P": contract_pb2.OPTION_RIGHT_PUT,
    "PUT": contract_pb2.OPTION_RIGHT_PUT,
}
_RIGHT_CODES: dict[int, str] = {
    contract_pb2.OPTION_RIGHT_CALL: "C",
    contract_pb2.OPTION_RIGHT_PUT: "P",
}

ACTIONS: dict[str, common_pb2.OrderAction] = {
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


def sec_type_code(value: int) -> str:
    """SECURITY_TYPE_STOCK -> "STK"; unspecified -> ""."""
    return _SEC_TYPE_CODES.get(value, "")


def right_code(value: int) -> str | None:
    """OPTION_RIGHT_CALL -> "C", OPTION_RIGHT_PUT -> "P", otherwise None."""
    return _RIGHT_CODES.get(value)


def order_status_name(value: int) -> str:
    """ORDER_STATUS_PARTIALLY_FILLED -> "partially_filled"."""
    return _enum_name(order_pb2.OrderStatus, "ORDER_STATUS_", value)


def action_name(value: int) -> str:
    return _enum_name(common_pb2.OrderAction, "ORDER_ACTION_", value)


def order_type_name(value: int) -> str:
    return _enum_name(order_pb2.OrderType, "ORDER_TYPE_", value)


def tif_name(value: int) -> str:
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


def parse_sec_type(value: object, name: str = "sec_type") -> contract_pb2.SecurityType:
    """ "STK", "opt", ... (IB codes, any case) to SecurityType."""
    code = _key(value, name).upper()
    if code not in SEC_TYPES:
        raise ValueError(f"{name} must be one of {', '.join(SEC_TYPES)}, got {value!r}")
    return SEC_TYPES[code]


def parse_right(value: object, name: str = "right") -> contract_pb2.OptionRight:
    """ "C", "P", "CALL", "PUT" (any case) to OptionRight."""
    code = _key(value, name).upper()
    if code not in RIGHTS:
        raise ValueError(f"{name} must be C, P, CALL or PUT, got {value!r}")
    return RIGHTS[code]


def parse_action(value: object, name: str = "side") -> common_pb2.OrderAction:
    """ "buy" / "sell" (any case) to OrderAction."""
    code = _key(value, name).lower()
    if code not in ACTIONS:
        raise ValueError(f"{name} must be 'buy' or 'sell', got {value!r}")
    return ACTIONS[code]


def parse_order_type(value: object, name: str = "type") -> order_pb2.OrderType:
    """ "market", "limit", "stop", "stop_limit", "trailing_stop", "trailing_stop_limit"
    (any case; "-" or " " for "_"; IB's "MKT", "LMT", "STP", "STP LMT", "TRAIL" too)."""
    code = _key(value, name).lower().replace("-", "_").replace(" ", "_")
    code = ORDER_TYPE_ALIASES.get(code, code)
    if code not in ORDER_TYPES:
        raise ValueError(f"{name} must be one of {', '.join(ORDER_TYPES)}, got {value!r}")
    return ORDER_TYPES[code]


def parse_tif(value: object, name: str = "tif") -> order_pb2.TimeInForce:
    """ "day", "gtc", "ioc", "fok", "opg" (any case) to TimeInForce."""
    code = _key(value, name).lower()
    if code not in TIME_IN_FORCE:
        raise ValueError(f"{name} must be one of {', '.join(TIME_IN_FORCE)}, got {value!r}")
    return TIME_IN_FORCE[code]


# --- times ----------------------------------------------------------------------------------


def time_of(message: Message, field: str) -> dt.datetime | None:
    """The Timestamp field `field` of `message` as an aware UTC datetime; None when unset."""
    if not message.HasField(field):
        return None
    stamp: Any = getattr(message, field)
    result: dt.datetime = stamp.ToDatetime(tzinfo=dt.UTC)
    return result


# --- protos to dicts ------------------------------------------------------------------------


def ib_error_to_dict(error: common_pb2.IbError) -> dict[str, Any] | None:
    if not error.code and not error.message:
        return None
    return {"code": error.code or None, "message": error.message}


def contract_to_dict(c: contract_pb2.Contract) -> dict[str, Any]:
    result: dict[str, Any] = {
        "con_id": c.con_id or None,
        "symbol": c.symbol,
        "sec_type": sec_type_code(c.security_type),
        "exchange": c.exchange,
        "primary_exchange": c.primary_exchange,
        "currency": c.currency,
        "local_symbol": c.local_symbol,
        "trading_class": c.trading_class,
        "multiplier": dec(c.multiplier),
        "last_trade_date": c.last_trade_date,
        "strike": dec(c.strike),
        "right": right_code(c.right),
    }
    if c.combo_legs:
        result["legs"] = [combo_leg_to_dict(leg) for leg in c.combo_legs]
    return result


def combo_leg_to_dict(leg: contract_pb2.ComboLeg) -> dict[str, Any]:
    result: dict[str, Any] = {
        "con_id": leg.con_id or None,
        "ratio": leg.ratio,
        "action": action_name(leg.action),
        "exchange": leg.exchange,
    }
    if leg.HasField("contract"):
        result["contract"] = contract_to_dict(leg.contract)
    return result


def contract_details_to_dict(d: contract_pb2.ContractDetails) -> dict[str, Any]:
    return {
        **contract_to_dict(d.contract),
        "long_name": d.long_name,
        "min_tick": dec(d.min_tick),
        "valid_exchanges": list(d.valid_exchanges),
        "order_types": list(d.order_types),
        "time_zone_id": d.time_zone_id,
        "trading_hours": d.trading_hours,
        "liquid_hours": d.liquid_hours,
        "underlying_con_id": d.underlying_con_id or None,
        "underlying_symbol": d.underlying_symbol,
        "industry": d.industry,
        "category": d.category,
        "min_size": dec(d.min_size),
        "size_increment": dec(d.size_increment),
    }


def option_chain_to_dict(response: broker_service_pb2.GetOptionChainResponse) -> dict[str, Any]:
    chains: list[dict[str, Any]] = [
        {
            "exchange": chain.exchange,
            "underlying_con_id": chain.underlying_con_id or None,
            "trading_class": chain.trading_class,
            "multiplier": dec(chain.multiplier),
            "expirations": list(chain.expirations),
            "strikes": [Decimal(s) for s in chain.strikes],
        }
        for chain in response.chains
    ]
    return {
        "symbol": response.underlying.symbol,
        "underlying_con_id": response.underlying.con_id or None,
        "underlying": contract_to_dict(response.underlying),
        "expirations": sorted({e for chain in chains for e in chain["expirations"]}),
        "strikes": sorted({s for chain in chains for s in chain["strikes"]}),
        "chains": chains,
    }


def execution_to_dict(e: order_pb2.Execution) -> dict[str, Any]:
    return {
        "execution_id": e.execution_id,
        "order_id": e.order_id,
        "time": time_of(e, "execution_time"),
        "side": action_name(e.side),
        "quantity": dec(e.quantity),
        "price": dec(e.price),
        "exchange": e.exchange,
        "commission": dec(e.commission),
        "commission_currency": e.commission_currency,
        "realized_pnl": dec(e.realized_pnl),
        "cumulative_quantity": dec(e.cumulative_quantity),
        "avg_price": dec(e.average_price),
        "account": e.account,
        "symbol": e.contract.symbol,
    }


def order_to_dict(o: order_pb2.Order) -> dict[str, Any]:
    spec = o.spec
    error = ib_error_to_dict(o.last_error)
    return {
        "order_id": o.order_id,
        "request_id": o.request_id,
        "status": order_status_name(o.status),
        "is_terminal": o.status in TERMINAL_STATUSES,
        "symbol": o.contract.symbol,
        "sec_type": sec_type_code(o.contract.security_type),
        "side": action_name(spec.action),
        "quantity": dec(spec.quantity),
        "type": order_type_name(spec.order_type),
        "limit_price": dec(spec.limit_price),
        "stop_price": dec(spec.stop_price),
        "trailing_amount": dec(spec.trailing_amount),
        "trailing_percent": dec(spec.trailing_percent),
        "tif": tif_name(spec.time_in_force),
        "outside_rth": spec.outside_regular_hours,
        "order_ref": spec.order_ref,
        "oca_group": spec.oca_group,
        "account": o.account or spec.account,
        "filled_quantity": dec(o.filled_quantity) or Decimal(0),
        "remaining_quantity": dec(o.remaining_quantity),
        "avg_fill_price": dec(o.average_fill_price),
        "commission": dec(o.total_commission) or Decimal(0),
        "commission_currency": o.commission_currency,
        "ib_order_id": o.ib_order_id or None,
        "perm_id": o.perm_id or None,
        "parent_order_id": o.parent_order_id or None,
        "error": error["message"] if error else None,
        "error_code": error["code"] if error else None,
        "created_at": time_of(o, "create_time"),
        "updated_at": time_of(o, "update_time"),
        "contract": contract_to_dict(o.contract),
        "executions": [execution_to_dict(e) for e in o.executions],
    }


def preview_to_dict(p: order_pb2.OrderPreview) -> dict[str, Any]:
    return {
        "initial_margin_change": dec(p.initial_margin_change),
        "maintenance_margin_change": dec(p.maintenance_margin_change),
        "equity_with_loan_change": dec(p.equity_with_loan_change),
        "initial_margin_after": dec(p.initial_margin_after),
        "maintenance_margin_after": dec(p.maintenance_margin_after),
        "commission": dec(p.commission),
        "min_commission": dec(p.min_commission),
        "max_commission": dec(p.max_commission),
        "commission_currency": p.commission_currency,
        "warning": p.warning_text,
    }


def place_order_response_to_dict(r: broker_service_pb2.PlaceOrderResponse) -> dict[str, Any]:
    """The order dict (or, for what-if, {"what_if": True, "status": "what_if", "preview": ...})."""
    if r.HasField("preview") and not r.HasField("order"):
        return {"what_if": True, "status": "what_if", "preview": preview_to_dict(r.preview)}
    result = order_to_dict(r.order)
    result["what_if"] = False
    result["bracket_orders"] = [order_to_dict(o) for o in r.bracket_orders]
    return result


def account_to_dict(a: account_pb2.AccountSummary) -> dict[str, Any]:
    return {
        "account_id": a.account_id,
        "currency": a.currency,
        "cash": dec(a.total_cash),
        "buying_power": dec(a.buying_power),
        "equity": dec(a.net_liquidation),
        "net_liquidation": dec(a.net_liquidation),
        "available_funds": dec(a.available_funds),
        "excess_liquidity": dec(a.excess_liquidity),
        "maintenance_margin": dec(a.maintenance_margin),
        "initial_margin": dec(a.initial_margin),
        "equity_with_loan": dec(a.equity_with_loan),
        "gross_position_value": dec(a.gross_position_value),
        "unrealized_pnl": dec(a.unrealized_pnl),
        "realized_pnl": dec(a.realized_pnl),
        "updated_at": time_of(a, "update_time"),
    }


def position_to_dict(p: account_pb2.Position) -> dict[str, Any]:
    contract = contract_to_dict(p.contract)
    avg_cost = dec(p.average_cost)
    multiplier = contract["multiplier"]
    # IB reports the average cost of derivatives times the multiplier; avg_price is per unit,
    # comparable with quotes and fill prices.
    avg_price = avg_cost / multiplier if avg_cost is not None and multiplier else avg_cost
    return {
        "account_id": p.account_id,
        "symbol": p.contract.symbol,
        "sec_type": contract["sec_type"],
        "con_id": contract["con_id"],
        "currency": p.contract.currency,
        "quantity": dec(p.quantity) or Decimal(0),
        "avg_price": avg_price,
        "avg_cost": avg_cost,
        "market_price": dec(p.market_price),
        "market_value": dec(p.market_value),
        "unrealized_pnl": dec(p.unrealized_pnl),
        "realized_pnl": dec(p.realized_pnl),
        "last_trade_date": contract["last_trade_date"],
        "strike": contract["strike"],
        "right": contract["right"],
        "multiplier": multiplier,
        "contract": contract,
    }


def greeks_to_dict(g: market_data_pb2.OptionGreeks) -> dict[str, Decimal | None]:
    return {
        "implied_volatility": dec(g.implied_volatility),
        "delta": dec(g.delta),
        "gamma": dec(g.gamma),
        "vega": dec(g.vega),
        "theta": dec(g.theta),
        "option_price": dec(g.option_price),
        "underlying_price": dec(g.underlying_price),
    }


def quote_to_dict(q: market_data_pb2.Quote) -> dict[str, Any]:
    return {
        "symbol": q.symbol,
        "con_id": q.con_id or None,
        "bid": dec(q.bid),
        "ask": dec(q.ask),
        "last": dec(q.last),
        "bid_size": dec(q.bid_size),
        "ask_size": dec(q.ask_size),
        "last_size": dec(q.last_size),
        "volume": dec(q.volume),
        "open": dec(q.open),
        "high": dec(q.high),
        "low": dec(q.low),
        "close": dec(q.close),
        "market_data_type": market_data_type_name(q.market_data_type),
        "last_trade_time": time_of(q, "last_trade_time"),
        "updated_at": time_of(q, "update_time"),
        "greeks": greeks_to_dict(q.greeks) if q.HasField("greeks") else None,
    }


def quote_status_to_dict(s: market_data_pb2.QuoteStatus) -> dict[str, Any]:
    error = ib_error_to_dict(s.error)
    return {
        "con_id": s.con_id or None,
        "symbol": s.contract.symbol,
        "state": subscription_state_name(s.state),
        "error": error["message"] if error else None,
        "error_code": error["code"] if error else None,
    }


def session_status_to_dict(s: common_pb2.SessionStatus) -> dict[str, Any]:
    error = ib_error_to_dict(s.ib_error)
    return {
        "connection_state": connection_state_name(s.connection_state),
        "message": s.message,
        "error_code": error["code"] if error else None,
    }


def order_event_to_dict(e: order_pb2.OrderEvent) -> dict[str, Any]:
    error = ib_error_to_dict(e.error)
    return {
        "event": order_event_type_name(e.type),
        "order": order_to_dict(e.order),
        "execution": execution_to_dict(e.execution) if e.HasField("execution") else None,
        "error": error["message"] if error else None,
        "error_code": error["code"] if error else None,
        "time": time_of(e, "event_time"),
    }


def status_to_dict(s: broker_service_pb2.GetStatusResponse) -> dict[str, Any]:
    return {
        "connection_state": connection_state_name(s.connection_state),
        "ready": s.connection_state == common_pb2.CONNECTION_STATE_READY,
        "server_version": s.server_version,
        "accounts": list(s.accounts),
        "paper_trading": s.paper_trading,
        "trading_enabled": s.trading_enabled,
        "trading_disabled_reason": s.trading_disabled_reason,
        "tws_host": s.tws_host,
        "tws_port": s.tws_port,
        "client_id": s.client_id,
        "connected_at": time_of(s, "connect_time"),
        "server_software_version": s.server_software_version,
        "kill_switch": kill_switch_to_dict(s.kill_switch),
    }


def kill_switch_to_dict(k: broker_service_pb2.KillSwitch) -> dict[str, Any]:
    """engaged, reason, engaged_by (token name) and engaged_at (None when not engaged)."""
    return {
        "engaged": k.engaged,
        "reason": k.reason,
        "engaged_by": k.engaged_by,
        "engaged_at": time_of(k, "engage_time"),
    }


# --- plain Python to JSON -------------------------------------------------------------------


def to_jsonable(value: Any) -> Any:
    """Decimals as exact strings, datetimes as ISO 8601, recursively; for `json.dumps`."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value
