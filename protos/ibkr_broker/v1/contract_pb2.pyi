from ibkr_broker.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SecurityType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SECURITY_TYPE_UNSPECIFIED: _ClassVar[SecurityType]
    SECURITY_TYPE_STOCK: _ClassVar[SecurityType]
    SECURITY_TYPE_OPTION: _ClassVar[SecurityType]
    SECURITY_TYPE_FUTURE: _ClassVar[SecurityType]
    SECURITY_TYPE_FOREX: _ClassVar[SecurityType]
    SECURITY_TYPE_INDEX: _ClassVar[SecurityType]
    SECURITY_TYPE_COMBO: _ClassVar[SecurityType]
    SECURITY_TYPE_FUTURE_OPTION: _ClassVar[SecurityType]

class OptionRight(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OPTION_RIGHT_UNSPECIFIED: _ClassVar[OptionRight]
    OPTION_RIGHT_CALL: _ClassVar[OptionRight]
    OPTION_RIGHT_PUT: _ClassVar[OptionRight]
SECURITY_TYPE_UNSPECIFIED: SecurityType
SECURITY_TYPE_STOCK: SecurityType
SECURITY_TYPE_OPTION: SecurityType
SECURITY_TYPE_FUTURE: SecurityType
SECURITY_TYPE_FOREX: SecurityType
SECURITY_TYPE_INDEX: SecurityType
SECURITY_TYPE_COMBO: SecurityType
SECURITY_TYPE_FUTURE_OPTION: SecurityType
OPTION_RIGHT_UNSPECIFIED: OptionRight
OPTION_RIGHT_CALL: OptionRight
OPTION_RIGHT_PUT: OptionRight

class Contract(_message.Message):
    __slots__ = ("con_id", "security_type", "symbol", "exchange", "primary_exchange", "currency", "local_symbol", "trading_class", "multiplier", "last_trade_date", "strike", "right", "combo_legs")
    CON_ID_FIELD_NUMBER: _ClassVar[int]
    SECURITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LOCAL_SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TRADING_CLASS_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    LAST_TRADE_DATE_FIELD_NUMBER: _ClassVar[int]
    STRIKE_FIELD_NUMBER: _ClassVar[int]
    RIGHT_FIELD_NUMBER: _ClassVar[int]
    COMBO_LEGS_FIELD_NUMBER: _ClassVar[int]
    con_id: int
    security_type: SecurityType
    symbol: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    multiplier: str
    last_trade_date: str
    strike: str
    right: OptionRight
    combo_legs: _containers.RepeatedCompositeFieldContainer[ComboLeg]
    def __init__(self, con_id: _Optional[int] = ..., security_type: _Optional[_Union[SecurityType, str]] = ..., symbol: _Optional[str] = ..., exchange: _Optional[str] = ..., primary_exchange: _Optional[str] = ..., currency: _Optional[str] = ..., local_symbol: _Optional[str] = ..., trading_class: _Optional[str] = ..., multiplier: _Optional[str] = ..., last_trade_date: _Optional[str] = ..., strike: _Optional[str] = ..., right: _Optional[_Union[OptionRight, str]] = ..., combo_legs: _Optional[_Iterable[_Union[ComboLeg, _Mapping]]] = ...) -> None: ...

class ComboLeg(_message.Message):
    __slots__ = ("con_id", "contract", "ratio", "action", "exchange")
    CON_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    RATIO_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    con_id: int
    contract: Contract
    ratio: int
    action: _common_pb2.OrderAction
    exchange: str
    def __init__(self, con_id: _Optional[int] = ..., contract: _Optional[_Union[Contract, _Mapping]] = ..., ratio: _Optional[int] = ..., action: _Optional[_Union[_common_pb2.OrderAction, str]] = ..., exchange: _Optional[str] = ...) -> None: ...

class ContractDetails(_message.Message):
    __slots__ = ("contract", "min_tick", "long_name", "valid_exchanges", "order_types", "time_zone_id", "trading_hours", "liquid_hours", "underlying_con_id", "underlying_symbol", "industry", "category", "min_size", "size_increment")
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    MIN_TICK_FIELD_NUMBER: _ClassVar[int]
    LONG_NAME_FIELD_NUMBER: _ClassVar[int]
    VALID_EXCHANGES_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPES_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    TRADING_HOURS_FIELD_NUMBER: _ClassVar[int]
    LIQUID_HOURS_FIELD_NUMBER: _ClassVar[int]
    UNDERLYING_CON_ID_FIELD_NUMBER: _ClassVar[int]
    UNDERLYING_SYMBOL_FIELD_NUMBER: _ClassVar[int]
    INDUSTRY_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    MIN_SIZE_FIELD_NUMBER: _ClassVar[int]
    SIZE_INCREMENT_FIELD_NUMBER: _ClassVar[int]
    contract: Contract
    min_tick: str
    long_name: str
    valid_exchanges: _containers.RepeatedScalarFieldContainer[str]
    order_types: _containers.RepeatedScalarFieldContainer[str]
    time_zone_id: str
    trading_hours: str
    liquid_hours: str
    underlying_con_id: int
    underlying_symbol: str
    industry: str
    category: str
    min_size: str
    size_increment: str
    def __init__(self, contract: _Optional[_Union[Contract, _Mapping]] = ..., min_tick: _Optional[str] = ..., long_name: _Optional[str] = ..., valid_exchanges: _Optional[_Iterable[str]] = ..., order_types: _Optional[_Iterable[str]] = ..., time_zone_id: _Optional[str] = ..., trading_hours: _Optional[str] = ..., liquid_hours: _Optional[str] = ..., underlying_con_id: _Optional[int] = ..., underlying_symbol: _Optional[str] = ..., industry: _Optional[str] = ..., category: _Optional[str] = ..., min_size: _Optional[str] = ..., size_increment: _Optional[str] = ...) -> None: ...

class OptionChain(_message.Message):
    __slots__ = ("exchange", "underlying_con_id", "trading_class", "multiplier", "expirations", "strikes")
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    UNDERLYING_CON_ID_FIELD_NUMBER: _ClassVar[int]
    TRADING_CLASS_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    EXPIRATIONS_FIELD_NUMBER: _ClassVar[int]
    STRIKES_FIELD_NUMBER: _ClassVar[int]
    exchange: str
    underlying_con_id: int
    trading_class: str
    multiplier: str
    expirations: _containers.RepeatedScalarFieldContainer[str]
    strikes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, exchange: _Optional[str] = ..., underlying_con_id: _Optional[int] = ..., trading_class: _Optional[str] = ..., multiplier: _Optional[str] = ..., expirations: _Optional[_Iterable[str]] = ..., strikes: _Optional[_Iterable[str]] = ...) -> None: ...
