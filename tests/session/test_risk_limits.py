"""Pre-trade risk limits in Trader against the FakeGateway: a breach sends nothing to TWS,
allocates no IB order id and consumes no request_id."""

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
    ComboLeg,
    Contract,
    OptionRight,
    OrderAction,
    OrderSpec,
    OrderType,
    SecurityType,
)
from ibkr_broker.server.session.broker_session import BrokerSession
from ibkr_broker.server.session.store import Store
from ibkr_broker.server.trading.limits import RateWindow, RiskLimits
from ibkr_broker.server.trading.order_terms import Modification
from ibkr_broker.server.trading.trader import Trader

from .fake_gateway import AAPL, FAST, FakeGateway

pytestmark = pytest.mark.timeout(30)

STOCK = Contract(security_type=SecurityType.STOCK, symbol="AAPL")


def option(con_id: int, strike: str) -> Contract:
    return Contract(
        con_id=con_id,
        security_type=SecurityType.OPTION,
        symbol="SPY",
        exchange="SMART",
        currency="USD",
        multiplier="100",
        last_trade_date="20300118",
        strike=Decimal(strike),
        right=OptionRight.CALL,
    )


CALL_200, CALL_210 = option(9001, "600"), option(9002, "610")  # SPY calls


def mkt(action: OrderAction, qty: int | str) -> OrderSpec:
    return OrderSpec(action, Decimal(qty), OrderType.MARKET)


def lmt(action: OrderAction, qty: int | str, price: str) -> OrderSpec:
    return OrderSpec(action, Decimal(qty), OrderType.LIMIT, limit_price=Decimal(price))


@dataclasses.dataclass(frozen=True)
class Token:
    """What the auth layer's Principal carries for the risk gate."""

    name: str
    risk: RiskLimits | None = None


class Env:
    def __init__(self, session: BrokerSession, trader: Trader, gw: FakeGateway) -> None:
        self.session, self.trader, self.gw = session, trader, gw

    async def refused(self, reason: str, *args: Any, **kw: Any) -> errors.RiskLimitBreached:
        """place(*args) is refused for `reason` and nothing new reaches TWS."""
        sent, high = self.gw.count("place_order"), self.session.store.ib_order_id_high_water(1)
        with pytest.raises(errors.RiskLimitBreached) as caught:
            await self.trader.place(*args, **kw)
        assert caught.value.reason == reason
        assert self.gw.count("place_order") == sent
        assert self.session.store.ib_order_id_high_water(1) == high  # no IB order id used
        assert self.session.store.find_request(args[0]) is None  # the request_id is free
        return caught.value


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[Any]:
    sessions: list[BrokerSession] = []

    async def start(**risk: Any) -> Env:
        gw = FakeGateway()
        gw.contracts = [*gw.contracts, CALL_200, CALL_210]
        session = BrokerSession(gw, FAST, Store(tmp_path / f"s{len(sessions)}.db"))
        sessions.append(session)
        await session.start()
        await session.wait_ready(2)
        return Env(session, Trader(session, RiskLimits(**risk)), gw)

    yield start
    for session in sessions:
        await session.stop()


async def test_quantity_breach_frees_the_request_id_for_a_retry(make: Any) -> None:
    env = await make(max_order_quantity=Decimal("5"))
    err = await env.refused("RISK_MAX_ORDER_QUANTITY", "q1", STOCK, mkt(OrderAction.BUY, 10))
    assert err.metadata == {
        "setting": "risk.max_order_quantity",
        "limit": "5",
        "attempted": "10",
        "scope": "server",
    }
    # The same request_id re-runs the checks: here a token allowed to trade 10 passes.
    big = Token("big", RiskLimits(max_order_quantity=Decimal(100)))
    placed = await env.trader.place("q1", STOCK, mkt(OrderAction.BUY, 10), caller=big)
    assert placed.order is not None and env.gw.count("place_order") == 1
    # A corrected order under a new request_id goes through too.
    await env.trader.place("q2", STOCK, mkt(OrderAction.BUY, 5))
    assert env.gw.count("place_order") == 2


async def test_notional_of_a_market_order_is_priced_from_the_quote(make: Any) -> None:
    env = await make(max_order_notional=Decimal("1000"))
    err = await env.refused("RISK_MAX_ORDER_NOTIONAL", "n1", STOCK, mkt(OrderAction.BUY, 10))
    assert err.metadata["attempted"] == "1000.30"  # 10 x ask 100.03
    assert [a[2] for a in env.gw.args("req_mkt_data")] == [True]  # a snapshot
    await env.trader.place("n2", STOCK, mkt(OrderAction.SELL, 9))  # 9 x bid 100.01
    quotes = env.gw.count("req_mkt_data")
    await env.trader.place("n3", STOCK, lmt(OrderAction.BUY, 10, "99.5"))  # its limit price: 995
    assert env.gw.count("req_mkt_data") == quotes  # a limit order needs no quote
    await env.refused("RISK_MAX_ORDER_NOTIONAL", "n4", STOCK, lmt(OrderAction.BUY, 10, "100.01"))


