"""The order book's kept-up-to-date views (issue 13) answer exactly what a scan of every order
would: working orders, working exposure per account and instrument, and ListOrders pages."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from ibkr_broker.server.domain.model import (
    ComboLeg,
    Contract,
    Order,
    OrderAction,
    OrderSpec,
    OrderStatus,
    OrderType,
)
from ibkr_broker.server.session.ib_port import ExecutionEvent
from ibkr_broker.server.session.journal import OrderJournal
from ibkr_broker.server.session.order_index import OrderIndex, exposure
from ibkr_broker.server.session.orders import OrderBook
from ibkr_broker.server.session.store import Store

pytestmark = pytest.mark.timeout(30)

T0 = datetime(2026, 11, 30, tzinfo=UTC)
ACCOUNTS = ("DU1", "DU2")
CON_IDS = (11, 12, 13)
STATUSES = list(OrderStatus)


def make_order(n: int, rng: random.Random) -> Order:
    if rng.random() < 0.2:
        contract = Contract(
            con_id=0,
            combo_legs=(
                ComboLeg(1, OrderAction.BUY, con_id=11),
                ComboLeg(2, OrderAction.SELL, con_id=12),
            ),
        )
    else:
        contract = Contract(con_id=rng.choice(CON_IDS))
    action = rng.choice([OrderAction.BUY, OrderAction.SELL])
    spec = OrderSpec(action, Decimal(rng.randint(1, 50)), OrderType.LIMIT, limit_price=Decimal(1))
    return Order(
        order_id=f"o{n}",
        request_id=f"r{n}",
        contract=contract,
        spec=spec,
        account=rng.choice(ACCOUNTS),
        status=OrderStatus.SUBMITTED,
        create_time=T0 + timedelta(seconds=n),
        update_time=T0,
    )


def scanned_exposure(orders: list[Order], account: str, con_id: int, exclude: str) -> Decimal:
    """Buys and sells of working orders summed apart, the way a scan of the book would."""
    return sum(
        (
            abs(amount)
            for o in orders
            if not o.status.is_terminal and o.account == account and o.order_id != exclude
            for cid, amount in exposure(o.contract, o.spec.action, o.remaining_quantity)
            if cid == con_id
        ),
        Decimal(0),
    )


def test_views_match_a_scan_after_every_change() -> None:
    rng = random.Random(13)
    index = OrderIndex()
    orders: dict[str, Order] = {}
    for step in range(600):
        working_ids = [i for i, o in orders.items() if not o.status.is_terminal]
        if not working_ids or rng.random() < 0.4:
            order = make_order(len(orders) + 1, rng)
            index.add(order.order_id)
        else:  # a working order fills some more, changes status or ends (terminal is final)
            old = orders[rng.choice(working_ids)]
            filled = min(old.spec.quantity, old.filled_quantity + rng.randint(0, 5))
            order = dataclasses.replace(old, filled_quantity=filled, status=rng.choice(STATUSES))
        orders[order.order_id] = order
        index.put(order)
        if step % 20:
            continue
        working = [o for o in orders.values() if not o.status.is_terminal]
        assert list(index.working.values()) == working
        assert list(index.created) == list(orders)
        for account in ACCOUNTS:
            for con_id in CON_IDS:
                exclude = rng.choice(list(orders))
                given = index.working_exposure(account, con_id, exclude)
                assert sum((abs(a) for a in given), Decimal(0)) == scanned_exposure(
                    list(orders.values()), account, con_id, exclude
                )
                assert len([a for a in given if a > 0]) <= 1
                assert len([a for a in given if a < 0]) <= 1


def fill_book(book: OrderBook, store: Store, count: int, seed: int) -> list[Order]:
    """`count` orders through the book (ids from the store), about half of them finished."""
    rng = random.Random(seed)
    orders = []
    for n in range(1, count + 1):
        order = dataclasses.replace(
            make_order(n, rng), order_id=store.new_order_id(f"r{n}"), ib_order_id=1000 + n
        )
        book.add(order)
        if rng.random() < 0.5:
            order = dataclasses.replace(order, status=OrderStatus.FILLED)
            book.replace(order)
        orders.append(order)
        if n % 10 == 0:
            book.flush()
    book.flush()
    return orders


@pytest.mark.parametrize("max_finished", [10_000, 7])
async def test_list_pages_match_a_sorted_scan(tmp_path: Path, max_finished: int) -> None:
    store = Store(tmp_path / "orders.db")
    book = OrderBook(store, OrderJournal(), max_finished=max_finished)
    placed = fill_book(book, store, 120, seed=7)
    everything = sorted(placed, key=lambda o: o.create_time, reverse=True)
    for which, keep in (
        ("all", lambda o: True),
        ("open", lambda o: not o.status.is_terminal),
        ("completed", lambda o: o.status.is_terminal),
    ):
        for account in ("", "DU2"):
            expected = [o for o in everything if keep(o) and (not account or o.account == account)]
            for size in (1, 7, 50, 500):
                seen: list[Order] = []
                start, more = 0, True
                while more:
                    page, more = book.page(which, account, start, size)
                    assert len(page) <= size
                    seen += page
                    start += size
                assert seen == expected, (which, account, size)
    book.flush()
    store.close()


async def test_memory_keeps_the_working_set_and_recent_history_the_store_everything(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "orders.db")
    book = OrderBook(store, OrderJournal(), max_finished=5)
    placed = fill_book(book, store, 60, seed=3)
    working = [o for o in placed if not o.status.is_terminal]
    finished = [o for o in placed if o.status.is_terminal]
    assert len(finished) > 10
    in_memory = book.all()
    assert [o for o in in_memory if not o.status.is_terminal] == working
    assert [o for o in in_memory if o.status.is_terminal] == finished[-5:]
    oldest = finished[0]
    assert oldest not in in_memory
    assert book.get(oldest.order_id) == oldest  # read back from the store
    assert book.by_request(oldest.request_id) == oldest
    assert book.by_ib_id(oldest.ib_order_id) == oldest
    assert book.get("o999999") is None and book.by_ib_id(424242) is None
    assert book.open_count == len(working)
    store.close()
    again = OrderBook(Store(tmp_path / "orders.db"), OrderJournal(), max_finished=5)
    assert len(again.all()) == len(working) + 5  # a restart loads no more than that
    pages, start, more = [], 0, True
    while more:
        page, more = again.page("all", "", start, 16)
        pages += page
        start += 16
    assert [o.order_id for o in pages] == [o.order_id for o in reversed(placed)]


async def test_a_replayed_execution_of_an_order_read_back_from_the_store_counts_once(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "orders.db")
    book = OrderBook(store, OrderJournal(), max_finished=1)
    rng = random.Random(5)
    first = dataclasses.replace(
        make_order(1, rng), order_id=store.new_order_id("r1"), ib_order_id=501
    )
    book.add(first)

    def fill(order: Order) -> ExecutionEvent:
        return ExecutionEvent(
            -1, order.ib_order_id, 9, 1, f"exec-{order.ib_order_id}", T0, order.account,
            "SMART", order.spec.action, order.spec.quantity, Decimal(1), order.spec.quantity,
            Decimal(1), f"ikb:{order.request_id}", order.contract,
        )  # fmt: skip

    assert book.on_execution(fill(first))
    for n in (2, 3):  # two more orders finish: the first leaves memory
        other = dataclasses.replace(
            make_order(n, rng), order_id=store.new_order_id(f"r{n}"), ib_order_id=500 + n
        )
        book.add(other)
        book.replace(dataclasses.replace(other, status=OrderStatus.CANCELLED))
    book.flush()
    assert first.order_id not in {o.order_id for o in book.all()}
    stored = book.get(first.order_id)
    assert stored is not None and stored.status is OrderStatus.FILLED
    assert not book.on_execution(fill(first))  # the replay after a reconnect
    again = book.get(first.order_id)
    assert again is not None and len(again.executions) == 1
    assert again.filled_quantity == first.spec.quantity
    store.close()
