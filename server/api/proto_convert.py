"""Pure converters between ibkr_broker.v1 messages and domain values.

`*_from_proto` validate as they convert and raise InvalidArgument naming the field;
`*_to_proto` never fail.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from google.protobuf.timestamp_pb2 import Timestamp
from ibkr_broker.v1 import (
    account_pb2,
    broker_service_pb2,
    common_pb2,
    contract_pb2,
    market_data_pb2,
    order_pb2,
)

from ..domain import model as m
from ..domain.decimals import plain
from ..domain.errors import InvalidArgument
from ..trading.killswitch import KillSwitchState
from . import validate as v
from .proto_enums import (
    ACTIONS,
    ACTIONS_OUT,
    EVENT_TYPES,
    ORDER_TYPES,
    ORDER_TYPES_OUT,
    RIGHTS,
    RIGHTS_OUT,
    SEC_TYPES,
    SEC_TYPES_OUT,
    STATUSES,
    SUBSCRIPTION_STATES,
    TIFS,
    TIFS_OUT,
    UNSPECIFIED,
)

MAX_LEGS = 8
# IB's contract ids are 32-bit signed integers (the protobuf-era encoder refuses larger ones).
MAX_CON_ID = 2**31 - 1


def _dec(value: Decimal | None) -> str:
    return "" if value is None else plain(value)


def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


# --- contracts --------------------------------------------------------------------------------


def contract_from_proto(msg: contract_pb2.Contract, field: str = "contract") -> m.Contract:
    v.enum_value(
        f"{field}.security_type", contract_pb2.SecurityType, msg.security_type, required=False
    )
    v.enum_value(f"{field}.right", contract_pb2.OptionRight, msg.right, required=False)
    _con_id(f"{field}.con_id", msg.con_id)
    if not msg.con_id and not msg.security_type:
        raise InvalidArgument(f"{field}.security_type", "required unless con_id is given")
    symbol = v.text(f"{field}.symbol", msg.symbol.strip().upper(), limit=32)
    security_type = SEC_TYPES.get(msg.security_type)
    if not msg.con_id and not symbol and security_type is not m.SecurityType.COMBO:
        raise InvalidArgument(f"{field}.symbol", "required unless con_id is given")
    legs = tuple(
        leg_from_proto(leg, f"{field}.combo_legs[{i}]") for i, leg in enumerate(msg.combo_legs)
    )
    if security_type is m.SecurityType.COMBO and len(legs) < 2:
        raise InvalidArgument(f"{field}.combo_legs", "a combo needs at least 2 legs")
    if security_type is not m.SecurityType.COMBO and legs:
        raise InvalidArgument(f"{field}.combo_legs", "only a COMBO contract has legs")
    if len(legs) > MAX_LEGS:
        raise InvalidArgument(f"{field}.combo_legs", f"at most {MAX_LEGS} legs")
    return m.Contract(
        con_id=msg.con_id,
        security_type=security_type,
        symbol=symbol,
        exchange=v.text(f"{field}.exchange", msg.exchange.upper(), limit=32),
        primary_exchange=v.text(
            f"{field}.primary_exchange", msg.primary_exchange.upper(), limit=32
        ),
        currency=v.text(f"{field}.currency", msg.currency.upper(), limit=8),
        local_symbol=v.text(f"{field}.local_symbol", msg.local_symbol, limit=32),
        trading_class=v.text(f"{field}.trading_class", msg.trading_class, limit=32),
        multiplier=_multiplier(f"{field}.multiplier", msg.multiplier),
        last_trade_date=_date(f"{field}.last_trade_date", msg.last_trade_date),
        strike=v.decimal(f"{field}.strike", msg.strike, positive=True),
        right=RIGHTS.get(msg.right),
        combo_legs=legs,
    )


def _multiplier(field: str, text: str) -> str:
    value = v.decimal(field, text, positive=True)
    return "" if value is None else format(value, "f")


def _date(field: str, text: str) -> str:
    if text and not (text.isdigit() and len(text) in (6, 8)):
        raise InvalidArgument(field, f"{text!r} is not YYYYMMDD or YYYYMM")
    return text


def _con_id(field: str, con_id: int) -> int:
    if not 0 <= con_id <= MAX_CON_ID:
        raise InvalidArgument(field, f"must be between 0 and {MAX_CON_ID}, got {con_id}")
    return con_id


def leg_from_proto(msg: contract_pb2.ComboLeg, field: str) -> m.ComboLeg:
    v.enum_value(f"{field}.action", common_pb2.OrderAction, msg.action, required=True)
    if msg.ratio <= 0:
        raise InvalidArgument(f"{field}.ratio", "must be positive")
    contract = None
    if msg.HasField("contract"):
        contract = contract_from_proto(msg.contract, f"{field}.contract")
        if contract.is_combo:
            raise InvalidArgument(f"{field}.contract", "a leg cannot be a combo")
    if msg.con_id <= 0 and contract is None:
        raise InvalidArgument(f"{field}.con_id", "give con_id or contract")
    return m.ComboLeg(
        ratio=msg.ratio,
        action=ACTIONS[msg.action],
        con_id=_con_id(f"{field}.con_id", max(msg.con_id, 0)),
        contract=contract,
        exchange=v.text(f"{field}.exchange", msg.exchange.upper(), limit=32),
    )


def contract_to_proto(c: m.Contract) -> contract_pb2.Contract:
    return contract_pb2.Contract(
        con_id=c.con_id,
        security_type=SEC_TYPES_OUT[c.security_type] if c.security_type else UNSPECIFIED,
        symbol=c.symbol,
        exchange=c.exchange,
        primary_exchange=c.primary_exchange,
        currency=c.currency,
        local_symbol=c.local_symbol,
        trading_class=c.trading_class,
        multiplier=c.multiplier,
        last_trade_date=c.last_trade_date,
        strike=_dec(c.strike),
        right=RIGHTS_OUT[c.right] if c.right else UNSPECIFIED,
        combo_legs=[
            contract_pb2.ComboLeg(
                con_id=leg.con_id,
                ratio=leg.ratio,
                action=ACTIONS_OUT[leg.action],
                exchange=leg.exchange,
                contract=contract_to_proto(leg.contract) if leg.contract else None,
            )
            for leg in c.combo_legs
        ],
    )


def details_to_proto(d: m.ContractDetails) -> contract_pb2.ContractDetails:
    return contract_pb2.ContractDetails(
        contract=contract_to_proto(d.contract),
        min_tick=_dec(d.min_tick),
        long_name=d.long_name,
        valid_exchanges=list(d.valid_exchanges),
        order_types=list(d.order_types),
        time_zone_id=d.time_zone_id,
        trading_hours=d.trading_hours,
        liquid_hours=d.liquid_hours,
        underlying_con_id=d.underlying_con_id,
        underlying_symbol=d.underlying_symbol,
        industry=d.industry,
        category=d.category,
        min_size=_dec(d.min_size),
        size_increment=_dec(d.size_increment),
    )


def chain_to_proto(c: m.OptionChain) -> contract_pb2.OptionChain:
    return contract_pb2.OptionChain(
        exchange=c.exchange,
        underlying_con_id=c.underlying_con_id,
        trading_class=c.trading_class,
        multiplier=c.multiplier,
        expirations=sorted(c.expirations),
        strikes=[_dec(s) for s in sorted(c.strikes)],
    )


# --- orders -----------------------------------------------------------------------------------


def spec_from_proto(msg: order_pb2.OrderSpec, combo: bool, field: str = "order") -> m.OrderSpec:
    v.enum_value(f"{field}.action", common_pb2.OrderAction, msg.action, required=True)
    v.enum_value(f"{field}.order_type", order_pb2.OrderType, msg.order_type, required=True)
    v.enum_value(f"{field}.time_in_force", order_pb2.TimeInForce, msg.time_in_force, required=False)
    order_type = ORDER_TYPES[msg.order_type]
    quantity = v.required_decimal(
        f"{field}.quantity", msg.quantity, positive=True, maximum=v.MAX_QUANTITY
    )
    # A combo's net price may be a credit (negative); single contracts trade at positive prices.
    limit = v.decimal(f"{field}.limit_price", msg.limit_price, positive=not combo)
    stop = v.decimal(f"{field}.stop_price", msg.stop_price, positive=not combo)
    trail_amt = v.decimal(f"{field}.trailing_amount", msg.trailing_amount, positive=True)
    trail_pct = v.percent(f"{field}.trailing_percent", msg.trailing_percent)
    if order_type.needs_limit_price and limit is None:
        raise InvalidArgument(f"{field}.limit_price", f"required for {order_type.name} orders")
    if not order_type.needs_limit_price and limit is not None:
        raise InvalidArgument(f"{field}.limit_price", f"not used by {order_type.name} orders")
    if order_type.needs_stop_price and stop is None:
        raise InvalidArgument(f"{field}.stop_price", f"required for {order_type.name} orders")
    if order_type.is_trailing and (trail_amt is None) == (trail_pct is None):
        raise InvalidArgument(
            f"{field}.trailing_amount", "give exactly one of trailing_amount and trailing_percent"
        )
    if not order_type.is_trailing and (trail_amt is not None or trail_pct is not None):
        raise InvalidArgument(f"{field}.trailing_amount", "only trailing orders trail")
    return m.OrderSpec(
        action=ACTIONS[msg.action],
        quantity=quantity,
        order_type=order_type,
        account=v.text(f"{field}.account", msg.account, limit=32),
        limit_price=limit,
        stop_price=stop,
        trailing_amount=trail_amt,
        trailing_percent=trail_pct,
        time_in_force=TIFS.get(msg.time_in_force, m.TimeInForce.DAY),
        outside_regular_hours=msg.outside_regular_hours,
        order_ref=v.text(f"{field}.order_ref", msg.order_ref),
        oca_group=v.text(f"{field}.oca_group", msg.oca_group, limit=64),
    )


def bracket_from_proto(msg: order_pb2.BracketSpec, spec: m.OrderSpec) -> m.BracketSpec | None:
    take = v.decimal("bracket.take_profit_limit_price", msg.take_profit_limit_price, positive=True)
    stop = v.decimal("bracket.stop_loss_stop_price", msg.stop_loss_stop_price, positive=True)
    stop_lmt = v.decimal("bracket.stop_loss_limit_price", msg.stop_loss_limit_price, positive=True)
    if take is None and stop is None:
        if stop_lmt is not None:
            raise InvalidArgument("bracket.stop_loss_stop_price", "required with a stop limit")
        raise InvalidArgument("bracket", "give a take-profit or a stop-loss price")
    if stop_lmt is not None and stop is None:
        raise InvalidArgument("bracket.stop_loss_stop_price", "required with a stop limit")
    entry = spec.limit_price
    if entry is not None and take is not None and stop is not None:
        low, high = (stop, take) if spec.action is m.OrderAction.BUY else (take, stop)
        if not low < entry < high:
            raise InvalidArgument(
                "bracket", "take-profit and stop-loss must be on either side of the entry price"
            )
    return m.BracketSpec(take, stop, stop_lmt)


def spec_to_proto(s: m.OrderSpec) -> order_pb2.OrderSpec:
    return order_pb2.OrderSpec(
        account=s.account,
        action=ACTIONS_OUT[s.action],
        quantity=_dec(s.quantity),
        order_type=ORDER_TYPES_OUT[s.order_type],
        limit_price=_dec(s.limit_price),
        stop_price=_dec(s.stop_price),
        trailing_amount=_dec(s.trailing_amount),
        trailing_percent=_dec(s.trailing_percent),
        time_in_force=TIFS_OUT[s.time_in_force],
        outside_regular_hours=s.outside_regular_hours,
        order_ref=s.order_ref,
        oca_group=s.oca_group,
    )


def error_to_proto(e: m.IbError | None) -> common_pb2.IbError | None:
    return common_pb2.IbError(code=e.code, message=e.message) if e else None


def execution_to_proto(e: m.Execution) -> order_pb2.Execution:
    return order_pb2.Execution(
        execution_id=e.execution_id,
        order_id=e.order_id,
        execution_time=_ts(e.execution_time),
        side=ACTIONS_OUT[e.side],
        quantity=_dec(e.quantity),
        price=_dec(e.price),
        exchange=e.exchange,
        commission=_dec(e.commission),
        commission_currency=e.commission_currency,
        realized_pnl=_dec(e.realized_pnl),
        cumulative_quantity=_dec(e.cumulative_quantity),
        average_price=_dec(e.average_price),
        account=e.account,
        contract=contract_to_proto(e.contract),
    )


def order_to_proto(o: m.Order) -> order_pb2.Order:
    return order_pb2.Order(
        order_id=o.order_id,
        request_id=o.request_id,
        contract=contract_to_proto(o.contract),
        spec=spec_to_proto(o.spec),
        status=STATUSES[o.status],
        filled_quantity=_dec(o.filled_quantity),
        remaining_quantity=_dec(o.remaining_quantity),
        average_fill_price=_dec(o.average_fill_price),
        ib_order_id=o.ib_order_id,
        perm_id=o.perm_id,
        parent_order_id=o.parent_order_id,
        last_error=error_to_proto(o.last_error),
        create_time=_ts(o.create_time),
        update_time=_ts(o.update_time),
        executions=[execution_to_proto(e) for e in o.executions],
        total_commission=_dec(o.total_commission),
        commission_currency=o.commission_currency,
        account=o.account,
    )


def preview_to_proto(p: m.OrderPreview) -> order_pb2.OrderPreview:
    return order_pb2.OrderPreview(
        initial_margin_change=_dec(p.initial_margin_change),
        maintenance_margin_change=_dec(p.maintenance_margin_change),
        equity_with_loan_change=_dec(p.equity_with_loan_change),
        initial_margin_after=_dec(p.initial_margin_after),
        maintenance_margin_after=_dec(p.maintenance_margin_after),
        commission=_dec(p.commission),
        min_commission=_dec(p.min_commission),
        max_commission=_dec(p.max_commission),
        commission_currency=p.commission_currency,
        warning_text=p.warning_text,
    )


def event_to_proto(e: m.OrderEvent) -> order_pb2.OrderEvent:
    return order_pb2.OrderEvent(
        type=EVENT_TYPES[e.type],
        order=order_to_proto(e.order),
        execution=execution_to_proto(e.execution) if e.execution else None,
        error=error_to_proto(e.error),
        event_time=_ts(e.event_time),
    )


# --- account and quotes -------------------------------------------------------------------------

SUMMARY_FIELDS = {
    "net_liquidation": "NetLiquidation",
    "total_cash": "TotalCashValue",
    "buying_power": "BuyingPower",
    "available_funds": "AvailableFunds",
    "excess_liquidity": "ExcessLiquidity",
    "maintenance_margin": "MaintMarginReq",
    "initial_margin": "InitMarginReq",
    "equity_with_loan": "EquityWithLoanValue",
    "gross_position_value": "GrossPositionValue",
    "unrealized_pnl": "UnrealizedPnL",
    "realized_pnl": "RealizedPnL",
}


def summary_to_proto(s: m.AccountSummary) -> account_pb2.AccountSummary:
    msg = account_pb2.AccountSummary(
        account_id=s.account_id, currency=s.currency, update_time=_ts(s.update_time)
    )
    for name, tag in SUMMARY_FIELDS.items():
        setattr(msg, name, _dec(s.values.get(tag)))
    return msg


def position_to_proto(p: m.Position) -> account_pb2.Position:
    return account_pb2.Position(
        account_id=p.account_id,
        contract=contract_to_proto(p.contract),
        quantity=_dec(p.quantity),
        average_cost=_dec(p.average_cost),
        market_price=_dec(p.market_price),
        market_value=_dec(p.market_value),
        unrealized_pnl=_dec(p.unrealized_pnl),
        realized_pnl=_dec(p.realized_pnl),
    )


def quote_to_proto(q: m.Quote) -> market_data_pb2.Quote:
    g = q.greeks
    return market_data_pb2.Quote(
        con_id=q.con_id,
        symbol=q.symbol,
        bid=_dec(q.bid),
        ask=_dec(q.ask),
        last=_dec(q.last),
        bid_size=_dec(q.bid_size),
        ask_size=_dec(q.ask_size),
        last_size=_dec(q.last_size),
        volume=_dec(q.volume),
        open=_dec(q.open),
        high=_dec(q.high),
        low=_dec(q.low),
        close=_dec(q.close),
        last_trade_time=_ts(q.last_trade_time),
        market_data_type=UNSPECIFIED + q.market_data_type.value,
        greeks=market_data_pb2.OptionGreeks(
            implied_volatility=_dec(g.implied_volatility),
            delta=_dec(g.delta),
            gamma=_dec(g.gamma),
            vega=_dec(g.vega),
            theta=_dec(g.theta),
            option_price=_dec(g.option_price),
            underlying_price=_dec(g.underlying_price),
        )
        if g
        else None,
        update_time=_ts(q.update_time),
    )


def quote_status_to_proto(s: m.QuoteStatus) -> market_data_pb2.QuoteStatus:
    return market_data_pb2.QuoteStatus(
        con_id=s.con_id,
        contract=contract_to_proto(s.contract),
        state=SUBSCRIPTION_STATES[s.state],
        error=error_to_proto(s.error),
    )


def kill_switch_to_proto(k: KillSwitchState) -> broker_service_pb2.KillSwitch:
    return broker_service_pb2.KillSwitch(
        engaged=k.engaged,
        reason=k.reason,
        engaged_by=k.engaged_by,
        engage_time=_ts(k.engage_time),
    )
