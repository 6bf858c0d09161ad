import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from ibkr_broker.v1 import common_pb2 as _common_pb2
from ibkr_broker.v1 import contract_pb2 as _contract_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MarketDataType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MARKET_DATA_TYPE_UNSPECIFIED: _ClassVar[MarketDataType]
    MARKET_DATA_TYPE_LIVE: _ClassVar[MarketDataType]
    MARKET_DATA_TYPE_FROZEN: _ClassVar[MarketDataType]
    MARKET_DATA_TYPE_DELAYED: _ClassVar[MarketDataType]
    MARKET_DATA_TYPE_DELAYED_FROZEN: _ClassVar[MarketDataType]

class SubscriptionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSCRIPTION_STATE_UNSPECIFIED: _ClassVar[SubscriptionState]
    SUBSCRIPTION_STATE_SUBSCRIBED: _ClassVar[SubscriptionState]
    SUBSCRIPTION_STATE_DELAYED: _ClassVar[SubscriptionState]
    SUBSCRIPTION_STATE_NOT_ENTITLED: _ClassVar[SubscriptionState]
    SUBSCRIPTION_STATE_LINE_LIMIT_REACHED: _ClassVar[SubscriptionState]
    SUBSCRIPTION_STATE_ERROR: _ClassVar[SubscriptionState]
    SUBSCRIPTION_STATE_INTERRUPTED: _ClassVar[SubscriptionState]
    SUBSCRIPTION_STATE_DEPTH_LIMIT_REACHED: _ClassVar[SubscriptionState]
MARKET_DATA_TYPE_UNSPECIFIED: MarketDataType
MARKET_DATA_TYPE_LIVE: MarketDataType
MARKET_DATA_TYPE_FROZEN: MarketDataType
MARKET_DATA_TYPE_DELAYED: MarketDataType
MARKET_DATA_TYPE_DELAYED_FROZEN: MarketDataType
SUBSCRIPTION_STATE_UNSPECIFIED: SubscriptionState
SUBSCRIPTION_STATE_SUBSCRIBED: SubscriptionState
SUBSCRIPTION_STATE_DELAYED: SubscriptionState
SUBSCRIPTION_STATE_NOT_ENTITLED: SubscriptionState
SUBSCRIPTION_STATE_LINE_LIMIT_REACHED: SubscriptionState
SUBSCRIPTION_STATE_ERROR: SubscriptionState
SUBSCRIPTION_STATE_INTERRUPTED: SubscriptionState
SUBSCRIPTION_STATE_DEPTH_LIMIT_REACHED: SubscriptionState

class OptionGreeks(_message.Message):
    __slots__ = ("implied_volatility", "delta", "gamma", "vega", "theta", "option_price", "underlying_price")
    IMPLIED_VOLATILITY_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    GAMMA_FIELD_NUMBER: _ClassVar[int]
    VEGA_FIELD_NUMBER: _ClassVar[int]
    THETA_FIELD_NUMBER: _ClassVar[int]
    OPTION_PRICE_FIELD_NUMBER: _ClassVar[int]
    UNDERLYING_PRICE_FIELD_NUMBER: _ClassVar[int]
    implied_volatility: str
    delta: str
    gamma: str
    vega: str
    theta: str
    option_price: str
    underlying_price: str
    def __init__(self, implied_volatility: _Optional[str] = ..., delta: _Optional[str] = ..., gamma: _Optional[str] = ..., vega: _Optional[str] = ..., theta: _Optional[str] = ..., option_price: _Optional[str] = ..., underlying_price: _Optional[str] = ...) -> None: ...

class Quote(_message.Message):
    __slots__ = ("con_id", "symbol", "bid", "ask", "last", "bid_size", "ask_size", "last_size", "volume", "open", "high", "low", "close", "last_trade_time", "market_data_type", "greeks", "update_time")
    CON_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    BID_FIELD_NUMBER: _ClassVar[int]
    ASK_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    BID_SIZE_FIELD_NUMBER: _ClassVar[int]
    ASK_SIZE_FIELD_NUMBER: _ClassVar[int]
    LAST_SIZE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    LAST_TRADE_TIME_FIELD_NUMBER: _ClassVar[int]
    MARKET_DATA_TYPE_FIELD_NUMBER: _ClassVar[int]
    GREEKS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    con_id: int
    symbol: str
    bid: str
    ask: str
    last: str
    bid_size: str
    ask_size: str
    last_size: str
    volume: str
    open: str
    high: str
    low: str
    close: str
    last_trade_time: _timestamp_pb2.Timestamp
    market_data_type: MarketDataType
    greeks: OptionGreeks
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, con_id: _Optional[int] = ..., symbol: _Optional[str] = ..., bid: _Optional[str] = ..., ask: _Optional[str] = ..., last: _Optional[str] = ..., bid_size: _Optional[str] = ..., ask_size: _Optional[str] = ..., last_size: _Optional[str] = ..., volume: _Optional[str] = ..., open: _Optional[str] = ..., high: _Optional[str] = ..., low: _Optional[str] = ..., close: _Optional[str] = ..., last_trade_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., market_data_type: _Optional[_Union[MarketDataType, str]] = ..., greeks: _Optional[_Union[OptionGreeks, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class QuoteBatch(_message.Message):
    __slots__ = ("quotes", "coalesced_updates")
    QUOTES_FIELD_NUMBER: _ClassVar[int]
    COALESCED_UPDATES_FIELD_NUMBER: _ClassVar[int]
    quotes: _containers.RepeatedCompositeFieldContainer[Quote]
    coalesced_updates: int
    def __init__(self, quotes: _Optional[_Iterable[_Union[Quote, _Mapping]]] = ..., coalesced_updates: _Optional[int] = ...) -> None: ...

class QuoteStatus(_message.Message):
    __slots__ = ("con_id", "contract", "state", "error")
    CON_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    con_id: int
    contract: _contract_pb2.Contract
    state: SubscriptionState
    error: _common_pb2.IbError
    def __init__(self, con_id: _Optional[int] = ..., contract: _Optional[_Union[_contract_pb2.Contract, _Mapping]] = ..., state: _Optional[_Union[SubscriptionState, str]] = ..., error: _Optional[_Union[_common_pb2.IbError, _Mapping]] = ...) -> None: ...