async def test_notional_of_options_and_combos_uses_the_multiplier(make: Any) -> None:
    env = await make(max_order_notional=Decimal("400"))
    err = await env.refused("RISK_MAX_ORDER_NOTIONAL", "o1", CALL_200, lmt(OrderAction.BUY, 1, "5"))
    assert err.metadata["attempted"] == "500"
    await env.trader.place("o2", CALL_200, lmt(OrderAction.BUY, 1, "3.99"))
    spread = Contract(
        security_type=SecurityType.COMBO,
        symbol="SPY",
        combo_legs=(
            ComboLeg(1, OrderAction.BUY, con_id=CALL_200.con_id),
            ComboLeg(1, OrderAction.SELL, con_id=CALL_210.con_id),
        ),
    )
    err = await env.refused("RISK_MAX_ORDER_NOTIONAL", "c1", spread, lmt(OrderAction.BUY, 2, "2.5"))
    assert err.metadata["attempted"] == "500.0"
    err = await env.refused("RISK_MAX_ORDER_NOTIONAL", "c2", spread, mkt(OrderAction.BUY, 1))
    assert "limit price" in err.message  # a combo without a price is refused, not guessed
    await env.trader.place("c3", spread, lmt(OrderAction.SELL, 2, "-1"))  # a credit: 200


async def test_position_counts_the_holding_and_working_orders(make: Any) -> None:
    env = await make(max_position=Decimal("15"))  # the FakeGateway holds 10 AAPL
    err = await env.refused("RISK_MAX_POSITION", "p1", STOCK, mkt(OrderAction.BUY, 6))
    assert err.metadata["attempted"] == "16"
    await env.trader.place("p2", STOCK, lmt(OrderAction.BUY, 5, "90"))  # 15, resting
    err = await env.refused("RISK_MAX_POSITION", "p3", STOCK, lmt(OrderAction.BUY, 1, "90"))
    assert err.metadata["attempted"] == "16"  # 10 held + 5 working + 1
    await env.trader.place("p4", STOCK, lmt(OrderAction.SELL, 25, "200"))  # 10 - 25 = -15
    await env.refused("RISK_MAX_POSITION", "p5", STOCK, lmt(OrderAction.SELL, 1, "200"))


async def test_open_orders_count_every_bracket_order(make: Any) -> None:
    env = await make(max_open_orders=2)
    bracket = BracketSpec(take_profit_limit_price=Decimal(120), stop_loss_stop_price=Decimal(80))
    err = await env.refused(
        "RISK_MAX_OPEN_ORDERS", "b1", STOCK, lmt(OrderAction.BUY, 1, "100"), bracket
    )
    assert err.metadata["attempted"] == "3"
    first = await env.trader.place("s1", STOCK, lmt(OrderAction.BUY, 1, "90"))
    await env.trader.place("s2", STOCK, lmt(OrderAction.BUY, 1, "90"))
    await env.refused("RISK_MAX_OPEN_ORDERS", "s3", STOCK, lmt(OrderAction.BUY, 1, "90"))
    assert first.order is not None
    await env.trader.cancel("x1", first.order.order_id)
    await env.trader.place("s3", STOCK, lmt(OrderAction.BUY, 1, "90"))


async def test_orders_per_minute_count_a_bracket_once_and_slide(make: Any) -> None:
    env = await make(max_orders_per_minute=2)
    now = [0.0]
    env.trader.risk.window = RateWindow(lambda: now[0])
    bracket = BracketSpec(take_profit_limit_price=Decimal(120))
    placed = await env.trader.place("m1", STOCK, lmt(OrderAction.BUY, 1, "100"), bracket)
    assert len(placed.bracket_orders) == 1
    await env.trader.place("m2", STOCK, lmt(OrderAction.BUY, 1, "100"))
    err = await env.refused(
        "RISK_MAX_ORDERS_PER_MINUTE", "m3", STOCK, lmt(OrderAction.BUY, 1, "100")
    )
    assert err.metadata["scope"] == "server"
    now[0] += 60
    await env.trader.place("m3", STOCK, lmt(OrderAction.BUY, 1, "100"))


async def test_a_token_limit_is_counted_per_token(make: Any) -> None:
    env = await make()
    algo = Token("algo", RiskLimits(max_orders_per_minute=1, allowed_symbols=frozenset({"AAPL"})))
    await env.trader.place("t1", STOCK, mkt(OrderAction.BUY, 1), caller=algo)
    err = await env.refused(
        "RISK_MAX_ORDERS_PER_MINUTE", "t2", STOCK, mkt(OrderAction.BUY, 1), caller=algo
    )
    assert err.metadata["scope"] == "token algo" and "token algo" in err.message
    other = Contract(security_type=SecurityType.STOCK, symbol="MSFT")
    await env.refused("RISK_ALLOWED_SYMBOLS", "t3", other, mkt(OrderAction.BUY, 1), caller=algo)
    # Other tokens, and calls without a token, are not limited by algo's table.
    await env.trader.place("t4", STOCK, mkt(OrderAction.BUY, 1), caller=Token("other"))
    await env.trader.place("t5", other, mkt(OrderAction.BUY, 1))


