"""What a contract's details allow an order to be: its order types, its size increment and
minimum size, its minimum tick. Checked before anything is sent, so TWS never sees (and never
has to refuse) an order the server could have judged itself (issue 10, defect 7)."""

from __future__ import annotations

from decimal import Decimal

from ..domain import errors
from ..domain.model import ContractDetails, OrderSpec, OrderType


def check_increments(
    details: ContractDetails | None,
    prefix: str,
    quantity: Decimal | None,
    prices: dict[str, Decimal | None],
) -> None:
    """INVALID_ARGUMENT unless the quantity fits the contract's size increment and minimum
    size and every price is a multiple of its minimum tick (from contract details), so an
    absurd size such as 1e-9 shares never reaches TWS. `prefix` starts the field names."""
    if details is None:
        return
    name = details.contract.symbol or f"con_id {details.contract.con_id}"
    rules = [("quantity", quantity, details.size_increment, "size increment")]
    rules += [(field, price, details.min_tick, "minimum tick") for field, price in prices.items()]
    for field, value, step, what in rules:
        if value is not None and step and step > 0 and not _multiple(value, step):
            raise errors.InvalidArgument(
                prefix + field, f"{value} is not a multiple of the {what} {step} of {name}"
            )
    if quantity is not None and details.min_size and quantity < details.min_size:
        raise errors.InvalidArgument(
            prefix + "quantity",
            f"{quantity} is below the minimum size {details.min_size} of {name}",
        )


# How contract details name our order types (IB lists "STPLMT", "TRAILLMT"; some spell "STP LMT").
LISTED_AS = {
    OrderType.MARKET: "MKT",
    OrderType.LIMIT: "LMT",
    OrderType.STOP: "STP",
    OrderType.STOP_LIMIT: "STPLMT",
    OrderType.TRAILING_STOP: "TRAIL",
    OrderType.TRAILING_STOP_LIMIT: "TRAILLMT",
}


def check_order_type(details: ContractDetails | None, order_type: OrderType) -> None:
    """INVALID_ARGUMENT when the contract's details list its order types without this one."""
    if details is None or not details.order_types:
        return
    listed = {t.replace(" ", "").upper() for t in details.order_types}
    if LISTED_AS[order_type] not in listed and order_type.value.replace(" ", "") not in listed:
        name = details.contract.symbol or f"con_id {details.contract.con_id}"
        raise errors.InvalidArgument(
            "order.order_type", f"{name} does not take {order_type.name} orders at TWS"
        )


def spec_prices(spec: OrderSpec) -> dict[str, Decimal | None]:
    """The prices of a spec that move in ticks, by field name."""
    return {
        "limit_price": spec.limit_price,
        "stop_price": spec.stop_price,
        "trailing_amount": spec.trailing_amount,
    }


def _multiple(value: Decimal, step: Decimal) -> bool:
    try:
        return value % step == 0
    except ArithmeticError:  # a step too small to divide by exactly: TWS will judge
        return True
