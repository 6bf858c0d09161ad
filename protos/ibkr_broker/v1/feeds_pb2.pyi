import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from ibkr_broker.v1 import bars_pb2 as _bars_pb2
from ibkr_broker.v1 import common_pb2 as _common_pb2
from ibkr_broker.v1 import contract_pb2 as _contract_pb2
from ibkr_broker.v1 import market_data_pb2 as _market_data_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LiveBarKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIVE_BAR_KIND_UNSPECIFIED: _ClassVar[LiveBarKind]
    LIVE_BAR_KIND_REAL_TIME: _ClassVar[LiveBarKind]
    LIVE_BAR_KIND_KEEP_UP_TO_DATE: _ClassVar[LiveBarKind]

class DepthSide(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEPTH_SIDE_UNSPECIFIED: _ClassVar[DepthSide]
    DEPTH_SIDE_ASK: _ClassVar[DepthSide]
    DEPTH_SIDE_BID: _ClassVar[DepthSide]

class DepthOperation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEPTH_OPERATION_UNSPECIFIED: _ClassVar[DepthOperation]
    DEPTH_OPERATION_INSERT: _ClassVar[DepthOperation]
    DEPTH_OPERATION_UPDATE: _ClassVar[DepthOperation]
    DEPTH_OPERATION_DELETE: _ClassVar[DepthOperation]
LIVE_BAR_KIND_UNSPECIFIED: LiveBarKind
LIVE_BAR_KIND_REAL_TIME: LiveBarKind
LIVE_BAR_KIND_KEEP_UP_TO_DATE: LiveBarKind
DEPTH_SIDE_UNSPECIFIED: DepthSide
DEPTH_SIDE_ASK: DepthSide
DEPTH_SIDE_BID: DepthSide
DEPTH_OPERATION_UNSPECIFIED: DepthOperation
DEPTH_OPERATION_INSERT: DepthOperation
DEPTH_OPERATION_UPDATE: DepthOperation
DEPTH_OPERATION_DELETE: DepthOperation

class FeedStatus(_message.Message):
    __slots__ = ("state", "error", "account_id", "con_id")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CON_ID_FIELD_NUMBER: _ClassVar[int]
    state: _market_data_pb2.SubscriptionState
    error: _common_pb2.IbError
    account_id: str
    con_id: int
    def __init__(self, state: _Optional[_Union[_market_data_pb2.SubscriptionState, str]] = ..., error: _Optional[_Union[_common_pb2.IbError, _Mapping]] = ..., account_id: _Optional[str] = ..., con_id: _Optional[int] = ...) -> None: ...

class LiveBar(_message.Message):
    __slots__ = ("con_id", "bar", "completed")
    CON_ID_FIELD_NUMBER: _ClassVar[int]
    BAR_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    con_id: int
    bar: _bars_pb2.Bar
    completed: bool
    def __init__(self, con_id: _Optional[int] = ..., bar: _Optional[_Union[_bars_pb2.Bar, _Mapping]] = ..., completed: _Optional[bool] = ...) -> None: ...

class ProfitAndLoss(_message.Message):
    __slots__ = ("account_id", "con_id", "daily_pnl", "unrealized_pnl", "realized_pnl", "position", "market_value", "update_time")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CON_ID_FIELD_NUMBER: _ClassVar[int]
    DAILY_PNL_FIELD_NUMBER: _ClassVar[int]
    UNREALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    REALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    MARKET_VALUE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    con_id: int
    daily_pnl: str
    unrealized_pnl: str
    realized_pnl: str
    position: str
    market_value: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., con_id: _Optional[int] = ..., daily_pnl: _Optional[str] = ..., unrealized_pnl: _Optional[str] = ..., realized_pnl: _Optional[str] = ..., position: _Optional[str] = ..., market_value: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DepthRow(_message.Message):
    __slots__ = ("price", "size", "market_maker")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MARKET_MAKER_FIELD_NUMBER: _ClassVar[int]
    price: str
    size: str
    market_maker: str
    def __init__(self, price: _Optional[str] = ..., size: _Optional[str] = ..., market_maker: _Optional[str] = ...) -> None: ...

class DepthBook(_message.Message):
    __slots__ = ("contract", "asks", "bids")
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    BIDS_FIELD_NUMBER: _ClassVar[int]
    contract: _contract_pb2.Contract
    asks: _containers.RepeatedCompositeFieldContainer[DepthRow]
    bids: _containers.RepeatedCompositeFieldContainer[DepthRow]
    def __init__(self, contract: _Optional[_Union[_contract_pb2.Contract, _Mapping]] = ..., asks: _Optional[_Iterable[_Union[DepthRow, _Mapping]]] = ..., bids: _Optional[_Iterable[_Union[DepthRow, _Mapping]]] = ...) -> None: ...

class DepthChange(_message.Message):
    __slots__ = ("side", "operation", "position", "row")
    SIDE_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ROW_FIELD_NUMBER: _ClassVar[int]
    side: DepthSide
    operation: DepthOperation
    position: int
    row: DepthRow
    def __init__(self, side: _Optional[_Union[DepthSide, str]] = ..., operation: _Optional[_Union[DepthOperation, str]] = ..., position: _Optional[int] = ..., row: _Optional[_Union[DepthRow, _Mapping]] = ...) -> None: ...

class DepthUpdates(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[DepthChange]
    def __init__(self, changes: _Optional[_Iterable[_Union[DepthChange, _Mapping]]] = ...) -> None: ...
