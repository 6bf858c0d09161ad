"""The one order-state transition table.

IB does not guarantee an orderStatus for every change and may report states out of order (a
late "Submitted" after "Filled"); executions also move orders forward. `advance` applies a
reported status only when the table allows it, so a stale report never moves an order back.
"""

from __future__ import annotations

from decimal import Decimal

from .model import OrderStatus as S

_WORKING = {S.PRE_SUBMITTED, S.SUBMITTED, S.PARTIALLY_FILLED}
_ANY_END = {S.FILLED, S.CANCELLED, S.REJECTED}

# Terminal = model.TERMINAL_STATUSES (FILLED, CANCELLED, REJECTED), documented as such in
# order.proto (a test checks that the two agree). INACTIVE is not terminal: IB "Inactive" means
# held by IB or the exchange, and IB may activate the order again.
TRANSITIONS: dict[S, frozenset[S]] = {
    S.PENDING_SUBMIT: frozenset({*_WORKING, S.PENDING_CANCEL, S.INACTIVE, *_ANY_END}),
    S.PRE_SUBMITTED: frozenset(
        {S.SUBMITTED, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.INACTIVE, *_ANY_END}
    ),
    S.SUBMITTED: frozenset(
        {S.PRE_SUBMITTED, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.INACTIVE, *_ANY_END}
    ),
    S.PARTIALLY_FILLED: frozenset({S.PENDING_CANCEL, S.INACTIVE, *_ANY_END}),
    S.PENDING_CANCEL: frozenset({S.SUBMITTED, S.PARTIALLY_FILLED, S.INACTIVE, *_ANY_END}),
    S.INACTIVE: frozenset({*_WORKING, S.PENDING_CANCEL, *_ANY_END}),
    # Terminal states. A fill can still arrive after a cancel was confirmed (it raced the
    # cancel at the exchange): CANCELLED -> FILLED is allowed, nothing else leaves an end state.
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset({S.FILLED}),
    S.REJECTED: frozenset(),
}


def can_move(current: S, new: S) -> bool:
    return new == current or new in TRANSITIONS[current]


def advance(current: S, reported: S) -> S:
    """The status after IB reports `reported` for an order in `current`."""
    return reported if can_move(current, reported) else current


def status_after_fill(filled: Decimal, quantity: Decimal) -> S:
    """Status implied by executions alone (orderStatus may never come)."""
    return S.FILLED if filled >= quantity else S.PARTIALLY_FILLED
