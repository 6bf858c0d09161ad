"""The hooks the bus replicates through (the session knows nothing of NATS): every change of
the store is told to its listeners, another store adopts it, and before_send is awaited before
an order goes to TWS (a failure there sends nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ibkr_broker.server.domain import errors
from ibkr_broker.server.domain.model import OrderStatus
from ibkr_broker.server.session.store import Store

from .fake_gateway import FakeGateway
from .test_broker_session import MKT_BUY, SPEC_AAPL, start

pytestmark = pytest.mark.timeout(30)


async def test_changes_are_told_and_another_store_adopts_them(tmp_path: Path) -> None:
    told: list[tuple[str, str, str]] = []
    session, trader, _ = await start(tmp_path)
    session.store.listeners.append(lambda *change: told.append(change))
    placed = await trader.place("r-1", SPEC_AAPL, MKT_BUY)
    await session.stop()
    kinds = {kind for kind, _, _ in told}
    assert {"order", "request", "high_water"} <= kinds
    other = Store(tmp_path / "standby" / "s.db")
    for kind, key, value in told:
        if kind == "order":
            other.adopt_order(value)
        elif kind == "request":
            other.save_request(key, *json.loads(value))
        elif kind == "high_water":
            other.set_ib_order_id_high_water(int(key), int(value))
    other.close()
    standby, trader2, gw2 = await start(tmp_path / "standby", FakeGateway(next_id=1))
    again = await trader2.place("r-1", SPEC_AAPL, MKT_BUY)
    assert again.order.order_id == placed.order.order_id and gw2.count("place_order") == 0
    new = await trader2.place("r-2", SPEC_AAPL, MKT_BUY)
    assert new.order.order_id != placed.order.order_id
    assert gw2.args("place_order")[0][0] > placed.order.ib_order_id
    await standby.stop()


async def test_before_send_is_awaited_and_its_failure_sends_nothing(tmp_path: Path) -> None:
    session, trader, gw = await start(tmp_path)
    calls: list[int] = []

    async def durable() -> None:
        calls.append(gw.count("place_order"))

    session.before_send.append(durable)
    await trader.place("ok", SPEC_AAPL, MKT_BUY)
    assert calls == [0] and gw.count("place_order") == 1

    async def broken() -> None:
        raise TimeoutError("bus away")

    session.before_send[:] = [broken]
    with pytest.raises(errors.Unavailable):
        await trader.place("not-sent", SPEC_AAPL, MKT_BUY)
    assert gw.count("place_order") == 1
    refused = session.orders.by_request("not-sent")
    assert refused is not None and refused.status is OrderStatus.REJECTED
    await session.stop()


def test_listeners_hear_of_a_change_after_its_commit_and_never_of_a_rollback(
    tmp_path: Path,
) -> None:
    import sqlite3

    store = Store(tmp_path / "s.db")
    told: list[tuple[str, str, str, str]] = []

    def listener(kind: str, key: str, value: str) -> None:
        # What another connection reads at the moment the listener is told: committed state.
        with sqlite3.connect(tmp_path / "s.db") as reader:
            row = reader.execute(
                "SELECT value FROM meta WHERE key = 'ib_order_id_high_water:7'"
            ).fetchone()
        told.append((kind, key, value, row[0] if row else ""))

    store.listeners.append(listener)
    with pytest.raises(RuntimeError), store.transaction():
        store.set_ib_order_id_high_water(7, 100)
        with store.transaction():  # a nested write joins the outer transaction
            store.save_request("r-1", "PlaceOrder", "print", "o1")
        assert told == []  # not while the transaction is open
        raise RuntimeError("something failed before the commit")
    assert told == []  # rolled back: nothing to replicate
    assert store.ib_order_id_high_water(7) == 0
    with store.transaction():
        store.set_ib_order_id_high_water(7, 101)
        store.save_request("r-2", "PlaceOrder", "print", "o2")
        assert told == []
    assert [(kind, key, seen) for kind, key, _, seen in told] == [
        ("high_water", "7", "101"),  # told once committed: another connection sees it
        ("request", "r-2", "101"),
    ]
    store.set_ib_order_id_high_water(7, 102)  # outside a transaction: committed at once
    assert told[-1][0::3] == ("high_water", "102")
    store.close()
