"""The simulator's advisor login: several paper accounts, each with its own ledger; orders
must name one (IB 436 otherwise)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from ibkr_broker.simulator import cli as sim_cli
from ibkr_broker.simulator.events import AccountChanged, Event, OrderError
from ibkr_broker.simulator.exchange import Exchange, managed_accounts
from ibkr_broker.simulator.model import OrderRequest
from ibkr_broker.simulator.universe import Universe

from .test_sim_exchange import AAPL, FakeMarket


def test_accounts_are_numbered_from_the_first() -> None:
    assert managed_accounts("DU1234567", 1) == ("DU1234567",)
    assert managed_accounts("DU0000009", 3) == ("DU0000009", "DU0000010", "DU0000011")
    with pytest.raises(ValueError):
        managed_accounts("DU1234567", 0)
    with pytest.raises(ValueError):
        managed_accounts("DEMO", 2)


def test_orders_book_to_their_account_and_must_name_one() -> None:
    ex = Exchange(Universe(dt.date(2026, 11, 24)), FakeMarket(), "DU100", accounts=3,  # type: ignore[arg-type]
                  clock=lambda: 1_800_000_000)
    events: list[Event] = []
    ex.subscribe(events.append)

    def buy(order_id: int, account: str, qty: int) -> None:
        ex.place(1, OrderRequest(order_id=order_id, contract=AAPL, action="BUY",
                                 total_quantity=D(qty), order_type="MKT", account=account))

    buy(1, "DU101", 5)
    buy(2, "DU102", 7)
    buy(3, "", 1)
    buy(4, "DU999", 1)
    assert [(e.order_id, e.code) for e in events if isinstance(e, OrderError)] == [
        (3, 436), (4, 201)
    ]
    assert [e.account for e in events if isinstance(e, AccountChanged)] == ["DU101", "DU102"]
    held = {a: {c: p.quantity for c, p in ledger.positions.items()}
            for a, ledger in ex.ledgers.items()}
    assert held == {"DU100": {}, "DU101": {265598: 5}, "DU102": {265598: 7}}
    assert ex.ledgers["DU100"].cash > ex.ledgers["DU102"].cash


def test_cli_refuses_a_silly_account_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert sim_cli.main(["--accounts", "0"]) == 2
    assert "--accounts" in capsys.readouterr().err

