"""Request builders of the client core (AsyncBrokerClient): pure, no I/O, checked locally."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import cast

from ibkr_broker.v1 import broker_service_pb2 as bs
from ibkr_broker.v1 import contract_pb2, order_pb2

from .contracts import positive_decimal, stock
from .orders import check_request_id, positive_quantity
from .wire_values import parse_time_in_force

OrderFilterArg = str | int | None

_FILTERS = {
    "all": order_pb2.ORDER_FILTER_UNSPECIFIED,
    "open": order_pb2.ORDER_FILTER_OPEN,
    "completed": order_pb2.ORDER_FILTER_COMPLETED,
}


def new_request_id() -> str:
    """A fresh idempotency key (a UUID4)."""
    return str(uuid.uuid4())


def request_id_or_new(request_id: str | None) -> str:
    return new_request_id() if request_id is None else check_request_id(request_id)


def as_contract(value: contract_pb2.Contract | str) -> contract_pb2.Contract:
    """A Contract as given, or a SMART-routed USD stock for a bare symbol."""
    return stock(value) if isinstance(value, str) else value


def order_filter(value: OrderFilterArg) -> order_pb2.OrderFilter:
    """None / "all" / "open" / "completed" (or an OrderFilter value)."""
    if value is None:
        return order_pb2.ORDER_FILTER_UNSPECIFIED
    if isinstance(value, str):
        if value.lower() not in _FILTERS:
            raise ValueError(f"filter must be one of {', '.join(_FILTERS)}, got {value!r}")
        return _FILTERS[value.lower()]
    order_pb2.OrderFilter.Name(value)  # ValueError for an unknown number
    return cast("order_pb2.OrderFilter", value)


def place_order(
    contract: contract_pb2.Contract,
    spec: order_pb2.OrderSpec,
    bracket: order_pb2.BracketSpec | None,
    what_if: bool,
    request_id: str,
) -> bs.PlaceOrderRequest:
    request = bs.PlaceOrderRequest(
        request_id=request_id, contract=contract, order=spec, what_if=what_if
    )
    if bracket is not None:
        request.bracket.CopyFrom(bracket)
    return request


def modify_order(
    order_id: str,
    request_id: str,
    *,
    quantity: object = None,
    limit_price: object = None,
    stop_price: object = None,
    trailing_amount: object = None,
    trailing_percent: object = None,
    tif: str | None = None,
) -> bs.ModifyOrderRequest:
    """Only the given values change; at least one is required."""
    request = bs.ModifyOrderRequest(request_id=request_id, order_id=check_order_id(order_id))
    if quantity is not None:
        request.quantity = positive_quantity(quantity)
    for name, value in (
        ("limit_price", limit_price),
        ("stop_price", stop_price),
        ("trailing_amount", trailing_amount),
        ("trailing_percent", trailing_percent),
    ):
        if value is not None:
            setattr(request, name, positive_decimal(value, name))
    if tif is not None:
        request.time_in_force = parse_time_in_force(tif)
    if (
        request.ByteSize()
        == bs.ModifyOrderRequest(request_id=request_id, order_id=order_id).ByteSize()
    ):
        raise ValueError("modify_order needs at least one of quantity, prices or tif")
    return request


def check_order_id(order_id: object) -> str:
    if not isinstance(order_id, str) or not order_id.strip():
        raise ValueError(f"order_id must be a non-empty string, got {order_id!r}")
    return order_id.strip()


def contracts_list(contracts: Iterable[contract_pb2.Contract | str]) -> list[contract_pb2.Contract]:
    result = [as_contract(c) for c in contracts]
    if not result:
        raise ValueError("contracts must not be empty")
    return result
