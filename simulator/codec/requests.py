"""Text-era requests (server version <= 178): parse one request's fields into its dataclass.

Pure: no I/O.

Public API:

- ``parse_request(fields: list[str]) -> Request``: ``fields[0]`` is the message id (as
  ``FrameReader`` yields it). Raises ``UnknownRequest`` for an unknown id and
  ``MalformedRequest`` for missing, badly typed or left-over fields (the layout at 178 is
  exact) and for order conditions, which the simulator does not support. Both carry
  ``msg_id``, ``reason`` and ``req_id`` (the request's reqId/orderId when it was readable).
- ``REQUESTS``: message id -> ``RequestKind(name, type, parse)``, the one table of the
  requests the simulator understands (the protobuf era keys its parsers by the same ids).
- ``REQUEST_TYPES``: message id -> request class (derived from ``REQUESTS``).
- The request classes are in ``request_types.py`` and re-exported here.

Both real encoders (ibapi 10.50, ib_async 2.1) produce the same field counts at 178 and differ
only in how they spell "unset" (tws-protocol.md §4.2); ``FieldCursor`` accepts all spellings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..model import ComboLegSpec, ContractSpec
from .ids import In
from .place_order import parse_place_order, read_contract, read_count
from .request_types import (
    CancelAccountSummary,
    CancelAccountUpdatesMulti,
    CancelHistoricalData,
    CancelMktData,
    CancelMktDepth,
    CancelOrder,
    CancelPnL,
    CancelPnLSingle,
    CancelPositions,
    CancelRealTimeBars,
    DeltaNeutralSpec,
    PlaceOrder,
    ReqAccountSummary,
    ReqAccountUpdates,
    ReqAccountUpdatesMulti,
    ReqAllOpenOrders,
    ReqAutoOpenOrders,
    ReqCompletedOrders,
    ReqContractDetails,
    ReqCurrentTime,
    ReqExecutions,
    ReqGlobalCancel,
    ReqHistoricalData,
    ReqIds,
    ReqManagedAccts,
    ReqMarketDataType,
    ReqMatchingSymbols,
    ReqMktData,
    ReqMktDepth,
    ReqOpenOrders,
    ReqPnL,
    ReqPnLSingle,
    ReqPositions,
    ReqRealTimeBars,
    ReqSecDefOptParams,
    Request,
    StartApi,
)
from .wire import FieldCursor, MalformedRequest, RequestError, UnknownRequest

__all__ = [
    "REQUESTS",
    "REQUEST_TYPES",
    "CancelAccountSummary",
    "CancelAccountUpdatesMulti",
    "CancelHistoricalData",
    "CancelMktData",
    "CancelMktDepth",
    "CancelOrder",
    "CancelPnL",
    "CancelPnLSingle",
    "CancelPositions",
    "CancelRealTimeBars",
    "DeltaNeutralSpec",
    "MalformedRequest",
    "PlaceOrder",
    "ReqAccountSummary",
    "ReqAccountUpdates",
    "ReqAccountUpdatesMulti",
    "ReqAllOpenOrders",
    "ReqAutoOpenOrders",
    "ReqCompletedOrders",
    "ReqContractDetails",
    "ReqCurrentTime",
    "ReqExecutions",
    "ReqGlobalCancel",
    "ReqHistoricalData",
    "ReqIds",
    "ReqManagedAccts",
    "ReqMarketDataType",
    "ReqMatchingSymbols",
    "ReqMktData",
    "ReqMktDepth",
    "ReqOpenOrders",
    "ReqPnL",
    "ReqPnLSingle",
    "ReqPositions",
    "ReqRealTimeBars",
    "ReqSecDefOptParams",
    "Request",
    "RequestError",
    "RequestKind",
    "StartApi",
    "UnknownRequest",
    "parse_request",
    "read_contract",
]


# --------------------------------------------------------------------------------------------
# parsers: each reads exactly the fields one request carries after the message id


def _short_legs(c: FieldCursor, contract: ContractSpec) -> ContractSpec:
    """BAG legs as reqMktData/reqHistoricalData carry them: n, (conId, ratio, action, exch)*n."""
    if contract.sec_type != "BAG":
        return contract
    n = read_count(c, "comboLegsCount")
    legs = tuple(
        ComboLegSpec(
            con_id=c.int("leg.conId"),
            ratio=c.int("leg.ratio"),
            action=c.str("leg.action"),
            exchange=c.str("leg.exchange"),
        )
        for _ in range(n)
    )
    return _with_legs(contract, legs)


def _with_legs(contract: ContractSpec, legs: tuple[ComboLegSpec, ...]) -> ContractSpec:
    return replace(contract, combo_legs=legs)


def _req_id(c: FieldCursor, name: str = "reqId") -> int:
    rid = c.int(name)
    c.req_id = rid
    return rid


def _start_api(c: FieldCursor) -> Request:
    c.skip(1, "version")
    return StartApi(client_id=c.int("clientId"), optional_capabilities=c.str("optCapab"))


def _req_ids(c: FieldCursor) -> Request:
    c.skip(1, "version")
    return ReqIds(num_ids=c.int("numIds"))


def _versioned_empty(cls: Callable[[], Request]) -> Callable[[FieldCursor], Request]:
    def parse(c: FieldCursor) -> Request:
        c.skip(1, "version")
        return cls()

    return parse


def _req_contract_details(c: FieldCursor) -> Request:
    c.skip(1, "version")
    req_id = _req_id(c)
    contract = read_contract(c)
    return ReqContractDetails(
        req_id=req_id,
        contract=contract,
        include_expired=c.bool("includeExpired"),
        sec_id_type=c.str("secIdType"),
        sec_id=c.str("secId"),
        issuer_id=c.str("issuerId"),
    )


def _req_mkt_data(c: FieldCursor) -> Request:
    c.skip(1, "version")
    req_id = _req_id(c)
    contract = _short_legs(c, read_contract(c))
    dn = None
    if c.bool("deltaNeutralContractPresent"):
        dn = DeltaNeutralSpec(c.int("dn.conId"), c.decimal("dn.delta"), c.decimal("dn.price"))
    return ReqMktData(
        req_id=req_id,
        contract=contract,
        delta_neutral=dn,
        generic_ticks=c.str("genericTickList"),
        snapshot=c.bool("snapshot"),
        regulatory_snapshot=c.bool("regulatorySnapshot"),
        options=c.str("mktDataOptions"),
    )


def _versioned_req_id(cls: Callable[[int], Request]) -> Callable[[FieldCursor], Request]:
    def parse(c: FieldCursor) -> Request:
        c.skip(1, "version")
        return cls(_req_id(c))

    return parse


def _unversioned_req_id(cls: Callable[[int], Request]) -> Callable[[FieldCursor], Request]:
    def parse(c: FieldCursor) -> Request:
        return cls(_req_id(c))

    return parse


def _req_market_data_type(c: FieldCursor) -> Request:
    c.skip(1, "version")
    return ReqMarketDataType(market_data_type=c.int("marketDataType"))


def _place_order(c: FieldCursor) -> Request:
    return PlaceOrder(order=parse_place_order(c))


def _cancel_order(c: FieldCursor) -> Request:
    c.skip(1, "version")
    order_id = _req_id(c, "orderId")
    return CancelOrder(order_id=order_id, manual_order_cancel_time=c.str("manualOrderCancelTime"))


def _req_auto_open_orders(c: FieldCursor) -> Request:
    c.skip(1, "version")
    return ReqAutoOpenOrders(auto_bind=c.bool("autoBind"))


def _req_completed_orders(c: FieldCursor) -> Request:
    return ReqCompletedOrders(api_only=c.bool("apiOnly"))


def _req_account_updates(c: FieldCursor) -> Request:
    c.skip(1, "version")
    return ReqAccountUpdates(subscribe=c.bool("subscribe"), account=c.str("acctCode"))


def _req_account_updates_multi(c: FieldCursor) -> Request:
    c.skip(1, "version")
    req_id = _req_id(c)
    return ReqAccountUpdatesMulti(
        req_id=req_id,
        account=c.str("account"),
        model_code=c.str("modelCode"),
        ledger_and_nlv=c.bool("ledgerAndNLV"),
    )


def _req_account_summary(c: FieldCursor) -> Request:
    c.skip(1, "version")
    req_id = _req_id(c)
    group = c.str("groupName")
    tags = tuple(t.strip() for t in c.str("tags").split(",") if t.strip())
    return ReqAccountSummary(req_id=req_id, group=group, tags=tags)


def _req_executions(c: FieldCursor) -> Request:
    c.skip(1, "version")
    req_id = _req_id(c)
    return ReqExecutions(
        req_id=req_id,
        client_id=c.int("clientId"),
        account=c.str("acctCode"),
        time=c.str("time"),
        symbol=c.str("symbol"),
        sec_type=c.str("secType"),
        exchange=c.str("exchange"),
        side=c.str("side"),
    )


def _req_sec_def_opt_params(c: FieldCursor) -> Request:
    req_id = _req_id(c)
    return ReqSecDefOptParams(
        req_id=req_id,
        underlying_symbol=c.str("underlyingSymbol"),
        fut_fop_exchange=c.str("futFopExchange"),
        underlying_sec_type=c.str("underlyingSecType"),
        underlying_con_id=c.int("underlyingConId"),
    )


def _req_historical_data(c: FieldCursor) -> Request:
    req_id = _req_id(c)
    contract = read_contract(c)
    include_expired = c.bool("includeExpired")
    end = c.str("endDateTime")
    bar_size = c.str("barSizeSetting")
    duration = c.str("durationStr")
    use_rth = c.bool("useRTH")
    what = c.str("whatToShow")
    fmt = c.int("formatDate", 1)
    contract = _short_legs(c, contract)
    return ReqHistoricalData(
        req_id=req_id,
        contract=contract,
        include_expired=include_expired,
        end_date_time=end,
        bar_size=bar_size,
        duration=duration,
        use_rth=use_rth,
        what_to_show=what,
        format_date=fmt,
        keep_up_to_date=c.bool("keepUpToDate"),
        chart_options=c.str("chartOptions"),
    )


def _req_matching_symbols(c: FieldCursor) -> Request:
    req_id = _req_id(c)
    return ReqMatchingSymbols(req_id=req_id, pattern=c.str("pattern"))


def _req_pnl(c: FieldCursor) -> Request:
    req_id = _req_id(c)
    return ReqPnL(req_id=req_id, account=c.str("account"), model_code=c.str("modelCode"))


def _req_pnl_single(c: FieldCursor) -> Request:
    req_id = _req_id(c)
    return ReqPnLSingle(req_id=req_id, account=c.str("account"), model_code=c.str("modelCode"),
                        con_id=c.int("conid"))


def _req_real_time_bars(c: FieldCursor) -> Request:
    c.skip(1, "version")
    req_id = _req_id(c)
    contract = read_contract(c)
    return ReqRealTimeBars(req_id=req_id, contract=contract, bar_size=c.int("barSize"),
                           what_to_show=c.str("whatToShow"), use_rth=c.bool("useRTH"),
                           options=c.str("realTimeBarsOptions"))


def _req_mkt_depth(c: FieldCursor) -> Request:
    c.skip(1, "version")
    req_id = _req_id(c)
    contract = read_contract(c)
    return ReqMktDepth(req_id=req_id, contract=contract, num_rows=c.int("numRows"),
                       is_smart_depth=c.bool("isSmartDepth"), options=c.str("mktDepthOptions"))


def _cancel_mkt_depth(c: FieldCursor) -> Request:
    c.skip(1, "version")
    req_id = _req_id(c)
    return CancelMktDepth(req_id=req_id, is_smart_depth=c.bool("isSmartDepth"))


@dataclass(frozen=True)
class RequestKind:
    """One request the simulator understands: its ibapi name, its class, its text parser."""

    name: str
    type: type[Request]
    parse: Callable[[FieldCursor], Request]


def _kind(name: str, cls: type[Request], parse: Callable[[FieldCursor], Request]) -> RequestKind:
    return RequestKind(name, cls, parse)


REQUESTS: dict[int, RequestKind] = {
    In.START_API: _kind("startApi", StartApi, _start_api),
    In.REQ_IDS: _kind("reqIds", ReqIds, _req_ids),
    In.REQ_CURRENT_TIME: _kind("reqCurrentTime", ReqCurrentTime,
                               _versioned_empty(ReqCurrentTime)),
    In.REQ_MANAGED_ACCTS: _kind("reqManagedAccts", ReqManagedAccts,
                                _versioned_empty(ReqManagedAccts)),
    In.REQ_CONTRACT_DETAILS: _kind("reqContractDetails", ReqContractDetails,
                                   _req_contract_details),
    In.REQ_MKT_DATA: _kind("reqMktData", ReqMktData, _req_mkt_data),
    In.CANCEL_MKT_DATA: _kind("cancelMktData", CancelMktData, _versioned_req_id(CancelMktData)),
    In.REQ_MARKET_DATA_TYPE: _kind("reqMarketDataType", ReqMarketDataType,
                                   _req_market_data_type),
    In.PLACE_ORDER: _kind("placeOrder", PlaceOrder, _place_order),
    In.CANCEL_ORDER: _kind("cancelOrder", CancelOrder, _cancel_order),
    In.REQ_OPEN_ORDERS: _kind("reqOpenOrders", ReqOpenOrders, _versioned_empty(ReqOpenOrders)),
    In.REQ_ALL_OPEN_ORDERS: _kind("reqAllOpenOrders", ReqAllOpenOrders,
                                  _versioned_empty(ReqAllOpenOrders)),
    In.REQ_AUTO_OPEN_ORDERS: _kind("reqAutoOpenOrders", ReqAutoOpenOrders,
                                   _req_auto_open_orders),
    In.REQ_COMPLETED_ORDERS: _kind("reqCompletedOrders", ReqCompletedOrders,
                                   _req_completed_orders),
    In.REQ_GLOBAL_CANCEL: _kind("reqGlobalCancel", ReqGlobalCancel,
                                _versioned_empty(ReqGlobalCancel)),
    In.REQ_ACCOUNT_UPDATES: _kind("reqAccountUpdates", ReqAccountUpdates, _req_account_updates),
    In.REQ_ACCOUNT_UPDATES_MULTI: _kind("reqAccountUpdatesMulti", ReqAccountUpdatesMulti,
                                        _req_account_updates_multi),
    In.CANCEL_ACCOUNT_UPDATES_MULTI: _kind("cancelAccountUpdatesMulti",
                                           CancelAccountUpdatesMulti,
                                           _versioned_req_id(CancelAccountUpdatesMulti)),
    In.REQ_POSITIONS: _kind("reqPositions", ReqPositions, _versioned_empty(ReqPositions)),
    In.CANCEL_POSITIONS: _kind("cancelPositions", CancelPositions,
                               _versioned_empty(CancelPositions)),
    In.REQ_ACCOUNT_SUMMARY: _kind("reqAccountSummary", ReqAccountSummary, _req_account_summary),
    In.CANCEL_ACCOUNT_SUMMARY: _kind("cancelAccountSummary", CancelAccountSummary,
                                     _versioned_req_id(CancelAccountSummary)),
    In.REQ_EXECUTIONS: _kind("reqExecutions", ReqExecutions, _req_executions),
    In.REQ_SEC_DEF_OPT_PARAMS: _kind("reqSecDefOptParams", ReqSecDefOptParams,
                                     _req_sec_def_opt_params),
    In.REQ_HISTORICAL_DATA: _kind("reqHistoricalData", ReqHistoricalData, _req_historical_data),
    In.CANCEL_HISTORICAL_DATA: _kind("cancelHistoricalData", CancelHistoricalData,
                                     _versioned_req_id(CancelHistoricalData)),
    In.REQ_MATCHING_SYMBOLS: _kind("reqMatchingSymbols", ReqMatchingSymbols,
                                   _req_matching_symbols),
    In.REQ_PNL: _kind("reqPnL", ReqPnL, _req_pnl),
    In.CANCEL_PNL: _kind("cancelPnL", CancelPnL, _unversioned_req_id(CancelPnL)),
    In.REQ_PNL_SINGLE: _kind("reqPnLSingle", ReqPnLSingle, _req_pnl_single),
    In.CANCEL_PNL_SINGLE: _kind("cancelPnLSingle", CancelPnLSingle,
                                _unversioned_req_id(CancelPnLSingle)),
    In.REQ_REAL_TIME_BARS: _kind("reqRealTimeBars", ReqRealTimeBars, _req_real_time_bars),
    In.CANCEL_REAL_TIME_BARS: _kind("cancelRealTimeBars", CancelRealTimeBars,
                                    _versioned_req_id(CancelRealTimeBars)),
    In.REQ_MKT_DEPTH: _kind("reqMktDepth", ReqMktDepth, _req_mkt_depth),
    In.CANCEL_MKT_DEPTH: _kind("cancelMktDepth", CancelMktDepth, _cancel_mkt_depth),
}

REQUEST_TYPES: dict[int, type[Request]] = {msg_id: k.type for msg_id, k in REQUESTS.items()}


def parse_request(fields: list[str]) -> Request:
    """Parse one complete request (``fields[0]`` = message id) into its dataclass."""
    if not fields:
        raise MalformedRequest(-1, "empty message")
    try:
        msg_id = int(fields[0])
    except ValueError:
        raise MalformedRequest(-1, f"message id is not an integer: {fields[0]!r}") from None
    kind = REQUESTS.get(msg_id)
    if kind is None:
        raise UnknownRequest(msg_id)
    cursor = FieldCursor(fields, kind.name)
    request = kind.parse(cursor)
    cursor.expect_end()
    return request
