"""The order-state transition table."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ibkr_broker.client.wire_values import TERMINAL_STATUSES as CLIENT_TERMINAL
from ibkr_broker.server.api.proto_enums import STATUSES
from ibkr_broker.server.domain.model import TERMINAL_STATUSES, OrderStatus
from ibkr_broker.server.domain.order_state import TRANSITIONS, advance, can_move, status_after_fill
from ibkr_broker.v1 import order_pb2

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
        seen_terminal = seen_terminal or status in TERMINAL_STATUSES
        if seen_terminal:
            assert status in TERMINAL_STATUSES


def test_status_after_fill() -> None:
    assert status_after_fill(Decimal(3), Decimal(10)) is S.PARTIALLY_FILLED
    assert status_after_fill(Decimal(10), Decimal(10)) is S.FILLED
    assert can_move(S.PENDING_SUBMIT, S.FILLED)


def documented_statuses() -> dict[str, str]:
    """ORDER_STATUS_* name -> the comment above it in order.proto."""
    proto = Path(__file__).parents[2] / "protos" / "ibkr_broker" / "v1" / "order.proto"
    text = proto.read_text()
    body = text[text.index("enum OrderStatus {") :]
    body = body[: body.index("}")]
    found = re.findall(r"((?:\s*//[^\n]*)+)\s*(ORDER_STATUS_\w+) = \d+;", body)
    return {name: " ".join(re.findall(r"//\s*([^\n]*)", comment)) for comment, name in found}


def test_the_proto_documents_the_terminal_statuses_of_the_state_machine() -> None:
    """issue 10, defect 10: a client learns from order.proto when it may stop watching."""
    docs = documented_statuses()
    for status in OrderStatus:
        name = order_pb2.OrderStatus.Name(STATUSES[status])
        terminal = "Not terminal" not in docs[name] and "Terminal" in docs[name]
        assert terminal == status.is_terminal, f"{name}: {docs[name]!r}"
        leaving = TRANSITIONS[status]
        if terminal and leaving:
            # The only way out of an end state is a fill that raced a cancel, and it is said.
            assert leaving == {S.FILLED} and "move the order to FILLED" in docs[name], name
    assert {STATUSES[s] for s in TERMINAL_STATUSES} == CLIENT_TERMINAL


def test_nothing_but_a_racing_fill_leaves_a_terminal_status() -> None:
    for end in TERMINAL_STATUSES:
        assert TRANSITIONS[end] <= {S.FILLED}
    assert not S.INACTIVE.is_terminal
    assert advance(S.INACTIVE, S.SUBMITTED) is S.SUBMITTED  # IB activated it again
