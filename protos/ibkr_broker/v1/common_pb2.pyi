import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_ACTION_UNSPECIFIED: _ClassVar[OrderAction]
    ORDER_ACTION_BUY: _ClassVar[OrderAction]
    ORDER_ACTION_SELL: _ClassVar[OrderAction]

class ConnectionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONNECTION_STATE_UNSPECIFIED: _ClassVar[ConnectionState]
    CONNECTION_STATE_CONNECTING: _ClassVar[ConnectionState]
    CONNECTION_STATE_READY: _ClassVar[ConnectionState]
    CONNECTION_STATE_RECONNECTING: _ClassVar[ConnectionState]
    CONNECTION_STATE_DISCONNECTED: _ClassVar[ConnectionState]
ORDER_ACTION_UNSPECIFIED: OrderAction
ORDER_ACTION_BUY: OrderAction
ORDER_ACTION_SELL: OrderAction
CONNECTION_STATE_UNSPECIFIED: ConnectionState
CONNECTION_STATE_CONNECTING: ConnectionState
CONNECTION_STATE_READY: ConnectionState
CONNECTION_STATE_RECONNECTING: ConnectionState
CONNECTION_STATE_DISCONNECTED: ConnectionState

class IbError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("server_time",)
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    server_time: _timestamp_pb2.Timestamp
    def __init__(self, server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SessionStatus(_message.Message):
    __slots__ = ("connection_state", "message", "ib_error")
    CONNECTION_STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    IB_ERROR_FIELD_NUMBER: _ClassVar[int]
    connection_state: ConnectionState
    message: str
    ib_error: IbError
    def __init__(self, connection_state: _Optional[_Union[ConnectionState, str]] = ..., message: _Optional[str] = ..., ib_error: _Optional[_Union[IbError, _Mapping]] = ...) -> None: ...
