"""A disk that fails in the middle of PlaceOrder (SQLite raises inside the transaction that
makes the order durable) leaves no trace: nothing reaches TWS, the book, the journal and the
risk gate never saw the order, its order id and request_id are free, and a retry places it
once."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ibkr_broker.server.domain.errors import StoreFailed
from ibkr_broker.server.domain.model import Contract, OrderAction, OrderSpec, OrderType
from ibkr_broker.server.session.broker_session import BrokerSession
from ibkr_broker.server.session.store import Store
from ibkr_broker.server.trading.limits import RiskLimits
from ibkr_broker.server.trading.trader import Trader

from .fake_gateway import FAST, FakeGateway

pytestmark = pytest.mark.timeout(30)

STOCK = Contract(symbol="AAPL")
LIMIT = OrderSpec(OrderAction.BUY, Decimal(1), OrderType.LIMIT, limit_price=Decimal("90"))


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[BrokerSession, Trader, FakeGateway]]:
    gw = FakeGateway()
    session = BrokerSession(gw, FAST, Store(tmp_path / "s.db"))
    await session.start()
    await session.wait_ready(2)
    yield session, Trader(session, RiskLimits(max_open_orders=1)), gw
    await session.stop()


class CommitFailsOnce:
    """The store's connection, whose first COMMIT fails like a full disk."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db, self.failed = db, False

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT" and not self.failed:
            self.failed = True
            raise sqlite3.OperationalError("disk I/O error")
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def fail_once(monkeypatch: pytest.MonkeyPatch, store: Store, method: str) -> None:
    if method == "COMMIT":
        monkeypatch.setattr(store, "_db", CommitFailsOnce(store._db))
        return
    real = getattr(store, method)
    calls = {"n": 0}

    def failing(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise sqlite3.OperationalError("disk I/O error")
        return real(*args)

    monkeypatch.setattr(store, method, failing)


@pytest.mark.parametrize("method", ["save_request", "save_order", "COMMIT"])
async def test_a_failed_write_while_placing_leaves_no_ghost_order(
    env: tuple[BrokerSession, Trader, FakeGateway], monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    session, trader, gw = env
    events = session.orders.journal.last_sequence
    fail_once(monkeypatch, session.store, method)
    with pytest.raises(StoreFailed, match=r"disk I/O error.*retry with the same request_id"):
        await trader.place("r1", STOCK, LIMIT)
    assert gw.count("place_order") == 0
    assert session.orders.all() == [] and session.orders.open_count == 0
    assert session.orders.journal.last_sequence == events  # no CREATED event was told
    assert session.store.find_request("r1") is None
    # The retry is placed once; max_open_orders=1 proves the failed one is not counted.
    placed = await trader.place("r1", STOCK, LIMIT)
    assert gw.count("place_order") == 1
    assert [o.order_id for o in session.orders.all()] == [placed.order.order_id]
    assert session.store.find_order("order_id", placed.order.order_id) is not None
    again = await trader.place("r1", STOCK, LIMIT)  # the same request_id: the first order
    assert again.order.order_id == placed.order.order_id and gw.count("place_order") == 1
