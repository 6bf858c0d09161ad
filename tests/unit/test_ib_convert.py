"""The bridge's pure converters: domain <-> ibapi objects, IB sentinels, IB time formats."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ibapi.client import EClient
from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER
from ibapi.contract import ComboLeg as IbComboLeg
from ibapi.contract import Contract as IbContract
from ibapi.contract import ContractDetails as IbContractDetails
from ibapi.execution import Execution as IbExecution
from ibapi.order_state import OrderState
from ibkr_broker.server.domain.errors import InvalidArgument
from ibkr_broker.server.domain.model import (
    ComboLeg,
    Contract,
    OptionRight,
    OrderAction,
    OrderSpec,
    OrderType,
    SecurityType,
    TimeInForce,
)
from ibkr_broker.server.ib import ibapi_convert as convert
from ibkr_broker.server.session.ib_port import IbOrderRequest

pytestmark = pytest.mark.timeout(60)

_names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .", min_size=0, max_size=10)
_prices = st.decimals(
    min_value=Decimal("0.0001"), max_value=Decimal("99999999"), places=4, allow_nan=False
)


@st.composite
def contracts(draw: st.DrawFn) -> Contract:
    security_type = draw(st.none() | st.sampled_from(list(SecurityType)))
    legs: tuple[ComboLeg, ...] = ()
    if security_type is SecurityType.COMBO:
        legs = tuple(
            draw(
                st.lists(
                    st.builds(
                        ComboLeg,
                        ratio=st.integers(1, 10),
                        action=st.sampled_from(list(OrderAction)),
                        con_id=st.integers(1, 2**31 - 2),
                        exchange=st.sampled_from(["SMART", "CBOE", "ISE"]),
                    ),
                    min_size=1,
                    max_size=4,
                )
            )
        )
    return Contract(
        con_id=draw(st.integers(0, 2**31 - 2)),
        security_type=security_type,
        symbol=draw(_names),
        exchange=draw(st.sampled_from(["SMART", "NYSE", "CBOE", "NASDAQ", "GLOBEX"])),
        primary_exchange=draw(st.sampled_from(["", "NASDAQ", "NYSE", "ARCA"])),
        currency=draw(st.sampled_from(["USD", "EUR", "JPY"])),
        local_symbol=draw(_names),
        trading_class=draw(_names),
        multiplier=draw(st.sampled_from(["", "100", "50", "0.1"])),
        last_trade_date=draw(st.sampled_from(["", "20261218", "202612"])),
        strike=draw(st.none() | _prices),
        right=draw(st.none() | st.sampled_from(list(OptionRight))),
        combo_legs=legs,
    )


# --- contracts ---------------------------------------------------------------------------------


@given(contracts())
def test_contract_round_trip_through_ibapi(contract: Contract) -> None:
    assert convert.contract_from_ib(convert.contract_to_ib(contract)) == contract


def test_contract_to_ib_defaults() -> None:
    ib = convert.contract_to_ib(Contract(symbol="AAPL", security_type=SecurityType.STOCK))
    assert (ib.symbol, ib.secType, ib.exchange, ib.currency) == ("AAPL", "STK", "SMART", "USD")
    assert ib.strike == UNSET_DOUBLE and ib.right == "" and ib.comboLegs == []


def test_option_contract_to_ib() -> None:
    contract = Contract(
        symbol="AAPL",
        security_type=SecurityType.OPTION,
        last_trade_date="20261218",
        strike=Decimal("150.5"),
        right=OptionRight.PUT,
        multiplier="100",
    )
    ib = convert.contract_to_ib(contract)
    assert isinstance(ib.strike, float) and ib.strike == 150.5
    assert (ib.right, ib.multiplier, ib.lastTradeDateOrContractMonth) == ("P", "100", "20261218")


def test_combo_legs_to_ib() -> None:
    leg_contract = Contract(con_id=111)
    contract = Contract(
        symbol="AAPL",
        security_type=SecurityType.COMBO,
        combo_legs=(
            ComboLeg(ratio=1, action=OrderAction.BUY, con_id=222, exchange=""),
            ComboLeg(ratio=2, action=OrderAction.SELL, contract=leg_contract),
        ),
    )
    legs = convert.contract_to_ib(contract).comboLegs
    assert [(leg.conId, leg.ratio, leg.action, leg.exchange) for leg in legs] == [
        (222, 1, "BUY", "SMART"),
        (111, 2, "SELL", "SMART"),
    ]


def test_combo_leg_without_con_id_is_invalid() -> None:
    contract = Contract(
        symbol="AAPL",
        security_type=SecurityType.COMBO,
        combo_legs=(ComboLeg(ratio=1, action=OrderAction.BUY, contract=Contract(symbol="AAPL")),),
    )
    with pytest.raises(InvalidArgument):
        convert.contract_to_ib(contract)


def test_contract_from_ib_sentinels_and_spellings() -> None:
    ib = IbContract()
    ib.secType, ib.symbol, ib.right = "WAR", "XYZ", "CALL"
    contract = convert.contract_from_ib(ib)
    assert contract.strike is None  # UNSET_DOUBLE
    assert contract.security_type is None  # a type the domain does not know
    assert contract.right is OptionRight.CALL
    ib.strike, ib.right = 0.0, "?"
    assert convert.contract_from_ib(ib).strike is None
    assert convert.contract_from_ib(ib).right is None
    leg = IbComboLeg()
    leg.conId, leg.ratio, leg.action, leg.exchange = 5, 1, "SELL", "SMART"
    ib.comboLegs = [leg]
    assert convert.contract_from_ib(ib).combo_legs == (
        ComboLeg(ratio=1, action=OrderAction.SELL, con_id=5, exchange="SMART"),
    )


def test_details_from_ib() -> None:
    ib = IbContractDetails()
    ib.contract.conId, ib.contract.symbol, ib.contract.secType = 265598, "AAPL", "STK"
    ib.contract.exchange, ib.contract.primaryExchange = "SMART", "NASDAQ"
    ib.minTick = 0.01
    ib.longName = "APPLE INC"
    ib.validExchanges = "SMART,NASDAQ, NYSE"
    ib.orderTypes = "LMT,MKT,STP"
    ib.timeZoneId = "US/Eastern"
    ib.underConId = 0
    ib.industry = "Technology"
    ib.sizeIncrement = Decimal("1")
    details = convert.details_from_ib(ib)
    assert details.contract.con_id == 265598
    assert details.contract.primary_exchange == "NASDAQ"
    assert details.min_tick == Decimal("0.01")
    assert details.valid_exchanges == ("SMART", "NASDAQ", "NYSE")
    assert details.order_types == ("LMT", "MKT", "STP")
    assert details.min_size is None  # UNSET_DECIMAL
    assert details.size_increment == Decimal(1)
    ib.minTick = 0.0
    assert convert.details_from_ib(ib).min_tick is None


def test_option_chain_from_ib_sorted_and_exact() -> None:
    chain = convert.option_chain_from_ib(
        "SMART", 265598, "AAPL", "100", {"20261218", "20260116"}, {150.0, 147.5, 0.1}
    )
    assert chain.expirations == ("20260116", "20261218")
    assert chain.strikes == (Decimal("0.1"), Decimal("147.5"), Decimal("150.0"))


# --- scalars -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [None, UNSET_DOUBLE, math.inf, -math.inf, math.nan, float(UNSET_DOUBLE)]
)
def test_float_sentinels(value: float | None) -> None:
    assert convert.float_to_decimal(value) is None


@given(_prices)
def test_float_to_decimal_exact(price: Decimal) -> None:
    assert convert.float_to_decimal(float(price)) == price


@pytest.mark.parametrize(
    "value",
    [
        None,
        UNSET_DECIMAL,
        "",
        "  ",
        "1.7976931348623157E308",
        "1.7976931348623157e+308",
        "2147483647",
        "9223372036854775807",
        "garbage",
        Decimal("NaN"),
        Decimal("1e308"),
        UNSET_DOUBLE,
    ],
)
def test_decimal_sentinels(value: object) -> None:
    assert convert.decimal_or_none(value) is None  # type: ignore[arg-type]


def test_decimal_values() -> None:
    assert convert.decimal_or_none("-1234.56") == Decimal("-1234.56")
    assert convert.decimal_or_none(Decimal("0")) == Decimal(0)
    assert convert.decimal_or_none(2.5) == Decimal("2.5")
    assert convert.int_or_none(UNSET_INTEGER) is None and convert.int_or_none(7) == 7


def test_actions() -> None:
    assert convert.action_from_ib("BOT") is OrderAction.BUY
    assert convert.action_from_ib("SLD") is OrderAction.SELL
    assert convert.action_from_ib("BUY") is OrderAction.BUY
    assert convert.action_from_ib("SSHORT") is OrderAction.SELL
    with pytest.raises(ValueError):
        convert.action_from_ib("HOLD")


# --- orders ------------------------------------------------------------------------------------


def test_order_to_ib() -> None:
    spec = OrderSpec(
        action=OrderAction.SELL,
        quantity=Decimal("12.5"),
        order_type=OrderType.STOP_LIMIT,
        limit_price=Decimal("101.23"),
        stop_price=Decimal("101.5"),
        time_in_force=TimeInForce.GTC,
        account="DU123",
        oca_group="oca-1",
        outside_regular_hours=True,
        order_ref="the client's label, not sent",
    )
    request = IbOrderRequest(
        spec, order_ref="req-1", parent_ib_order_id=41, transmit=False, what_if=True
    )
    order = convert.order_to_ib(request)
    assert (order.action, order.orderType, order.tif) == ("SELL", "STP LMT", "GTC")
    assert order.totalQuantity == Decimal("12.5") and isinstance(order.totalQuantity, Decimal)
    assert isinstance(order.lmtPrice, float) and order.lmtPrice == 101.23
    assert order.auxPrice == 101.5 and order.trailingPercent == UNSET_DOUBLE
    assert (order.account, order.orderRef, order.ocaGroup, order.ocaType) == (
        "DU123",
        "req-1",
        "oca-1",
        1,
    )
    assert (order.parentId, order.transmit, order.outsideRth, order.whatIf) == (
        41,
        False,
        True,
        True,
    )


def test_trailing_orders_send_the_amount_as_aux_price_and_the_percent() -> None:
    by_amount = OrderSpec(
        OrderAction.SELL, Decimal(1), OrderType.TRAILING_STOP, trailing_amount=Decimal("0.5")
    )
    order = convert.order_to_ib(IbOrderRequest(by_amount))
    assert (order.orderType, order.auxPrice, order.trailingPercent) == ("TRAIL", 0.5, UNSET_DOUBLE)
    by_percent = OrderSpec(
        OrderAction.SELL,
        Decimal(1),
        OrderType.TRAILING_STOP_LIMIT,
        limit_price=Decimal(99),
        stop_price=Decimal(98),  # not a trailing order's field: not sent
        trailing_percent=Decimal(2),
    )
    order = convert.order_to_ib(IbOrderRequest(by_percent))
    assert (order.orderType, order.auxPrice, order.trailingPercent) == (
        "TRAIL LIMIT",
        UNSET_DOUBLE,
        2.0,
    )


def test_market_order_leaves_prices_unset() -> None:
    order = convert.order_to_ib(
        IbOrderRequest(OrderSpec(OrderAction.BUY, Decimal(1), OrderType.MARKET))
    )
    assert order.lmtPrice == UNSET_DOUBLE and order.auxPrice == UNSET_DOUBLE
    assert (order.transmit, order.whatIf, order.parentId, order.ocaGroup) == (True, False, 0, "")


class _Capture:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def isConnected(self) -> bool:
        return True

    def sendMsg(self, msg: bytes) -> int:
        self.sent.append(msg)
        return len(msg)


class _Errors:
    def __init__(self) -> None:
        self.errors: list[tuple[int, str]] = []

    def error(self, req_id: int, when: int, code: int, text: str, json: str = "") -> None:
        self.errors.append((code, text))


@given(
    price=_prices,
    quantity=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2),
    action=st.sampled_from(list(OrderAction)),
)
def test_order_encodes_exactly_on_the_wire(
    price: Decimal, quantity: Decimal, action: OrderAction
) -> None:
    """The real ibapi encoder writes the decimal the session asked for, not a float artefact."""
    errors = _Errors()
    client = EClient(errors)
    capture = _Capture()
    client.conn, client.serverVersion_ = capture, 178
    client.setConnState(EClient.CONNECTED)
    request = IbOrderRequest(
        OrderSpec(action, quantity, OrderType.LIMIT, limit_price=price), order_ref="r"
    )
    contract = Contract(symbol="AAPL", security_type=SecurityType.STOCK)
    client.placeOrder(7, convert.contract_to_ib(contract), convert.order_to_ib(request))
    assert errors.errors == []
    fields = capture.sent[0][4:].split(b"\0")
    assert fields[0] == b"3" and fields[1] == b"7"
    assert fields[16] == action.value.encode()
    assert Decimal(fields[17].decode()) == quantity
    assert fields[18] == b"LMT"
    assert Decimal(fields[19].decode()) == price
    assert fields[20] == b""  # unset aux price


def test_preview_from_order_state() -> None:
    state = OrderState()
    state.initMarginChange = "1234.56"
    state.maintMarginChange = "1.7976931348623157E308"
    state.equityWithLoanChange = "-10"
    state.initMarginAfter = ""
    state.maintMarginAfter = "999.5"
    state.commissionAndFees = 1.0
    state.maxCommissionAndFees = UNSET_DOUBLE
    state.commissionAndFeesCurrency = "USD"
    state.warningText = "careful"
    preview = convert.preview_from_ib(state)
    assert preview.initial_margin_change == Decimal("1234.56")
    assert preview.maintenance_margin_change is None
    assert preview.equity_with_loan_change == Decimal(-10)
    assert preview.initial_margin_after is None
    assert preview.maintenance_margin_after == Decimal("999.5")
    assert preview.commission == Decimal("1.0")
    assert preview.min_commission is None and preview.max_commission is None
    assert (preview.commission_currency, preview.warning_text) == ("USD", "careful")


# --- executions and commissions ----------------------------------------------------------------


def _execution(side: str, time: str) -> tuple[IbContract, IbExecution]:
    contract = IbContract()
    contract.conId, contract.symbol, contract.secType = 265598, "AAPL", "STK"
    contract.exchange, contract.currency, contract.strike = "NASDAQ", "USD", 0.0
    execution = IbExecution()
    execution.execId, execution.time, execution.acctNumber = "0001.01", time, "DU123"
    execution.exchange, execution.side, execution.shares = "NASDAQ", side, Decimal(100)
    execution.price, execution.permId, execution.clientId = 187.25, 99, 7
    execution.orderId, execution.cumQty, execution.avgPrice = 5, Decimal(100), 187.25
    execution.orderRef = "req-1"
    return contract, execution


def test_execution_from_ib() -> None:
    contract, execution = _execution("BOT", "20260112 09:30:00 US/Eastern")
    event = convert.execution_from_ib(-1, contract, execution)
    assert event.side is OrderAction.BUY
    assert event.execution_time == datetime(2026, 1, 12, 14, 30, tzinfo=UTC)
    assert (event.req_id, event.ib_order_id, event.perm_id, event.client_id) == (-1, 5, 99, 7)
    assert (event.shares, event.price, event.cum_qty) == (Decimal(100), Decimal("187.25"), 100)
    assert event.contract.con_id == 265598 and event.contract.strike is None
    assert event.order_ref == "req-1" and event.account == "DU123"
    contract, execution = _execution("SLD", "1768228200")
    assert convert.execution_from_ib(3, contract, execution).side is OrderAction.SELL


def test_commission_from_ib() -> None:
    report = CommissionAndFeesReport()
    report.execId, report.commissionAndFees, report.currency = "0001.01", 1.05, "USD"
    report.realizedPNL = UNSET_DOUBLE
    event = convert.commission_from_ib(report)
    assert (event.exec_id, event.commission, event.currency) == ("0001.01", Decimal("1.05"), "USD")
    assert event.realized_pnl is None
    report.realizedPNL = -12.5
    assert convert.commission_from_ib(report).realized_pnl == Decimal("-12.5")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20260112 09:30:00 US/Eastern", datetime(2026, 1, 12, 14, 30, tzinfo=UTC)),
        ("20260712 09:30:00 US/Eastern", datetime(2026, 7, 12, 13, 30, tzinfo=UTC)),
        ("20260712 09:30:00 America/New_York", datetime(2026, 7, 12, 13, 30, tzinfo=UTC)),
        ("20260112 09:30:00 EST", datetime(2026, 1, 12, 14, 30, tzinfo=UTC)),
        ("20230712 09:17:19 EET", datetime(2023, 7, 12, 7, 17, 19, tzinfo=UTC)),
        ("20260112 09:30:00 UTC", datetime(2026, 1, 12, 9, 30, tzinfo=UTC)),
        ("20260112  09:30:00", datetime(2026, 1, 12, 9, 30, tzinfo=UTC)),
        ("20260112-09:30:00", datetime(2026, 1, 12, 9, 30, tzinfo=UTC)),
        ("2026-01-12 09:30:00.0", datetime(2026, 1, 12, 9, 30, tzinfo=UTC)),
        ("1768210200", datetime(2026, 1, 12, 9, 30, tzinfo=UTC)),
        ("20260112", datetime(2026, 1, 12, tzinfo=UTC)),
        ("1768210200000", datetime(2026, 1, 12, 9, 30, tzinfo=UTC)),
        # from server version 214 a UTC time carries a glued "Z"
        ("20261124-15:00:00Z", datetime(2026, 11, 24, 15, 0, tzinfo=UTC)),
        ("20261124 15:00:00Z", datetime(2026, 11, 24, 15, 0, tzinfo=UTC)),
        ("20261124-15:00:00.250Z", datetime(2026, 11, 24, 15, 0, tzinfo=UTC)),
    ],
)
def test_parse_ib_time(text: str, expected: datetime) -> None:
    parsed = convert.parse_ib_time(text)
    assert parsed == expected and parsed.tzinfo is UTC


def test_parse_ib_time_without_zone_uses_tws_zone() -> None:
    tz = timezone(timedelta(hours=2))
    assert convert.parse_ib_time("20260112  09:30:00", tz) == datetime(
        2026, 1, 12, 7, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2026011",
        "20260112 25:30:00",
        "20260112 09:30:00 Mars/Base",
        "20261124-15:00:00ZZ",
        "20261124-15:00:00X",
    ],
)
def test_parse_ib_time_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        convert.parse_ib_time(text)


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)))
def test_parse_ib_time_round_trip(moment: datetime) -> None:
    moment = moment.replace(microsecond=0, tzinfo=UTC)
    assert convert.parse_ib_time(moment.strftime("%Y%m%d %H:%M:%S UTC")) == moment
    assert convert.parse_ib_time(moment.strftime("%Y%m%d  %H:%M:%S")) == moment
    assert convert.parse_ib_time(str(int(moment.timestamp()))) == moment


# --- option computations -----------------------------------------------------------------------


def test_greeks_not_computed_sentinels() -> None:
    greeks = convert.greeks_from_ib(-1.0, -2.0, -1.0, -1.0, -2.0, -2.0, -2.0, -1.0)
    assert all(value is None for value in dataclasses.asdict(greeks).values())
    greeks = convert.greeks_from_ib(None, None, None, None, None, None, None, None)
    assert all(value is None for value in dataclasses.asdict(greeks).values())
    greeks = convert.greeks_from_ib(
        UNSET_DOUBLE, UNSET_DOUBLE, math.inf, 0.0, math.nan, UNSET_DOUBLE, UNSET_DOUBLE, -1.0
    )
    assert all(value is None for value in dataclasses.asdict(greeks).values())


def test_greeks_values() -> None:
    greeks = convert.greeks_from_ib(0.25, -0.45, 3.1, 0.0, 0.02, 0.15, -0.05, 187.5)
    assert greeks.implied_volatility == Decimal("0.25")
    assert greeks.delta == Decimal("-0.45")
    assert greeks.gamma == Decimal("0.02") and greeks.vega == Decimal("0.15")
    assert greeks.theta == Decimal("-0.05")
    assert greeks.option_price == Decimal("3.1") and greeks.underlying_price == Decimal("187.5")
