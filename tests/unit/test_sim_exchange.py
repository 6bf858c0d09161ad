"""The simulated exchange: order types, validation codes, brackets, OCA, combos, what-if,
and the ledger arithmetic. Quotes are set by hand through a fake market."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibkr_broker.simulator.events import AccountChanged, Event, Executed, OrderChanged, OrderError
from ibkr_broker.simulator.exchange import Exchange
from ibkr_broker.simulator.ledger import Ledger, commission_for
from ibkr_broker.simulator.market import Quote
from ibkr_broker.simulator.model import ComboLegSpec, ContractSpec, OrderRequest
from ibkr_broker.simulator.universe import Universe

AAPL = ContractSpec(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD")
UNIVERSE = Universe(dt.date(2026, 11, 24))


class FakeMarket:
    def __init__(self) -> None:
        self.quotes: dict[int, Quote] = {}
        self.set(265598, "100.00", "100.02")

    def set(self, con_id: int, bid: str, ask: str, last: str | None = None) -> None:
        b, a = D(bid), D(ask)
        self.quotes[con_id] = Quote(con_id, 1, b, a, D(last) if last else b, D(500), D(500),
                                    D(10), D(1000), a, b, b, b, 0)

    def quote(self, con_id: int) -> Quote:
        return self.quotes[con_id]

    def mark(self, con_id: int) -> D:
        return self.quotes[con_id].mid


class Rig:
    def __init__(self, partial: bool = False) -> None:
        self.market = FakeMarket()
        self.ex = Exchange(UNIVERSE, self.market, "DU7654321", partial_fills=partial,  # type: ignore[arg-type]
                           clock=lambda: 1_800_000_000)
        self.events: list[Event] = []
        self.ex.subscribe(self.events.append)

    def place(self, oid: int, client: int = 1, contract: ContractSpec = AAPL, **kw: object) -> None:
        fields: dict[str, object] = {"action": "BUY", "total_quantity": D(100),
                                     "order_type": "MKT"}
        fields.update(kw)
        self.ex.place(client, OrderRequest(order_id=oid, contract=contract, **fields))  # type: ignore[arg-type]

    def errors(self) -> list[tuple[int, int]]:
        return [(e.order_id, e.code) for e in self.events if isinstance(e, OrderError)]

    def status(self, oid: int, client: int = 1) -> str:
        snap = self.ex.order(client, oid)
        assert snap is not None
        return snap.status

    def step(self, con_id: int, bid: str, ask: str, last: str | None = None) -> None:
        self.market.set(con_id, bid, ask, last)
        self.ex.on_market_step()


def test_market_buy_fills_at_ask_with_commission_and_events_in_order() -> None:
    r = Rig()
    r.place(1)
    kinds = [type(e).__name__ for e in r.events]
    assert kinds == ["OrderChanged", "Executed", "AccountChanged"]
    ex = r.events[1]
    assert isinstance(ex, Executed)
    [fill] = ex.fills
    assert (fill.side, fill.shares, fill.price, fill.commission) == ("BOT", 100, D("100.02"),
                                                                     D("1.00"))
    assert fill.time_utc == "20270115 08:00:00 UTC"
    assert ex.snapshot.status == "Filled" and ex.snapshot.perm_id > 0
    pos = r.ex.ledger.positions[265598]
    assert pos.quantity == 100 and pos.avg_cost == D("100.03")
    assert r.ex.ledger.cash == D(1_000_000) - D("10002") - D(1)


def test_resting_limit_fills_when_the_walk_crosses_it() -> None:
    r = Rig()
    r.place(1, order_type="LMT", action="SELL", lmt_price=D("100.50"))
    assert r.status(1) == "Submitted"
    r.step(265598, "100.40", "100.42")
    assert r.status(1) == "Submitted"
    r.step(265598, "100.60", "100.62")
    assert r.status(1) == "Filled"
    fills = r.ex.executions()
    assert fills[-1].price == D("100.50") and fills[-1].side == "SLD"


def test_marketable_limit_fills_at_the_quote() -> None:
    r = Rig()
    r.place(1, order_type="LMT", lmt_price=D("101.00"))
    assert r.ex.executions()[0].price == D("100.02")


def test_stop_and_stop_limit_trigger() -> None:
    r = Rig()
    r.place(1, order_type="STP", action="SELL", aux_price=D("99.00"))
    r.place(2, order_type="STP LMT", action="BUY", aux_price=D("101.00"), lmt_price=D("101.05"))
    r.step(265598, "99.50", "99.52")
    assert (r.status(1), r.status(2)) == ("Submitted", "Submitted")
    r.step(265598, "98.90", "98.92", "98.95")
    assert r.status(1) == "Filled"
    r.step(265598, "101.00", "101.10", "101.02")  # triggered, but ask above the limit
    assert r.status(2) == "Submitted"
    r.step(265598, "101.00", "101.04", "101.02")
    assert r.status(2) == "Filled"


def test_trailing_stop_amount_and_percent() -> None:
    r = Rig()
    r.place(1, order_type="TRAIL", action="SELL", aux_price=D("1.00"))
    r.place(2, order_type="TRAIL", action="SELL", trailing_percent=D("2"))
    for px in ("101.00", "103.00", "102.50"):
        r.step(265598, px, str(D(px) + D("0.02")), px)
    assert (r.status(1), r.status(2)) == ("Submitted", "Submitted")
    r.step(265598, "101.90", "101.92", "101.90")  # 103 - 1.00 = 102.00 hit
    assert (r.status(1), r.status(2)) == ("Filled", "Submitted")
    r.step(265598, "100.90", "100.92", "100.90")  # 103 * 0.98 = 100.94 hit
    assert r.status(2) == "Filled"


def test_ioc_cancels_the_rest_and_partial_fills() -> None:
    r = Rig()
    r.place(1, order_type="LMT", lmt_price=D("99.00"), tif="IOC")
    assert r.status(1) == "Cancelled" and not r.ex.executions()
    p = Rig(partial=True)
    p.place(1, total_quantity=D(100))
    snap = p.ex.order(1, 1)
    assert snap is not None and (snap.filled, snap.status) == (50, "Submitted")
    p.ex.on_market_step()
    snap = p.ex.order(1, 1)
    assert snap is not None and (snap.filled, snap.status) == (100, "Filled")
    assert sum(f.commission for f in p.ex.executions()) == D("1.00")  # min per order, not fill


def test_modify_cancel_and_global_cancel() -> None:
    r = Rig()
    r.place(1, order_type="LMT", lmt_price=D("90.00"))
    r.place(1, order_type="LMT", lmt_price=D("95.00"), total_quantity=D(50))
    snap = r.ex.order(1, 1)
    assert snap is not None and snap.request.lmt_price == D("95.00") and snap.remaining == 50
    r.ex.cancel(1, 1)
    assert r.status(1) == "Cancelled"
    assert (1, 202) in r.errors()
    r.ex.cancel(1, 1)
    assert (1, 10148) in r.errors()
    r.ex.cancel(1, 99)
    assert (99, 10147) in r.errors()
    r.place(2, order_type="LMT", lmt_price=D("90.00"))
    r.place(2, client=2, order_type="LMT", lmt_price=D("90.00"))
    r.ex.global_cancel()
    assert r.status(2) == r.status(2, client=2) == "Cancelled"
    assert r.ex.open_orders() == []


@pytest.mark.parametrize(("kw", "code"), [
    ({"total_quantity": D(0)}, 434),
    ({"total_quantity": D(-5)}, 434),
    ({"order_type": "LMT"}, 201),
    ({"order_type": "STP"}, 201),
    ({"order_type": "LMT", "lmt_price": D("100.005")}, 110),
    ({"order_type": "MOC"}, 387),
    ({"contract": ContractSpec(symbol="NOPE", sec_type="STK", exchange="SMART")}, 200),
    ({"contract": ContractSpec(symbol="AAPL", sec_type="BAG", exchange="SMART")}, 321),
    ({"contract": ContractSpec(symbol="AAPL", sec_type="STK")}, 321),  # no exchange
    ({"contract": ContractSpec(symbol="NOPE", sec_type="STK")}, 321),  # checked before lookup
    ({"contract": ContractSpec(con_id=265598)}, 321),
])
def test_validation_codes(kw: dict, code: int) -> None:
    r = Rig()
    r.place(1, **kw)
    assert r.errors() == [(1, code)]
    assert r.ex.executions() == []


def test_missing_exchange_is_321_before_any_lookup_also_for_what_if() -> None:
    r = Rig()
    r.place(1, contract=ContractSpec(symbol="NOPE"), what_if=True)
    (error,) = [e for e in r.events if isinstance(e, OrderError)]
    assert error.code == 321
    assert error.message == "Error validating request.-'bN' : cause - Missing order exchange"
    assert r.ex.orders() == [] and r.ex.executions() == []


def test_order_beyond_buying_power_is_rejected_with_201_and_the_amounts() -> None:
    r = Rig()  # $1,000,000 of cash; stocks need 50% initial margin; AAPL at 100.02
    r.place(1, total_quantity=D(5_000))  # $500k: fits
    assert r.errors() == [] and r.status(1) == "Filled"
    r.place(2, total_quantity=D(1_000_000_000))  # $100bn: IB refuses it
    (error,) = [e for e in r.events if isinstance(e, OrderError)]
    assert (error.order_id, error.code) == (2, 201)
    assert error.message.startswith("Order rejected - reason:Your order is not accepted. In "
                                    "order to obtain the desired position your Equity with Loan "
                                    "Value [")
    assert "USD] must exceed the Initial Margin [" in error.message
    assert r.ex.order(1, 2) is None and len(r.ex.executions()) == 1
    assert r.ex.ledger.cash > 0 and r.ex.ledger.positions[265598].quantity == 5_000
    r.place(3, action="SELL", total_quantity=D(5_000))  # closing lowers the margin: accepted
    assert r.status(3) == "Filled" and r.ex.ledger.positions[265598].quantity == 0


def test_limit_order_beyond_buying_power_is_rejected_before_it_rests() -> None:
    r = Rig()
    r.place(1, total_quantity=D(50_000), order_type="LMT", lmt_price=D("90.00"))  # $4.5M
    assert r.errors() == [(1, 201)] and r.ex.open_orders() == []
    r.place(2, total_quantity=D(100), what_if=True)  # a what-if is a preview: never refused
    assert r.errors() == [(1, 201)]


def test_duplicate_id_per_client_and_reject_next() -> None:
    r = Rig()
    r.place(1)
    r.place(1)  # filled: no longer open -> 103
    assert r.errors() == [(1, 103)]
    r.place(1, client=2)  # another client may use the same id
    assert r.status(1, client=2) == "Filled"
    assert r.ex.next_order_id(1) == 2
    r.ex.reject_next_order()
    r.place(5)
    assert r.errors()[-1] == (5, 201)
    r.place(6)
    assert r.status(6) == "Filled"


def test_bracket_children_held_until_parent_transmitted_and_filled() -> None:
    r = Rig()
    r.place(10, order_type="LMT", lmt_price=D("99.00"), transmit=False)
    r.place(11, action="SELL", order_type="LMT", lmt_price=D("102.00"), parent_id=10,
            transmit=False)
    r.place(12, action="SELL", order_type="STP", aux_price=D("97.00"), parent_id=10)
    assert [r.status(i) for i in (10, 11, 12)] == ["Submitted", "PreSubmitted", "PreSubmitted"]
    r.step(265598, "98.50", "98.60")  # parent fills at 99.00, children go live
    assert [r.status(i) for i in (10, 11, 12)] == ["Filled", "Submitted", "Submitted"]
    r.step(265598, "102.10", "102.12")  # take profit fills, stop is cancelled (OCA)
    assert [r.status(i) for i in (10, 11, 12)] == ["Filled", "Filled", "Cancelled"]
    assert r.ex.ledger.positions[265598].quantity == 0


def test_untransmitted_orders_are_silent_and_cancel_parent_cancels_children() -> None:
    r = Rig()
    r.place(1, order_type="LMT", lmt_price=D("90.00"), transmit=False)
    assert r.events == []
    r.place(2, action="SELL", order_type="LMT", lmt_price=D("110.00"), parent_id=1)
    r.ex.cancel(1, 1)
    assert (r.status(1), r.status(2)) == ("Cancelled", "Cancelled")


def test_oca_group() -> None:
    r = Rig()
    r.place(1, order_type="LMT", lmt_price=D("99.00"), oca_group="g")
    r.place(2, order_type="LMT", lmt_price=D("98.00"), oca_group="g")
    r.step(265598, "98.90", "98.95")
    assert (r.status(1), r.status(2)) == ("Filled", "Cancelled")


def test_combo_fills_legs_and_the_combo_at_the_net_price() -> None:
    r = Rig()
    chain = UNIVERSE.options_of(265598)
    long_call, short_call = chain[20], chain[22]
    r.market.set(long_call.con_id, "2.50", "2.55")
    r.market.set(short_call.con_id, "1.00", "1.04")
    bag = ContractSpec(symbol="AAPL", sec_type="BAG", exchange="SMART", currency="USD",
                       combo_legs=(ComboLegSpec(long_call.con_id, 1, "BUY"),
                                   ComboLegSpec(short_call.con_id, 1, "SELL")))
    r.place(1, contract=bag, total_quantity=D(2), order_type="LMT", lmt_price=D("1.50"))
    assert r.status(1) == "Submitted"  # net ask 2.55 - 1.00 = 1.55 > 1.50
    r.market.set(long_call.con_id, "2.48", "2.50")
    r.ex.on_market_step()
    assert r.status(1) == "Filled"
    leg1, leg2, combo = r.ex.executions()
    assert (leg1.side, leg1.price, leg1.shares, leg1.commission) == ("BOT", D("2.50"), 2,
                                                                     D("1.30"))
    assert (leg2.side, leg2.price) == ("SLD", D("1.00"))
    assert (combo.contract.sec_type, combo.price, combo.shares) == ("BAG", D("1.50"), 2)
    assert r.ex.ledger.positions[long_call.con_id].quantity == 2
    assert r.ex.ledger.positions[short_call.con_id].quantity == -2
    too_many = ContractSpec(symbol="AAPL", sec_type="BAG", combo_legs=tuple(
        ComboLegSpec(o.con_id, 1, "BUY") for o in chain[:5]))
    r.place(2, contract=too_many)
    assert r.errors()[-1] == (2, 321)


def test_what_if_places_nothing() -> None:
    r = Rig()
    r.place(1, what_if=True)
    [ev] = r.events
    assert isinstance(ev, OrderChanged) and ev.snapshot.what_if is not None
    w = ev.snapshot.what_if
    assert w.init_margin_change == D("5000.50")  # 50% of 100 x 100.01 (mid)
    assert w.commission == D("1.00")
    assert r.ex.orders() == [] and r.ex.executions() == []
    r.place(1)  # the id of a what-if is not used up
    assert r.status(1) == "Filled"


def test_account_changed_after_each_fill() -> None:
    r = Rig()
    r.place(1)
    assert any(isinstance(e, AccountChanged) and e.con_ids == (265598,) for e in r.events)


# -- ledger -----------------------------------------------------------------------------------


def test_ledger_round_trip_realizes_pnl_net_of_commissions() -> None:
    inst = UNIVERSE.get(265598)
    assert inst is not None
    led = Ledger("DU1")
    assert led.apply_fill(inst, D(100), D("100.00"), D(1)) is None
    realized = led.apply_fill(inst, D(-100), D("101.00"), D(1))
    assert realized == D("98.00")  # 100 x 1.00 - 1 (open) - 1 (close)
    assert led.cash == D(1_000_000) + D(98)
    assert led.positions[265598].quantity == 0


def test_ledger_short_then_flip() -> None:
    inst = UNIVERSE.get(265598)
    assert inst is not None
    led = Ledger("DU1")
    led.apply_fill(inst, D(-10), D("50"), D(1))
    assert led.positions[265598].avg_cost == D("49.9")
    realized = led.apply_fill(inst, D(20), D("40"), D(2))
    assert realized == D("98")  # (49.9 - 40) x 10 - 1
    pos = led.positions[265598]
    assert pos.quantity == 10 and pos.avg_cost == D("40.1")


def test_commission_schedule() -> None:
    stock = UNIVERSE.get(265598)
    opt = UNIVERSE.options_of(265598)[0]
    assert stock is not None
    assert commission_for(stock, D(100), D(100)) == D("1.00")
    assert commission_for(stock, D(1000), D(100)) == D("5.000")
    assert commission_for(stock, D(10), D("1.00")) == D("0.1000")  # capped at 1% of value
    assert commission_for(opt, D(1), D(2)) == D("1.00")
    assert commission_for(opt, D(10), D(2)) == D("6.50")


@settings(max_examples=100, deadline=None)
@given(trades=st.lists(st.tuples(st.integers(-300, 300).filter(bool),
                                 st.integers(5000, 15000)), min_size=1, max_size=12))
def test_ledger_conserves_value(trades: list[tuple[int, int]]) -> None:
    """net liquidation = start + realized + unrealized (exact up to the rounding of average
    costs that are not terminating decimals, i.e. within 1e-18)."""
    inst = UNIVERSE.get(265598)
    assert inst is not None
    led = Ledger("DU1")
    for qty, cents in trades:
        price = D(cents) / 100
        fee = commission_for(inst, D(qty), price)
        led.apply_fill(inst, D(qty), price, fee)
    pos = led.positions[265598]
    px = D(trades[-1][1]) / 100
    # Marking at any price: net liquidation = start + realized + unrealized
    values = led.values(lambda _c: px)
    unrealized = pos.quantity * px - pos.quantity * pos.avg_cost
    diff = values["NetLiquidation"] - (D(1_000_000) + led.realized_pnl + unrealized)
    assert abs(diff) < D("1e-18")
    assert led.cash == D(1_000_000) - sum(
        D(q) * D(c) / 100 + commission_for(inst, D(q), D(c) / 100) for q, c in trades)
