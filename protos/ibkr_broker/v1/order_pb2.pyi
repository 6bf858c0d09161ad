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

class OrderType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_TYPE_UNSPECIFIED: _ClassVar[OrderType]
    ORDER_TYPE_MARKET: _ClassVar[OrderType]
    ORDER_TYPE_LIMIT: _ClassVar[OrderType]
    ORDER_TYPE_STOP: _ClassVar[OrderType]
    ORDER_TYPE_STOP_LIMIT: _ClassVar[OrderType]
    ORDER_TYPE_TRAILING_STOP: _ClassVar[OrderType]
    ORDER_TYPE_TRAILING_STOP_LIMIT: _ClassVar[OrderType]

class TimeInForce(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIME_IN_FORCE_UNSPECIFIED: _ClassVar[TimeInForce]
    TIME_IN_FORCE_DAY: _ClassVar[TimeInForce]
    TIME_IN_FORCE_GTC: _ClassVar[TimeInForce]
    TIME_IN_FORCE_IOC: _ClassVar[TimeInForce]
    TIME_IN_FORCE_FOK: _ClassVar[TimeInForce]
    TIME_IN_FORCE_OPG: _ClassVar[TimeInForce]

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATUS_UNSPECIFIED: _ClassVar[OrderStatus]
    ORDER_STATUS_PENDING_SUBMIT: _ClassVar[OrderStatus]
    ORDER_STATUS_PRE_SUBMITTED: _ClassVar[OrderStatus]
    ORDER_STATUS_SUBMITTED: _ClassVar[OrderStatus]
    ORDER_STATUS_PARTIALLY_FILLED: _ClassVar[OrderStatus]
    ORDER_STATUS_FILLED: _ClassVar[OrderStatus]
    ORDER_STATUS_PENDING_CANCEL: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELLED: _ClassVar[OrderStatus]
    ORDER_STATUS_REJECTED: _ClassVar[OrderStatus]
    ORDER_STATUS_INACTIVE: _ClassVar[OrderStatus]

class OrderFilter(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_FILTER_UNSPECIFIED: _ClassVar[OrderFilter]
    ORDER_FILTER_OPEN: _ClassVar[OrderFilter]
    ORDER_FILTER_COMPLETED: _ClassVar[OrderFilter]

class OrderEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_EVENT_TYPE_UNSPECIFIED: _ClassVar[OrderEventType]
    ORDER_EVENT_TYPE_CREATED: _ClassVar[OrderEventType]
    ORDER_EVENT_TYPE_STATUS_CHANGED: _ClassVar[OrderEventType]
    ORDER_EVENT_TYPE_FILL: _ClassVar[OrderEventType]
    ORDER_EVENT_TYPE_COMMISSION: _ClassVar[OrderEventType]
    ORDER_EVENT_TYPE_ERROR: _ClassVar[OrderEventType]
ORDER_TYPE_UNSPECIFIED: OrderType
ORDER_TYPE_MARKET: OrderType
ORDER_TYPE_LIMIT: OrderType
ORDER_TYPE_STOP: OrderType
ORDER_TYPE_STOP_LIMIT: OrderType
ORDER_TYPE_TRAILING_STOP: OrderType
ORDER_TYPE_TRAILING_STOP_LIMIT: OrderType
TIME_IN_FORCE_UNSPECIFIED: TimeInForce
TIME_IN_FORCE_DAY: TimeInForce
TIME_IN_FORCE_GTC: TimeInForce
TIME_IN_FORCE_IOC: TimeInForce
TIME_IN_FORCE_FOK: TimeInForce
TIME_IN_FORCE_OPG: TimeInForce
ORDER_STATUS_UNSPECIFIED: OrderStatus
ORDER_STATUS_PENDING_SUBMIT: OrderStatus
ORDER_STATUS_PRE_SUBMITTED: OrderStatus
ORDER_STATUS_SUBMITTED: OrderStatus
ORDER_STATUS_PARTIALLY_FILLED: OrderStatus
ORDER_STATUS_FILLED: OrderStatus
ORDER_STATUS_PENDING_CANCEL: OrderStatus
ORDER_STATUS_CANCELLED: OrderStatus
ORDER_STATUS_REJECTED: OrderStatus
ORDER_STATUS_INACTIVE: OrderStatus
ORDER_FILTER_UNSPECIFIED: OrderFilter
ORDER_FILTER_OPEN: OrderFilter
ORDER_FILTER_COMPLETED: OrderFilter
ORDER_EVENT_TYPE_UNSPECIFIED: OrderEventType
ORDER_EVENT_TYPE_CREATED: OrderEventType
ORDER_EVENT_TYPE_STATUS_CHANGED: OrderEventType
ORDER_EVENT_TYPE_FILL: OrderEventType
ORDER_EVENT_TYPE_COMMISSION: OrderEventType
ORDER_EVENT_TYPE_ERROR: OrderEventType

class OrderSpec(_message.Message):
    __slots__ = ("account", "action", "quantity", "order_type", "limit_price", "stop_price", "trailing_amount", "trailing_percent", "time_in_force", "outside_regular_hours", "order_ref", "oca_group")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ORDER_TYPE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_PRICE_FIELD_NUMBER: _ClassVar[int]
    TRAILING_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TRAILING_PERCENT_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    OUTSIDE_REGULAR_HOURS_FIELD_NUMBER: _ClassVar[int]
    ORDER_REF_FIELD_NUMBER: _ClassVar[int]
    OCA_GROUP_FIELD_NUMBER: _ClassVar[int]
    account: str
    action: _common_pb2.OrderAction
    quantity: str
    order_type: OrderType
    limit_price: str
    stop_price: str
    trailing_amount: str
    trailing_percent: str
    time_in_force: TimeInForce
    outside_regular_hours: bool
    order_ref: str
    oca_group: str
    def __init__(self, account: _Optional[str] = ..., action: _Optional[_Union[_common_pb2.OrderAction, str]] = ..., quantity: _Optional[str] = ..., order_type: _Optional[_Union[OrderType, str]] = ..., limit_price: _Optional[str] = ..., stop_price: _Optional[str] = ..., trailing_amount: _Optional[str] = ..., trailing_percent: _Optional[str] = ..., time_in_force: _Optional[_Union[TimeInForce, str]] = ..., outside_regular_hours: _Optional[bool] = ..., order_ref: _Optional[str] = ..., oca_group: _Optional[str] = ...) -> None: ...

class BracketSpec(_message.Message):
    __slots__ = ("take_profit_limit_price", "stop_loss_stop_price", "stop_loss_limit_price")
    TAKE_PROFIT_LIMIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_LOSS_STOP_PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_LOSS_LIMIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    take_profit_limit_price: str
    stop_loss_stop_price: str
    stop_loss_limit_price: str
    def __init__(self, take_profit_limit_price: _Optional[str] = ..., stop_loss_stop_price: _Optional[str] = ..., stop_loss_limit_price: _Optional[str] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("order_id", "request_id", "contract", "spec", "status", "filled_quantity", "remaining_quantity", "average_fill_price", "ib_order_id", "perm_id", "parent_order_id", "last_error", "create_time", "update_time", "executions", "total_commission", "commission_currency", "account")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FILLED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REMAINING_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_FILL_PRICE_FIELD_NUMBER: _ClassVar[int]
    IB_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PERM_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COMMISSION_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    request_id: str
    contract: _contract_pb2.Contract
    spec: OrderSpec
    status: OrderStatus
    filled_quantity: str
    remaining_quantity: str
    average_fill_price: str
    ib_order_id: int
    perm_id: int
    parent_order_id: str
    last_error: _common_pb2.IbError
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    executions: _containers.RepeatedCompositeFieldContainer[Execution]
    total_commission: str
    commission_currency: str
    account: str
    def __init__(self, order_id: _Optional[str] = ..., request_id: _Optional[str] = ..., contract: _Optional[_Union[_contract_pb2.Contract, _Mapping]] = ..., spec: _Optional[_Union[OrderSpec, _Mapping]] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., filled_quantity: _Optional[str] = ..., remaining_quantity: _Optional[str] = ..., average_fill_price: _Optional[str] = ..., ib_order_id: _Optional[int] = ..., perm_id: _Optional[int] = ..., parent_order_id: _Optional[str] = ..., last_error: _Optional[_Union[_common_pb2.IbError, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., executions: _Optional[_Iterable[_Union[Execution, _Mapping]]] = ..., total_commission: _Optional[str] = ..., commission_currency: _Optional[str] = ..., account: _Optional[str] = ...) -> None: ...

class Execution(_message.Message):
    __slots__ = ("execution_id", "order_id", "execution_time", "side", "quantity", "price", "exchange", "commission", "commission_currency", "realized_pnl", "cumulative_quantity", "average_price", "account", "contract")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TIME_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    REALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    CUMULATIVE_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_PRICE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    order_id: str
    execution_time: _timestamp_pb2.Timestamp
    side: _common_pb2.OrderAction
    quantity: str
    price: str
    exchange: str
    commission: str
    commission_currency: str
    realized_pnl: str
    cumulative_quantity: str
    average_price: str
    account: str
    contract: _contract_pb2.Contract
    def __init__(self, execution_id: _Optional[str] = ..., order_id: _Optional[str] = ..., execution_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., side: _Optional[_Union[_common_pb2.OrderAction, str]] = ..., quantity: _Optional[str] = ..., price: _Optional[str] = ..., exchange: _Optional[str] = ..., commission: _Optional[str] = ..., commission_currency: _Optional[str] = ..., realized_pnl: _Optional[str] = ..., cumulative_quantity: _Optional[str] = ..., average_price: _Optional[str] = ..., account: _Optional[str] = ..., contract: _Optional[_Union[_contract_pb2.Contract, _Mapping]] = ...) -> None: ...

class OrderPreview(_message.Message):
    __slots__ = ("initial_margin_change", "maintenance_margin_change", "equity_with_loan_change", "initial_margin_after", "maintenance_margin_after", "commission", "min_commission", "max_commission", "commission_currency", "warning_text")
    INITIAL_MARGIN_CHANGE_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_MARGIN_CHANGE_FIELD_NUMBER: _ClassVar[int]
    EQUITY_WITH_LOAN_CHANGE_FIELD_NUMBER: _ClassVar[int]
    INITIAL_MARGIN_AFTER_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_MARGIN_AFTER_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_FIELD_NUMBER: _ClassVar[int]
    MIN_COMMISSION_FIELD_NUMBER: _ClassVar[int]
    MAX_COMMISSION_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    WARNING_TEXT_FIELD_NUMBER: _ClassVar[int]
    initial_margin_change: str
    maintenance_margin_change: str
    equity_with_loan_change: str
    initial_margin_after: str
    maintenance_margin_after: str
    commission: str
    min_commission: str
    max_commission: str
    commission_currency: str
    warning_text: str
    def __init__(self, initial_margin_change: _Optional[str] = ..., maintenance_margin_change: _Optional[str] = ..., equity_with_loan_change: _Optional[str] = ..., initial_margin_after: _Optional[str] = ..., maintenance_margin_after: _Optional[str] = ..., commission: _Optional[str] = ..., min_commission: _Optional[str] = ..., max_commission: _Optional[str] = ..., commission_currency: _Optional[str] = ..., warning_text: _Optional[str] = ...) -> None: ...

class OrderEvent(_message.Message):
    __slots__ = ("type", "order", "execution", "error", "event_time")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    type: OrderEventType
    order: Order
    execution: Execution
    error: _common_pb2.IbError
    event_time: _timestamp_pb2.Timestamp
    def __init__(self, type: _Optional[_Union[OrderEventType, str]] = ..., order: _Optional[_Union[Order, _Mapping]] = ..., execution: _Optional[_Union[Execution, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.IbError, _Mapping]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
