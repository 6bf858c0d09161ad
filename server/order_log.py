"""One INFO line per order event, for operators: placed, acknowledged, submitted, partially
filled, filled, cancel requested, cancelled, rejected, inactive, and each fill.

Each line (logger `ibkr_broker.orders`) carries the fields order_id, ib_order_id, symbol, side,
quantity, price (the limit price, else the stop price; none for a market order), status,
filled_quantity and avg_fill_price; a fill adds execution_id, fill_quantity and fill_price; a
rejection error_code and error_message. Never a token: nothing of the caller is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from .domain.model import Order, OrderEvent, OrderEventType, OrderStatus

log = logging.getLogger("ibkr_broker.orders")

EVENT_NAMES = {
    OrderStatus.PENDING_SUBMIT: "placed",
    OrderStatus.PRE_SUBMITTED: "acknowledged",
    OrderStatus.SUBMITTED: "acknowledged",
    OrderStatus.PARTIALLY_FILLED: "partially filled",
    OrderStatus.FILLED: "filled",
    OrderStatus.PENDING_CANCEL: "cancel requested",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.REJECTED: "rejected",
    OrderStatus.INACTIVE: "inactive",
}


class OrderTransitions:
    """The last status seen of every order, to tell which events change it."""

    def __init__(self, orders: Iterable[Order] = ()) -> None:
        self._status = {o.order_id: o.status for o in orders}

    def entered(self, event: OrderEvent) -> tuple[OrderStatus | None, OrderStatus] | None:
        """(previous, new) status when `event` moved its order to a new status, else None."""
        order = event.order
        previous = self._status.get(order.order_id)
        if previous is order.status:
            return None
        self._status[order.order_id] = order.status
        return previous, order.status


class OrderLog:
    """A journal listener that writes the order lines."""

    def __init__(self, orders: Iterable[Order] = ()) -> None:
        self.transitions = OrderTransitions(orders)

    def __call__(self, event: OrderEvent) -> None:
        moved = self.transitions.entered(event)
        fill = event.execution if event.type is OrderEventType.FILL else None
        if (moved is None and fill is None) or not log.isEnabledFor(logging.INFO):
            return
        name = "fill" if moved is None else event_name(*moved)
        fields = order_fields(event.order)
        fields["event"] = name
        if fill is not None:
            fields.update(execution_id=fill.execution_id, fill_quantity=fill.quantity,
                          fill_price=fill.price)  # fmt: skip
        error = event.error or event.order.last_error
        if name == "rejected" and error is not None:
            fields.update(error_code=error.code, error_message=error.message)
        log.info(describe(fields), extra=fields)


def event_name(previous: OrderStatus | None, status: OrderStatus) -> str:
    if status is OrderStatus.SUBMITTED and previous is OrderStatus.PRE_SUBMITTED:
        return "submitted"
    return EVENT_NAMES[status]


def order_fields(order: Order) -> dict[str, Any]:
    spec = order.spec
    price = spec.limit_price if spec.limit_price is not None else spec.stop_price
    return {
        "order_id": order.order_id,
        "ib_order_id": order.ib_order_id or None,
        "symbol": order.contract.symbol,
        "side": spec.action.value,
        "quantity": spec.quantity,
        "price": price,
        "order_type": spec.order_type.value,
        "status": order.status.name.lower(),
        "filled_quantity": order.filled_quantity,
        "avg_fill_price": order.average_fill_price,
    }


def describe(f: dict[str, Any]) -> str:
    """The line's text: `order filled: BUY 5 AAPL @ 190.5 (order_id ..., ib_order_id 7)`."""
    price = f"@ {f['price']}" if f["price"] is not None else f"@ {f['order_type']}"
    text = f"order {f['event']}: {f['side']} {f['quantity']} {f['symbol']} {price}"
    if "fill_quantity" in f:
        text += f", fill {f['fill_quantity']} @ {f['fill_price']}"
    if "error_code" in f:
        text += f", error {f['error_code']}: {f['error_message']}"
    return f"{text} (order_id {f['order_id']}, ib_order_id {f['ib_order_id'] or '-'})"
