"""The kill switch in Trader against the FakeGateway: halt cancels (reqGlobalCancel) and
blocks, survives a restart, is idempotent by request_id, and resume re-arms it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ibkr_broker.server.domain import errors
from ibkr_broker.server.domain.model import (
    BracketSpec,
    ConnectionState,
    Contract,
    OrderAction,
    OrderSpec,
    OrderStatus,
    OrderType,
    SecurityType,
)
from ibkr_broker.server.session import ib_port as g
from ibkr_broker.server.session.broker_session import BrokerSession
from ibkr_broker.server.session.store import Store
from ibkr_broker.server.trading.killswitch import KillSwitchState
from ibkr_broker.server.trading.order_terms import Modification
from ibkr_broker.server.trading.trader import Trader

from tests.waiting import wait_until

from .fake_gateway import FAST, FakeGateway

pytestmark = pytest.mark.timeout(30)

STOCK = Contract(security_type=SecurityType.STOCK, symbol="AAPL")
RESTING = OrderSpec(OrderAction.BUY, Decimal(5), OrderType.LIMIT, limit_price=Decimal("50"))


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[Any]:
    """start(gw) -> (session, trader), all on one store file (a restart reuses it)."""
    running: list[BrokerSession] = []

    async def start(gw: FakeGateway) -> tuple[BrokerSession, Trader]:
        session = BrokerSession(gw, FAST, Store(tmp_path / "broker.db"))
        running.append(session)
        await session.start()
        await session.wait_ready(2)
        return session, Trader(session)

    yield start
    for session in running:
        if session.state is not ConnectionState.DISCONNECTED:  # not stopped by the test
            await session.stop()


async def test_halt_cancels_everything_and_blocks_new_orders(make: Any) -> None:
    gw = FakeGateway()
    session, trader = await make(gw)
    ids = []
    for rid in ("o1", "o2"):
        placed = await trader.place(rid, STOCK, RESTING)
        assert placed.order is not None
        ids.append(placed.order.order_id)
    halted = await trader.halt("h1", "drill", "ops")
    assert gw.count("req_global_cancel") == 1
    assert sorted(halted.cancelled_order_ids) == sorted(ids)
    state = halted.kill_switch
    assert state.engaged and state.reason == "drill" and state.engaged_by == "ops"
    assert state.engage_time is not None and not state.cancel_pending
    sent = gw.count("place_order")
    with pytest.raises(errors.TradingHalted) as caught:
        await trader.place("o3", STOCK, RESTING)
    assert caught.value.reason == "TRADING_HALTED" and "drill" in caught.value.message
    assert session.store.find_request("o3") is None
    # Raising a working order's quantity or price is blocked; lowering it and cancelling not.
    with pytest.raises(errors.TradingHalted):
        await trader.modify("m1", ids[0], Modification(quantity=Decimal(6)))
    with pytest.raises(errors.TradingHalted):
        await trader.modify("m2", ids[0], Modification(limit_price=Decimal(51)))
    assert gw.count("place_order") == sent
    await trader.modify("m3", ids[0], Modification(quantity=Decimal(4)))
    await trader.cancel("c1", ids[1])
    assert gw.count("cancel_order") == 1
    # A what-if preview trades nothing and is still answered.
    preview = await trader.place("w1", STOCK, RESTING, what_if=True)
    assert preview.preview is not None
    # The same request_id repeats the first answer and cancels nothing twice.
    again = await trader.halt("h1", "drill", "someone else")
    assert again == halted and gw.count("req_global_cancel") == 1
    with pytest.raises(errors.Conflict):
        await trader.halt("h1", "another reason", "ops")
    # A second halt keeps who engaged it first, and cancels again.
    second = await trader.halt("h2", "still", "ops2")
    assert second.kill_switch.engaged_by == "ops" and gw.count("req_global_cancel") == 2
    assert session.trading_disabled_reason() == ""  # the session itself could trade
    assert "halted by ops" in trader.kill_switch.disabled_reason()

    resumed = await trader.resume("r1")
    assert not resumed.engaged and resumed == KillSwitchState()
    await trader.place("o3", STOCK, RESTING)
    assert await trader.resume("r1") == resumed
    assert trader.kill_switch.disabled_reason() == ""


async def test_the_halt_survives_a_restart_and_resume_rearms(make: Any) -> None:
    session, trader = await make(FakeGateway())
    await trader.halt("h1", "overnight", "ops")
    await session.stop()
    gw = FakeGateway()
    session2, trader2 = await make(gw)
    state = trader2.kill_switch.state
    assert state.engaged and state.reason == "overnight" and state.engaged_by == "ops"
    with pytest.raises(errors.TradingHalted):
        await trader2.place("o1", STOCK, RESTING)
    assert gw.count("place_order") == 0
    assert gw.count("req_global_cancel") == 0  # the cancel was sent before the restart
    # The retry of the halt after the restart repeats its first answer.
    assert (await trader2.halt("h1", "overnight", "ops")).kill_switch.engaged
    await trader2.resume("r1")
    await session2.stop()
    _, trader3 = await make(FakeGateway())
    assert not trader3.kill_switch.engaged
    await trader3.place("o1", STOCK, RESTING)


async def test_a_halt_without_tws_cancels_once_reconnected(make: Any) -> None:
    gw = FakeGateway()
    session, trader = await make(gw)
    gw.refuse_connect = True
    gw.drop()
    await wait_until(lambda: not session.ready, 2, "session lost")
    halted = await trader.halt("h1", "tws down", "")
    assert halted.kill_switch.engaged and halted.kill_switch.cancel_pending
    assert gw.count("req_global_cancel") == 0
    gw.refuse_connect = False
    await wait_until(lambda: gw.count("req_global_cancel") == 1, 5, "global cancel sent")
    await wait_until(lambda: not trader.kill_switch.state.cancel_pending, 2, "cancel recorded")
    assert trader.kill_switch.engaged


async def test_a_halt_between_the_sends_of_a_bracket_stops_the_rest(make: Any) -> None:
    gw = FakeGateway()
    session, trader = await make(gw)
    place_order = gw.place_order

    def halt_after_first(ib_order_id: int, contract: Contract, order: g.IbOrderRequest) -> None:
        place_order(ib_order_id, contract, order)
        # As if HaltTrading ran while the next message waited for the pacing bucket.
        trader.kill_switch.state = dataclasses.replace(trader.kill_switch.state, engaged=True)

    gw.place_order = halt_after_first  # type: ignore[method-assign]
    bracket = BracketSpec(take_profit_limit_price=Decimal(70), stop_loss_stop_price=Decimal(40))
    with pytest.raises(errors.TradingHalted):
        await trader.place("b1", STOCK, RESTING, bracket)
    assert gw.count("place_order") == 1  # the parent only, not transmitted (transmit=False)
    assert not gw.args("place_order")[0][2].transmit
    children = [o for o in session.orders.all() if o.parent_order_id]
    assert len(children) == 2
    assert all(o.status is OrderStatus.REJECTED for o in children)
