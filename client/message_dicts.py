"""The v1 messages as plain dicts, for the adapter and the command line (pure, no I/O).

Values follow wire_values: decimals as `Decimal` (None when not known), times as aware UTC
datetimes, enums as short lowercase names. `to_jsonable` makes any of these dicts JSON-ready.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ibkr_broker.v1 import (
    account_pb2,
    broker_service_pb2,
    common_pb2,
    contract_pb2,
    market_data_pb2,
    order_pb2,
)

from .streams import StreamReconnected
from .wire_values import (
    TERMINAL_STATUSES,
    connection_state_name,
    dec,
    market_data_type_name,
    option_right_code,
    order_action_name,
    order_event_type_name,
    order_status_name,
    order_type_name,
    security_type_code,
    subscription_state_name,
    time_in_force_name,
    time_of,
)

# --- protos to dicts ------------------------------------------------------------------------


def ib_error_to_dict(error: common_pb2.IbError) -> dict[str, Any] | None:
    if not error.code and not error.message:
        return None
    return {"code": error.code or None, "message": error.message}


def contract_to_dict(c: contract_pb2.Contract) -> dict[str, Any]:
    result: dict[str, Any] = {
        "con_id": c.con_id or None,
        "symbol": c.symbol,
        "sec_type": security_type_code(c.security_type),
        "exchange": c.exchange,
        "primary_exchange": c.primary_exchange,
        "currency": c.currency,
        "local_symbol": c.local_symbol,
        "trading_class": c.trading_class,
        "multiplier": dec(c.multiplier),
        "last_trade_date": c.last_trade_date,
        "strike": dec(c.strike),
        "right": option_right_code(c.right),
    }
    if c.combo_legs:
        result["legs"] = [combo_leg_to_dict(leg) for leg in c.combo_legs]
    return result


def combo_leg_to_dict(leg: contract_pb2.ComboLeg) -> dict[str, Any]:
    result: dict[str, Any] = {
        "con_id": leg.con_id or None,
        "ratio": leg.ratio,
        "action": order_action_name(leg.action),
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
        "side": order_action_name(e.side),
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
        "sec_type": security_type_code(o.contract.security_type),
        "side": order_action_name(spec.action),
        "quantity": dec(spec.quantity),
        "type": order_type_name(spec.order_type),
        "limit_price": dec(spec.limit_price),
        "stop_price": dec(spec.stop_price),
        "trailing_amount": dec(spec.trailing_amount),
        "trailing_percent": dec(spec.trailing_percent),
        "tif": time_in_force_name(spec.time_in_force),
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


def order_preview_to_dict(p: order_pb2.OrderPreview) -> dict[str, Any]:
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
        return {"what_if": True, "status": "what_if", "preview": order_preview_to_dict(r.preview)}
    result = order_to_dict(r.order)
    result["what_if"] = False
    result["bracket_orders"] = [order_to_dict(o) for o in r.bracket_orders]
    return result


def account_summary_to_dict(a: account_pb2.AccountSummary) -> dict[str, Any]:
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


def option_greeks_to_dict(g: market_data_pb2.OptionGreeks) -> dict[str, Decimal | None]:
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
        "greeks": option_greeks_to_dict(q.greeks) if q.HasField("greeks") else None,
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


def get_status_response_to_dict(s: broker_service_pb2.GetStatusResponse) -> dict[str, Any]:
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
        "gateways": [gateway_status_to_dict(g) for g in s.gateways],
    }


def gateway_status_to_dict(g: broker_service_pb2.GatewayStatus) -> dict[str, Any]:
    """One gateway behind the address (GetStatus lists each): its login and session."""
    return {
        "accounts": list(g.accounts),
        "connection_state": connection_state_name(g.connection_state),
        "server_version": g.server_version,
        "tws_host": g.tws_host,
        "tws_port": g.tws_port,
        "client_id": g.client_id,
        "trading_enabled": g.trading_enabled,
        "trading_disabled_reason": g.trading_disabled_reason,
        "connected_at": time_of(g, "connect_time"),
        "server_software_version": g.server_software_version,
        "paper_trading": g.paper_trading,
    }


def kill_switch_to_dict(k: broker_service_pb2.KillSwitch) -> dict[str, Any]:
    """engaged, reason, engaged_by (token name) and engaged_at (None when not engaged)."""
    return {
        "engaged": k.engaged,
        "reason": k.reason,
        "engaged_by": k.engaged_by,
        "engaged_at": time_of(k, "engage_time"),
    }


# --- stream items to dicts -----------------------------------------------------------------


def reconnected_to_dict(item: StreamReconnected) -> dict[str, Any]:
    return {
        "type": "reconnected",
        "stream": item.stream,
        "attempts": item.attempts,
        "error": item.error.one_line(),
        "resume_after_sequence": item.resume_after_sequence,
    }


def order_events_item_to_dicts(
    item: broker_service_pb2.StreamOrderEventsResponse | StreamReconnected,
) -> list[dict[str, Any]]:
    """{"type": "order_event", "sequence", "event", "order", ...}, {"type": "session", ...}
    or {"type": "reconnected", ...}; a heartbeat gives nothing."""
    if isinstance(item, StreamReconnected):
        return [reconnected_to_dict(item)]
    if item.HasField("event"):
        return [
            {"type": "order_event", "sequence": item.sequence, **order_event_to_dict(item.event)}
        ]
    if item.HasField("status"):
        status = session_status_to_dict(item.status)
        return [{"type": "session", "sequence": item.sequence, **status}]
    return []


def quotes_item_to_dicts(
    item: broker_service_pb2.StreamQuotesResponse | StreamReconnected,
) -> list[dict[str, Any]]:
    """One {"type": "quote", ...} per quote of a batch, {"type": "status", ...} or
    {"type": "reconnected", ...}; a heartbeat gives nothing."""
    if isinstance(item, StreamReconnected):
        return [reconnected_to_dict(item)]
    if item.HasField("quotes"):
        return [
            {"type": "quote", "sequence": item.sequence, **quote_to_dict(quote)}
            for quote in item.quotes.quotes
        ]
    if item.HasField("status"):
        status = quote_status_to_dict(item.status)
        return [{"type": "status", "sequence": item.sequence, **status}]
    return []


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
