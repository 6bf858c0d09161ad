"""The simulator's protobuf-era codec judged by ibapi 10.50 itself.

1. Every protobuf reply builder (codec/proto_replies.py) decodes in ibapi's
   ``Decoder.processProtoBuf`` at server version 226 into the same EWrapper callback arguments
   as its text twin (codec/responses.py) decoded at 178.
2. Every request ibapi's encoder sends in protobuf form at 226 parses (nothing left over) into
   the same request as the text form ibapi sends at 178 for the same call, and ibapi sends each
   of them as protobuf (message id above 200).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import ibapi.contract
import ibapi.execution
import ibapi.order
import ibapi.order_cancel
import ibapi.tag_value
import pytest
from ibapi.order_condition import PriceCondition
from ibkr_broker.simulator.codec import proto_replies as P
from ibkr_broker.simulator.codec import responses as R
from ibkr_broker.simulator.codec.connection import ServerConnection
from ibkr_broker.simulator.codec.proto_requests import PROTO_REQUESTS, parse_proto_request
from ibkr_broker.simulator.codec.request_types import Request
from ibkr_broker.simulator.codec.requests import REQUESTS, parse_request
from ibkr_broker.simulator.codec.wire import FrameReader, MalformedRequest, split_binary
from ibkr_broker.simulator.model import HistoricalBar, OrderRequest

from tests.sim_oracles import IbapiDecoderOracle, ibapi_client
from tests.unit.test_sim_codec import (
    ALGO,
    BAG_ORDER,
    FILL,
    LMT,
    OPT,
    PEG_BENCH,
    STK,
    STK_SPEC,
    WHAT_IF,
    snapshot,
)

D = Decimal
PROTO_ERA = 226


# Where ibapi's two decoders spell the same value differently, whatever the server sends:
# - its protobuf decoder always builds these lists; its text decoder leaves them None when empty;
LISTS_OR_NONE = frozenset({"secIdList", "smartComboRoutingParams"})
# - OrderState margins are strings: the text decoder keeps the text ("1000"), the protobuf one
#   formats a double ("1000.0"); compared as numbers.
MARGINS = frozenset({f"{kind}Margin{when}" for kind in ("init", "maint")
                     for when in ("Before", "Change", "After")}
                    | {f"equityWithLoan{when}" for when in ("Before", "Change", "After")})


def _attribute(name: str, value: Any) -> Any:
    if name in LISTS_OR_NONE and value == []:
        return None
    if name in MARGINS and value != "":
        return Decimal(value)
    return normal(value)


def normal(x: Any) -> Any:
    """Callback arguments as plain data: objects as (class name, attributes)."""
    if isinstance(x, enum.Enum):
        return repr(x)
    if isinstance(x, list | tuple):
        return [normal(v) for v in x]
    if isinstance(x, set):
        return sorted(normal(v) for v in x)
    if hasattr(x, "__dict__"):
        return (type(x).__name__, {k: _attribute(k, v) for k, v in vars(x).items()})
    return x


def calls_of(frame: bytes, version: int) -> list[Any]:
    oracle = IbapiDecoderOracle(version)
    calls = oracle.feed(frame, allow_error=True, frames=True)
    return [(name, normal(args)) for name, args in calls if not name.endswith("ProtoBuf")]


def assert_twins(name: str, *args: Any, **kw: Any) -> list[Any]:
    text = calls_of(getattr(R, name)(*args, **kw), 178)
    proto = calls_of(getattr(P, name)(*args, **kw), PROTO_ERA)
    assert proto == text
    return proto


BAR = HistoricalBar("20261124 09:30:00 US/Eastern", D("150.1"), D("151"), D("149.5"),
                    D("150.25"), D("12345"), D("150.2"), 42)  # fmt: skip

REPLIES: list[tuple[str, tuple[Any, ...]]] = [
    ("next_valid_id", (17,)),
    ("managed_accounts", (["DU1234567", "DU7654321"],)),
    ("error", (-1, 2104, "Market data farm connection is OK:usfarm")),
    ("error", (11, 201, "Order rejected - reason: café", '{"k": 1}')),
    ("current_time", (1_795_000_000,)),
    ("tick_price", (5, 1, D("150.25"), D("300"), 1)),
    ("tick_price", (5, 9, D("149.5"), None)),
    ("tick_price", (5, 68, 150, D("0.5"), 6)),
    ("tick_size", (5, 8, D("1234567"))),
    ("tick_size", (5, 0, None)),
    ("tick_string", (5, 45, "1795000000")),
    ("tick_generic", (5, 49, 0)),
    ("market_data_type", (5, 3)),
    ("tick_req_params", (5, D("0.01"), "9c0001", 3)),
    ("tick_snapshot_end", (5,)),
    ("tick_option_computation", (6, 13, D("0.25"), D("0.5"), D("3.45"), D("0"), D("0.02"),
                                 D("0.1"), D("-0.05"), D("150.25"), 1)),
    ("tick_option_computation", (6, 10, None, None, D("3.4"), None, None, None, None, None)),
    ("contract_data", (7, STK)),
    ("contract_data", (8, OPT)),
    ("contract_data_end", (7,)),
    ("security_definition_option_parameter", (9, "SMART", 265598, "AAPL", "100",
                                              ["20261218", "20261127"], [D("195"), D("200")])),
    ("security_definition_option_parameter_end", (9,)),
    ("symbol_samples", (3, [(STK, ["OPT", "WAR"]), (OPT, [])])),
    ("historical_data", (4, "20261123 09:30:00", "20261124 16:00:00", [BAR, BAR])),
    ("historical_data_update", (4, BAR)),
    ("exec_details", (-1, FILL)),
    ("exec_details", (3, FILL)),
    ("exec_details_end", (3,)),
    ("commission_report", (replace(FILL, realized_pnl=D("-12.5")),)),
    ("update_account_value", ("NetLiquidation", "1000000.00", "USD", "DU1234567")),
    ("update_portfolio", (STK, D("100"), D("150.25"), D("15025"), D("140.1"), D("1015"),
                          D("0"), "DU1234567")),
    ("update_portfolio", (OPT, D("-2"), D("3.45"), D("-690"), D("340"), D("-10"), D("5"),
                          "DU1234567")),
    ("update_account_time", ("14:30",)),
    ("account_download_end", ("DU1234567",)),
    ("position", ("DU1234567", STK_SPEC, D("100"), D("140.1"))),
    ("position", ("DU1234567", OPT, D("-2"), D("340"))),
    ("position_end", ()),
    ("account_summary", (9, "DU1234567", "NetLiquidation", "1000000.00", "USD")),
    ("account_summary_end", (9,)),
    ("account_update_multi", (4, "DU1234567", "", "CashBalance", "1000.00", "USD")),
    ("account_update_multi_end", (4,)),
    ("pnl", (3, D("12.5"), D("-3"), None)),
    ("pnl_single", (4, D("100"), D("12.5"), D("-3"), None, D("15025"))),
    ("real_time_bar", (5, 1_795_000_000, D("150.1"), D("151"), D("149.5"), D("150.25"),
                       D("1200"), D("150.2"), 17)),
    ("market_depth", (6, 0, 0, 1, D("150.24"), D("300"))),
    ("market_depth", (6, 3, 2, 0, D("150.31"), D("0"))),
    ("market_depth_l2", (7, 1, "NSDQ", 1, 0, D("150.26"), D("200"), True)),
    ("open_order", (snapshot(LMT),)),
    ("open_order", (snapshot(ALGO, status="PreSubmitted"),)),
    ("open_order", (snapshot(PEG_BENCH),)),
    ("open_order", (snapshot(LMT, what_if=WHAT_IF),)),
    ("open_order_end", ()),
    ("order_status", (snapshot(LMT),)),
    ("order_status", (snapshot(LMT, status="Filled", filled=D(100), remaining=D(0),
                               avg_fill_price=D("150.2"), last_fill_price=D("150.25")),)),
    ("completed_order", (snapshot(LMT, status="Filled"), "20261124 14:30:00", "Filled")),
    ("completed_order", (snapshot(ALGO, status="Cancelled"),)),
    ("completed_orders_end", ()),
]


@pytest.mark.parametrize(("name", "args"), REPLIES, ids=[f"{n}-{i}" for i, (n, _) in
                                                         enumerate(REPLIES)])
def test_protobuf_reply_decodes_like_its_text_twin(name: str, args: tuple[Any, ...]) -> None:
    assert assert_twins(name, *args)


def test_every_reply_builder_has_a_protobuf_twin_checked_here() -> None:
    assert set(P.__all__) == set(R.__all__)
    assert {n for n, _ in REPLIES} == set(R.__all__)


def test_bag_open_order_carries_leg_prices_in_protobuf() -> None:
    """ibapi's protobuf decoder makes one order combo leg per contract leg (unset when the
    order has no price for it), where the text era sends exactly the prices the order has."""
    (proto,) = calls_of(P.open_order(snapshot(BAG_ORDER)), PROTO_ERA)
    (text,) = calls_of(R.open_order(snapshot(BAG_ORDER)), 178)
    legs = proto[1][2][1]["orderComboLegs"]
    assert [leg[1]["price"] for leg in legs] == [1.25, ibapi.order.UNSET_DOUBLE]
    assert legs == text[1][2][1]["orderComboLegs"]
    assert proto[1][1] == text[1][1]  # the contract, legs included


def test_execution_time_carries_a_glued_z_from_214() -> None:
    """Server version 214 (ADD_Z_SUFFIX_TO_UTC_DATE_TIME) spells a UTC time with a glued Z."""
    for version, expected in ((213, "20261124 14:30:00 UTC"), (214, "20261124-14:30:00Z"),
                              (226, "20261124-14:30:00Z")):
        (call,) = calls_of(P.exec_details(-1, FILL, version), version)
        assert call[1][2][1]["time"] == expected
    (text,) = calls_of(R.exec_details(-1, FILL, 178), 178)
    assert text[1][2][1]["time"] == "20261124 14:30:00 UTC"


def test_unset_realized_pnl_is_left_out_in_protobuf_as_tws_does() -> None:
    """An opening fill has no realized PnL: the text era sends UNSET_DOUBLE, TWS's protobuf
    leaves the field out, which ibapi's classic callback reads as 0.0 (the gateway reads the
    raw message instead: server/ib/decoding.py)."""
    (text,) = calls_of(R.commission_report(FILL), 178)
    assert text[1][0][1]["realizedPNL"] == ibapi.order.UNSET_DOUBLE
    (proto,) = calls_of(P.commission_report(FILL), PROTO_ERA)
    assert proto[1][0][1]["realizedPNL"] == 0.0
    assert {k: v for k, v in proto[1][0][1].items() if k != "realizedPNL"} == {
        k: v for k, v in text[1][0][1].items() if k != "realizedPNL"}


def test_what_if_margins_without_a_result_are_left_out_in_protobuf() -> None:
    """The text era sends UNSET_DOUBLE margins for a what-if order without a result (ib_async
    calls float() on them); ibapi reads absent protobuf margins as "", its own default."""
    what_if = OrderRequest(order_id=18, contract=STK_SPEC, action="BUY",
                           total_quantity=D(100), order_type="MKT", what_if=True)
    (call,) = calls_of(P.open_order(snapshot(what_if)), PROTO_ERA)
    state = call[1][3][1]
    assert state["initMarginChange"] == "" and state["status"] == "Submitted"


# ------------------------------------------------------------------------------------------------
# 2. requests: ibapi's protobuf encoder -> parse_proto_request, judged by the text twin


def contract(**kw: Any) -> Any:
    c = ibapi.contract.Contract()
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def stock() -> Any:
    return contract(conId=265598, symbol="AAPL", secType="STK", exchange="SMART",
                    primaryExchange="NASDAQ", currency="USD")


def option() -> Any:
    return contract(symbol="AAPL", secType="OPT", lastTradeDateOrContractMonth="20261218",
                    strike=200.0, right="C", multiplier="100", exchange="SMART", currency="USD")


def bag() -> Any:
    legs = []
    for con_id, ratio, action in ((700001, 1, "BUY"), (700002, 2, "SELL")):
        leg = ibapi.contract.ComboLeg()
        leg.conId, leg.ratio, leg.action, leg.exchange = con_id, ratio, action, "SMART"
        legs.append(leg)
    return contract(symbol="AAPL", secType="BAG", exchange="SMART", currency="USD",
                    comboLegs=legs)


def order(**kw: Any) -> Any:
    o = ibapi.order.Order()
    for k, v in kw.items():
        setattr(o, k, D(str(v)) if k == "totalQuantity" else v)
    return o


def tag(t: str, v: str) -> Any:
    return ibapi.tag_value.TagValue(t, v)


def exec_filter(**kw: Any) -> Any:
    f = ibapi.execution.ExecutionFilter()
    for k, v in kw.items():
        setattr(f, k, v)
    return f


def cancel(time: str = "") -> Any:
    c = ibapi.order_cancel.OrderCancel()
    c.manualOrderCancelTime = time
    return c


def leg_price(price: float) -> Any:
    leg = ibapi.order.OrderComboLeg()
    leg.price = price
    return leg


def delta_neutral() -> Any:
    c = stock()
    c.deltaNeutralContract = ibapi.contract.DeltaNeutralContract()
    c.deltaNeutralContract.conId, c.deltaNeutralContract.delta = 265598, 0.5
    c.deltaNeutralContract.price = 150.25
    return c


CALLS: list[tuple[str, Callable[[Any], None]]] = [
    ("startApi", lambda c: (setattr(c, "clientId", 3), setattr(c, "optCapab", "x"),
                            c.startApi())),
    ("reqIds", lambda c: c.reqIds(1)),
    ("reqCurrentTime", lambda c: c.reqCurrentTime()),
    ("reqManagedAccts", lambda c: c.reqManagedAccts()),
    ("reqContractDetails", lambda c: c.reqContractDetails(7, stock())),
    ("reqContractDetails-opt", lambda c: c.reqContractDetails(8, option())),
    ("reqMktData", lambda c: c.reqMktData(5, stock(), "100,101,106", False, False, [])),
    ("reqMktData-bag-snapshot", lambda c: c.reqMktData(6, bag(), "", True, False, [])),
    ("reqMktData-dn", lambda c: c.reqMktData(7, delta_neutral(), "", False, True, [])),
    ("cancelMktData", lambda c: c.cancelMktData(5)),
    ("reqMarketDataType", lambda c: c.reqMarketDataType(3)),
    ("placeOrder-mkt", lambda c: c.placeOrder(11, stock(), order(
        action="BUY", totalQuantity=100, orderType="MKT"))),
    ("placeOrder-lmt", lambda c: c.placeOrder(12, stock(), order(
        action="SELL", totalQuantity=50, orderType="LMT", lmtPrice=150.25, tif="DAY",
        orderRef="req-123", account="DU1234567", outsideRth=True, ocaGroup="g1",
        goodAfterTime="20261124 09:30:00 US/Eastern", hidden=True))),
    ("placeOrder-option", lambda c: c.placeOrder(13, option(), order(
        action="BUY", totalQuantity=2, orderType="LMT", lmtPrice=3.45))),
    ("placeOrder-bag", lambda c: c.placeOrder(14, bag(), order(
        action="BUY", totalQuantity=1, orderType="LMT", lmtPrice=2.5,
        orderComboLegs=[leg_price(1.25), leg_price(ibapi.order.UNSET_DOUBLE)],
        smartComboRoutingParams=[tag("NonGuaranteed", "1")]))),
    ("placeOrder-stp-lmt-algo", lambda c: c.placeOrder(15, stock(), order(
        action="SELL", totalQuantity="10.5", orderType="STP LMT", lmtPrice=139.5,
        auxPrice=140.0, tif="GTC", algoStrategy="Adaptive",
        algoParams=[tag("adaptivePriority", "Normal")], goodTillDate="20261231 23:59:59 UTC",
        minQty=5, cashQty=1000.0))),
    ("placeOrder-trail", lambda c: c.placeOrder(16, stock(), order(
        action="SELL", totalQuantity=100, orderType="TRAIL", trailingPercent=1.5,
        trailStopPrice=145.0, tif="GTC"))),
    ("placeOrder-child", lambda c: c.placeOrder(17, stock(), order(
        action="SELL", totalQuantity=100, orderType="LMT", lmtPrice=160.0, parentId=15,
        transmit=False, ocaGroup="oca-15", ocaType=3))),
    ("placeOrder-what-if", lambda c: c.placeOrder(18, stock(), order(
        action="BUY", totalQuantity=100, orderType="MKT", whatIf=True))),
    ("placeOrder-peg-best", lambda c: c.placeOrder(19, stock(), order(
        action="BUY", totalQuantity=100, orderType="PEG BEST", lmtPrice=150.0,
        minCompeteSize=100, competeAgainstBestOffset=math.inf, midOffsetAtWhole=0.01,
        midOffsetAtHalf=0.005))),
    ("placeOrder-vol-dn-scale-hedge", lambda c: c.placeOrder(20, stock(), order(
        action="BUY", totalQuantity=1, orderType="VOL", volatility=0.3, volatilityType=2,
        deltaNeutralOrderType="LMT", deltaNeutralAuxPrice=1.0, scaleInitLevelSize=10,
        scaleSubsLevelSize=5, scalePriceIncrement=0.05, hedgeType="D", hedgeParam="0.5"))),
    ("cancelOrder", lambda c: c.cancelOrder(11, cancel("20261124 14:30:00"))),
    ("reqGlobalCancel", lambda c: c.reqGlobalCancel(cancel())),
    ("reqOpenOrders", lambda c: c.reqOpenOrders()),
    ("reqAllOpenOrders", lambda c: c.reqAllOpenOrders()),
    ("reqAutoOpenOrders", lambda c: c.reqAutoOpenOrders(True)),
    ("reqCompletedOrders", lambda c: c.reqCompletedOrders(False)),
    ("reqAccountUpdates", lambda c: c.reqAccountUpdates(True, "DU1")),
    ("reqAccountUpdatesMulti", lambda c: c.reqAccountUpdatesMulti(4, "DU1", "", False)),
    ("cancelAccountUpdatesMulti", lambda c: c.cancelAccountUpdatesMulti(4)),
    ("reqPositions", lambda c: c.reqPositions()),
    ("cancelPositions", lambda c: c.cancelPositions()),
    ("reqAccountSummary", lambda c: c.reqAccountSummary(9, "All", "NetLiquidation,$LEDGER:ALL")),
    ("cancelAccountSummary", lambda c: c.cancelAccountSummary(9)),
    ("reqExecutions", lambda c: c.reqExecutions(3, exec_filter(
        clientId=7, acctCode="DU1", time="20261124 00:00:00", symbol="AAPL", secType="STK",
        exchange="SMART", side="BUY"))),
    ("reqExecutions-all", lambda c: c.reqExecutions(4, exec_filter())),
    ("reqSecDefOptParams", lambda c: c.reqSecDefOptParams(6, "AAPL", "", "STK", 265598)),
    ("reqHistoricalData", lambda c: c.reqHistoricalData(
        4, stock(), "", "1 D", "1 min", "TRADES", 1, 1, False, [])),
    ("reqHistoricalData-bag", lambda c: c.reqHistoricalData(
        5, bag(), "20261124 16:00:00 US/Eastern", "2 W", "1 day", "MIDPOINT", 0, 2, True,
        [tag("a", "b")])),
    ("cancelHistoricalData", lambda c: c.cancelHistoricalData(4)),
    ("reqMatchingSymbols", lambda c: c.reqMatchingSymbols(2, "AAP")),
    ("reqPnL", lambda c: c.reqPnL(3, "DU1", "")),
    ("cancelPnL", lambda c: c.cancelPnL(3)),
    ("reqPnLSingle", lambda c: c.reqPnLSingle(4, "DU1", "", 265598)),
    ("cancelPnLSingle", lambda c: c.cancelPnLSingle(4)),
    ("reqRealTimeBars", lambda c: c.reqRealTimeBars(5, stock(), 5, "MIDPOINT", True, [])),
    ("cancelRealTimeBars", lambda c: c.cancelRealTimeBars(5)),
    ("reqMktDepth", lambda c: c.reqMktDepth(6, stock(), 10, False, [])),
    ("reqMktDepth-smart", lambda c: c.reqMktDepth(7, stock(), 5, True, [])),
    ("cancelMktDepth", lambda c: c.cancelMktDepth(6, False)),
]  # fmt: skip


def text_request(call: Callable[[Any], None]) -> Request:
    client = ibapi_client(178)
    call(client)
    assert client.wrapper.calls == []
    (fields,) = FrameReader().feed(b"".join(client.sent))
    return parse_request(fields)


def proto_request(call: Callable[[Any], None]) -> tuple[int, Request]:
    client = ibapi_client(PROTO_ERA)
    call(client)
    assert client.wrapper.calls == []  # ibapi refused nothing
    (payload,) = FrameReader().feed_raw(b"".join(client.sent))
    msg_id, body = split_binary(payload)
    assert msg_id > 200, f"ibapi sent {msg_id} in text form at {PROTO_ERA}"
    return msg_id - 200, parse_proto_request(msg_id - 200, body)


@pytest.mark.parametrize(("name", "call"), CALLS, ids=[n for n, _ in CALLS])
def test_protobuf_request_parses_like_its_text_twin(name: str,
                                                    call: Callable[[Any], None]) -> None:
    msg_id, got = proto_request(call)
    assert REQUESTS[msg_id].name == name.split("-")[0]
    assert got == text_request(call)


def test_protobuf_market_data_options_read_as_the_text_era_spells_them() -> None:
    """ibapi refuses mktDataOptions in the text era; in protobuf they arrive as a map."""
    _, got = proto_request(lambda c: c.reqMktData(7, stock(), "", False, False,
                                                  [tag("a", "b"), tag("c", "d")]))
    assert got.options == "a=b;c=d;"  # type: ignore[attr-defined]


def test_every_request_kind_is_parsed_in_protobuf_form_and_checked_here() -> None:
    assert set(PROTO_REQUESTS) == set(REQUESTS)
    assert {n.split("-")[0] for n, _ in CALLS} == {k.name for k in REQUESTS.values()}


def test_protobuf_place_order_with_conditions_is_rejected_clearly() -> None:
    o = order(action="BUY", totalQuantity=1, orderType="MKT",
              conditions=[PriceCondition(0, 265598, "SMART", True, 160.0)])
    with pytest.raises(MalformedRequest, match="conditions are not supported") as info:
        proto_request(lambda c: c.placeOrder(19, stock(), o))
    assert (info.value.msg_id, info.value.req_id) == (3, 19)


def test_protobuf_place_order_quantity_must_be_a_number() -> None:
    from ibapi.protobuf.PlaceOrderRequest_pb2 import PlaceOrderRequest

    for quantity, why in (("", "totalQuantity is missing"), ("ten", "not a number: 'ten'"),
                          ("Infinity", "not a usable quantity")):
        msg = PlaceOrderRequest(orderId=5)
        msg.order.action, msg.order.orderType = "BUY", "MKT"
        if quantity:
            msg.order.totalQuantity = quantity
        with pytest.raises(MalformedRequest, match=why) as info:
            parse_proto_request(3, msg.SerializeToString())
        assert info.value.req_id == 5


def test_protobuf_fields_the_schema_does_not_know_are_refused() -> None:
    body = bytes([0x08, 0x05]) + bytes([0xF8, 0x3E, 0x01])  # reqId 5, field 1000 = 1
    with pytest.raises(MalformedRequest, match="schema does not know"):
        parse_proto_request(2, body)
    with pytest.raises(MalformedRequest, match="does not parse"):
        parse_proto_request(2, b"\x08")


def test_ibapi_default_range_negotiates_the_protobuf_era_when_allowed() -> None:
    import struct

    hello = b"API\0" + struct.pack(">I", 9) + b"v100..226"
    for ceiling, expected in ((178, 178), (213, 213), (226, 226)):
        conn = ServerConnection(max_server_version=ceiling)
        (event,) = conn.receive_data(hello, now=0.0)
        assert conn.server_version == expected, event
    ib_async_hello = b"API\0" + struct.pack(">I", 9) + b"v157..178"
    conn = ServerConnection(max_server_version=226)
    conn.receive_data(ib_async_hello, now=0.0)
    assert conn.server_version == 178
    with pytest.raises(ValueError, match="not spoken"):
        ServerConnection(max_server_version=200)
