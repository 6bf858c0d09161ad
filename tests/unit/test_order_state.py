"""The order-state transition table."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ibkr_broker.server.domain.model import TERMINAL_STATUSES, OrderStatus
from ibkr_broker.server.domain.order_state import TRANSITIONS, advance, can_move, status_after_fill

S = OrderStatus


def test_every_status_has_a_row() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)


@pytest.mark.parametrize("end", [S.FILLED, S.REJECTED])
@given(reported=st.sampled_from(list(OrderStatus)))
def test_filled_and_rejected_are_final(end: OrderStatus, reported: OrderStatus) -> None:
    assert advance(end, reported) is end


def test_stale_submitted_never_moves_a_fill_back() -> None:
    assert advance(S.PARTIALLY_FILLED, S.SUBMITTED) is S.PARTIALLY_FILLED
    assert advance(S.FILLED, S.SUBMITTED) is S.FILLED
    assert advance(S.CANCELLED, S.PENDING_CANCEL) is S.CANCELLED


def test_a_fill_racing_a_cancel_wins() -> None:
    assert advance(S.CANCELLED, S.FILLED) is S.FILLED


@given(st.lists(st.sampled_from(list(OrderStatus)), max_size=20))
def test_once_terminal_always_terminal(reports: list[OrderStatus]) -> None:
    status = S.PENDING_SUBMIT
    seen_terminal = False
    for reported in reports:
        status = advance(status, reported)
        seen_terminal = seen_terminal or status in TERMINAL_STATUSES - {S.INACTIVE}
        if seen_terminal:
            assert status in TERMINAL_STATUSES


def test_status_after_fill() -> None:
    assert status_after_fill(Decimal(3), Decimal(10)) is S.PARTIALLY_FILLED
    assert status_after_fill(Decimal(10), Decimal(10)) is S.FILLED
    assert can_move(S.PENDING_SUBMIT, S.FILLED)
