"""Views of the order book kept up to date as orders change, so that no question the risk gate
or ListOrders asks costs more as the book grows.

`OrderIndex.put(order)` is called with every new version of an order; it keeps:

- the working orders (not terminal), in the order they were created;
- the working exposure per (account, con_id): the signed remaining quantity of working orders,
  buys and sells summed apart (a combo exposes each leg);
- every order's sequence number in creation order, for paging (8 bytes an order; the orders
  themselves may have left memory for the store).

Each `put` costs work in proportion to the order's own legs, never to the size of the book.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from ..domain.model import Contract, Order, OrderAction

ExposureKey = tuple[str, int]  # (account, con_id)
ZERO = Decimal(0)


def exposure(
    contract: Contract, action: OrderAction, quantity: Decimal
) -> list[tuple[int, Decimal]]:
    """(con_id, signed quantity) of every instrument an order of `quantity` units trades."""
    sign = Decimal(1) if action is OrderAction.BUY else Decimal(-1)
    if not contract.is_combo:
        return [(contract.con_id, sign * quantity)]
    return [
        (leg.con_id, (sign if leg.action is OrderAction.BUY else -sign) * leg.ratio * quantity)
        for leg in contract.combo_legs
    ]


def order_exposure(order: Order) -> list[tuple[ExposureKey, Decimal]]:
    """What a working order adds to its account's exposure (nothing once it is terminal)."""
    remaining = order.remaining_quantity
    if order.status.is_terminal or remaining == 0:
        return []
    return [
        ((order.account, con_id), amount)
        for con_id, amount in exposure(order.contract, order.spec.action, remaining)
        if amount != 0
    ]


class ArrayIds(Sequence[str]):
    """The order ids of an array of order numbers, as a read-only sequence."""

    def __init__(self, numbers: array[int]) -> None:
        self._numbers = numbers

    def __len__(self) -> int:
        return len(self._numbers)

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [f"o{n}" for n in self._numbers[i]]
        return f"o{self._numbers[i]}"


class OrderIndex:
    def __init__(self) -> None:
        self.working: dict[str, Order] = {}  # order_id -> order, creation order
        self._created = array("q")  # every order's number (order_id "o<n>"), creation order
        self._buys: dict[ExposureKey, Decimal] = {}
        self._sells: dict[ExposureKey, Decimal] = {}
        self._counted: dict[str, list[tuple[ExposureKey, Decimal]]] = {}

    def add(self, order_id: str) -> None:
        """A new order (the store's ids are "o" and a number that only grows)."""
        self._created.append(int(order_id[1:]))

    @property
    def created(self) -> ArrayIds:
        """Every order id, in creation order."""
        return ArrayIds(self._created)

    def put(self, order: Order) -> None:
        """Take in the newest version of `order` (new, changed or finished)."""
        order_id = order.order_id
        if order.status.is_terminal:
            self.working.pop(order_id, None)
        else:
            self.working[order_id] = order
        for key, amount in self._counted.pop(order_id, ()):
            self._add(key, amount, -amount)
        counted = order_exposure(order)
        for key, amount in counted:
            self._add(key, amount, amount)
        if counted:
            self._counted[order_id] = counted

    def working_exposure(self, account: str, con_id: int, exclude: str = "") -> list[Decimal]:
        """The working buys (positive) and sells (negative) of one instrument in one account,
        without the order `exclude` (the one being modified)."""
        key = (account, con_id)
        buys, sells = self._buys.get(key, ZERO), self._sells.get(key, ZERO)
        for counted_key, amount in self._counted.get(exclude, ()) if exclude else ():
            if counted_key == key:
                if amount > 0:
                    buys -= amount
                else:
                    sells -= amount
        return [amount for amount in (buys, sells) if amount != 0]

    def newest_first(self) -> Iterator[str]:
        """Every order id, the newest first."""
        return (f"o{n}" for n in reversed(self._created))

    def working_newest_first(self) -> Iterator[str]:
        return reversed(self.working.keys())

    def _add(self, key: ExposureKey, side_of: Decimal, change: Decimal) -> None:
        """Add `change` to the side (buys or sells) that the amount `side_of` belongs to."""
        side = self._buys if side_of > 0 else self._sells
        total = side.get(key, ZERO) + change
        if total == 0:
            side.pop(key, None)
        else:
            side[key] = total
