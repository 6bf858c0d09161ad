import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from ibkr_broker.v1 import account_pb2 as _account_pb2
from ibkr_broker.v1 import bars_pb2 as _bars_pb2
from ibkr_broker.v1 import common_pb2 as _common_pb2
from ibkr_broker.v1 import contract_pb2 as _contract_pb2
from ibkr_broker.v1 import feeds_pb2 as _feeds_pb2
from ibkr_broker.v1 import market_data_pb2 as _market_data_pb2
from ibkr_broker.v1 import order_pb2 as _order_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("connection_state", "server_version", "accounts", "paper_trading", "trading_enabled", "trading_disabled_reason", "tws_host", "tws_port", "client_id", "connect_time", "server_software_version", "kill_switch", "read_only", "max_server_version", "gateways")
    CONNECTION_STATE_FIELD_NUMBER: _ClassVar[int]
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    PAPER_TRADING_FIELD_NUMBER: _ClassVar[int]
    TRADING_ENABLED_FIELD_NUMBER: _ClassVar[int]
    TRADING_DISABLED_REASON_FIELD_NUMBER: _ClassVar[int]
    TWS_HOST_FIELD_NUMBER: _ClassVar[int]
    TWS_PORT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECT_TIME_FIELD_NUMBER: _ClassVar[int]
    SERVER_SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    KILL_SWITCH_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    MAX_SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    GATEWAYS_FIELD_NUMBER: _ClassVar[int]
    connection_state: _common_pb2.ConnectionState
    server_version: int
    accounts: _containers.RepeatedScalarFieldContainer[str]
    paper_trading: bool
    trading_enabled: bool
    trading_disabled_reason: str
    tws_host: str
    tws_port: int
    client_id: int
    connect_time: _timestamp_pb2.Timestamp
    server_software_version: str
    kill_switch: KillSwitch
    read_only: bool
    max_server_version: int
    gateways: _containers.RepeatedCompositeFieldContainer[GatewayStatus]
    def __init__(self, connection_state: _Optional[_Union[_common_pb2.ConnectionState, str]] = ..., server_version: _Optional[int] = ..., accounts: _Optional[_Iterable[str]] = ..., paper_trading: _Optional[bool] = ..., trading_enabled: _Optional[bool] = ..., trading_disabled_reason: _Optional[str] = ..., tws_host: _Optional[str] = ..., tws_port: _Optional[int] = ..., client_id: _Optional[int] = ..., connect_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., server_software_version: _Optional[str] = ..., kill_switch: _Optional[_Union[KillSwitch, _Mapping]] = ..., read_only: _Optional[bool] = ..., max_server_version: _Optional[int] = ..., gateways: _Optional[_Iterable[_Union[GatewayStatus, _Mapping]]] = ...) -> None: ...

class GatewayStatus(_message.Message):
    __slots__ = ("accounts", "connection_state", "server_version", "tws_host", "tws_port", "client_id", "trading_enabled", "trading_disabled_reason", "connect_time", "server_software_version", "paper_trading")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_STATE_FIELD_NUMBER: _ClassVar[int]
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    TWS_HOST_FIELD_NUMBER: _ClassVar[int]
    TWS_PORT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    TRADING_ENABLED_FIELD_NUMBER: _ClassVar[int]
    TRADING_DISABLED_REASON_FIELD_NUMBER: _ClassVar[int]
    CONNECT_TIME_FIELD_NUMBER: _ClassVar[int]
    SERVER_SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PAPER_TRADING_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedScalarFieldContainer[str]
    connection_state: _common_pb2.ConnectionState
    server_version: int
    tws_host: str
    tws_port: int
    client_id: int
    trading_enabled: bool
    trading_disabled_reason: str
    connect_time: _timestamp_pb2.Timestamp
    server_software_version: str
    paper_trading: bool
    def __init__(self, accounts: _Optional[_Iterable[str]] = ..., connection_state: _Optional[_Union[_common_pb2.ConnectionState, str]] = ..., server_version: _Optional[int] = ..., tws_host: _Optional[str] = ..., tws_port: _Optional[int] = ..., client_id: _Optional[int] = ..., trading_enabled: _Optional[bool] = ..., trading_disabled_reason: _Optional[str] = ..., connect_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., server_software_version: _Optional[str] = ..., paper_trading: _Optional[bool] = ...) -> None: ...

