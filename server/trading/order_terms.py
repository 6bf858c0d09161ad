"""Pure functions over an order's terms (no I/O, no state): bracket exits, modifications,
request fingerprints, a contract's description for messages."""

from __future__ import annotations

import dataclasses
import hashlib
from decimal import Decimal
from typing import Any

from ..domain import errors
from ..domain.model import BracketSpec, Contract, OrderSpec, OrderType, TimeInForce


@dataclasses.dataclass(frozen=True)
class Modification:
    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_amount: Decimal | None = None
    trailing_percent: Decimal | None = None
    time_in_force: TimeInForce | None = None


def fingerprint(*parts: Any) -> str:
    """A digest of a request's content (frozen dataclasses have a deterministic repr)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def describe(contract: Contract) -> str:
    parts = [contract.security_type.value if contract.security_type else "", contract.symbol]
    if contract.con_id:
        parts.append(f"con_id {contract.con_id}")
    if contract.last_trade_date:
        parts.append(contract.last_trade_date)
    if contract.strike is not None:
        parts.append(str(contract.strike))
    if contract.right:
        parts.append(contract.right.value)
    return " ".join(p for p in parts if p)


def bracket_children(parent: OrderSpec, bracket: BracketSpec, oca: str) -> list[OrderSpec]:
    """Take-profit and stop-loss exits of `parent`, one-cancels-all in group `oca`."""
    exit_action = parent.action.opposite
    children = []
    if bracket.take_profit_limit_price is not None:
        children.append(
            OrderSpec(
                action=exit_action,
                quantity=parent.quantity,
                order_type=OrderType.LIMIT,
                limit_price=bracket.take_profit_limit_price,
                time_in_force=TimeInForce.GTC,
                account=parent.account,
                oca_group=oca,
            )
        )
    if bracket.stop_loss_stop_price is not None:
        stop_limit = bracket.stop_loss_limit_price is not None
        children.append(
            OrderSpec(
                action=exit_action,
                quantity=parent.quantity,
                order_type=OrderType.STOP_LIMIT if stop_limit else OrderType.STOP,
                stop_price=bracket.stop_loss_stop_price,
                limit_price=bracket.stop_loss_limit_price,
                time_in_force=TimeInForce.GTC,
                account=parent.account,
                oca_group=oca,
            )
        )
    return children


def reduces_only(old: OrderSpec, new: OrderSpec) -> bool:
    """True when a modification only lowers the quantity (allowed while trading is halted)."""
    return new.quantity <= old.quantity and dataclasses.replace(new, quantity=old.quantity) == old


def apply_modification(spec: OrderSpec, change: Modification) -> OrderSpec:
    updates = {k: v for k, v in dataclasses.asdict(change).items() if v is not None}
    if not updates:
        raise errors.InvalidArgument("order_id", "nothing to modify: every field is empty")
    return dataclasses.replace(spec, **updates)
