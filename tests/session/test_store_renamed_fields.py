"""A data directory written before issue 9 renamed domain fields to the proto's names
(created -> create_time, Execution.time -> execution_time, sec_type -> security_type) still
loads, order for order."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from ibkr_broker.server.domain.model import (
    Contract,
    Execution,
    Order,
    OrderAction,
    OrderSpec,
    OrderStatus,
    OrderType,
    SecurityType,
)
from ibkr_broker.server.session.store import Store

pytestmark = pytest.mark.timeout(30)

OLD_NAMES = {"create_time": "created", "update_time": "updated"}


def _old_form(data: dict[str, object]) -> dict[str, object]:
    """The JSON of an order as the store wrote it before the renames."""
    old = {OLD_NAMES.get(k, k): v for k, v in data.items()}
    old["contract"] = {
        ("sec_type" if k == "security_type" else k): v
        for k, v in dict(old["contract"]).items()  # type: ignore[call-overload]
    }
    old["executions"] = [
        {("time" if k == "execution_time" else k): v for k, v in e.items()}
        for e in old["executions"]  # type: ignore[attr-defined]
    ]
    return old


def test_orders_stored_under_the_old_field_names_load(tmp_path: Path) -> None:
    now = datetime(2026, 1, 12, 14, 30, tzinfo=UTC)
    contract = Contract(con_id=265598, security_type=SecurityType.STOCK, symbol="AAPL")
    execution = Execution(
        execution_id="e1",
        order_id="",
        execution_time=now,
        side=OrderAction.BUY,
        quantity=Decimal(5),
        price=Decimal("187.25"),
        exchange="ISLAND",
        account="DU1",
        contract=contract,
        cumulative_quantity=Decimal(5),
        average_price=Decimal("187.25"),
    )
    store = Store(tmp_path / "broker.db")
    order_id = store.new_order_id("r1")
    order = Order(
        order_id=order_id,
        request_id="r1",
        contract=contract,
        spec=OrderSpec(OrderAction.BUY, Decimal(5), OrderType.MARKET, account="DU1"),
        account="DU1",
        status=OrderStatus.FILLED,
        create_time=now,
        update_time=now,
        filled_quantity=Decimal(5),
        ib_order_id=7,
        executions=(execution,),
    )
    store.save_order(order)
    store.close()
    with sqlite3.connect(tmp_path / "broker.db") as db:
        (data,) = db.execute("SELECT data FROM orders").fetchone()
        old = json.dumps(_old_form(json.loads(data)))
        db.execute("UPDATE orders SET data = ?", (old,))
    assert '"created"' in old and '"sec_type"' in old and '"time"' in old
    reopened = Store(tmp_path / "broker.db")
    try:
        assert reopened.load_orders() == [order]
    finally:
        reopened.close()
