"""Client -> server requests at server version 178: one frozen dataclass per kind. Pure: no I/O.

Public API:

- ``parse_request(fields: list[str]) -> Request``: ``fields[0]`` is the message id (as
  ``FrameReader`` yields it). Raises ``UnknownRequest`` for an unknown id and
  ``MalformedRequest`` for missing, badly typed or left-over fields (the layout at 178 is
  exact) and for order conditions, which the simulator does not support. Both carry
  ``msg_id``, ``reason`` and ``req_id`` (the request's reqId/orderId when it was readable).
- ``REQUEST_TYPES``: message id -> request class.
- Request classes (snake_case fields): StartApi, ReqIds, ReqCurrentTime, ReqManagedAccts,
  ReqContractDetails, ReqMktData, CancelMktData, ReqMarketDataType, PlaceOrder (``.order`` is a
  ``model.OrderRequest``), CancelOrder, ReqOpenOrders, ReqAllOpenOrders, ReqAutoOpenOrders,
  ReqCompletedOrders, ReqGlobalCancel, ReqAccountUpdates, ReqAccountUpdatesMulti,
  CancelAccountUpdatesMulti, ReqPositions, CancelPositions, ReqAccountSummary,
  CancelAccountSummary, ReqExecutions, ReqSecDefOptParams, ReqHistoricalData,
  CancelHistoricalData, ReqMatchingSymbols, ReqPnL, CancelPnL; ``DeltaNeutralSpec``.

Both real encoders (ibapi 10.50, ib_async 2.1) produce the same field counts at 178 and differ
only in how they spell "unset" (tws-protocol.md §4.2); ``FieldCursor`` accepts all spellings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from .model import ComboLegSpec, ContractSpec, OrderRequest
from .orders_in import parse_place_order, read_contract, read_count
from .wire import FieldCursor, MalformedRequest, RequestError, UnknownRequest

__all__ = [
    "REQUEST_TYPES",
    "CancelAccountSummary",
    "CancelAccountUpdatesMulti",
    "CancelHistoricalData",
    "CancelMktData",
    "CancelOrder",
    "CancelPnL",
    "CancelPositions",
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
    "ReqOpenOrders",
    "ReqPnL",
    "ReqPositions",
    "ReqSecDefOptParams",
    "Request",
    "RequestError",
    "StartApi",
    "UnknownRequest",
    "parse_request",
    "read_contract",
]


@dataclass(frozen=True)
class Request:
    """Base of all parsed requests."""


@dataclass(frozen=True)
class DeltaNeutralSpec:
    con_id: int
    delta: Decimal | None
    price: Decimal | None


@dataclass(frozen=True)
class StartApi(Request):
    client_id: int
    optional_capabilities: str


@dataclass(frozen=True)
class ReqIds(Request):
    num_ids: int


@dataclass(frozen=True)
class ReqCurrentTime(Request):
    pass


@dataclass(frozen=True)
class ReqManagedAccts(Request):
    pass


@dataclass(frozen=True)
class ReqContractDetails(Request):
    req_id: int
    contract: ContractSpec
    include_expired: bool
    sec_id_type: str
    sec_id: str
    issuer_id: str


@dataclass(frozen=True)
class ReqMktData(Request):
    req_id: int
    contract: ContractSpec  # combo_legs filled for a BAG
    delta_neutral: DeltaNeutralSpec | None
    generic_ticks: str  # e.g. "100,101,106"
    snapshot: bool
    regulatory_snapshot: bool
    options: str


@dataclass(frozen=True)
class CancelMktData(Request):
    req_id: int


@dataclass(frozen=True)
class ReqMarketDataType(Request):
    market_data_type: int  # 1 real-time, 2 frozen, 3 delayed, 4 delayed-frozen


@dataclass(frozen=True)
class PlaceOrder(Request):
    order: OrderRequest


@dataclass(frozen=True)
class CancelOrder(Request):
    order_id: int
    manual_order_cancel_time: str


@dataclass(frozen=True)
class ReqOpenOrders(Request):
    pass


@dataclass(frozen=True)
class ReqAllOpenOrders(Request):
    pass


@dataclass(frozen=True)
class ReqAutoOpenOrders(Request):
    auto_bind: bool


@dataclass(frozen=True)
class ReqCompletedOrders(Request):
    api_only: bool


@dataclass(frozen=True)
class ReqGlobalCancel(Request):
    pass


@dataclass(frozen=True)
class ReqAccountUpdates(Request):
    subscribe: bool
    account: str


@dataclass(frozen=True)
class ReqAccountUpdatesMulti(Request):
    req_id: int
    account: str
    model_code: str
    ledger_and_nlv: bool


@dataclass(frozen=True)
class CancelAccountUpdatesMulti(Request):
    req_id: int


@dataclass(frozen=True)
class ReqPositions(Request):
    pass


@dataclass(frozen=True)
class CancelPositions(Request):
    pass


@dataclass(frozen=True)
class ReqAccountSummary(Request):
    req_id: int
    group: str  # "All" or a group name
    tags: tuple[str, ...]  # e.g. ("NetLiquidation", "$LEDGER:ALL")


@dataclass(frozen=True)
class CancelAccountSummary(Request):
    req_id: int


@dataclass(frozen=True)
class ReqExecutions(Request):
    req_id: int
    client_id: int  # 0 = all clients
    account: str
    time: str  # "yyyymmdd hh:mm:ss" or ""
    symbol: str
    sec_type: str
    exchange: str
    side: str


@dataclass(frozen=True)
class ReqSecDefOptParams(Request):
    req_id: int
    underlying_symbol: str
    fut_fop_exchange: str
    underlying_sec_type: str
    underlying_con_id: int


@dataclass(frozen=True)
class ReqHistoricalData(Request):
    req_id: int
    contract: ContractSpec
    include_expired: bool
    end_date_time: str  # "" = now
    bar_size: str  # e.g. "1 min"
    duration: str  # e.g. "1 D"
    use_rth: bool
    what_to_show: str  # e.g. "TRADES", "MIDPOINT"
    format_date: int  # 1 = text, 2 = epoch seconds
    keep_up_to_date: bool
    chart_options: str


@dataclass(frozen=True)
class CancelHistoricalData(Request):
    req_id: int


@dataclass(frozen=True)
class ReqMatchingSymbols(Request):
    req_id: int
    pattern: str


@dataclass(frozen=True)
class ReqPnL(Request):
    req_id: int
    account: str
    model_code: str


@dataclass(frozen=True)
class CancelPnL(Request):
    req_id: int


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


_PARSERS: dict[int, tuple[str, Callable[[FieldCursor], Request]]] = {
    71: ("startApi", _start_api),
    8: ("reqIds", _req_ids),
    49: ("reqCurrentTime", _versioned_empty(ReqCurrentTime)),
    17: ("reqManagedAccts", _versioned_empty(ReqManagedAccts)),
    9: ("reqContractDetails", _req_contract_details),
    1: ("reqMktData", _req_mkt_data),
    2: ("cancelMktData", _versioned_req_id(CancelMktData)),
    59: ("reqMarketDataType", _req_market_data_type),
    3: ("placeOrder", _place_order),
    4: ("cancelOrder", _cancel_order),
    5: ("reqOpenOrders", _versioned_empty(ReqOpenOrders)),
    16: ("reqAllOpenOrders", _versioned_empty(ReqAllOpenOrders)),
    15: ("reqAutoOpenOrders", _req_auto_open_orders),
    99: ("reqCompletedOrders", _req_completed_orders),
    58: ("reqGlobalCancel", _versioned_empty(ReqGlobalCancel)),
    6: ("reqAccountUpdates", _req_account_updates),
    76: ("reqAccountUpdatesMulti", _req_account_updates_multi),
    77: ("cancelAccountUpdatesMulti", _versioned_req_id(CancelAccountUpdatesMulti)),
    61: ("reqPositions", _versioned_empty(ReqPositions)),
    64: ("cancelPositions", _versioned_empty(CancelPositions)),
    62: ("reqAccountSummary", _req_account_summary),
    63: ("cancelAccountSummary", _versioned_req_id(CancelAccountSummary)),
    7: ("reqExecutions", _req_executions),
    78: ("reqSecDefOptParams", _req_sec_def_opt_params),
    20: ("reqHistoricalData", _req_historical_data),
    25: ("cancelHistoricalData", _versioned_req_id(CancelHistoricalData)),
    81: ("reqMatchingSymbols", _req_matching_symbols),
    92: ("reqPnL", _req_pnl),
    93: ("cancelPnL", _unversioned_req_id(CancelPnL)),
}

REQUEST_TYPES: dict[int, type[Request]] = {
    71: StartApi, 8: ReqIds, 49: ReqCurrentTime, 17: ReqManagedAccts, 9: ReqContractDetails,
    1: ReqMktData, 2: CancelMktData, 59: ReqMarketDataType, 3: PlaceOrder, 4: CancelOrder,
    5: ReqOpenOrders, 16: ReqAllOpenOrders, 15: ReqAutoOpenOrders, 99: ReqCompletedOrders,
    58: ReqGlobalCancel, 6: ReqAccountUpdates, 76: ReqAccountUpdatesMulti,
    77: CancelAccountUpdatesMulti, 61: ReqPositions, 64: CancelPositions,
    62: ReqAccountSummary, 63: CancelAccountSummary, 7: ReqExecutions, 78: ReqSecDefOptParams,
    20: ReqHistoricalData, 25: CancelHistoricalData, 81: ReqMatchingSymbols, 92: ReqPnL,
    93: CancelPnL,
}  # fmt: skip


def parse_request(fields: list[str]) -> Request:
    """Parse one complete request (``fields[0]`` = message id) into its dataclass."""
    if not fields:
        raise MalformedRequest(-1, "empty message")
    try:
        msg_id = int(fields[0])
    except ValueError:
        raise MalformedRequest(-1, f"message id is not an integer: {fields[0]!r}") from None
    entry = _PARSERS.get(msg_id)
    if entry is None:
        raise UnknownRequest(msg_id)
    name, parser = entry
    cursor = FieldCursor(fields, name)
    request = parser(cursor)
    cursor.expect_end()
    return request
