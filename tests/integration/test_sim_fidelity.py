"""Where the simulator answers as IB does, judged by the unmodified ibapi client over a socket
in both protocol eras: orders without an exchange, orders beyond buying power, forex, futures
and indices, and historical bars that follow the instrument's sessions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from ibapi.contract import Contract, ContractDetails
from ibapi.order import Order
from ibkr_broker.simulator.server import SimulatorThread

from .sim_ibapi_app import RecordingApp

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=[pytest.param(178, id="text-178"), pytest.param(226, id="protobuf-226")])
def sim(request: pytest.FixtureRequest) -> Iterator[SimulatorThread]:
    with SimulatorThread(seed=12, tick_interval=0.02, max_server_version=request.param) as s:
        yield s


@pytest.fixture
def app(sim: SimulatorThread) -> Iterator[RecordingApp]:
    a = RecordingApp().start(sim.port, client_id=3)
    yield a
    a.stop()


def contract(symbol: str, sec_type: str = "STK", exchange: str = "SMART", **kw: str) -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = symbol, sec_type, exchange, "USD"
    for name, value in kw.items():
        setattr(c, name, value)
    return c


def order(action: str, qty: str, order_type: str = "MKT", lmt: float | None = None) -> Order:
    o = Order()
    o.action, o.totalQuantity, o.orderType = action, Decimal(qty), order_type
    if lmt is not None:
        o.lmtPrice = lmt
    return o


def error_of(app: RecordingApp, order_id: int) -> tuple[int, str]:
    """(code, message) of the first error about `order_id`, waited for."""
    found = app.wait(lambda: app.of("error", lambda a: a[0] == order_id), what="the error")
    return found[0][2], found[0][3]


def next_id(app: RecordingApp) -> int:
    return int(app.of("nextValidId")[0][0])


def test_order_without_an_exchange_gets_321_before_any_lookup(app: RecordingApp) -> None:
    oid = next_id(app)
    app.placeOrder(oid, contract("AAPL", exchange=""), order("BUY", "1"))
    assert error_of(app, oid) == (
        321,
        "Error validating request.-'bN' : cause - Missing order exchange",
    )
    app.placeOrder(oid + 1, contract("NOSUCH", exchange=""), order("BUY", "1"))
    assert error_of(app, oid + 1)[0] == 321  # not 200: the exchange is checked first
    app.placeOrder(oid + 2, contract("NOSUCH"), order("BUY", "1"))
    assert error_of(app, oid + 2)[0] == 200
    assert not app.of("execDetails") and not app.of("openOrder")


def test_order_beyond_buying_power_is_rejected_with_201(app: RecordingApp) -> None:
    oid = next_id(app)
    app.placeOrder(oid, contract("AAPL"), order("BUY", "1000000000"))  # ~$230bn on $1M
    code, message = error_of(app, oid)
    assert code == 201
    assert message.startswith(
        "Order rejected - reason:Your order is not accepted. In order to "
        "obtain the desired position your Equity with Loan Value ["
    )
    assert "must exceed the Initial Margin [" in message
    app.placeOrder(oid + 1, contract("AAPL"), order("BUY", "10"))  # within buying power
    app.wait(lambda: app.of("execDetails"), what="the fill of an order that fits")
    assert not app.of("execDetails", lambda a: a[2].orderId == oid)


def history(
    app: RecordingApp, req_id: int, c: Contract, end: str, duration: str, bar: str, use_rth: int
) -> list[str]:
    """The dates of the bars one reqHistoricalData returns."""
    app.reqHistoricalData(req_id, c, end, duration, bar, "TRADES", use_rth, 1, False, [])
    app.wait(lambda: app.of("historicalDataEnd", lambda a: a[0] == req_id), what="bars")
    return [bar.date for _, bar in app.of("historicalData", lambda a: a[0] == req_id)]


SUNDAY_NOON = "20261129 12:00:00 US/Eastern"


def test_historical_bars_follow_use_rth_sessions_and_weekends(app: RecordingApp) -> None:
    hours = [f"{h:02d}:00:00" for h in range(4, 20)]
    extended = history(app, 50, contract("AAPL"), SUNDAY_NOON, "1 D", "1 hour", 0)
    assert extended == [f"20261127 {h} US/Eastern" for h in hours]  # Friday, 04:00..19:00
    regular = history(app, 51, contract("AAPL"), SUNDAY_NOON, "1 D", "1 hour", 1)
    assert regular == ["20261127 09:30:00 US/Eastern"] + [
        f"20261127 {h:02d}:00:00 US/Eastern" for h in range(10, 16)
    ]
    two_days = history(app, 52, contract("MSFT"), "20261130 11:00:00 US/Eastern", "2 D",
                       "30 mins", 1)  # fmt: skip
    assert two_days[0] == "20261127 09:30:00 US/Eastern" and len(two_days) == 13 + 3
    assert two_days[-1] == "20261130 10:30:00 US/Eastern"  # Monday up to the end, no weekend
    daily = history(app, 53, contract("AAPL"), SUNDAY_NOON, "2 W", "1 day", 1)
    assert daily == ["20261116", "20261117", "20261118", "20261119", "20261120",
                     "20261123", "20261124", "20261125", "20261126", "20261127"]  # fmt: skip
    window = history(app, 54, contract("AAPL"), "20261130 10:00:00 US/Eastern", "3600 S",
                     "15 mins", 1)  # fmt: skip
    assert window == ["20261130 09:30:00 US/Eastern", "20261130 09:45:00 US/Eastern"]


def details(app: RecordingApp, req_id: int, c: Contract) -> list[ContractDetails]:
    app.reqContractDetails(req_id, c)
    app.wait(
        lambda: (
            app.of("contractDetailsEnd", lambda a: a[0] == req_id)
            or app.of("error", lambda a: a[0] == req_id)
        ),
        what="contract details",
    )
    return [d for _, d in app.of("contractDetails", lambda a: a[0] == req_id)]


def quote(app: RecordingApp, req_id: int, c: Contract) -> tuple[float, float]:
    """The first bid and ask of a market-data line."""
    app.reqMktData(req_id, c, "", False, False, [])
    app.wait(
        lambda: (
            app.of("tickPrice", lambda a: a[0] == req_id and a[1] == 1)
            and app.of("tickPrice", lambda a: a[0] == req_id and a[1] == 2)
        ),
        what="bid and ask",
    )
    app.cancelMktData(req_id)
    bid = app.of("tickPrice", lambda a: a[0] == req_id and a[1] == 1)[0][2]
    ask = app.of("tickPrice", lambda a: a[0] == req_id and a[1] == 2)[0][2]
    return bid, ask


def fill_of(app: RecordingApp, order_id: int) -> Any:
    """The execution of `order_id`, once its commission report arrived."""
    found = app.wait(
        lambda: [
            e
            for _, _, e in app.of("execDetails")
            if e.orderId == order_id
            and any(r.execId == e.execId for (r,) in app.of("commissionAndFeesReport"))
        ],
        what="fill and commission",
    )
    return found[0]


def test_forex_pair_on_idealpro_has_details_quotes_and_fills(app: RecordingApp) -> None:
    eurusd = contract("EUR", "CASH", "IDEALPRO")
    (d,) = details(app, 60, eurusd)
    assert (d.contract.conId, d.contract.localSymbol, d.contract.currency) == (
        12087792,
        "EUR.USD",
        "USD",
    )
    assert d.minTick == 0.00005 and d.contract.exchange == "IDEALPRO"
    assert d.timeZoneId == "US/Eastern" and "CLOSED" in d.tradingHours  # weekends
    bid, ask = quote(app, 61, eurusd)
    assert 0.9 < bid < ask < 1.3
    oid = next_id(app)
    preview = Order()
    preview.action, preview.totalQuantity, preview.orderType, preview.whatIf = (
        "BUY",
        Decimal(20000),
        "MKT",
        True,
    )
    app.placeOrder(oid, eurusd, preview)  # a what-if on a pair answers (error 200 before)
    app.wait(lambda: app.of("openOrder", lambda a: a[0] == oid), what="what-if answer")
    app.placeOrder(oid + 1, eurusd, order("BUY", "20000"))
    execution = fill_of(app, oid + 1)
    assert execution.shares == 20000 and execution.exchange == "IDEALPRO"
    assert 0.9 < execution.price < 1.3


def test_front_month_future_and_the_next_one(app: RecordingApp) -> None:
    both = details(app, 70, contract("ES", "FUT", "CME"))
    assert [d.contract.tradingClass for d in both] == ["ES", "ES"]
    front, following = sorted(both, key=lambda d: d.contract.lastTradeDateOrContractMonth)
    expiries = [d.contract.lastTradeDateOrContractMonth for d in (front, following)]
    today = datetime.now(UTC).strftime("%Y%m%d")
    assert today <= expiries[0] < expiries[1]  # listed as the calendar moves
    assert front.contract.multiplier == "50" and front.minTick == 0.25
    assert front.underSecType == "IND" and front.timeZoneId == "US/Central"
    month = front.contract.lastTradeDateOrContractMonth[:6]
    (picked,) = details(app, 71, contract("ES", "FUT", "CME", lastTradeDateOrContractMonth=month))
    assert picked.contract.conId == front.contract.conId
    bid, ask = quote(app, 72, picked.contract)
    assert bid < ask and ask - bid < 5
    oid = next_id(app)
    app.placeOrder(oid, picked.contract, order("BUY", "1"))
    execution = fill_of(app, oid)
    assert execution.shares == 1 and execution.exchange == "CME"
    app.reqPositions()
    app.wait(lambda: app.of("positionEnd"), what="positions")
    (position,) = [p for p in app.of("position") if p[1].conId == front.contract.conId]
    assert position[2] == 1 and position[1].multiplier == "50"


def test_index_has_details_and_quotes_but_takes_no_orders(app: RecordingApp) -> None:
    spx = contract("SPX", "IND", "CBOE")
    (d,) = details(app, 80, spx)
    assert (d.contract.conId, d.contract.secType, d.longName) == (
        416904,
        "IND",
        "S&P 500 Stock Index",
    )
    bid, ask = quote(app, 81, spx)
    assert 4000 < bid < ask
    oid = next_id(app)
    app.placeOrder(oid, spx, order("BUY", "1"))
    code, message = error_of(app, oid)
    assert code == 201 and "not tradable" in message
    assert not app.of("execDetails")
