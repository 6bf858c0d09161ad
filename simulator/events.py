"""Events the exchange publishes; sessions turn them into TWS messages for their client."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Fill, OrderSnapshot


@dataclass(frozen=True)
class OrderChanged:
    """An order's state changed: openOrder + orderStatus to its owner."""

    snapshot: OrderSnapshot


@dataclass(frozen=True)
class Executed:
    """One fill action of an order: execDetails for every fill (legs first for a combo), then
    openOrder + orderStatus, then a commissionReport for every fill."""

    fills: tuple[Fill, ...]
    snapshot: OrderSnapshot


@dataclass(frozen=True)
class OrderError:
    """An error about one order (id = order id) for the client that placed it."""

    client_id: int
    order_id: int
    code: int
    message: str


@dataclass(frozen=True)
class AccountChanged:
    """The ledger changed (a fill): account subscribers refresh their values and portfolio."""

    account: str
    con_ids: tuple[int, ...]


Event = OrderChanged | Executed | OrderError | AccountChanged
