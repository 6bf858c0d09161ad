"""Where the simulator answers as IB does, judged by the unmodified ibapi client over a socket
in both protocol eras: orders without an exchange, orders beyond buying power, forex, futures
and indices, and historical bars that follow the instrument's sessions."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from ibapi.contract import Contract
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
    assert message.startswith("Order rejected - reason:Your order is not accepted. In order to "
                              "obtain the desired position your Equity with Loan Value [")
    assert "must exceed the Initial Margin [" in message
    app.placeOrder(oid + 1, contract("AAPL"), order("BUY", "10"))  # within buying power
    app.wait(lambda: app.of("execDetails"), what="the fill of an order that fits")
    assert not app.of("execDetails", lambda a: a[2].orderId == oid)
