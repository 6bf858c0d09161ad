"""Pure converters (wire_values, message_dicts): exact decimals, enum names, protos to dicts,
input parsing, JSON."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ibkr_broker.client import combo, contract, message_dicts, option, stock, wire_values
from ibkr_broker.client.orders import bracket, order_spec
from ibkr_broker.v1 import common_pb2, contract_pb2, market_data_pb2, order_pb2

pytestmark = pytest.mark.timeout(30)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_wire_decimal_round_trips_every_finite_decimal(value: Decimal) -> None:
    text = wire_values.wire_decimal(value, "x")
    assert "E" not in text and "e" not in text
    assert Decimal(text) == value
    assert wire_values.dec(text) == value


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_floats_are_taken_at_their_shortest_repr(value: float) -> None:
    assert Decimal(wire_values.wire_decimal(value, "x")) == Decimal(repr(value))


@pytest.mark.parametrize(
    ("given", "wire"),
    [(10, "10"), ("10.50", "10.50"), (0.1, "0.1"), (Decimal("1E+2"), "100"), (-0.0, "0"),
     (" 3 ", "3"), (Decimal("-2.5"), "-2.5")],
)  # fmt: skip
def test_wire_decimal_examples(given: object, wire: str) -> None:
    assert wire_values.wire_decimal(given, "price") == wire


@pytest.mark.parametrize("bad", [True, None, "abc", "", float("nan"), float("inf"), "NaN", [1]])
def test_to_decimal_refuses_non_numbers_naming_the_key(bad: object) -> None:
    with pytest.raises(ValueError, match=r"^limit_price "):
        wire_values.to_decimal(bad, "limit_price")


def test_dec_of_wire_values() -> None:
    assert wire_values.dec("") is None
    assert wire_values.dec("101.25") == Decimal("101.25")
    with pytest.raises(ValueError, match="malformed"):
        wire_values.dec("1,5")


def test_enum_names() -> None:
    assert (
        wire_values.order_status_name(order_pb2.ORDER_STATUS_PARTIALLY_FILLED) == "partially_filled"
    )
    assert wire_values.order_status_name(99) == "unknown_99"
    assert wire_values.order_action_name(common_pb2.ORDER_ACTION_SELL) == "sell"
    assert wire_values.order_type_name(order_pb2.ORDER_TYPE_STOP_LIMIT) == "stop_limit"
    assert wire_values.time_in_force_name(order_pb2.TIME_IN_FORCE_GTC) == "gtc"
    assert wire_values.connection_state_name(common_pb2.CONNECTION_STATE_READY) == "ready"
    assert wire_values.security_type_code(contract_pb2.SECURITY_TYPE_FUTURE_OPTION) == "FOP"
    assert wire_values.security_type_code(0) == ""
    assert wire_values.option_right_code(contract_pb2.OPTION_RIGHT_PUT) == "P"
    assert wire_values.option_right_code(0) is None


def test_input_parsers_accept_the_usual_spellings() -> None:
    assert wire_values.parse_order_type("STP LMT") == order_pb2.ORDER_TYPE_STOP_LIMIT
    assert wire_values.parse_order_type("trailing-stop") == order_pb2.ORDER_TYPE_TRAILING_STOP
    assert wire_values.parse_order_type("MKT") == order_pb2.ORDER_TYPE_MARKET
    assert wire_values.parse_time_in_force("GTC") == order_pb2.TIME_IN_FORCE_GTC
    assert wire_values.parse_option_right("call") == contract_pb2.OPTION_RIGHT_CALL
    assert wire_values.parse_security_type("opt") == contract_pb2.SECURITY_TYPE_OPTION
    assert wire_values.parse_order_action("SELL") == common_pb2.ORDER_ACTION_SELL
    for parse, key in [
        (wire_values.parse_time_in_force, "tif"),
        (wire_values.parse_option_right, "right"),
        (wire_values.parse_security_type, "sec_type"),
        (wire_values.parse_order_action, "side"),
        (wire_values.parse_order_type, "type"),
    ]:
        with pytest.raises(ValueError, match=f"^{key} "):
            parse("bogus")
        with pytest.raises(ValueError, match=f"^{key} "):
            parse(3)


def test_contract_builders() -> None:
    assert stock("aapl") == contract_pb2.Contract(
        security_type=contract_pb2.SECURITY_TYPE_STOCK, symbol="AAPL", exchange="SMART",
        currency="USD",
    )  # fmt: skip
    opt = option("SPY", 20260116, 450.0, "P", multiplier="100")
    assert (opt.last_trade_date, opt.strike, opt.right, opt.multiplier) == (
        "20260116", "450.0", contract_pb2.OPTION_RIGHT_PUT, "100",
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"^last_trade_date "):
        option("SPY", "2026-01-16", 450, "P")
    with pytest.raises(ValueError, match=r"^strike "):
        option("SPY", "20260116", 0, "P")
    with pytest.raises(ValueError, match=r"^symbol "):
        stock("  ")
    partial = contract("AAPL", "OPT", expiry="20260116", right="C", conId=None, exchange="")
    assert (partial.last_trade_date, partial.strike, partial.exchange) == ("20260116", "", "")
    with pytest.raises(ValueError, match="unknown contract field 'colour'"):
        contract("AAPL", colour="red")
    with pytest.raises(ValueError, match=r"^con_id "):
        contract("AAPL", con_id=-4)
    with pytest.raises(ValueError, match=r"^exchange "):
        contract("AAPL", exchange=3)


def test_combo_builder_validates_legs() -> None:
    bag = combo("spy", [(1, 1, "buy", "SMART"), {"con_id": 2, "ratio": 2, "action": "sell"}])
    assert bag.security_type == contract_pb2.SECURITY_TYPE_COMBO
    assert [(leg.con_id, leg.ratio, leg.action) for leg in bag.combo_legs] == [
        (1, 1, common_pb2.ORDER_ACTION_BUY), (2, 2, common_pb2.ORDER_ACTION_SELL),
    ]  # fmt: skip
    by_contract = combo("SPY", [(stock("SPY"), 100, "buy"), (3, 1, "sell", "")])
    assert by_contract.combo_legs[0].contract.symbol == "SPY"
    assert by_contract.combo_legs[1].exchange == "SMART"
    for legs, key in [
        ([(1, 1, "buy", "SMART")], "legs must have at least 2"),
        ([(0, 1, "buy"), (2, 1, "sell")], r"legs\[0\].con_id"),
        ([(1, 0, "buy"), (2, 1, "sell")], r"legs\[0\].ratio"),
        ([(1, 1, "buy"), (2, 1, "hold")], r"legs\[1\].action"),
        ([(1, 1, "buy"), (2, 1, "sell", 5)], r"legs\[1\].exchange"),
        ([(1, 1, "buy"), "x"], r"legs\[1\] must be"),
    ]:
        with pytest.raises(ValueError, match=key):
            combo("SPY", legs)


def test_order_spec_and_bracket_rules() -> None:
    spec = order_spec("buy", 5, "trailing_stop", trailing_percent="1.5", tif="gtc")
    assert (spec.trailing_percent, spec.time_in_force) == ("1.5", order_pb2.TIME_IN_FORCE_GTC)
    with pytest.raises(ValueError, match=r"^trailing_amount or trailing_percent"):
        order_spec("buy", 5, "trailing_stop", trailing_percent=1, trailing_amount=1)
    with pytest.raises(ValueError, match=r"^trailing_amount is only"):
        order_spec("buy", 5, "limit", limit_price=1, trailing_amount=1)
    with pytest.raises(ValueError, match=r"^stop_price is not used"):
        order_spec("buy", 5, "limit", limit_price=1, stop_price=2)
    with pytest.raises(ValueError, match=r"^limit_price must be positive"):
        order_spec("buy", 5, "limit", limit_price=-1)
    assert (
        order_spec("buy", 1, "limit", limit_price=-1, allow_negative_limit=True).limit_price == "-1"
    )
    assert bracket() is None
    exits = bracket(take_profit=110, stop_loss=90, stop_loss_limit=89.5)
    assert exits is not None and exits.stop_loss_limit_price == "89.5"
    with pytest.raises(ValueError, match=r"^stop_loss_limit needs stop_loss"):
        bracket(stop_loss_limit=1)
    with pytest.raises(ValueError, match=r"^outside_rth"):
        order_spec("buy", 1, outside_rth="yes")  # type: ignore[arg-type]


def test_order_to_dict_shape() -> None:
    order = order_pb2.Order(
        order_id="ord-1",
        request_id="r",
        contract=contract_pb2.Contract(symbol="AAPL", security_type=1, con_id=265598),
        spec=order_spec("sell", 10, "stop_limit", limit_price="99", stop_price="100"),
        status=order_pb2.ORDER_STATUS_PARTIALLY_FILLED,
        filled_quantity="4",
        remaining_quantity="6",
        average_fill_price="99.5",
        last_error=common_pb2.IbError(code=399, message="warning"),
        executions=[order_pb2.Execution(execution_id="e1", quantity="4", price="99.5")],
    )
    order.create_time.FromSeconds(0)
    result = message_dicts.order_to_dict(order)
    assert result["status"] == "partially_filled" and not result["is_terminal"]
    assert (result["side"], result["type"], result["tif"]) == ("sell", "stop_limit", "day")
    assert result["filled_quantity"] == Decimal(4) and result["avg_fill_price"] == Decimal("99.5")
    assert result["commission"] == Decimal(0) and result["updated_at"] is None
    assert result["created_at"] == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert (result["error"], result["error_code"]) == ("warning", 399)
    assert result["executions"][0]["price"] == Decimal("99.5")
    assert result["sec_type"] == "STK" and result["contract"]["con_id"] == 265598


def test_position_avg_price_is_per_unit() -> None:
    from ibkr_broker.v1 import account_pb2

    position = account_pb2.Position(
        contract=option("AAPL", "20260116", 190, "C", multiplier="100"),
        quantity="2",
        average_cost="512.30",
    )
    result = message_dicts.position_to_dict(position)
    assert result["avg_cost"] == Decimal("512.30") and result["avg_price"] == Decimal("5.123")
    assert result["market_value"] is None and result["right"] == "C"


def test_quote_to_dict_and_json() -> None:
    quote = market_data_pb2.Quote(symbol="AAPL", bid="1.5", greeks=market_data_pb2.OptionGreeks(
        delta="0.5"))  # fmt: skip
    result = message_dicts.quote_to_dict(quote)
    assert result["bid"] == Decimal("1.5") and result["ask"] is None
    assert result["greeks"]["delta"] == Decimal("0.5")
    assert result["market_data_type"] == "unspecified"
    value = {"q": result, "t": dt.datetime(2024, 1, 2, tzinfo=dt.UTC), "l": (Decimal("1.10"),)}
    text = json.dumps(message_dicts.to_jsonable(value))
    assert json.loads(text)["q"]["bid"] == "1.5"
    assert json.loads(text)["l"] == ["1.10"]
    assert json.loads(text)["t"] == "2024-01-02T00:00:00+00:00"


def test_order_status_parsing() -> None:
    assert (
        wire_values.parse_order_status("Partially_Filled")
        == order_pb2.ORDER_STATUS_PARTIALLY_FILLED
    )
    assert (
        wire_values.parse_order_status(order_pb2.ORDER_STATUS_FILLED)
        == order_pb2.ORDER_STATUS_FILLED
    )
    for bad in ("working", 0, 99, True, None):
        with pytest.raises(ValueError, match=r"^status "):
            wire_values.parse_order_status(bad)
