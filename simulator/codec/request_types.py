"""The requests the simulator understands, one frozen dataclass per kind (snake_case fields).

Both protocol eras parse into these: the text era in ``requests.py``, the protobuf era in
``proto_requests.py``. Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..model import ContractSpec, OrderRequest

__all__ = [
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
    "StartApi",
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


@dataclass(frozen=True)
class ReqPnLSingle(Request):
    req_id: int
    account: str
    model_code: str
    con_id: int


@dataclass(frozen=True)
class CancelPnLSingle(Request):
    req_id: int


@dataclass(frozen=True)
class ReqRealTimeBars(Request):
    req_id: int
    contract: ContractSpec
    bar_size: int  # seconds; IB accepts only 5
    what_to_show: str  # "TRADES", "MIDPOINT", "BID", "ASK"
    use_rth: bool
    options: str


@dataclass(frozen=True)
class CancelRealTimeBars(Request):
    req_id: int


@dataclass(frozen=True)
class ReqMktDepth(Request):
    req_id: int
    contract: ContractSpec
    num_rows: int
    is_smart_depth: bool
    options: str


@dataclass(frozen=True)
class CancelMktDepth(Request):
    req_id: int
    is_smart_depth: bool
