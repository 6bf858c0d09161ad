"""The simulator's data feeds through the unmodified ibapi client, in both eras: PnL per position
following fills and prices, 5-second real-time bars of the live walk, a depth book kept by
insert/update/delete equal to the simulator's, IB's depth errors, and 162 on historical pacing."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from ibkr_broker.simulator import depth_book as db
from ibkr_broker.simulator.server import SimulatorThread

from .sim_ibapi_app import RecordingApp
from .test_sim_ibapi import order, stock

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=[pytest.param(178, id="text-178"), pytest.param(226, id="protobuf-226")])
def sim(request: pytest.FixtureRequest) -> Iterator[SimulatorThread]:
    with SimulatorThread(seed=11, tick_interval=0.02, max_server_version=request.param,
                         accounts=2) as s:
        yield s


@pytest.fixture
def app(sim: SimulatorThread) -> Iterator[RecordingApp]:
    a = RecordingApp().start(sim.port, client_id=1)
    yield a
    a.stop()


def test_pnl_single_follows_a_fill(sim: SimulatorThread, app: RecordingApp) -> None:
    app.reqPnLSingle(7, "DU1234568", "", 265598)
    app.wait(lambda: app.of("pnlSingle"), what="first pnlSingle")
    assert app.of("pnlSingle")[0][1] == 0  # nothing held yet
    oid = app.of("nextValidId")[-1][0]
    buy = order("BUY", 10)
    buy.account = "DU1234568"
    app.placeOrder(oid, stock("AAPL"), buy)
    app.wait(lambda: app.of("pnlSingle", lambda a: a[1] == 10), what="pnlSingle after the fill")
    req_id, position, daily, unrealized, realized, value = app.of(
        "pnlSingle", lambda a: a[1] == 10)[-1]
    assert (req_id, position) == (7, Decimal(10))
    assert value > 0 and daily == pytest.approx(unrealized + realized)
    app.reqPnLSingle(8, "DU0000000", "", 265598)
    app.wait(lambda: app.errors(321), what="unknown account refused")


def test_real_time_bars_every_five_seconds(sim: SimulatorThread, app: RecordingApp) -> None:
    app.reqRealTimeBars(9, stock("MSFT"), 5, "MIDPOINT", True, [])
    app.reqRealTimeBars(10, stock("MSFT"), 10, "MIDPOINT", True, [])
    app.wait(lambda: len(app.of("realtimeBar")) >= 2, timeout=15, what="two bars")
    (first, second) = app.of("realtimeBar")[:2]
    assert second[1] - first[1] == 5 and first[1] % 5 == 0
    for _, _, open_, high, low, close, _, wap, count in (first, second):
        assert low <= min(open_, close) <= max(open_, close) <= high and count > 0
        assert low <= float(wap) <= high
    assert app.errors(321)[0][0] == 10  # only 5-second bars


def test_depth_book_rebuilt_from_operations_equals_the_simulators(
    sim: SimulatorThread, app: RecordingApp
) -> None:
    app.reqMktDepth(11, stock("AAPL"), 8, False, [])
    app.wait(lambda: len(app.of("updateMktDepth")) >= 1000, timeout=30, what="1,000 updates")
    sim.call(sim.server.pause_market)
    feed = sim.call(lambda: sim.server.session(1).data.depth[11])  # type: ignore[union-attr]
    sent = sim.call(lambda: feed.updates_sent)
    app.wait(lambda: len(app.of("updateMktDepth")) == sent, what="every update arrived")
    book: dict[int, list[db.Row]] = {db.ASK: [], db.BID: []}
    for _, position, operation, side, price, size in app.of("updateMktDepth"):
        row = db.Row(Decimal(repr(price)), Decimal(size), "")
        db.apply(book[side], db.DepthOp(position, operation, side, row))
    ops = {a[2] for a in app.of("updateMktDepth")}
    assert ops == {db.INSERT, db.UPDATE, db.DELETE}
    assert [(r.price, r.size) for r in book[db.ASK]] == [(r.price, r.size) for r in feed.asks]
    assert [(r.price, r.size) for r in book[db.BID]] == [(r.price, r.size) for r in feed.bids]
    assert 0 < len(book[db.BID]) <= 8 and book[db.BID][0].price < book[db.ASK][0].price


def test_depth_limit_and_unknown_cancel(sim: SimulatorThread, app: RecordingApp) -> None:
    for req_id in (20, 21, 22, 23):
        app.reqMktDepth(req_id, stock("AAPL"), 3, True, [])
    app.wait(lambda: app.errors(309), what="the fourth subscription refused")
    assert [e[0] for e in app.errors(309)] == [23]
    assert app.of("updateMktDepthL2", lambda a: a[0] == 20)
    app.cancelMktDepth(99, True)
    app.wait(lambda: app.errors(310), what="cancel of an unknown subscription")
