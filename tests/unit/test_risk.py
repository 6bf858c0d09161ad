"""The pure risk-limit evaluation: merging server and token limits, each check, pricing, the
sliding per-minute window, and how a breach reaches the wire."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from hypothesis import given
from hypothesis import strategies as st
from ibkr_broker.client.errors import (
    OrderRejectedError,
    RiskLimitError,
    TradingHaltedError,
    error_class,
)
from ibkr_broker.server.api.errors import to_status
from ibkr_broker.server.domain.errors import RiskLimitBreached, TradingHalted
from ibkr_broker.server.domain.model import (
    ComboLeg,
    Contract,
    OrderAction,
    OrderSpec,
    OrderType,
    Quote,
    SecurityType,
)
from ibkr_broker.server.trading import limits as risk
from ibkr_broker.server.trading.killswitch import KillSwitchState
from ibkr_broker.server.trading.limits import RiskLimits
from ibkr_broker.server.trading.order_terms import reduces_only
from ibkr_broker.server.trading.risk_gate import exposure, raises_price

pytestmark = pytest.mark.timeout(60)


class Token:
    def __init__(self, name: str, risk: RiskLimits | None = None) -> None:
        self.name = name
        self.risk = risk


def limits(**values: object) -> risk.EffectiveLimits:
    return risk.effective(RiskLimits(**values), None)  # type: ignore[arg-type]


def breach_of(call: object) -> RiskLimitBreached:
    assert callable(call)
    with pytest.raises(RiskLimitBreached) as caught:
        call()
    return caught.value


# --- which limits apply ----------------------------------------------------------------------


def test_token_overrides_the_server_field_by_field() -> None:
    server = RiskLimits(Decimal(100), max_open_orders=5, allowed_symbols=frozenset({"AAPL"}))
    token = Token("algo", RiskLimits(Decimal(10), max_orders_per_minute=3))
    got = risk.effective(server, token)
    assert got.max_order_quantity == Decimal(10)  # the token's
    assert got.max_open_orders == 5  # inherited
    assert got.max_orders_per_minute == 3
    assert got.allowed_symbols == frozenset({"AAPL"})
    assert got.scope("max_order_quantity") == "token algo"
    assert got.scope("max_open_orders") == "server"
    # No token, or a token without a risk table: the server's limits.
    assert risk.effective(server, None) == risk.effective(server, Token("x"))
    assert risk.effective(server, None).scope("max_order_quantity") == "server"


def test_empty_means_no_limit_and_bad_decimals_are_refused() -> None:
    nothing = limits()
    assert nothing.max_order_quantity is None and nothing.max_order_notional is None
    risk.check_quantity(nothing, Decimal("1e9"))
    risk.check_notional(nothing, None)  # no notional limit: an unpriced order is fine
    risk.check_open_orders(nothing, 10_000, 3)
    for bad in ("abc", "0", "-5", "NaN", "Infinity"):
        with pytest.raises(ValueError):
            risk.parse_decimal(bad)
    assert risk.parse_decimal(" 12.5 ") == Decimal("12.5")


# --- each check ------------------------------------------------------------------------------


@given(
    cap=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2),
    qty=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2),
)
def test_quantity_breaches_exactly_above_the_cap(cap: Decimal, qty: Decimal) -> None:
    lim = limits(max_order_quantity=cap)
    if qty <= cap:
        risk.check_quantity(lim, qty)
    else:
        err = breach_of(lambda: risk.check_quantity(lim, qty))
        assert err.reason == "RISK_MAX_ORDER_QUANTITY"
        assert Decimal(err.metadata["limit"]) == cap
        assert Decimal(err.metadata["attempted"]) == qty


def test_notional_breach_and_an_unpriced_order_is_refused() -> None:
    lim = limits(max_order_notional=Decimal(1000))
    risk.check_notional(lim, Decimal(1000))
    err = breach_of(lambda: risk.check_notional(lim, Decimal("1000.01")))
    assert err.reason == "RISK_MAX_ORDER_NOTIONAL"
    assert err.metadata == {
        "setting": "risk.max_order_notional",
        "limit": "1000",
        "attempted": "1000.01",
        "scope": "server",
    }
    err = breach_of(lambda: risk.check_notional(lim, None, "no quote"))
    assert err.metadata["attempted"] == "unknown" and "no quote" in err.message


@given(
    current=st.integers(-500, 500),
    working=st.lists(st.integers(-300, 300), max_size=5),
    change=st.integers(-300, 300).filter(bool),
    cap=st.integers(1, 800),
)
def test_position_counts_working_orders_on_the_same_side(
    current: int, working: list[int], change: int, cap: int
) -> None:
    same_side = sum(w for w in working if w and (w > 0) == (change > 0))
    after = current + same_side + change
    assert risk.projected_position(
        Decimal(current), [Decimal(w) for w in working], Decimal(change)
    ) == Decimal(after)
    lim = limits(max_position=Decimal(cap))

    def check() -> None:
        risk.check_position(
            lim, "AAPL", Decimal(current), [Decimal(w) for w in working], Decimal(change)
        )

    if abs(after) <= cap:
        check()
    else:
        err = breach_of(check)
        assert err.reason == "RISK_MAX_POSITION" and err.metadata["attempted"] == str(abs(after))


def test_open_orders_count_every_new_order() -> None:
    lim = limits(max_open_orders=3)
    risk.check_open_orders(lim, 2, 1)
    err = breach_of(lambda: risk.check_open_orders(lim, 1, 3))  # a bracket: 3 orders
    assert err.reason == "RISK_MAX_OPEN_ORDERS" and err.metadata["attempted"] == "4"


def test_allowed_security_types_and_symbols() -> None:
    lim = limits(
        allowed_security_types=frozenset({"STK", "OPT"}),
        allowed_symbols=frozenset({"AAPL", "MSFT"}),
    )
    risk.check_instrument(lim, ["STK"], ["AAPL"])
    err = breach_of(lambda: risk.check_instrument(lim, ["FUT"], ["AAPL"]))
    assert err.reason == "RISK_ALLOWED_SECURITY_TYPES"
    assert err.metadata["limit"] == "OPT,STK" and err.metadata["attempted"] == "FUT"
    err = breach_of(lambda: risk.check_instrument(lim, ["STK"], ["TSLA"]))
    assert err.reason == "RISK_ALLOWED_SYMBOLS" and err.metadata["attempted"] == "TSLA"


def test_the_per_minute_window_slides_and_is_kept_per_token() -> None:
    now = [1000.0]
    window = risk.RateWindow(lambda: now[0])
    server = limits(max_orders_per_minute=2)
    token = risk.effective(RiskLimits(), Token("algo", RiskLimits(max_orders_per_minute=1)))
    for _ in range(2):
        risk.check_rate(server, window)
        window.record(risk.rate_keys(None))
    err = breach_of(lambda: risk.check_rate(server, window))
    assert err.reason == "RISK_MAX_ORDERS_PER_MINUTE" and err.metadata["attempted"] == "3"
    risk.check_rate(token, window)  # the token's own window is still empty
    window.record(risk.rate_keys(Token("algo")))
    assert breach_of(lambda: risk.check_rate(token, window)).metadata["scope"] == "token algo"
    now[0] += 59.9
    breach_of(lambda: risk.check_rate(server, window))
    now[0] += 0.1  # 60 s after the first placements
    risk.check_rate(server, window)
    risk.check_rate(token, window)


# --- pricing ---------------------------------------------------------------------------------


QUOTE = Quote(con_id=1, symbol="AAPL", bid=Decimal("99"), ask=Decimal("101"), last=Decimal(100))


@pytest.mark.parametrize(
    ("spec", "quote", "price"),
    [
        (OrderSpec(OrderAction.BUY, Decimal(1), OrderType.MARKET), QUOTE, Decimal(101)),
        (OrderSpec(OrderAction.SELL, Decimal(1), OrderType.MARKET), QUOTE, Decimal(99)),
        (
            OrderSpec(OrderAction.SELL, Decimal(1), OrderType.LIMIT, limit_price=Decimal(120)),
            None,
            Decimal(120),
        ),
        (
            OrderSpec(OrderAction.BUY, Decimal(1), OrderType.STOP, stop_price=Decimal(130)),
            QUOTE,
            Decimal(130),
        ),
        (
            OrderSpec(OrderAction.BUY, Decimal(1), OrderType.MARKET),
            Quote(con_id=1, symbol="AAPL", last=Decimal(97)),
            Decimal(97),
        ),
        (
            OrderSpec(OrderAction.SELL, Decimal(1), OrderType.MARKET),
            Quote(con_id=1, symbol="AAPL", close=Decimal(95)),
            Decimal(95),
        ),
        (
            OrderSpec(OrderAction.BUY, Decimal(1), OrderType.MARKET),
            Quote(con_id=1, symbol="X"),
            None,
        ),
        (OrderSpec(OrderAction.BUY, Decimal(1), OrderType.MARKET), None, None),
    ],
)
def test_order_price(spec: OrderSpec, quote: Quote | None, price: Decimal | None) -> None:
    assert risk.order_price(spec, quote) == price
    assert risk.needs_quote(spec) == (spec.limit_price is None)


def test_multiplier_and_notional() -> None:
    option = Contract(con_id=5, security_type=SecurityType.OPTION, symbol="AAPL", multiplier="100")
    assert risk.multiplier(option) == 100
    assert risk.multiplier(Contract(symbol="AAPL")) == 1
    assert risk.multiplier(Contract(symbol="X", multiplier="junk")) == 1
    assert risk.notional(Decimal(3), Decimal("2.5"), Decimal(100)) == Decimal(750)
    assert risk.notional(Decimal(3), Decimal("-1.5"), Decimal(100)) == Decimal(450)  # credit


def test_combo_exposure_is_per_leg_and_signed() -> None:
    combo = Contract(
        security_type=SecurityType.COMBO,
        symbol="AAPL",
        combo_legs=(
            ComboLeg(1, OrderAction.BUY, con_id=11),
            ComboLeg(2, OrderAction.SELL, con_id=12),
        ),
    )
    assert exposure(combo, OrderAction.BUY, Decimal(3)) == [(11, Decimal(3)), (12, Decimal(-6))]
    assert exposure(combo, OrderAction.SELL, Decimal(3)) == [(11, Decimal(-3)), (12, Decimal(6))]
    assert exposure(Contract(con_id=7), OrderAction.SELL, Decimal(4)) == [(7, Decimal(-4))]


def test_which_modifications_count_as_more_risk() -> None:
    spec = OrderSpec(OrderAction.BUY, Decimal(10), OrderType.LIMIT, limit_price=Decimal(100))
    lower = OrderSpec(OrderAction.BUY, Decimal(5), OrderType.LIMIT, limit_price=Decimal(100))
    pricier = OrderSpec(OrderAction.BUY, Decimal(10), OrderType.LIMIT, limit_price=Decimal(101))
    assert reduces_only(spec, lower) and not reduces_only(lower, spec)
    assert not reduces_only(spec, pricier) and reduces_only(spec, spec)
    assert raises_price(spec, pricier) and not raises_price(pricier, spec)
    assert not raises_price(spec, lower)


# --- the wire and the client -----------------------------------------------------------------


def test_a_breach_is_failed_precondition_with_reason_and_metadata() -> None:
    err = breach_of(lambda: risk.check_quantity(limits(max_order_quantity=Decimal(5)), Decimal(6)))
    status = to_status(err)
    assert status.code == grpc.StatusCode.FAILED_PRECONDITION
    info = error_details_pb2.ErrorInfo()
    decoded = status_pb2.Status.FromString(
        dict(status.trailing_metadata)["grpc-status-details-bin"]
    )
    decoded.details[0].Unpack(info)
    assert info.reason == "RISK_MAX_ORDER_QUANTITY"
    assert info.metadata["limit"] == "5" and info.metadata["attempted"] == "6"
    halted = to_status(TradingHalted("trading halted"))
    assert halted.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error_class(grpc.StatusCode.FAILED_PRECONDITION, "RISK_MAX_POSITION") is RiskLimitError
    assert error_class(grpc.StatusCode.FAILED_PRECONDITION, "TRADING_HALTED") is (
        TradingHaltedError
    )
    assert issubclass(RiskLimitError, OrderRejectedError)


@given(
    engaged=st.booleans(),
    reason=st.text(max_size=40),
    by=st.text(max_size=20),
    when=st.none() | st.datetimes(timezones=st.just(UTC)),
    pending=st.booleans(),
)
def test_kill_switch_state_round_trips_through_json(
    engaged: bool, reason: str, by: str, when: datetime | None, pending: bool
) -> None:
    state = KillSwitchState(engaged, reason, by, when, pending)
    assert KillSwitchState.from_json(state.to_json()) == state
