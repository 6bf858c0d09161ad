"""The enum tables between ibkr_broker.v1 and the domain: proto number <-> domain member.

`*_OUT` are the inverted tables of the enums a client sends (domain member -> proto number).
"""

from __future__ import annotations

from typing import Any, TypeVar

from ibkr_broker.v1 import common_pb2, contract_pb2, market_data_pb2, order_pb2

from ..domain import model as m

SEC_TYPES = {
    contract_pb2.SECURITY_TYPE_STOCK: m.SecurityType.STOCK,
    contract_pb2.SECURITY_TYPE_OPTION: m.SecurityType.OPTION,
    contract_pb2.SECURITY_TYPE_FUTURE: m.SecurityType.FUTURE,
    contract_pb2.SECURITY_TYPE_FOREX: m.SecurityType.FOREX,
    contract_pb2.SECURITY_TYPE_INDEX: m.SecurityType.INDEX,
    contract_pb2.SECURITY_TYPE_COMBO: m.SecurityType.COMBO,
    contract_pb2.SECURITY_TYPE_FUTURE_OPTION: m.SecurityType.FUTURE_OPTION,
}
RIGHTS = {
    contract_pb2.OPTION_RIGHT_CALL: m.OptionRight.CALL,
    contract_pb2.OPTION_RIGHT_PUT: m.OptionRight.PUT,
}
ACTIONS = {
    common_pb2.ORDER_ACTION_BUY: m.OrderAction.BUY,
    common_pb2.ORDER_ACTION_SELL: m.OrderAction.SELL,
}
ORDER_TYPES = {
    order_pb2.ORDER_TYPE_MARKET: m.OrderType.MARKET,
    order_pb2.ORDER_TYPE_LIMIT: m.OrderType.LIMIT,
    order_pb2.ORDER_TYPE_STOP: m.OrderType.STOP,
    order_pb2.ORDER_TYPE_STOP_LIMIT: m.OrderType.STOP_LIMIT,
    order_pb2.ORDER_TYPE_TRAILING_STOP: m.OrderType.TRAILING_STOP,
    order_pb2.ORDER_TYPE_TRAILING_STOP_LIMIT: m.OrderType.TRAILING_STOP_LIMIT,
}
TIFS = {
    order_pb2.TIME_IN_FORCE_DAY: m.TimeInForce.DAY,
    order_pb2.TIME_IN_FORCE_GTC: m.TimeInForce.GTC,
    order_pb2.TIME_IN_FORCE_IOC: m.TimeInForce.IOC,
    order_pb2.TIME_IN_FORCE_FOK: m.TimeInForce.FOK,
    order_pb2.TIME_IN_FORCE_OPG: m.TimeInForce.OPG,
}
STATUSES = {
    m.OrderStatus.PENDING_SUBMIT: order_pb2.ORDER_STATUS_PENDING_SUBMIT,
    m.OrderStatus.PRE_SUBMITTED: order_pb2.ORDER_STATUS_PRE_SUBMITTED,
    m.OrderStatus.SUBMITTED: order_pb2.ORDER_STATUS_SUBMITTED,
    m.OrderStatus.PARTIALLY_FILLED: order_pb2.ORDER_STATUS_PARTIALLY_FILLED,
    m.OrderStatus.FILLED: order_pb2.ORDER_STATUS_FILLED,
    m.OrderStatus.PENDING_CANCEL: order_pb2.ORDER_STATUS_PENDING_CANCEL,
    m.OrderStatus.CANCELLED: order_pb2.ORDER_STATUS_CANCELLED,
    m.OrderStatus.REJECTED: order_pb2.ORDER_STATUS_REJECTED,
    m.OrderStatus.INACTIVE: order_pb2.ORDER_STATUS_INACTIVE,
}
CONNECTION_STATES = {
    m.ConnectionState.CONNECTING: common_pb2.CONNECTION_STATE_CONNECTING,
    m.ConnectionState.READY: common_pb2.CONNECTION_STATE_READY,
    m.ConnectionState.RECONNECTING: common_pb2.CONNECTION_STATE_RECONNECTING,
    m.ConnectionState.DISCONNECTED: common_pb2.CONNECTION_STATE_DISCONNECTED,
}
EVENT_TYPES = {
    m.OrderEventType.CREATED: order_pb2.ORDER_EVENT_TYPE_CREATED,
    m.OrderEventType.STATUS_CHANGED: order_pb2.ORDER_EVENT_TYPE_STATUS_CHANGED,
    m.OrderEventType.FILL: order_pb2.ORDER_EVENT_TYPE_FILL,
    m.OrderEventType.COMMISSION: order_pb2.ORDER_EVENT_TYPE_COMMISSION,
    m.OrderEventType.ERROR: order_pb2.ORDER_EVENT_TYPE_ERROR,
}
SUBSCRIPTION_STATES = {
    m.SubscriptionState.SUBSCRIBED: market_data_pb2.SUBSCRIPTION_STATE_SUBSCRIBED,
    m.SubscriptionState.DELAYED: market_data_pb2.SUBSCRIPTION_STATE_DELAYED,
    m.SubscriptionState.NOT_ENTITLED: market_data_pb2.SUBSCRIPTION_STATE_NOT_ENTITLED,
    m.SubscriptionState.LINE_LIMIT_REACHED: market_data_pb2.SUBSCRIPTION_STATE_LINE_LIMIT_REACHED,
    m.SubscriptionState.ERROR: market_data_pb2.SUBSCRIPTION_STATE_ERROR,
    m.SubscriptionState.INTERRUPTED: market_data_pb2.SUBSCRIPTION_STATE_INTERRUPTED,
}
UNSPECIFIED: Any = 0  # the zero value of every enum
K = TypeVar("K")
V = TypeVar("V")


def _invert(table: dict[K, V]) -> dict[V, K]:
    return {val: key for key, val in table.items()}


SEC_TYPES_OUT = _invert(SEC_TYPES)
RIGHTS_OUT = _invert(RIGHTS)
ACTIONS_OUT = _invert(ACTIONS)
ORDER_TYPES_OUT = _invert(ORDER_TYPES)
TIFS_OUT = _invert(TIFS)
