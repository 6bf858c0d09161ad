"""Protobuf-era requests (server version >= 201): one protobuf payload into its dataclass. Pure.

Public API:

- ``parse_proto_request(msg_id, payload) -> Request``: ``msg_id`` is the classic id (the wire
  id minus ``PROTOBUF_OFFSET``). The schemas are ibapi's shipped ``ibapi.protobuf`` modules,
  used as data. Raises ``UnknownRequest`` for an id the simulator does not parse in protobuf
  form and ``MalformedRequest`` for a payload that does not parse, that carries fields the
  schema does not know (nothing may be left over), or that asks for what the simulator does not
  support (order conditions, attached orders).
- ``PROTO_REQUESTS``: classic message id -> (protobuf class, converter).

Every converter yields the same dataclass as the text parser of ``requests.py`` for the same
client call (tests/unit/test_sim_proto_codec.py checks this against ibapi 10.50's encoders).
Tag/value maps (algo params, smart combo routing params, options) come sorted by tag: a
protobuf map keeps no order. Doubles become exact decimals through their shortest text
(``repr``), as the text era sends them; an absent field reads as the text era's empty field.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet
from ibapi.protobuf import (
    AccountDataRequest_pb2,
    AccountSummaryRequest_pb2,
    AccountUpdatesMultiRequest_pb2,
    AllOpenOrdersRequest_pb2,
    AutoOpenOrdersRequest_pb2,
    CancelAccountSummary_pb2,
    CancelAccountUpdatesMulti_pb2,
    CancelHistoricalData_pb2,
    CancelMarketData_pb2,
    CancelMarketDepth_pb2,
    CancelOrderRequest_pb2,
    CancelPnL_pb2,
    CancelPnLSingle_pb2,
    CancelPositions_pb2,
    CancelRealTimeBars_pb2,
    CompletedOrdersRequest_pb2,
    ContractDataRequest_pb2,
    CurrentTimeRequest_pb2,
    ExecutionRequest_pb2,
    GlobalCancelRequest_pb2,
    HistoricalDataRequest_pb2,
    IdsRequest_pb2,
    ManagedAccountsRequest_pb2,
    MarketDataRequest_pb2,
    MarketDataTypeRequest_pb2,
    MarketDepthRequest_pb2,
    MatchingSymbolsRequest_pb2,
    OpenOrdersRequest_pb2,
    PlaceOrderRequest_pb2,
    PnLRequest_pb2,
    PnLSingleRequest_pb2,
    PositionsRequest_pb2,
    RealTimeBarsRequest_pb2,
    SecDefOptParamsRequest_pb2,
    StartApiRequest_pb2,
)

from ..model import ComboLegSpec, ContractSpec, OrderRequest
from . import request_types as rt
from .ids import In
from .requests import REQUESTS
from .wire import MalformedRequest, UnknownRequest

__all__ = ["PROTO_REQUESTS", "parse_proto_request"]

_UNSET_DOUBLE = 1.7976931348623157e308
_UNSET_INTS = frozenset({2147483647, 9223372036854775807})

Proto = Any  # a generated protobuf message (ibapi's modules carry no type information)


class _Reader:
    """Reads optional fields of one protobuf message the way the text era reads its fields."""

    def __init__(self, msg: Proto, msg_id: int, name: str) -> None:
        self.msg = msg
        self.msg_id = msg_id
        self.name = name
        self.req_id: int | None = None

    def error(self, why: str) -> MalformedRequest:
        return MalformedRequest(self.msg_id, f"{self.name}: {why}", self.req_id)

    def decimal(self, msg: Proto, field: str) -> Decimal | None:
        if not msg.HasField(field):
            return None
        value = getattr(msg, field)
        if value != value:
            raise self.error(f"{field} is not a number")
        if abs(value) == _UNSET_DOUBLE:
            return None
        return Decimal(repr(value))


def _int(msg: Proto, field: str, default: int = 0) -> int:
    if not msg.HasField(field):
        return default
    value = int(getattr(msg, field))
    return default if value in _UNSET_INTS else value


def _pairs(pairs: Any) -> tuple[tuple[str, str], ...]:
    """A protobuf tag/value map, sorted by tag (a map keeps no order on the wire)."""
    return tuple(sorted(pairs.items()))


def _tag_text(pairs: Any) -> str:
    """A tag/value map as the text era spells an options list: "tag=value;..."."""
    return "".join(f"{tag}={value};" for tag, value in _pairs(pairs))


def _multiplier(c: Proto) -> str:
    if not c.HasField("multiplier"):
        return ""
    m = c.multiplier
    return str(int(m)) if float(m).is_integer() else repr(m)


def _contract(r: _Reader, c: Proto) -> ContractSpec:
    strike = r.decimal(c, "strike")
    legs = tuple(
        ComboLegSpec(con_id=leg.conId, ratio=leg.ratio, action=leg.action,
                     exchange=leg.exchange)
        for leg in c.comboLegs
    )
    return ContractSpec(
        con_id=c.conId, symbol=c.symbol, sec_type=c.secType,
        last_trade_date=c.lastTradeDateOrContractMonth,
        strike=None if strike is None or strike == 0 else strike, right=c.right,
        multiplier=_multiplier(c), exchange=c.exchange, primary_exchange=c.primaryExch,
        currency=c.currency, local_symbol=c.localSymbol, trading_class=c.tradingClass,
        combo_legs=legs,
    )  # fmt: skip


def _req_id(r: _Reader, field: str = "reqId") -> int:
    r.req_id = _int(r.msg, field)
    return r.req_id


def _start_api(r: _Reader) -> rt.Request:
    return rt.StartApi(client_id=_int(r.msg, "clientId"),
                       optional_capabilities=r.msg.optionalCapabilities)


def _req_ids(r: _Reader) -> rt.Request:
    return rt.ReqIds(num_ids=_int(r.msg, "numIds"))


def _empty(cls: Callable[[], rt.Request]) -> Callable[[_Reader], rt.Request]:
    return lambda r: cls()


def _with_req_id(cls: Callable[[int], rt.Request]) -> Callable[[_Reader], rt.Request]:
    return lambda r: cls(_req_id(r))


def _contract_details(r: _Reader) -> rt.Request:
    req_id = _req_id(r)
    c = r.msg.contract
    return rt.ReqContractDetails(
        req_id=req_id, contract=_contract(r, c), include_expired=c.includeExpired,
        sec_id_type=c.secIdType, sec_id=c.secId, issuer_id=c.issuerId,
    )


def _mkt_data(r: _Reader) -> rt.Request:
    req_id = _req_id(r)
    m = r.msg
    dn = None
    if m.contract.HasField("deltaNeutralContract"):
        d = m.contract.deltaNeutralContract
        dn = rt.DeltaNeutralSpec(_int(d, "conId"), r.decimal(d, "delta"), r.decimal(d, "price"))
    return rt.ReqMktData(
        req_id=req_id, contract=_contract(r, m.contract), delta_neutral=dn,
        generic_ticks=m.genericTickList, snapshot=m.snapshot,
        regulatory_snapshot=m.regulatorySnapshot, options=_tag_text(m.marketDataOptions),
    )


def _market_data_type(r: _Reader) -> rt.Request:
    return rt.ReqMarketDataType(market_data_type=_int(r.msg, "marketDataType"))


def _cancel_order(r: _Reader) -> rt.Request:
    order_id = _req_id(r, "orderId")
    return rt.CancelOrder(order_id=order_id,
                          manual_order_cancel_time=r.msg.orderCancel.manualOrderCancelTime)


def _place_order(r: _Reader) -> rt.Request:
    m = r.msg
    order_id = _req_id(r, "orderId")
    o = m.order
    if len(o.conditions):
        raise r.error("order conditions are not supported")
    attached = m.attachedOrders
    if any(attached.HasField(f) for f in ("slOrderId", "slOrderType", "ptOrderId",
                                           "ptOrderType")):
        raise r.error("attached orders are not supported")
    quantity = _quantity(r, o)
    legs = m.contract.comboLegs
    prices: tuple[Decimal | None, ...] = ()
    if any(leg.HasField("perLegPrice") for leg in legs):
        prices = tuple(r.decimal(leg, "perLegPrice") for leg in legs)
    min_qty = _int(o, "minQty", -1)
    return rt.PlaceOrder(order=OrderRequest(
        order_id=order_id, contract=_contract(r, m.contract), action=o.action,
        total_quantity=quantity, order_type=o.orderType, lmt_price=r.decimal(o, "lmtPrice"),
        aux_price=r.decimal(o, "auxPrice"), tif=o.tif, oca_group=o.ocaGroup, account=o.account,
        order_ref=o.orderRef, transmit=o.transmit, parent_id=_int(o, "parentId"),
        outside_rth=o.outsideRth, trailing_percent=r.decimal(o, "trailingPercent"),
        trail_stop_price=r.decimal(o, "trailStopPrice"), what_if=o.whatIf,
        order_combo_leg_prices=prices,
        smart_combo_routing_params=_pairs(o.smartComboRoutingParams),
        good_after_time=o.goodAfterTime, good_till_date=o.goodTillDate,
        algo_strategy=o.algoStrategy,
        algo_params=_pairs(o.algoParams) if o.algoStrategy else (),
        hidden=o.hidden, display_size=_int(o, "displaySize"), all_or_none=o.allOrNone,
        min_qty=None if min_qty < 0 else min_qty, oca_type=_int(o, "ocaType"),
        trigger_method=_int(o, "triggerMethod"), cash_qty=r.decimal(o, "cashQty"),
        model_code=o.modelCode,
    ))  # fmt: skip


def _quantity(r: _Reader, o: Proto) -> Decimal:
    text = o.totalQuantity
    if not text:
        raise r.error("totalQuantity is missing")
    try:
        q = Decimal(text)
    except ArithmeticError:
        raise r.error(f"totalQuantity is not a number: {text!r}") from None
    if not q.is_finite() or q == Decimal("1.7976931348623157E308"):
        raise r.error(f"totalQuantity is not a usable quantity: {text!r}")
    return q


def _auto_open_orders(r: _Reader) -> rt.Request:
    return rt.ReqAutoOpenOrders(auto_bind=r.msg.autoBind)


def _completed_orders(r: _Reader) -> rt.Request:
    return rt.ReqCompletedOrders(api_only=r.msg.apiOnly)


def _account_updates(r: _Reader) -> rt.Request:
    return rt.ReqAccountUpdates(subscribe=r.msg.subscribe, account=r.msg.acctCode)


def _account_updates_multi(r: _Reader) -> rt.Request:
    req_id = _req_id(r)
    m = r.msg
    return rt.ReqAccountUpdatesMulti(req_id=req_id, account=m.account, model_code=m.modelCode,
                                     ledger_and_nlv=m.ledgerAndNLV)


def _account_summary(r: _Reader) -> rt.Request:
    req_id = _req_id(r)
    tags = tuple(t.strip() for t in r.msg.tags.split(",") if t.strip())
    return rt.ReqAccountSummary(req_id=req_id, group=r.msg.group, tags=tags)


def _executions(r: _Reader) -> rt.Request:
    req_id = _req_id(r)
    f = r.msg.executionFilter
    return rt.ReqExecutions(
        req_id=req_id, client_id=_int(f, "clientId"), account=f.acctCode, time=f.time,
        symbol=f.symbol, sec_type=f.secType, exchange=f.exchange, side=f.side,
    )


def _sec_def_opt_params(r: _Reader) -> rt.Request:
    req_id = _req_id(r)
    m = r.msg
    return rt.ReqSecDefOptParams(
        req_id=req_id, underlying_symbol=m.underlyingSymbol, fut_fop_exchange=m.futFopExchange,
        underlying_sec_type=m.underlyingSecType, underlying_con_id=_int(m, "underlyingConId"),
    )


def _historical_data(r: _Reader) -> rt.Request:
    req_id = _req_id(r)
    m = r.msg
    return rt.ReqHistoricalData(
        req_id=req_id, contract=_contract(r, m.contract),
        include_expired=m.contract.includeExpired, end_date_time=m.endDateTime,
        bar_size=m.barSizeSetting, duration=m.duration, use_rth=m.useRTH,
        what_to_show=m.whatToShow, format_date=_int(m, "formatDate", 1),
        keep_up_to_date=m.keepUpToDate, chart_options=_tag_text(m.chartOptions),
    )


def _matching_symbols(r: _Reader) -> rt.Request:
    return rt.ReqMatchingSymbols(req_id=_req_id(r), pattern=r.msg.pattern)


def _pnl_single(r: _Reader) -> rt.Request:
    req_id = _req_id(r)
    m = r.msg
    return rt.ReqPnLSingle(req_id=req_id, account=m.account, model_code=m.modelCode,
                           con_id=_int(m, "conId"))


def _real_time_bars(r: _Reader) -> rt.Request:
    req_id = _req_id(r)
    m = r.msg
    return rt.ReqRealTimeBars(req_id=req_id, contract=_contract(r, m.contract),
                              bar_size=_int(m, "barSize"), what_to_show=m.whatToShow,
                              use_rth=m.useRTH, options=_tag_text(m.realTimeBarsOptions))


def _mkt_depth(r: _Reader) -> rt.Request:
    req_id = _req_id(r)
    m = r.msg
    return rt.ReqMktDepth(req_id=req_id, contract=_contract(r, m.contract),
                          num_rows=_int(m, "numRows"), is_smart_depth=m.isSmartDepth,
                          options=_tag_text(m.marketDepthOptions))


def _cancel_mkt_depth(r: _Reader) -> rt.Request:
    return rt.CancelMktDepth(req_id=_req_id(r), is_smart_depth=r.msg.isSmartDepth)


def _pnl(r: _Reader) -> rt.Request:
    req_id = _req_id(r)
    return rt.ReqPnL(req_id=req_id, account=r.msg.account, model_code=r.msg.modelCode)


Converter = Callable[[_Reader], rt.Request]

PROTO_REQUESTS: dict[int, tuple[type[Message], Converter]] = {
    In.START_API: (StartApiRequest_pb2.StartApiRequest, _start_api),
    In.REQ_IDS: (IdsRequest_pb2.IdsRequest, _req_ids),
    In.REQ_CURRENT_TIME: (CurrentTimeRequest_pb2.CurrentTimeRequest, _empty(rt.ReqCurrentTime)),
    In.REQ_MANAGED_ACCTS: (ManagedAccountsRequest_pb2.ManagedAccountsRequest,
                           _empty(rt.ReqManagedAccts)),
    In.REQ_CONTRACT_DETAILS: (ContractDataRequest_pb2.ContractDataRequest, _contract_details),
    In.REQ_MKT_DATA: (MarketDataRequest_pb2.MarketDataRequest, _mkt_data),
    In.CANCEL_MKT_DATA: (CancelMarketData_pb2.CancelMarketData, _with_req_id(rt.CancelMktData)),
    In.REQ_MARKET_DATA_TYPE: (MarketDataTypeRequest_pb2.MarketDataTypeRequest,
                              _market_data_type),
    In.PLACE_ORDER: (PlaceOrderRequest_pb2.PlaceOrderRequest, _place_order),
    In.CANCEL_ORDER: (CancelOrderRequest_pb2.CancelOrderRequest, _cancel_order),
    In.REQ_OPEN_ORDERS: (OpenOrdersRequest_pb2.OpenOrdersRequest, _empty(rt.ReqOpenOrders)),
    In.REQ_ALL_OPEN_ORDERS: (AllOpenOrdersRequest_pb2.AllOpenOrdersRequest,
                             _empty(rt.ReqAllOpenOrders)),
    In.REQ_AUTO_OPEN_ORDERS: (AutoOpenOrdersRequest_pb2.AutoOpenOrdersRequest,
                              _auto_open_orders),
    In.REQ_COMPLETED_ORDERS: (CompletedOrdersRequest_pb2.CompletedOrdersRequest,
                              _completed_orders),
    In.REQ_GLOBAL_CANCEL: (GlobalCancelRequest_pb2.GlobalCancelRequest,
                           _empty(rt.ReqGlobalCancel)),
    In.REQ_ACCOUNT_UPDATES: (AccountDataRequest_pb2.AccountDataRequest, _account_updates),
    In.REQ_ACCOUNT_UPDATES_MULTI: (AccountUpdatesMultiRequest_pb2.AccountUpdatesMultiRequest,
                                   _account_updates_multi),
    In.CANCEL_ACCOUNT_UPDATES_MULTI: (CancelAccountUpdatesMulti_pb2.CancelAccountUpdatesMulti,
                                      _with_req_id(rt.CancelAccountUpdatesMulti)),
    In.REQ_POSITIONS: (PositionsRequest_pb2.PositionsRequest, _empty(rt.ReqPositions)),
    In.CANCEL_POSITIONS: (CancelPositions_pb2.CancelPositions, _empty(rt.CancelPositions)),
    In.REQ_ACCOUNT_SUMMARY: (AccountSummaryRequest_pb2.AccountSummaryRequest, _account_summary),
    In.CANCEL_ACCOUNT_SUMMARY: (CancelAccountSummary_pb2.CancelAccountSummary,
                                _with_req_id(rt.CancelAccountSummary)),
    In.REQ_EXECUTIONS: (ExecutionRequest_pb2.ExecutionRequest, _executions),
    In.REQ_SEC_DEF_OPT_PARAMS: (SecDefOptParamsRequest_pb2.SecDefOptParamsRequest,
                                _sec_def_opt_params),
    In.REQ_HISTORICAL_DATA: (HistoricalDataRequest_pb2.HistoricalDataRequest, _historical_data),
    In.CANCEL_HISTORICAL_DATA: (CancelHistoricalData_pb2.CancelHistoricalData,
                                _with_req_id(rt.CancelHistoricalData)),
    In.REQ_MATCHING_SYMBOLS: (MatchingSymbolsRequest_pb2.MatchingSymbolsRequest,
                              _matching_symbols),
    In.REQ_PNL: (PnLRequest_pb2.PnLRequest, _pnl),
    In.CANCEL_PNL: (CancelPnL_pb2.CancelPnL, _with_req_id(rt.CancelPnL)),
    In.REQ_PNL_SINGLE: (PnLSingleRequest_pb2.PnLSingleRequest, _pnl_single),
    In.CANCEL_PNL_SINGLE: (CancelPnLSingle_pb2.CancelPnLSingle, _with_req_id(rt.CancelPnLSingle)),
    In.REQ_REAL_TIME_BARS: (RealTimeBarsRequest_pb2.RealTimeBarsRequest, _real_time_bars),
    In.CANCEL_REAL_TIME_BARS: (CancelRealTimeBars_pb2.CancelRealTimeBars,
                               _with_req_id(rt.CancelRealTimeBars)),
    In.REQ_MKT_DEPTH: (MarketDepthRequest_pb2.MarketDepthRequest, _mkt_depth),
    In.CANCEL_MKT_DEPTH: (CancelMarketDepth_pb2.CancelMarketDepth, _cancel_mkt_depth),
}


def _unknown_fields(msg: Message, path: str = "") -> list[str]:
    """Paths of fields the schema does not know, in ``msg`` and every message it holds."""
    found = [f"{path}#{u.field_number}" for u in UnknownFieldSet(msg)]
    for field, value in msg.ListFields():
        if field.message_type is None or field.message_type.GetOptions().map_entry:
            continue
        values = value if field.is_repeated else [value]
        for i, sub in enumerate(values):
            found += _unknown_fields(sub, f"{path}{field.name}[{i}].")
    return found


def parse_proto_request(msg_id: int, payload: bytes) -> rt.Request:
    """Parse one protobuf request (classic ``msg_id``) into its dataclass."""
    entry = PROTO_REQUESTS.get(msg_id)
    if entry is None:
        raise UnknownRequest(msg_id)
    cls, convert = entry
    name = REQUESTS[msg_id].name
    msg = cls()
    try:
        msg.ParseFromString(payload)
    except DecodeError as exc:
        raise MalformedRequest(msg_id, f"{name}: protobuf payload does not parse: {exc}") from None
    unknown = _unknown_fields(msg)
    if unknown:
        raise MalformedRequest(msg_id, f"{name}: fields the schema does not know: {unknown[:5]}")
    return convert(_Reader(msg, msg_id, name))