async def test_allowed_security_types_and_symbols(make: Any) -> None:
    env = await make(
        allowed_security_types=frozenset({"STK", "OPT"}), allowed_symbols=frozenset({"AAPL", "SPY"})
    )
    await env.trader.place("a1", STOCK, mkt(OrderAction.BUY, 1))
    await env.trader.place("a2", CALL_200, lmt(OrderAction.BUY, 1, "1"))
    msft = Contract(security_type=SecurityType.STOCK, symbol="MSFT")
    err = await env.refused("RISK_ALLOWED_SYMBOLS", "a3", msft, mkt(OrderAction.BUY, 1))
    assert err.metadata["limit"] == "AAPL,SPY" and err.metadata["attempted"] == "MSFT"
    spread = Contract(
        security_type=SecurityType.COMBO,
        symbol="SPY",
        combo_legs=(
            ComboLeg(1, OrderAction.BUY, con_id=CALL_200.con_id),
            ComboLeg(1, OrderAction.SELL, con_id=CALL_210.con_id),
        ),
    )
    err = await env.refused(
        "RISK_ALLOWED_SECURITY_TYPES", "a4", spread, lmt(OrderAction.BUY, 1, "1")
    )
    assert err.metadata["attempted"] == "BAG"


async def test_modify_rechecks_when_quantity_or_price_rises(make: Any) -> None:
    env = await make(
        max_order_quantity=Decimal("10"),
        max_order_notional=Decimal("1000"),
        max_position=Decimal("30"),
    )
    placed = await env.trader.place("m1", STOCK, lmt(OrderAction.BUY, 5, "100"))
    assert placed.order is not None
    order_id = placed.order.order_id
    sent = env.gw.count("place_order")
    with pytest.raises(errors.RiskLimitBreached) as caught:
        await env.trader.modify("m2", order_id, Modification(quantity=Decimal(20)))
    assert caught.value.reason == "RISK_MAX_ORDER_QUANTITY"
    with pytest.raises(errors.RiskLimitBreached) as caught:
        await env.trader.modify("m3", order_id, Modification(limit_price=Decimal(250)))
    assert caught.value.reason == "RISK_MAX_ORDER_NOTIONAL"
    assert env.gw.count("place_order") == sent
    assert env.session.store.find_request("m2") is None
    changed = await env.trader.modify("m4", order_id, Modification(quantity=Decimal(8)))
    assert changed.spec.quantity == 8 and env.gw.count("place_order") == sent + 1
    await env.trader.modify("m5", order_id, Modification(limit_price=Decimal(90)))


async def test_what_if_is_not_limited(make: Any) -> None:
    env = await make(max_order_quantity=Decimal("1"))
    placed = await env.trader.place("w1", STOCK, mkt(OrderAction.BUY, 50), what_if=True)
    assert placed.preview is not None and placed.order is None


async def test_no_limits_cost_nothing(make: Any) -> None:
    env = await make()
    await env.trader.place("f1", STOCK, mkt(OrderAction.BUY, 1_000_000))
    assert env.gw.count("req_positions") == 0 and env.gw.count("req_mkt_data") == 0
    assert AAPL.con_id == env.gw.args("place_order")[0][1].con_id


async def test_a_halt_while_the_checks_await_a_quote_claims_nothing(make: Any) -> None:
    """The kill switch engages while the notional check waits for a quote snapshot: the order
    is refused at its turn to be sent, before its request_id is claimed or an id is used."""
    env = await make(max_order_notional=Decimal("1000000"))
    req_mkt_data = env.gw.req_mkt_data

    def halt_then_answer(req_id: int, contract: Contract, snapshot: bool) -> None:
        state = env.trader.kill_switch.state
        env.trader.kill_switch.state = dataclasses.replace(state, engaged=True, reason="drill")
        req_mkt_data(req_id, contract, snapshot)

    env.gw.req_mkt_data = halt_then_answer  # type: ignore[method-assign]
    high = env.session.store.ib_order_id_high_water(1)
    with pytest.raises(errors.TradingHalted):
        await env.trader.place("h1", STOCK, mkt(OrderAction.BUY, 1))
    assert env.gw.count("req_mkt_data") == 1  # the check did run and wait for its quote
    assert env.gw.count("place_order") == 0
    assert env.session.store.find_request("h1") is None  # a retry after resume re-runs it
    assert env.session.store.ib_order_id_high_water(1) == high
    assert env.session.orders.all() == []
