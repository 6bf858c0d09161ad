"""How the client commands show an order: its fields, its fills and its bracket children."""

from __future__ import annotations

from typing import Any

from ..render import Output

ORDER_COLUMNS = ["order_id", "created_at", "symbol", "side", "quantity", "type", "limit_price",
                 "stop_price", "tif", "status", "filled_quantity", "avg_fill_price"]  # fmt: skip
ORDER_OPTIONAL = ["created_at", "tif", "stop_price", "avg_fill_price", "type", "limit_price",
                  "filled_quantity"]  # fmt: skip
FILL_COLUMNS = ["execution_id", "time", "quantity", "price", "exchange", "commission"]
FILL_OPTIONAL = ["exchange", "time", "commission"]
HIDDEN = ("contract", "executions", "bracket_orders", "what_if")
CANCEL_CONFIRMED = 202  # IB's "Order Canceled" notice: the confirmation, not an error


def show_order(out: Output, title: str, order: dict[str, Any]) -> None:
    """The order's fields (empty ones left out), then its fills and bracket children."""
    shown = {k: v for k, v in order.items() if k not in HIDDEN and v not in (None, "")}
    if order.get("error_code") == CANCEL_CONFIRMED:
        shown.pop("error", None)
        shown.pop("error_code", None)
    out.fields(title, shown)
    fills = order.get("executions", [])
    if fills:
        rows = [[f[c] for c in FILL_COLUMNS] for f in fills]
        out.table(f"{len(fills)} fill(s)", FILL_COLUMNS, rows, optional=FILL_OPTIONAL)
    for child in order.get("bracket_orders", []):
        out.fields(f"bracket child {child['order_id']}", {c: child[c] for c in ORDER_COLUMNS})
