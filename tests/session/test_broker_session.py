"""BrokerSession and Trader against the in-memory FakeGateway: deterministic, no sockets."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from ibkr_broker.server.domain import errors
from ibkr_broker.server.domain.model import (
    BracketSpec,
    ComboLeg,
    ConnectionState,
    Contract,
    OrderAction,
    OrderSpec,
    OrderStatus,
    OrderType,
    SecurityType,
    SubscriptionState,
)
from ibkr_broker.server.session import ib_port as g
from ibkr_broker.server.session.broker_session import BrokerSession
from ibkr_broker.server.session.market_data import Subscriber
from ibkr_broker.server.session.session_config import SessionConfig
from ibkr_broker.server.session.store import Store
from ibkr_broker.server.trading.order_terms import Modification
from ibkr_broker.server.trading.trader import Trader

from tests.waiting import wait_until

from .fake_gateway import AAPL, FAST, MSFT, FakeGateway

MKT_BUY = OrderSpec(OrderAction.BUY, Decimal(10), OrderType.MARKET)
LMT_SELL = OrderSpec(OrderAction.SELL, Decimal(5), OrderType.LIMIT, limit_price=Decimal("250.5"))
SPEC_AAPL = Contract(security_type=SecurityType.STOCK, symbol="AAPL")


async def start(
    tmp_path: Path, gw: FakeGateway | None = None, **cfg: object
) -> tuple[BrokerSession, Trader, FakeGateway]:
    gw = gw or FakeGateway()
    config = SessionConfig(**{**FAST.__dict__, **cfg})  # type: ignore[arg-type]
    session = BrokerSession(gw, config, Store(tmp_path / "s.db"))
    await session.start()
    await session.wait_ready(2)
    return session, Trader(session), gw


@pytest.fixture
async def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    session, trader, gw = await start(tmp_path)
    yield session, trader, gw
    await session.stop()


async def test_ready_after_next_valid_id_and_accounts(env) -> None:  # type: ignore[no-untyped-def]
    session, _, gw = env
    assert session.state is ConnectionState.READY
    assert session.accounts == ("DU1234567",)
    assert session.trading_disabled_reason() == ""
    assert gw.count("req_open_orders") == 1 and gw.count("req_executions") == 1


async def test_place_market_order_fills_from_executions_alone(env) -> None:  # type: ignore[no-untyped-def]
    session, trader, gw = env
    placed = await trader.place("r1", SPEC_AAPL, MKT_BUY)
    order = placed.order
    assert order is not None and order.status is OrderStatus.SUBMITTED
    assert order.contract.con_id == AAPL.con_id and order.account == "DU1234567"
    (ib_id, _, sent) = gw.args("place_order")[0]
    assert sent.order_ref == "ikb:r1" and sent.spec.order_type.value == "MKT"
    # Two partial executions, no orderStatus: the order still ends FILLED.
    gw.emit(gw.execution(ib_id, AAPL, sent, Decimal(4), Decimal("100.1"), "e1", Decimal(4)))
    gw.emit(gw.execution(ib_id, AAPL, sent, Decimal(6), Decimal("100.2"), "e2", Decimal(10)))
    gw.emit(g.CommissionEvent("e1", Decimal("1.00"), "USD", None))
    await wait_until(lambda: session.orders.get(order.order_id).status is OrderStatus.FILLED)
    await wait_until(lambda: session.orders.get(order.order_id).total_commission == 1)
    final = session.orders.get(order.order_id)
    assert final.filled_quantity == 10 and final.remaining_quantity == 0
    assert [e.quantity for e in final.executions] == [4, 6]
    assert final.executions[0].commission == Decimal("1.00")
    # A replayed execution (reqExecutions after reconnect) is not counted twice.
    gw.emit(gw.execution(ib_id, AAPL, sent, Decimal(6), Decimal("100.2"), "e2", Decimal(10)))
    await asyncio.sleep(0)
    assert len(session.orders.get(order.order_id).executions) == 2


async def test_same_request_id_places_once(env) -> None:  # type: ignore[no-untyped-def]
    _, trader, gw = env
    first, second = await asyncio.gather(
        trader.place("dup", SPEC_AAPL, MKT_BUY), trader.place("dup", SPEC_AAPL, MKT_BUY)
    )
    third = await trader.place("dup", SPEC_AAPL, MKT_BUY)
    assert gw.count("place_order") == 1
    assert first.order.order_id == second.order.order_id == third.order.order_id
    with pytest.raises(errors.Conflict):
        await trader.place("dup", SPEC_AAPL, LMT_SELL)


async def test_request_id_and_order_ids_survive_a_restart(tmp_path: Path) -> None:
    session, trader, gw = await start(tmp_path)
    placed = await trader.place("keep", SPEC_AAPL, MKT_BUY)
    used = gw.args("place_order")[0][0]
    await session.stop()
    # TWS hands out a lower nextValidId after its restart: ids must still go up.
    session2, trader2, gw2 = await start(tmp_path, FakeGateway(next_id=1))
    again = await trader2.place("keep", SPEC_AAPL, MKT_BUY)
    assert gw2.count("place_order") == 0
    assert again.order.order_id == placed.order.order_id
    new = await trader2.place("other", SPEC_AAPL, MKT_BUY)
    assert gw2.args("place_order")[0][0] > used
    assert new.order.order_id != placed.order.order_id
    await session2.stop()


async def test_rejection_carries_ib_code_and_a_retry_repeats_it(env) -> None:  # type: ignore[no-untyped-def]
    session, trader, gw = env
    gw.auto_ack = False
    task = asyncio.create_task(trader.place("rej", SPEC_AAPL, MKT_BUY))
    await wait_until(lambda: gw.count("place_order") == 1)
    ib_id = gw.args("place_order")[0][0]
    gw.emit(g.ErrorEvent(ib_id, 201, "Order rejected - reason: no funds"))
    with pytest.raises(errors.OrderRejected) as exc:
        await task
    assert exc.value.ib_code == 201
    with pytest.raises(errors.OrderRejected):
        await trader.place("rej", SPEC_AAPL, MKT_BUY)
    assert gw.count("place_order") == 1
    (order,) = session.orders.all()
    assert order.status is OrderStatus.REJECTED and order.last_error.code == 201


async def test_informational_codes_never_fail_a_call(env) -> None:  # type: ignore[no-untyped-def]
    session, trader, gw = env
    for code in (2104, 2106, 2158, 10167, 2103):
        gw.emit(g.ErrorEvent(-1, code, "notice"))
    gw.auto_ack = False
    task = asyncio.create_task(trader.place("info", SPEC_AAPL, MKT_BUY))
    await wait_until(lambda: gw.count("place_order") == 1)
    ib_id, contract, sent = gw.args("place_order")[0]
    gw.emit(g.ErrorEvent(ib_id, 10349, "Order TIF was set to DAY"))
    gw.emit(gw.open_order(ib_id, contract, sent, "Submitted"))
    order = (await task).order
    assert order.status is OrderStatus.SUBMITTED
    assert session.state is ConnectionState.READY


async def test_disconnect_fails_pending_and_reconnects_restoring_everything(env) -> None:  # type: ignore[no-untyped-def]
    session, trader, gw = env
    sub = Subscriber()
    await session.market_data.subscribe(sub, [AAPL])
    assert gw.count("req_mkt_data") == 1
    gw.auto_ack = False
    pending = asyncio.create_task(trader.place("lost", SPEC_AAPL, MKT_BUY))
    await wait_until(lambda: gw.count("place_order") == 1)
    ib_id, contract, sent = gw.args("place_order")[0]

    def open_orders_after_reconnect() -> None:  # TWS did get the order before the drop
        gw.calls.append(("req_open_orders", ()))
        gw.emit(gw.open_order(ib_id, contract, sent, "Submitted"))
        gw.emit(g.OpenOrderEndEvent())

    gw.req_open_orders = open_orders_after_reconnect
    gw.drop()
    with pytest.raises(errors.Unavailable):
        await pending
    await wait_until(
        lambda: sub.statuses and sub.statuses[-1].state is SubscriptionState.INTERRUPTED
    )
    await wait_until(lambda: session.ready and gw.count("connect") == 2, what="reconnected")
    await wait_until(lambda: gw.count("req_mkt_data") == 2, what="subscription restored")
    assert gw.count("req_open_orders") == 2 and gw.count("req_executions") == 2
    # The order placed before the drop is reconciled from openOrder (matched by orderRef).
    await wait_until(lambda: session.orders.by_request("lost").status is OrderStatus.SUBMITTED)


async def test_quotes_share_one_subscription_and_coalesce(env) -> None:  # type: ignore[no-untyped-def]
    session, _, gw = env
    fast, slow = Subscriber(), Subscriber()
    hub = session.market_data
    await hub.subscribe(fast, [AAPL, MSFT])
    await hub.subscribe(slow, [AAPL])
    assert gw.count("req_mkt_data") == 2  # one per contract, not per subscriber
    req_aapl = gw.args("req_mkt_data")[0][0]
    for i in range(100):
        gw.emit(g.TickPriceEvent(req_aapl, 1, Decimal(100) + Decimal(i) / 100))
    await wait_until(
        lambda: (q := hub.latest(AAPL.con_id)) is not None and q.bid == Decimal("100.99")
    )
    _, quotes, coalesced = slow.take()
    assert [q.bid for q in quotes] == [Decimal("100.99")] and coalesced == 99
    await hub.unsubscribe(fast)
    assert gw.count("cancel_mkt_data") == 1  # MSFT only: slow still reads AAPL
    await hub.unsubscribe(slow)
    assert gw.count("cancel_mkt_data") == 2


async def test_not_subscribed_and_line_limit_become_statuses(env) -> None:  # type: ignore[no-untyped-def]
    session, _, gw = env
    sub = Subscriber()
    await session.market_data.subscribe(sub, [AAPL, MSFT])
    (req_a, _, _), (req_m, _, _) = gw.args("req_mkt_data")
    gw.emit(g.ErrorEvent(req_a, 354, "Requested market data is not subscribed"))
    gw.emit(g.ErrorEvent(req_m, 101, "Max number of tickers has been reached"))
    await wait_until(lambda: len(sub.statuses) >= 4)
    states = {s.con_id: s.state for s in sub.take()[0]}
    assert states == {
        AAPL.con_id: SubscriptionState.NOT_ENTITLED,
        MSFT.con_id: SubscriptionState.LINE_LIMIT_REACHED,
    }


async def test_bracket_sends_parent_then_children_transmitting_last(env) -> None:  # type: ignore[no-untyped-def]
    _, trader, gw = env
    spec = OrderSpec(OrderAction.BUY, Decimal(1), OrderType.LIMIT, limit_price=Decimal(100))
    placed = await trader.place("br", SPEC_AAPL, spec, BracketSpec(Decimal(110), Decimal(95), None))
    sent = gw.args("place_order")
    assert [s[2].spec.order_type.value for s in sent] == ["LMT", "LMT", "STP"]
    assert [s[2].transmit for s in sent] == [False, False, True]
    assert {s[2].parent_ib_order_id for s in sent[1:]} == {sent[0][0]}
    assert sent[1][2].spec.action is OrderAction.SELL
    assert sent[1][2].spec.oca_group == sent[2][2].spec.oca_group
    assert len(placed.bracket_orders) == 2


async def test_modify_and_cancel(env) -> None:  # type: ignore[no-untyped-def]
    _session, trader, gw = env
    order = (await trader.place("m", SPEC_AAPL, LMT_SELL)).order
    modified = await trader.modify("m-1", order.order_id, Modification(limit_price=Decimal(251)))
    assert modified.spec.limit_price == 251
    assert gw.args("place_order")[1][0] == gw.args("place_order")[0][0]  # same IB id
    cancelled = await trader.cancel("c-1", order.order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    with pytest.raises(errors.OrderRejected):
        await trader.modify("m-2", order.order_id, Modification(limit_price=Decimal(252)))


async def test_what_if_places_nothing(env) -> None:  # type: ignore[no-untyped-def]
    session, trader, _gw = env
    placed = await trader.place("wi", SPEC_AAPL, MKT_BUY, what_if=True)
    assert placed.order is None and placed.preview.initial_margin_change == Decimal("1234.5")
    assert session.orders.all() == []


async def test_combo_legs_by_contract_are_resolved(env) -> None:  # type: ignore[no-untyped-def]
    _, trader, gw = env
    combo = Contract(
        security_type=SecurityType.COMBO,
        symbol="AAPL",
        combo_legs=(
            ComboLeg(
                1,
                OrderAction.BUY,
                contract=Contract(security_type=SecurityType.STOCK, symbol="AAPL"),
            ),
            ComboLeg(1, OrderAction.SELL, con_id=MSFT.con_id),
        ),
    )
    spec = OrderSpec(OrderAction.BUY, Decimal(1), OrderType.LIMIT, limit_price=Decimal("-1.5"))
    await trader.place("combo", combo, spec)
    _, contract, _ = gw.args("place_order")[0]
    assert [leg.con_id for leg in contract.combo_legs] == [AAPL.con_id, MSFT.con_id]


@pytest.mark.parametrize(
    ("accounts", "port", "allow"),
    [
        (("U1234567",), 7497, False),
        (("DU1",), 7496, False),
        (("DU1", "U2"), 4002, False),
    ],
)
async def test_live_accounts_or_ports_disable_trading(
    tmp_path: Path, accounts, port, allow
) -> None:  # type: ignore[no-untyped-def]
    session, trader, gw = await start(tmp_path, FakeGateway(accounts=accounts), port=port)
    assert session.trading_disabled_reason()
    with pytest.raises(errors.TradingDisabled):
        await trader.place("x", SPEC_AAPL, MKT_BUY)
    assert gw.count("place_order") == 0
    await session.stop()
    live, _trader2, _gw2 = await start(
        tmp_path, FakeGateway(accounts=accounts), port=port, allow_live=True
    )
    assert live.trading_disabled_reason() == ""
    await live.stop()


async def test_account_positions_and_snapshot(env) -> None:  # type: ignore[no-untyped-def]
    session, _, gw = env
    (summary,) = await session.queries.account_summaries()
    assert summary.values["TotalCashValue"] == Decimal("998000.5")
    assert gw.count("cancel_account_summary") == 1
    (position,) = await session.queries.positions()
    assert position.quantity == 10 and position.average_cost == Decimal("150.5")
    quote = await session.queries.snapshot_quote(AAPL)
    assert quote.bid == Decimal("100.01") and quote.ask == Decimal("100.03")


async def test_unknown_contract_and_request_deadline(env) -> None:  # type: ignore[no-untyped-def]
    session, trader, gw = env
    with pytest.raises(errors.ContractNotFound):
        await trader.resolve_one(Contract(security_type=SecurityType.STOCK, symbol="NOPE"))
    gw.req_sec_def_opt_params = lambda *a: None  # TWS never answers
    with pytest.raises(errors.DeadlineExceeded):
        await session.queries.option_chains(AAPL)


async def test_orders_gone_from_tws_after_reconnect_are_settled_after_the_executions_replay(
    env,  # type: ignore[no-untyped-def]
) -> None:
    """issue 10, defect 10: an order that filled while the link was down goes straight to
    FILLED (the executions replay comes before the settling), one that TWS no longer lists is
    CANCELLED with a reason, and neither moves again."""
    session, trader, gw = env
    kept = (await trader.place("kept", SPEC_AAPL, LMT_SELL)).order
    gone = (await trader.place("gone", SPEC_AAPL, LMT_SELL)).order
    filled = (await trader.place("filled", SPEC_AAPL, LMT_SELL)).order
    sent = {a[0]: a for a in gw.args("place_order")}

    def open_orders_after_reconnect() -> None:
        gw.calls.append(("req_open_orders", ()))
        ib_id, contract, order = sent[kept.ib_order_id]
        gw.emit(gw.open_order(ib_id, contract, order, "Submitted"))
        gw.emit(g.OpenOrderEndEvent())

    def executions_after_reconnect(req_id: int) -> None:
        gw.calls.append(("req_executions", (req_id,)))
        ib_id, contract, order = sent[filled.ib_order_id]
        gw.emit(gw.execution(ib_id, contract, order, Decimal(5), Decimal("250.5"), "late-fill"))
        gw.emit(g.ExecutionsEndEvent(req_id))

    gw.req_open_orders = open_orders_after_reconnect
    gw.req_executions = executions_after_reconnect
    gw.drop()
    await wait_until(lambda: gw.count("connect") == 2 and session.ready, what="reconnected")
    book = session.orders
    await wait_until(lambda: book.get(gone.order_id).status is OrderStatus.CANCELLED)
    assert "cancelled or expired" in book.get(gone.order_id).last_error.message
    assert book.get(kept.order_id).status is OrderStatus.SUBMITTED
    assert book.get(filled.order_id).status is OrderStatus.FILLED
    statuses = [
        e.order.status for e in session.journal.since(0) if e.order.order_id == filled.order_id
    ]
    assert OrderStatus.INACTIVE not in statuses and OrderStatus.CANCELLED not in statuses


async def test_a_cancel_waits_for_its_answer_not_a_replayed_status(env) -> None:  # type: ignore[no-untyped-def]
    """A late 'Submitted' (the open-order replay after a reconnect) arriving between the
    cancel and its answer does not end CancelOrder with the order still working (found by the
    full suite under load: test_daily_restart_keeps_orders_tracked_and_health_follows)."""
    session, trader, gw = env
    order = (await trader.place("resting", SPEC_AAPL, LMT_SELL)).order
    ib_id, contract, sent = gw.args("place_order")[0]
    gw.cancel_order = lambda ib_order_id: gw.calls.append(("cancel_order", (ib_order_id,)))
    cancelling = asyncio.create_task(trader.cancel("c1", order.order_id))
    await wait_until(lambda: gw.count("cancel_order") == 1, what="cancel sent")
    gw.emit(gw.open_order(ib_id, contract, sent, "Submitted"))  # the replay, not the answer
    gw.emit(g.OrderStatusEvent(ib_id, "Submitted", Decimal(0), Decimal(5), None, 7, 0, None, 1))
    await wait_until(lambda: session.orders.get(order.order_id).perm_id == 7, what="replayed")
    assert not cancelling.done()
    gw.emit(g.OrderStatusEvent(ib_id, "Cancelled", Decimal(0), Decimal(0), None, 7, 0, None, 1))
    cancelled = await asyncio.wait_for(cancelling, 5)
    assert cancelled.status is OrderStatus.CANCELLED
