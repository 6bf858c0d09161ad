"""End to end: the unmodified official ibapi client (EClient + EReader thread) against the
simulator on 127.0.0.1:0, in both protocol eras: the simulator capped at 178 (text) and at 226
(ibapi's default range then negotiates the protobuf era: binary ids, protobuf both ways)."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from decimal import Decimal

import pytest
from ibapi.contract import ComboLeg, Contract
from ibapi.execution import ExecutionFilter
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from ibkr_broker.simulator.server import SimulatorThread

from .sim_ibapi_app import RecordingApp

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=[pytest.param(178, id="text-178"), pytest.param(226, id="protobuf-226")])
def era(request: pytest.FixtureRequest) -> int:
    """The simulator's ceiling, which is also what ibapi's default range (100..226) gets."""
    return int(request.param)


@pytest.fixture
def sim(era: int) -> Iterator[SimulatorThread]:
    with SimulatorThread(seed=11, tick_interval=0.02, max_server_version=era) as s:
        yield s


@pytest.fixture
def app(sim: SimulatorThread) -> Iterator[RecordingApp]:
    a = RecordingApp().start(sim.port, client_id=1)
    yield a
    a.stop()


def stock(symbol: str) -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = symbol, "STK", "SMART", "USD"
    return c


def order(action: str, qty: int, order_type: str = "MKT", lmt: float | None = None) -> Order:
    o = Order()
    o.action, o.totalQuantity, o.orderType = action, Decimal(qty), order_type
    if lmt is not None:
        o.lmtPrice = lmt
    return o


def test_connect_start_up_sequence(app: RecordingApp, era: int) -> None:
    names = [n for n, _ in app.events]
    assert names[:2] == ["nextValidId", "managedAccounts"]
    assert app.of("managedAccounts")[0][0] == "DU1234567"
    assert {a[2] for a in app.errors()} >= {2104, 2106, 2158}
    assert app.serverVersion() == era


PROTOBUF_REPLIES = {
    "contractDataProtoBuf", "contractDataEndProtoBuf", "secDefOptParameterProtoBuf",
    "tickPriceProtoBuf", "tickSizeProtoBuf", "tickStringProtoBuf", "tickOptionComputationProtoBuf",
    "tickReqParamsProtoBuf", "updateMarketDataTypeProtoBuf", "errorProtoBuf", "openOrderProtoBuf",
    "orderStatusProtoBuf", "executionDetailsProtoBuf", "commissionAndFeesReportProtoBuf",
    "positionProtoBuf", "positionEndProtoBuf", "updateAccountValueProtoBuf",
    "updatePortfolioProtoBuf", "accountDataEndProtoBuf", "nextValidIdProtoBuf",
    "managedAccountsProtoBuf", "executionDetailsEndProtoBuf",
}  # fmt: skip


def assert_era(sim: SimulatorThread, app: RecordingApp, era: int) -> None:
    """In the protobuf era every request came as protobuf and ibapi decoded protobuf replies;
    in the text era neither."""
    stats = sim.call(lambda: (sim.server.stats.protobuf_requests,
                              sim.server.stats.messages_received))
    if era >= 213:
        assert stats[0] == stats[1] > 0
        assert set(app.protobuf_calls) >= PROTOBUF_REPLIES - {"executionDetailsEndProtoBuf"}
    else:
        assert stats[0] == 0 and app.protobuf_calls == []


def test_end_to_end_trading_session(sim: SimulatorThread, app: RecordingApp, era: int) -> None:
    # -- resolve AAPL and an option -----------------------------------------------------------
    app.reqContractDetails(10, stock("AAPL"))
    app.wait(lambda: app.of("contractDetailsEnd"), what="contractDetailsEnd")
    [(_, details)] = app.of("contractDetails")
    assert details.contract.conId == 265598
    assert details.longName == "APPLE INC" and details.minTick == 0.01
    aapl = details.contract

    app.reqSecDefOptParams(11, "AAPL", "", "STK", 265598)
    app.wait(lambda: app.of("securityDefinitionOptionParameterEnd"), what="secdef end")
    [params] = app.of("securityDefinitionOptionParameter")
    expiry = sorted(params[5])[0]
    strike = sorted(params[6])[10]
    opt = Contract()
    opt.symbol, opt.secType, opt.exchange, opt.currency = "AAPL", "OPT", "SMART", "USD"
    opt.lastTradeDateOrContractMonth, opt.strike, opt.right, opt.multiplier = (
        expiry, strike, "C", "100")
    app.reqContractDetails(12, opt)
    app.wait(lambda: app.of("contractDetailsEnd", lambda a: a[0] == 12), what="option details")
    [(_, opt_details)] = app.of("contractDetails", lambda a: a[0] == 12)
    assert opt_details.contract.localSymbol.startswith("AAPL  ")
    assert opt_details.underConId == 265598

    app.reqContractDetails(13, stock("NOPE"))
    app.wait(lambda: app.errors(200), what="error 200")
    assert app.errors(200)[0][0] == 13

    # -- stream quotes ------------------------------------------------------------------------
    app.reqMktData(20, aapl, "", False, False, [])
    app.reqMktData(21, opt_details.contract, "", False, False, [])
    app.wait(lambda: len(app.of("tickPrice", lambda a: a[0] == 20 and a[1] == 1)) >= 3,
             what="bid ticks")
    app.wait(lambda: app.of("tickOptionComputation", lambda a: a[0] == 21), what="greeks")
    bids = app.of("tickPrice", lambda a: a[0] == 20 and a[1] == 1)
    asks = app.of("tickPrice", lambda a: a[0] == 20 and a[1] == 2)
    assert app.of("tickString", lambda a: a[0] == 20 and a[1] == 45)
    assert app.of("marketDataType", lambda a: a[0] == 20)[0][1] == 1
    assert all(round(p[2] * 100) == p[2] * 100 for p in bids + asks)
    greeks = app.of("tickOptionComputation", lambda a: a[0] == 21)[-1]
    assert 0 < greeks[4] < 1 and greeks[10] > 0  # delta, underlying price
    assert sim.call(lambda: sim.server.stats.mkt_data[265598]) == 1

    # -- a market buy fills, commission report after the execution ----------------------------
    oid = app.of("nextValidId")[0][0]
    app.placeOrder(oid, aapl, order("BUY", 100))
    app.wait(lambda: app.of("commissionAndFeesReport"), what="commission")
    [(req_id, contract, execution)] = app.of("execDetails")
    assert req_id == -1 and execution.side == "BOT" and execution.shares == 100
    assert contract.conId == 265598 and execution.clientId == 1 and execution.permId > 0
    [(report,)] = app.of("commissionAndFeesReport")
    assert report.execId == execution.execId and report.commissionAndFees == 1.0
    assert app.index("execDetails", lambda a: True) < app.index(
        "commissionAndFeesReport", lambda a: True)
    app.wait(lambda: app.of("orderStatus", lambda a: a[0] == oid and a[1] == "Filled"),
             what="Filled")
    filled = app.of("orderStatus", lambda a: a[0] == oid and a[1] == "Filled")[-1]
    assert filled[8] == 1  # the placing client's id

    # -- positions and account values follow the fill ---------------------------------------
    app.reqPositions()
    app.wait(lambda: app.of("positionEnd"), what="positionEnd")
    [pos] = app.of("position")
    assert pos[1].conId == 265598 and pos[2] == 100 and pos[3] > 0
    app.reqAccountUpdates(True, "")
    app.wait(lambda: app.of("accountDownloadEnd"), what="accountDownloadEnd")
    values = {(a[0], a[2]): a[1] for a in app.of("updateAccountValue")}
    cash = Decimal(values[("TotalCashValue", "USD")])
    assert cash < Decimal(1_000_000) - Decimal(100 * 200)
    assert Decimal(values[("NetLiquidation", "USD")]) > Decimal(990_000)
    assert ("BuyingPower", "USD") in values and ("ExcessLiquidity", "USD") in values
    [portfolio] = app.of("updatePortfolio")
    assert portfolio[0].conId == 265598 and portfolio[1] == 100

    # -- a resting limit sell fills when the walk crosses it ---------------------------------
    bid = app.of("tickPrice", lambda a: a[0] == 20 and a[1] == 1)[-1][2]
    sell_id = oid + 1
    app.placeOrder(sell_id, aapl, order("SELL", 100, "LMT", round(bid + 0.02, 2)))
    app.wait(lambda: app.of("orderStatus", lambda a: a[0] == sell_id and a[1] == "Filled"),
             timeout=30, what="limit sell filled")
    assert app.of("orderStatus", lambda a: a[0] == sell_id)[0][1] in ("Submitted", "Filled")
    app.wait(lambda: app.of("updatePortfolio", lambda a: a[0].conId == 265598 and a[1] == 0),
             what="portfolio flat")
    assert len(app.of("commissionAndFeesReport")) == 2

    # -- cancel a resting order: 202 then Cancelled -------------------------------------------
    cancel_id = oid + 2
    app.placeOrder(cancel_id, aapl, order("BUY", 10, "LMT", 100.0))
    app.wait(lambda: app.of("orderStatus", lambda a: a[0] == cancel_id), what="submitted")
    app.cancelOrder(cancel_id, OrderCancel())
    app.wait(lambda: app.of("orderStatus", lambda a: a[0] == cancel_id and a[1] == "Cancelled"),
             what="Cancelled")
    assert app.index("error", lambda a: a[0] == cancel_id and a[2] == 202) < app.index(
        "orderStatus", lambda a: a[0] == cancel_id and a[1] == "Cancelled")

    # -- a 2-leg combo fills at a net price ----------------------------------------------------
    app.reqContractDetails(14, _option_like(opt, strike + 5))
    app.wait(lambda: app.of("contractDetailsEnd", lambda a: a[0] == 14), what="2nd option")
    [(_, short_leg)] = app.of("contractDetails", lambda a: a[0] == 14)
    bag = Contract()
    bag.symbol, bag.secType, bag.exchange, bag.currency = "AAPL", "BAG", "SMART", "USD"
    bag.comboLegs = []
    for con_id, action in ((opt_details.contract.conId, "BUY"),
                           (short_leg.contract.conId, "SELL")):
        leg = ComboLeg()
        leg.conId, leg.ratio, leg.action, leg.exchange = con_id, 1, action, "SMART"
        bag.comboLegs.append(leg)
    combo_id = oid + 3
    app.placeOrder(combo_id, bag, order("BUY", 2))
    app.wait(lambda: app.of("orderStatus", lambda a: a[0] == combo_id and a[1] == "Filled"),
             what="combo filled")
    app.wait(lambda: len(app.of("commissionAndFeesReport")) == 5, what="combo commissions")
    combo_execs = app.of("execDetails", lambda a: a[2].orderId == combo_id)
    assert sorted(c.secType for _, c, _ in combo_execs) == ["BAG", "OPT", "OPT"]
    legs = {c.conId: e for _, c, e in combo_execs if c.secType == "OPT"}
    net = next(e for _, c, e in combo_execs if c.secType == "BAG").price
    assert legs[opt_details.contract.conId].side == "BOT"
    assert legs[short_leg.contract.conId].side == "SLD"
    assert net == pytest.approx(legs[opt_details.contract.conId].price
                                - legs[short_leg.contract.conId].price)

    # -- reconnect with the same client id: executions survive -------------------------------
    app.stop()
    sim.wait_for(lambda: sim.server.client_ids() == [], what="client gone")
    again = RecordingApp().start(sim.port, client_id=1)
    try:
        assert again.of("nextValidId")[0][0] > combo_id
        again.reqExecutions(30, ExecutionFilter())
        again.wait(lambda: again.of("execDetailsEnd"), what="execDetailsEnd")
        assert len(again.of("execDetails", lambda a: a[0] == 30)) == 5
        again.wait(lambda: len(again.of("commissionAndFeesReport")) == 5, what="reports")
        assert_era(sim, app, era)
        if era >= 213:
            assert "executionDetailsEndProtoBuf" in again.protobuf_calls
    finally:
        again.stop()


def _option_like(opt: Contract, strike: float) -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = opt.symbol, "OPT", "SMART", "USD"
    c.lastTradeDateOrContractMonth, c.strike, c.right, c.multiplier = (
        opt.lastTradeDateOrContractMonth, strike, opt.right, "100")
    return c


def test_client_id_in_use_leaves_the_first_connected(sim: SimulatorThread,
                                                     app: RecordingApp) -> None:
    second = RecordingApp()
    second.connect("127.0.0.1", sim.port, 1)
    second.thread = None
    import threading

    t = threading.Thread(target=second.run, daemon=True)
    t.start()
    second.wait(lambda: second.errors(326), what="error 326")
    second.wait(lambda: not second.isConnected(), what="second closed")
    t.join(timeout=5)
    app.reqCurrentTime()
    app.wait(lambda: app.of("currentTime"), what="first still served")
    assert sim.call(lambda: sim.server.client_ids()) == [1]


def test_several_clients_at_once(sim: SimulatorThread, app: RecordingApp) -> None:
    others = [RecordingApp().start(sim.port, client_id=cid) for cid in (2, 3)]
    try:
        assert sim.call(lambda: sim.server.client_ids()) == [1, 2, 3]
        others[0].placeOrder(1, stock("MSFT"), order("BUY", 5))
        others[0].wait(lambda: others[0].of("orderStatus", lambda a: a[1] == "Filled"))
        assert others[0].of("orderStatus")[-1][8] == 2
        assert not app.of("orderStatus") and not others[1].of("orderStatus")
    finally:
        for o in others:
            o.stop()


def test_pacing_error_100(app: RecordingApp) -> None:
    for _ in range(60):
        app.reqCurrentTime()
    app.wait(lambda: app.errors(100), what="error 100")
    app.wait(lambda: len(app.of("currentTime")) == 60, what="all answered")


def test_market_data_line_limit_and_delayed_data(era: int) -> None:
    with SimulatorThread(seed=2, tick_interval=0.05, max_market_data_lines=2,
                         max_server_version=era) as sim:
        app = RecordingApp().start(sim.port, client_id=5)
        try:
            app.reqMarketDataType(3)
            for i, sym in enumerate(("AAPL", "MSFT", "SPY")):
                app.reqMktData(100 + i, stock(sym), "", False, False, [])
            app.wait(lambda: app.errors(101), what="error 101")
            assert app.errors(101)[0][0] == 102
            app.wait(lambda: app.of("tickPrice", lambda a: a[1] == 66), what="delayed bid")
            assert app.errors(10167)
            assert not app.of("tickPrice", lambda a: a[1] in (1, 2, 4))
            assert app.of("marketDataType", lambda a: a[0] == 100)[0][1] == 3
            app.reqMarketDataType(1)
            app.reqMktData(200, stock("QQQ"), "", True, False, [])
            app.wait(lambda: app.of("tickSnapshotEnd"), what="snapshot end")
            assert app.of("tickPrice", lambda a: a[0] == 200 and a[1] == 1)
        finally:
            app.stop()


def test_malformed_input_affects_only_that_client(sim: SimulatorThread,
                                                  app: RecordingApp) -> None:
    raw = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    try:
        raw.sendall(b"API\0" + _frame(b"v100..178"))
        _read_frame(raw)  # version + time
        raw.sendall(_frame(b"71\x002\x009\x00\x00"))  # startApi, client 9
        while b"2158" not in _read_frame(raw):
            pass
        raw.sendall(_frame(b"9\x008\x00notanint\x00"))  # reqContractDetails, broken reqId
        raw.sendall(_frame(b"999\x001\x00"))  # unknown message id
        replies = [_read_frame(raw), _read_frame(raw)]
        assert all(r.startswith(b"4\x002\x00") and b"\x00320\x00" in r for r in replies)
        raw.sendall(_frame(b"49\x001\x00"))  # still served: reqCurrentTime
        assert _read_frame(raw).startswith(b"49\x00")
        raw.sendall(b"\xff\xff\xff\xff garbage")  # impossible frame length: closed
        raw.settimeout(5)
        assert raw.recv(100) == b""
    finally:
        raw.close()
    app.reqCurrentTime()
    app.wait(lambda: app.of("currentTime"), what="other client unaffected")
    assert sim.call(lambda: sim.server.stats.malformed) == 2


def _frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def _read_frame(sock: socket.socket) -> bytes:
    size = struct.unpack(">I", _recv_exact(sock, 4))[0]
    return _recv_exact(sock, size)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def test_other_requests(sim: SimulatorThread, app: RecordingApp, era: int) -> None:
    app.reqMatchingSymbols(40, "AA")
    app.reqAccountSummary(41, "All", "NetLiquidation,BuyingPower,$LEDGER")
    app.reqPnL(42, "DU1234567", "")
    app.reqHistoricalData(43, stock("MSFT"), "", "1 D", "1 hour", "MIDPOINT", 1, 1, False, [])
    app.reqIds(1)
    app.wait(lambda: app.of("symbolSamples") and app.of("accountSummaryEnd") and app.of("pnl")
             and app.of("historicalDataEnd") and len(app.of("nextValidId")) == 2,
             what="replies")
    [(_, samples)] = app.of("symbolSamples")
    assert [s.contract.symbol for s in samples] == ["AAPL"]
    assert "OPT" in samples[0].derivativeSecTypes
    tags = {a[2] for a in app.of("accountSummary")}
    assert {"NetLiquidation", "BuyingPower", "CashBalance"} <= tags
    # 1 D of 1-hour bars inside regular hours (useRTH=1): at most 7, 09:30 and 10:00..15:00
    bar_times = [bar.date for _, bar in app.of("historicalData")]
    assert 1 <= len(bar_times) <= 7
    assert all(t.endswith(" US/Eastern") and "09:30:00" <= t[9:17] <= "15:00:00"
               for t in bar_times)
    # an open order is re-reported on reconnect and listed by reqAllOpenOrders elsewhere
    oid = app.of("nextValidId")[-1][0]
    app.placeOrder(oid, stock("AAPL"), order("BUY", 1, "LMT", 150.0))
    app.wait(lambda: app.of("orderStatus", lambda a: a[0] == oid), what="resting order")
    app.stop()
    sim.wait_for(lambda: sim.server.client_ids() == [], what="client gone")
    again = RecordingApp().start(sim.port, client_id=1)
    other = RecordingApp().start(sim.port, client_id=2)
    try:
        again.wait(lambda: again.of("openOrder", lambda a: a[0] == oid), what="re-reported")
        other.reqAllOpenOrders()
        other.wait(lambda: other.of("openOrderEnd"), what="openOrderEnd")
        assert [a[0] for a in other.of("openOrder")] == [oid]
        other.reqGlobalCancel(OrderCancel())
        again.wait(lambda: again.of("orderStatus", lambda a: a[1] == "Cancelled"),
                   what="global cancel reaches the owner")
        other.reqCompletedOrders(True)
        other.wait(lambda: other.of("completedOrdersEnd"), what="completed orders")
        assert other.of("completedOrder")[0][2].status == "Cancelled"
        if era >= 213:
            assert {"symbolSamplesProtoBuf", "accountSummaryProtoBuf", "pnlProtoBuf",
                    "historicalDataProtoBuf", "historicalDataEndProtoBuf",
                    "accountSummaryEndProtoBuf"} <= set(app.protobuf_calls)
            assert {"openOrdersEndProtoBuf", "completedOrderProtoBuf",
                    "completedOrdersEndProtoBuf"} <= set(other.protobuf_calls)
        else:
            assert app.protobuf_calls == other.protobuf_calls == []
    finally:
        again.stop()
        other.stop()


def test_refuses_a_client_that_needs_a_newer_server(sim: SimulatorThread, era: int) -> None:
    raw = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    try:
        raw.sendall(b"API\0" + _frame(b"v190..226" if era == 178 else b"v227..240"))
        assert raw.recv(100) == b""  # closed without a reply
        raw2 = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
        raw2.sendall(b"API\0" + _frame(b"v100..226 +PACEAPI"))
        assert _read_frame(raw2).split(b"\0")[0] == str(era).encode()
        raw2.settimeout(0.3)
        with pytest.raises(TimeoutError):  # nothing before startApi (G3)
            raw2.recv(100)
        raw2.close()
    finally:
        raw.close()


def _binary(msg_id: int, body: bytes) -> bytes:
    return struct.pack(">II", len(body) + 4, msg_id) + body


def test_protobuf_era_malformed_input_is_answered_in_protobuf() -> None:
    """A raw protobuf-era client: a payload that does not parse and an unknown protobuf id get
    error 320 (as protobuf ErrorMessage, id 204) and the connection stays served (the text-era
    twin is test_malformed_input_affects_only_that_client)."""
    with SimulatorThread(seed=3, tick_interval=0.05, max_server_version=226) as sim:
        _malformed_protobuf_requests(sim, 226)


def _malformed_protobuf_requests(sim: SimulatorThread, era: int) -> None:
    from ibapi.protobuf.CurrentTimeRequest_pb2 import CurrentTimeRequest
    from ibapi.protobuf.ErrorMessage_pb2 import ErrorMessage
    from ibapi.protobuf.StartApiRequest_pb2 import StartApiRequest

    raw = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    try:
        raw.sendall(b"API\0" + _frame(b"v100..226"))
        assert _read_frame(raw).split(b"\0")[0] == str(era).encode()
        raw.sendall(_binary(271, StartApiRequest(clientId=9).SerializeToString()))
        errors: list[int] = []
        while 2158 not in errors:
            reply = _read_frame(raw)
            if struct.unpack(">I", reply[:4])[0] == 204:
                errors.append(ErrorMessage.FromString(reply[4:]).errorCode)
        raw.sendall(_binary(209, b"\x08"))  # reqContractDetails: a truncated varint
        raw.sendall(_binary(200 + 999, b""))  # an unknown protobuf id
        for _ in range(2):
            reply = _read_frame(raw)
            assert struct.unpack(">I", reply[:4])[0] == 204
            assert ErrorMessage.FromString(reply[4:]).errorCode == 320
        raw.sendall(_binary(249, CurrentTimeRequest().SerializeToString()))
        assert struct.unpack(">I", _read_frame(raw)[:4])[0] == 249  # protobuf currentTime
    finally:
        raw.close()
    assert sim.call(lambda: sim.server.stats.malformed) == 2