class KillSwitch(_message.Message):
    __slots__ = ("engaged", "reason", "engaged_by", "engage_time")
    ENGAGED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ENGAGED_BY_FIELD_NUMBER: _ClassVar[int]
    ENGAGE_TIME_FIELD_NUMBER: _ClassVar[int]
    engaged: bool
    reason: str
    engaged_by: str
    engage_time: _timestamp_pb2.Timestamp
    def __init__(self, engaged: _Optional[bool] = ..., reason: _Optional[str] = ..., engaged_by: _Optional[str] = ..., engage_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ResolveContractRequest(_message.Message):
    __slots__ = ("contract",)
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    contract: _contract_pb2.Contract
    def __init__(self, contract: _Optional[_Union[_contract_pb2.Contract, _Mapping]] = ...) -> None: ...

class ResolveContractResponse(_message.Message):
    __slots__ = ("matches",)
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[_contract_pb2.ContractDetails]
    def __init__(self, matches: _Optional[_Iterable[_Union[_contract_pb2.ContractDetails, _Mapping]]] = ...) -> None: ...

class GetOptionChainRequest(_message.Message):
    __slots__ = ("underlying",)
    UNDERLYING_FIELD_NUMBER: _ClassVar[int]
    underlying: _contract_pb2.Contract
    def __init__(self, underlying: _Optional[_Union[_contract_pb2.Contract, _Mapping]] = ...) -> None: ...

class GetOptionChainResponse(_message.Message):
    __slots__ = ("underlying", "chains")
    UNDERLYING_FIELD_NUMBER: _ClassVar[int]
    CHAINS_FIELD_NUMBER: _ClassVar[int]
    underlying: _contract_pb2.Contract
    chains: _containers.RepeatedCompositeFieldContainer[_contract_pb2.OptionChain]
    def __init__(self, underlying: _Optional[_Union[_contract_pb2.Contract, _Mapping]] = ..., chains: _Optional[_Iterable[_Union[_contract_pb2.OptionChain, _Mapping]]] = ...) -> None: ...

class PlaceOrderRequest(_message.Message):
    __slots__ = ("request_id", "contract", "order", "bracket", "what_if")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    BRACKET_FIELD_NUMBER: _ClassVar[int]
    WHAT_IF_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    contract: _contract_pb2.Contract
    order: _order_pb2.OrderSpec
    bracket: _order_pb2.BracketSpec
    what_if: bool
    def __init__(self, request_id: _Optional[str] = ..., contract: _Optional[_Union[_contract_pb2.Contract, _Mapping]] = ..., order: _Optional[_Union[_order_pb2.OrderSpec, _Mapping]] = ..., bracket: _Optional[_Union[_order_pb2.BracketSpec, _Mapping]] = ..., what_if: _Optional[bool] = ...) -> None: ...

class PlaceOrderResponse(_message.Message):
    __slots__ = ("order", "bracket_orders", "preview")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    BRACKET_ORDERS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    order: _order_pb2.Order
    bracket_orders: _containers.RepeatedCompositeFieldContainer[_order_pb2.Order]
    preview: _order_pb2.OrderPreview
    def __init__(self, order: _Optional[_Union[_order_pb2.Order, _Mapping]] = ..., bracket_orders: _Optional[_Iterable[_Union[_order_pb2.Order, _Mapping]]] = ..., preview: _Optional[_Union[_order_pb2.OrderPreview, _Mapping]] = ...) -> None: ...

class ModifyOrderRequest(_message.Message):
    __slots__ = ("request_id", "order_id", "quantity", "limit_price", "stop_price", "trailing_amount", "trailing_percent", "time_in_force")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_PRICE_FIELD_NUMBER: _ClassVar[int]
    TRAILING_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TRAILING_PERCENT_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    order_id: str
    quantity: str
    limit_price: str
    stop_price: str
    trailing_amount: str
    trailing_percent: str
    time_in_force: _order_pb2.TimeInForce
    def __init__(self, request_id: _Optional[str] = ..., order_id: _Optional[str] = ..., quantity: _Optional[str] = ..., limit_price: _Optional[str] = ..., stop_price: _Optional[str] = ..., trailing_amount: _Optional[str] = ..., trailing_percent: _Optional[str] = ..., time_in_force: _Optional[_Union[_order_pb2.TimeInForce, str]] = ...) -> None: ...

class ModifyOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: _order_pb2.Order
    def __init__(self, order: _Optional[_Union[_order_pb2.Order, _Mapping]] = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("request_id", "order_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    order_id: str
    def __init__(self, request_id: _Optional[str] = ..., order_id: _Optional[str] = ...) -> None: ...

class CancelOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: _order_pb2.Order
    def __init__(self, order: _Optional[_Union[_order_pb2.Order, _Mapping]] = ...) -> None: ...

class CancelAllOrdersRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class CancelAllOrdersResponse(_message.Message):
    __slots__ = ("order_ids",)
    ORDER_IDS_FIELD_NUMBER: _ClassVar[int]
    order_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, order_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("order_id", "request_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    request_id: str
    def __init__(self, order_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: _order_pb2.Order
    def __init__(self, order: _Optional[_Union[_order_pb2.Order, _Mapping]] = ...) -> None: ...

class ListOrdersRequest(_message.Message):
    __slots__ = ("filter", "account", "page_size", "page_token")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: _order_pb2.OrderFilter
    account: str
    page_size: int
    page_token: str
    def __init__(self, filter: _Optional[_Union[_order_pb2.OrderFilter, str]] = ..., account: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListOrdersResponse(_message.Message):
    __slots__ = ("orders", "next_page_token")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[_order_pb2.Order]
    next_page_token: str
    def __init__(self, orders: _Optional[_Iterable[_Union[_order_pb2.Order, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StreamOrderEventsRequest(_message.Message):
    __slots__ = ("resume_after_sequence", "account")
    RESUME_AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    resume_after_sequence: int
    account: str
    def __init__(self, resume_after_sequence: _Optional[int] = ..., account: _Optional[str] = ...) -> None: ...

class StreamOrderEventsResponse(_message.Message):
    __slots__ = ("sequence", "event", "status", "heartbeat")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    event: _order_pb2.OrderEvent
    status: _common_pb2.SessionStatus
    heartbeat: _common_pb2.Heartbeat
    def __init__(self, sequence: _Optional[int] = ..., event: _Optional[_Union[_order_pb2.OrderEvent, _Mapping]] = ..., status: _Optional[_Union[_common_pb2.SessionStatus, _Mapping]] = ..., heartbeat: _Optional[_Union[_common_pb2.Heartbeat, _Mapping]] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class GetAccountResponse(_message.Message):
    __slots__ = ("accounts",)
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[_account_pb2.AccountSummary]
    def __init__(self, accounts: _Optional[_Iterable[_Union[_account_pb2.AccountSummary, _Mapping]]] = ...) -> None: ...

class ListPositionsRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class ListPositionsResponse(_message.Message):
    __slots__ = ("positions",)
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    positions: _containers.RepeatedCompositeFieldContainer[_account_pb2.Position]
    def __init__(self, positions: _Optional[_Iterable[_Union[_account_pb2.Position, _Mapping]]] = ...) -> None: ...

class GetQuoteRequest(_message.Message):
    __slots__ = ("contract",)
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    contract: _contract_pb2.Contract
    def __init__(self, contract: _Optional[_Union[_contract_pb2.Contract, _Mapping]] = ...) -> None: ...

class GetQuoteResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: _market_data_pb2.Quote
    def __init__(self, quote: _Optional[_Union[_market_data_pb2.Quote, _Mapping]] = ...) -> None: ...

class StreamQuotesRequest(_message.Message):
    __slots__ = ("contracts",)
    CONTRACTS_FIELD_NUMBER: _ClassVar[int]
    contracts: _containers.RepeatedCompositeFieldContainer[_contract_pb2.Contract]
    def __init__(self, contracts: _Optional[_Iterable[_Union[_contract_pb2.Contract, _Mapping]]] = ...) -> None: ...

class StreamQuotesResponse(_message.Message):
    __slots__ = ("sequence", "quotes", "status", "heartbeat")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    QUOTES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    quotes: _market_data_pb2.QuoteBatch
    status: _market_data_pb2.QuoteStatus
    heartbeat: _common_pb2.Heartbeat
    def __init__(self, sequence: _Optional[int] = ..., quotes: _Optional[_Union[_market_data_pb2.QuoteBatch, _Mapping]] = ..., status: _Optional[_Union[_market_data_pb2.QuoteStatus, _Mapping]] = ..., heartbeat: _Optional[_Union[_common_pb2.Heartbeat, _Mapping]] = ...) -> None: ...

class HaltTradingRequest(_message.Message):
    __slots__ = ("request_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class HaltTradingResponse(_message.Message):
    __slots__ = ("kill_switch", "cancelled_order_ids")
    KILL_SWITCH_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_ORDER_IDS_FIELD_NUMBER: _ClassVar[int]
    kill_switch: KillSwitch
    cancelled_order_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, kill_switch: _Optional[_Union[KillSwitch, _Mapping]] = ..., cancelled_order_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ResumeTradingRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class ResumeTradingResponse(_message.Message):
    __slots__ = ("kill_switch",)
    KILL_SWITCH_FIELD_NUMBER: _ClassVar[int]
    kill_switch: KillSwitch
    def __init__(self, kill_switch: _Optional[_Union[KillSwitch, _Mapping]] = ...) -> None: ...

class GetHistoricalBarsRequest(_message.Message):
    __slots__ = ("contract", "end_time", "duration", "bar_size", "source", "include_outside_regular_hours")
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    BAR_SIZE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_OUTSIDE_REGULAR_HOURS_FIELD_NUMBER: _ClassVar[int]
    contract: _contract_pb2.Contract
    end_time: _timestamp_pb2.Timestamp
    duration: str
    bar_size: str
    source: _bars_pb2.BarSource
    include_outside_regular_hours: bool
    def __init__(self, contract: _Optional[_Union[_contract_pb2.Contract, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration: _Optional[str] = ..., bar_size: _Optional[str] = ..., source: _Optional[_Union[_bars_pb2.BarSource, str]] = ..., include_outside_regular_hours: _Optional[bool] = ...) -> None: ...

class GetHistoricalBarsResponse(_message.Message):
    __slots__ = ("contract", "bars", "shared")
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    BARS_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    contract: _contract_pb2.Contract
    bars: _containers.RepeatedCompositeFieldContainer[_bars_pb2.Bar]
    shared: bool
    def __init__(self, contract: _Optional[_Union[_contract_pb2.Contract, _Mapping]] = ..., bars: _Optional[_Iterable[_Union[_bars_pb2.Bar, _Mapping]]] = ..., shared: _Optional[bool] = ...) -> None: ...

class StreamBarsRequest(_message.Message):
    __slots__ = ("contract", "kind", "bar_size", "source", "include_outside_regular_hours")
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BAR_SIZE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_OUTSIDE_REGULAR_HOURS_FIELD_NUMBER: _ClassVar[int]
    contract: _contract_pb2.Contract
    kind: _feeds_pb2.LiveBarKind
    bar_size: str
    source: _bars_pb2.BarSource
    include_outside_regular_hours: bool
    def __init__(self, contract: _Optional[_Union[_contract_pb2.Contract, _Mapping]] = ..., kind: _Optional[_Union[_feeds_pb2.LiveBarKind, str]] = ..., bar_size: _Optional[str] = ..., source: _Optional[_Union[_bars_pb2.BarSource, str]] = ..., include_outside_regular_hours: _Optional[bool] = ...) -> None: ...

class StreamBarsResponse(_message.Message):
    __slots__ = ("sequence", "bar", "status", "heartbeat")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    BAR_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    bar: _feeds_pb2.LiveBar
    status: _feeds_pb2.FeedStatus
    heartbeat: _common_pb2.Heartbeat
    def __init__(self, sequence: _Optional[int] = ..., bar: _Optional[_Union[_feeds_pb2.LiveBar, _Mapping]] = ..., status: _Optional[_Union[_feeds_pb2.FeedStatus, _Mapping]] = ..., heartbeat: _Optional[_Union[_common_pb2.Heartbeat, _Mapping]] = ...) -> None: ...

class StreamPnLRequest(_message.Message):
    __slots__ = ("account_ids", "include_positions")
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_POSITIONS_FIELD_NUMBER: _ClassVar[int]
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    include_positions: bool
    def __init__(self, account_ids: _Optional[_Iterable[str]] = ..., include_positions: _Optional[bool] = ...) -> None: ...

class StreamPnLResponse(_message.Message):
    __slots__ = ("sequence", "pnl", "status", "heartbeat")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PNL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    pnl: _feeds_pb2.ProfitAndLoss
    status: _feeds_pb2.FeedStatus
    heartbeat: _common_pb2.Heartbeat
    def __init__(self, sequence: _Optional[int] = ..., pnl: _Optional[_Union[_feeds_pb2.ProfitAndLoss, _Mapping]] = ..., status: _Optional[_Union[_feeds_pb2.FeedStatus, _Mapping]] = ..., heartbeat: _Optional[_Union[_common_pb2.Heartbeat, _Mapping]] = ...) -> None: ...

class StreamMarketDepthRequest(_message.Message):
    __slots__ = ("contract", "rows")
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    contract: _contract_pb2.Contract
    rows: int
    def __init__(self, contract: _Optional[_Union[_contract_pb2.Contract, _Mapping]] = ..., rows: _Optional[int] = ...) -> None: ...

class StreamMarketDepthResponse(_message.Message):
    __slots__ = ("sequence", "book", "updates", "status", "heartbeat")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    BOOK_FIELD_NUMBER: _ClassVar[int]
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    book: _feeds_pb2.DepthBook
    updates: _feeds_pb2.DepthUpdates
    status: _feeds_pb2.FeedStatus
    heartbeat: _common_pb2.Heartbeat
    def __init__(self, sequence: _Optional[int] = ..., book: _Optional[_Union[_feeds_pb2.DepthBook, _Mapping]] = ..., updates: _Optional[_Union[_feeds_pb2.DepthUpdates, _Mapping]] = ..., status: _Optional[_Union[_feeds_pb2.FeedStatus, _Mapping]] = ..., heartbeat: _Optional[_Union[_common_pb2.Heartbeat, _Mapping]] = ...) -> None: ...
