"""The [risk] section and a token's risk table: parsed, validated, errors that name the key."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from ibkr_broker.server.config import ConfigError, build
from ibkr_broker.server.trading.limits import RiskLimits

pytestmark = pytest.mark.timeout(30)

DIGEST = "a" * 64


def test_risk_section_reaches_the_session() -> None:
    config = build(
        {
            "risk": {
                "max_order_quantity": "100",
                "max_order_notional": "25000.50",
                "max_position": "500",
                "max_open_orders": 10,
                "max_orders_per_minute": 30,
                "allowed_security_types": ["STK", "OPT", "BAG"],
                "allowed_symbols": ["AAPL", "BRK B"],
            }
        },
        env={"IBKR_BROKER_RISK_ALLOWED_SYMBOLS": "AAPL,MSFT"},
    )
    risk = config.risk  # parsed once, here; the app hands it to the Trader
    assert risk.max_order_notional == Decimal("25000.50") and risk.max_open_orders == 10
    assert risk.allowed_symbols == frozenset({"AAPL", "MSFT"})  # the environment wins
    assert build({}, env={}).risk == RiskLimits()


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"max_order_quantity": "ten"}, "risk.max_order_quantity"),
        ({"max_order_notional": "0"}, "risk.max_order_notional"),
        ({"max_position": "-1"}, "risk.max_position"),
        ({"max_position": "NaN"}, "risk.max_position"),
        ({"max_order_quantity": 100}, "risk.max_order_quantity"),  # a string is required
        ({"max_open_orders": -1}, "risk.max_open_orders"),
        ({"max_orders_per_minute": -3}, "risk.max_orders_per_minute"),
        ({"allowed_security_types": ["STOCK"]}, "risk.allowed_security_types"),
        ({"allowed_symbols": ["aapl"]}, "risk.allowed_symbols"),
        ({"allowed_symbols": [""]}, "risk.allowed_symbols"),
        ({"max_loss": "5"}, "risk.max_loss"),
    ],
)
def test_bad_risk_settings_are_named(values: dict[str, object], names: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(names)):
        build({"risk": values}, env={})


def test_a_token_risk_table_is_validated_too() -> None:
    token = {"name": "algo", "role": "trade", "sha256": DIGEST}
    ok = build({"security": {"tokens": [{**token, "risk": {"max_order_quantity": "5"}}]}}, env={})
    risk = ok.security.tokens[0].risk
    assert risk is not None and risk.max_order_quantity == Decimal(5)
    bad = {**token, "risk": {"max_orders_per_minute": -1}}
    with pytest.raises(
        ConfigError, match=re.escape("security.tokens[0].risk.max_orders_per_minute")
    ):
        build({"security": {"tokens": [bad]}}, env={})
