import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BarSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BAR_SOURCE_UNSPECIFIED: _ClassVar[BarSource]
    BAR_SOURCE_TRADES: _ClassVar[BarSource]
    BAR_SOURCE_MIDPOINT: _ClassVar[BarSource]
    BAR_SOURCE_BID: _ClassVar[BarSource]
    BAR_SOURCE_ASK: _ClassVar[BarSource]
    BAR_SOURCE_BID_ASK: _ClassVar[BarSource]
    BAR_SOURCE_ADJUSTED_LAST: _ClassVar[BarSource]
    BAR_SOURCE_HISTORICAL_VOLATILITY: _ClassVar[BarSource]
    BAR_SOURCE_OPTION_IMPLIED_VOLATILITY: _ClassVar[BarSource]
BAR_SOURCE_UNSPECIFIED: BarSource
BAR_SOURCE_TRADES: BarSource
BAR_SOURCE_MIDPOINT: BarSource
BAR_SOURCE_BID: BarSource
BAR_SOURCE_ASK: BarSource
BAR_SOURCE_BID_ASK: BarSource
BAR_SOURCE_ADJUSTED_LAST: BarSource
BAR_SOURCE_HISTORICAL_VOLATILITY: BarSource
BAR_SOURCE_OPTION_IMPLIED_VOLATILITY: BarSource

class Bar(_message.Message):
    __slots__ = ("start_time", "open", "high", "low", "close", "volume", "wap", "trade_count")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    WAP_FIELD_NUMBER: _ClassVar[int]
    TRADE_COUNT_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    open: str
    high: str
    low: str
    close: str
    volume: str
    wap: str
    trade_count: int
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., open: _Optional[str] = ..., high: _Optional[str] = ..., low: _Optional[str] = ..., close: _Optional[str] = ..., volume: _Optional[str] = ..., wap: _Optional[str] = ..., trade_count: _Optional[int] = ...) -> None: ...
