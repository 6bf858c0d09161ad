"""The simulator's TWS codec against the real clients (server version 178).

1. Every response builder's frame decodes in BOTH real decoders (ibapi 10.50, ib_async 2.1)
   without error, dropped message or logged exception, and the values round-trip.
2. Every request both real encoders produce parses, consumes every field, and carries what was
   sent (with the two clients' different spellings of "unset").
3. Property tests of framing and number exactness; negative tests of bad input.
"""

from __future__ import annotations

import itertools
import math
import struct
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import ib_async
import ib_async.contract
import ib_async.decoder
import ib_async.objects
import ib_async.order
import ibapi.contract
import ibapi.execution
import ibapi.order
import ibapi.order_cancel
import ibapi.tag_value
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ibapi import comm
from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE
from ibapi.order_condition import PriceCondition
from ibkr_broker.simulator.codec import requests as Q
from ibkr_broker.simulator.codec import responses as R
from ibkr_broker.simulator.codec.wire import UNSET_DOUBLE as WIRE_UNSET_DOUBLE
from ibkr_broker.simulator.codec.wire import (
    FieldCursor,
    FrameError,
    FrameReader,
    HandshakeError,
    MalformedRequest,
    UnknownRequest,
    encode_fields,
    encode_handshake_reply,
    format_decimal,
    format_number,
    parse_handshake_prefix,
)
from ibkr_broker.simulator.model import (
    ComboLegSpec,
    ContractSpec,
    Fill,
    HistoricalBar,
    Instrument,
    OrderRequest,
    OrderSnapshot,
    WhatIfResult,
)

from tests.sim_oracles import (
    IbapiDecoderOracle,
    IbAsyncDecoderOracle,
    errors_logged,
    ib_async_client,
    ibapi_client,
)

D = Decimal
LIBS = ("ibapi", "ib_async")

# ------------------------------------------------------------------------------------------------
# sample data

STK = Instrument(
    con_id=265598, symbol="AAPL", sec_type="STK", primary_exchange="NASDAQ", currency="USD",
    local_symbol="AAPL", trading_class="NMS", min_tick=D("0.01"), long_name="APPLE INC",
    industry="Technology", category="Computers",
)  # fmt: skip
OPT = Instrument(
    con_id=700001, symbol="AAPL", sec_type="OPT", primary_exchange="", currency="USD",
    local_symbol="AAPL  261218C00200000", trading_class="AAPL", min_tick=D("0.01"),
    long_name="APPLE INC", multiplier=100, last_trade_date="20261218", strike=D("200"),
    right="C", underlying_con_id=265598, underlying_symbol="AAPL",
)  # fmt: skip
STK_SPEC = ContractSpec(
    con_id=265598, symbol="AAPL", sec_type="STK", exchange="SMART", primary_exchange="NASDAQ",
    currency="USD", local_symbol="AAPL", trading_class="NMS",
)  # fmt: skip
BAG_SPEC = ContractSpec(
    con_id=28812380, symbol="AAPL", sec_type="BAG", exchange="SMART", currency="USD",
    combo_legs=(ComboLegSpec(700001, 1, "BUY"), ComboLegSpec(700002, 1, "SELL")),
)  # fmt: skip


def snapshot(req: OrderRequest, **kw: Any) -> OrderSnapshot:
    base: dict[str, Any] = {
        "request": req, "client_id": 7, "perm_id": 1_000_001, "status": "Submitted",
        "filled": D(0), "remaining": req.total_quantity, "avg_fill_price": D(0),
        "last_fill_price": D(0), "account": "DU1234567",
        "instrument": None if req.contract.sec_type == "BAG" else STK,
    }  # fmt: skip
    base.update(kw)
    return OrderSnapshot(**base)


LMT = OrderRequest(
    order_id=11, contract=STK_SPEC, action="BUY", total_quantity=D("100"), order_type="LMT",
    lmt_price=D("150.25"), tif="GTC", account="DU1234567", order_ref="req-1", outside_rth=True,
)  # fmt: skip
BAG_ORDER = OrderRequest(
    order_id=12, contract=BAG_SPEC, action="BUY", total_quantity=D("2"), order_type="LMT",
    lmt_price=D("2.5"), order_combo_leg_prices=(D("1.25"), None),
    smart_combo_routing_params=(("NonGuaranteed", "1"),),
)  # fmt: skip
ALGO = OrderRequest(
    order_id=13, contract=STK_SPEC, action="SELL", total_quantity=D("10.5"),
    order_type="STP LMT", lmt_price=D("139.5"), aux_price=D("140"), tif="GTC",
    algo_strategy="Adaptive", algo_params=(("adaptivePriority", "Normal"),), parent_id=9,
    trail_stop_price=D("138"), trailing_percent=D("1.5"), cash_qty=D("1000"), min_qty=5,
    good_till_date="20261231 23:59:59 UTC",
)  # fmt: skip
PEG_BENCH = OrderRequest(
    order_id=14, contract=STK_SPEC, action="BUY", total_quantity=D("1"), order_type="PEG BENCH",
)  # fmt: skip
WHAT_IF = WhatIfResult(
    init_margin_before=D("1000"), maint_margin_before=D("900"),
    equity_with_loan_before=D("100000"), init_margin_change=D("15025"),
    maint_margin_change=D("15025"), equity_with_loan_change=D("-1.5"),
    init_margin_after=D("16025"), maint_margin_after=D("15925"),
    equity_with_loan_after=D("99998.5"), commission=D("1.5"), min_commission=D("1"),
    max_commission=D("2"),
)  # fmt: skip

FILL = Fill(
    exec_id="0000e0d5.6571a8b2.01.01", order_id=11, client_id=7, perm_id=1_000_001,
    contract=ContractSpec(
        con_id=265598, symbol="AAPL", sec_type="STK", exchange="ISLAND", currency="USD",
        local_symbol="AAPL", trading_class="NMS",
    ),
    time_utc="20261124 14:30:00 UTC", account="DU1234567", exchange="ISLAND", side="BOT",
    shares=D("60"), price=D("150.25"), cum_qty=D("60"), avg_price=D("150.25"),
    order_ref="req-1", commission=D("1.0"), realized_pnl=None,
)  # fmt: skip


@pytest.fixture
def ibapi_dec() -> IbapiDecoderOracle:
    return IbapiDecoderOracle()


@pytest.fixture
def async_dec() -> IbAsyncDecoderOracle:
    return IbAsyncDecoderOracle()


def both(frame: bytes, allow_error: bool = False) -> tuple[list[Any], list[Any]]:
    return IbapiDecoderOracle().feed(frame, allow_error), IbAsyncDecoderOracle().feed(frame)


def only(calls: list[Any], name: str) -> tuple[Any, ...]:
    matching = [args for n, args in calls if n == name]
    assert len(matching) == 1, calls
    return matching[0]


# ------------------------------------------------------------------------------------------------
# 1. response builders -> both real decoders


def test_connection_messages() -> None:
    a, b = both(R.next_valid_id(42))
    assert a == [("nextValidId", (42,))] == b
    a, b = both(R.managed_accounts(["DU1", "DU2"]))
    assert a == [("managedAccounts", ("DU1,DU2",))] == b
    a, b = both(R.current_time(1_790_000_000))
    assert a == [("currentTime", (1_790_000_000,))] == b
    a, b = both(R.error(12, 202, "Order Canceled - reason:", '{"x":1}'), allow_error=True)
    assert a == [("error", (12, 0, 202, "Order Canceled - reason:", '{"x":1}'))]
    assert b == [("error", (12, 202, "Order Canceled - reason:", '{"x":1}'))]
    a, b = both(R.error(-1, 2104, "Market data farm connection is OK:usfarm"), allow_error=True)
    assert a[0][1][:3] == (-1, 0, 2104)
    assert b[0][1][:2] == (-1, 2104)


def test_error_text_non_ascii_survives_in_ibapi() -> None:
    a, _ = both(R.error(1, 200, "No security definition: Nestl\u00e9"), allow_error=True)
    assert a[0][1][3] == "No security definition: Nestl\u00e9"


@pytest.mark.parametrize("tick_type", [1, 2, 4, 6, 9, 66])
def test_tick_price(tick_type: int) -> None:
    frame = R.tick_price(5, tick_type, D("187.43"), D("300"), 3)
    a, b = both(frame)
    req_id, tt, price, attrib = only(a, "tickPrice")
    assert (req_id, tt, price) == (5, tick_type, 187.43)
    assert attrib.canAutoExecute and attrib.pastLimit and not attrib.preOpen
    if tick_type in (1, 2, 4, 66):
        assert only(a, "tickSize")[2] == D("300")
    assert b == [("priceSizeTick", (5, tick_type, 187.43, 300.0))]


def test_tick_price_fast_path_matches_generic_encoder() -> None:
    for price, size in [(D("1E+2"), None), (D("0.0000001"), D("1E+3")), (187.5, 3), (1e-7, 0)]:
        expected = encode_fields([1, 6, 9, 1, format_number(price), format_number(size), 0])
        assert R.tick_price(9, 1, price, size) == expected


def test_tick_size_string_generic_and_friends() -> None:
    a, b = both(R.tick_size(5, 8, D("123456")))
    assert a == [("tickSize", (5, 8, D("123456")))]
    assert b == [("tickSize", (5, 8, 123456.0))]
    a, b = both(R.tick_string(5, 45, "1790000000"))
    assert a == [("tickString", (5, 45, "1790000000"))] == b
    a, b = both(R.tick_generic(5, 49, D("0")))
    assert a == [("tickGeneric", (5, 49, 0.0))] == b
    a, b = both(R.market_data_type(5, 3))
    assert a == [("marketDataType", (5, 3))] == b
    a, b = both(R.tick_req_params(5, D("0.01"), "9c0001", 3))
    assert a == [("tickReqParams", (5, 0.01, "9c0001", 3))] == b
    a, b = both(R.tick_snapshot_end(5))
    assert a == [("tickSnapshotEnd", (5,))] == b


def test_tick_option_computation() -> None:
    frame = R.tick_option_computation(
        5, 13, D("0.25"), D("0.55"), D("3.45"), D("0"), D("0.02"), D("0.11"), D("-0.05"),
        D("187.4"),
    )  # fmt: skip
    a, b = both(frame)
    assert a == [("tickOptionComputation", (5, 13, 0, 0.25, 0.55, 3.45, 0.0, 0.02, 0.11, -0.05,
                                            187.4))]  # fmt: skip
    assert b == a
    a, b = both(R.tick_option_computation(5, 10, None, None, None, None, None, None, None, None))
    assert a[0][1][3:] == (None,) * 8  # ibapi maps -1/-2 to None
    assert b[0][1][3:] == (-1.0, -2.0, -1.0, -1.0, -2.0, -2.0, -2.0, -1.0)


def test_contract_data_stock() -> None:
    a, b = both(R.contract_data(7, STK))
    req_id, cd = only(a, "contractDetails")
    assert req_id == 7
    c = cd.contract
    assert (c.conId, c.symbol, c.secType, c.currency, c.primaryExchange, c.exchange) == (
        265598, "AAPL", "STK", "USD", "NASDAQ", "SMART",
    )  # fmt: skip
    assert (cd.minTick, cd.longName, cd.stockType, cd.minSize) == (0.01, "APPLE INC", "COMMON", 1)
    assert cd.orderTypes == "LMT,MKT,STP,STP LMT,TRAIL"
    req_id, cd = only(b, "contractDetails")
    assert (req_id, cd.contract.conId, cd.contract.primaryExchange, cd.minTick) == (
        7, 265598, "NASDAQ", 0.01,
    )  # fmt: skip
    assert (cd.marketName, cd.contract.tradingClass, cd.industry) == ("NMS", "NMS", "Technology")


def test_contract_data_option() -> None:
    a, b = both(R.contract_data(8, OPT))
    _, cd = only(a, "contractDetails")
    c = cd.contract
    assert (c.lastTradeDateOrContractMonth, c.strike, c.right, c.multiplier) == (
        "20261218", 200.0, "C", "100",
    )  # fmt: skip
    assert (cd.lastTradeTime, cd.underConId, cd.underSymbol, cd.underSecType) == (
        "16:00", 265598, "AAPL", "STK",
    )  # fmt: skip
    assert (cd.realExpirationDate, cd.contractMonth) == ("20261218", "202612")
    _, cd = only(b, "contractDetails")
    assert (cd.contract.lastTradeDateOrContractMonth, cd.lastTradeTime, cd.timeZoneId) == (
        "20261218", "16:00", "US/Eastern",
    )  # fmt: skip
    assert (cd.contract.strike, cd.contract.multiplier, cd.underConId) == (200.0, "100", 265598)
    a, b = both(R.contract_data_end(8))
    assert a == [("contractDetailsEnd", (8,))] == b


def test_open_order_plain() -> None:
    snap = snapshot(LMT)
    a, b = both(R.open_order(snap))
    oid, c, o, st_ = only(a, "openOrder")
    assert (oid, c.conId, c.symbol, c.exchange) == (11, 265598, "AAPL", "SMART")
    assert (o.action, o.totalQuantity, o.orderType, o.lmtPrice, o.auxPrice) == (
        "BUY", D("100"), "LMT", 150.25, UNSET_DOUBLE,
    )  # fmt: skip
    assert (o.tif, o.account, o.orderRef, o.clientId, o.permId, o.outsideRth) == (
        "GTC", "DU1234567", "req-1", 7, 1_000_001, True,
    )  # fmt: skip
    assert (o.triggerPrice, o.lmtPriceOffset, o.cashQty) == (UNSET_DOUBLE,) * 3
    assert (st_.status, o.whatIf, o.parentId) == ("Submitted", False, 0)
    oid, c, o, st_ = only(b, "openOrder")
    assert (oid, c.conId, o.totalQuantity, o.lmtPrice, o.clientId, o.permId) == (
        11, 265598, 100.0, 150.25, 7, 1_000_001,
    )  # fmt: skip
    assert (st_.status, o.orderRef, o.outsideRth, o.tif) == ("Submitted", "req-1", True, "GTC")
    a, b = both(R.open_order_end())
    assert a == [("openOrderEnd", ())] == b


def test_open_order_bag_with_legs_prices_and_routing_params() -> None:
    a, b = both(R.open_order(snapshot(BAG_ORDER)))
    _, c, o, _ = only(a, "openOrder")
    assert c.secType == "BAG" and c.conId == 28812380
    assert [(leg.conId, leg.ratio, leg.action, leg.exchange) for leg in c.comboLegs] == [
        (700001, 1, "BUY", "SMART"), (700002, 1, "SELL", "SMART"),
    ]  # fmt: skip
    assert [leg.price for leg in o.orderComboLegs] == [1.25, UNSET_DOUBLE]
    assert [(t.tag, t.value) for t in o.smartComboRoutingParams] == [("NonGuaranteed", "1")]
    _, c, o, _ = only(b, "openOrder")
    assert [(leg.conId, leg.action) for leg in c.comboLegs] == [(700001, "BUY"), (700002, "SELL")]
    assert o.orderComboLegs[0].price == 1.25
    assert [(t.tag, t.value) for t in o.smartComboRoutingParams] == [("NonGuaranteed", "1")]


def test_open_order_algo_trail_and_what_if() -> None:
    snap = snapshot(ALGO, status="PreSubmitted", what_if=WHAT_IF)
    a, b = both(R.open_order(snap))
    _, _, o, s = only(a, "openOrder")
    assert (o.algoStrategy, [(t.tag, t.value) for t in o.algoParams]) == (
        "Adaptive", [("adaptivePriority", "Normal")],
    )  # fmt: skip
    assert (o.totalQuantity, o.auxPrice, o.parentId, o.trailingPercent, o.trailStopPrice) == (
        D("10.5"), 140.0, 9, 1.5, 138.0,
    )  # fmt: skip
    assert (o.minQty, o.cashQty, o.goodTillDate) == (5, 1000.0, "20261231 23:59:59 UTC")
    assert (s.initMarginChange, s.commissionAndFees, s.commissionAndFeesCurrency) == (
        "15025", 1.5, "USD",
    )  # fmt: skip
    _, _, o, s = only(b, "openOrder")
    assert (o.algoStrategy, o.totalQuantity, o.trailingPercent) == ("Adaptive", 10.5, 1.5)
    assert (s.status, s.initMarginChange, s.commission) == ("PreSubmitted", "15025", 1.5)


def test_open_order_peg_bench_block() -> None:
    a, b = both(R.open_order(snapshot(PEG_BENCH)))
    assert only(a, "openOrder")[2].orderType == "PEG BENCH"
    assert only(b, "openOrder")[2].orderType == "PEG BENCH"


def test_order_status() -> None:
    snap = snapshot(LMT, status="Filled", filled=D("100"), remaining=D("0"),
                    avg_fill_price=D("150.2"), last_fill_price=D("150.1"))  # fmt: skip
    a, b = both(R.order_status(snap))
    assert a == [("orderStatus", (11, "Filled", D("100"), D("0"), 150.2, 1_000_001, 0, 150.1, 7,
                                  "", 0.0))]  # fmt: skip
    assert b == [("orderStatus", (11, "Filled", 100.0, 0.0, 150.2, 1_000_001, 0, 150.1, 7, "",
                                  0.0))]  # fmt: skip


@pytest.mark.parametrize("req", [LMT, BAG_ORDER, ALGO, PEG_BENCH], ids=lambda r: r.order_type)
def test_completed_order(req: OrderRequest) -> None:
    snap = snapshot(req, status="Filled", filled=req.total_quantity, remaining=D(0))
    a, b = both(R.completed_order(snap, "20261124 14:30:00 UTC", "Filled"))
    c, o, s = only(a, "completedOrder")
    assert (c.symbol, o.orderType, o.permId, s.status, s.completedTime, s.completedStatus) == (
        "AAPL", req.order_type, 1_000_001, "Filled", "20261124 14:30:00 UTC", "Filled",
    )  # fmt: skip
    assert o.filledQuantity == req.total_quantity
    c, o, s = only(b, "completedOrder")
    assert (o.orderType, o.permId, s.status, s.completedStatus) == (
        req.order_type, 1_000_001, "Filled", "Filled",
    )  # fmt: skip
    a, b = both(R.completed_orders_end())
    assert a == [("completedOrdersEnd", ())] == b


def test_exec_details_and_commission_report() -> None:
    a, b = both(R.exec_details(-1, FILL))
    req_id, c, ex = only(a, "execDetails")
    assert (req_id, c.conId, c.symbol, c.exchange) == (-1, 265598, "AAPL", "ISLAND")
    assert (ex.execId, ex.orderId, ex.side, ex.shares, ex.price, ex.permId, ex.clientId) == (
        FILL.exec_id, 11, "BOT", D("60"), 150.25, 1_000_001, 7,
    )  # fmt: skip
    assert (ex.cumQty, ex.avgPrice, ex.orderRef, ex.time) == (
        D("60"), 150.25, "req-1", "20261124 14:30:00 UTC",
    )  # fmt: skip
    req_id, c, ex = only(b, "execDetails")
    assert (req_id, c.conId, ex.execId, ex.shares, ex.permId, ex.clientId) == (
        -1, 265598, FILL.exec_id, 60.0, 1_000_001, 7,
    )  # fmt: skip
    assert ex.time.isoformat() == "2026-11-24T14:30:00+00:00"
    a, b = both(R.exec_details_end(3))
    assert a == [("execDetailsEnd", (3,))] == b
    a, b = both(R.commission_report(FILL))
    (rep,) = only(a, "commissionAndFeesReport")
    assert (rep.execId, rep.commissionAndFees, rep.currency, rep.realizedPNL) == (
        FILL.exec_id, 1.0, "USD", UNSET_DOUBLE,
    )  # fmt: skip
    (rep,) = only(b, "commissionReport")
    assert (rep.execId, rep.commission, rep.currency) == (FILL.exec_id, 1.0, "USD")


def test_account_messages() -> None:
    a, b = both(R.update_account_value("NetLiquidation", "100000.00", "USD", "DU1"))
    assert a == [("updateAccountValue", ("NetLiquidation", "100000.00", "USD", "DU1"))] == b
    a, b = both(R.update_portfolio(STK, D("100"), D("150.5"), D("15050"), D("149.25"), D("125"),
                                   D("0"), "DU1"))  # fmt: skip
    c, pos, mp, mv, cost, upnl, rpnl, acct = only(a, "updatePortfolio")
    assert (c.conId, c.primaryExchange, pos, mp, mv, cost, upnl, rpnl, acct) == (
        265598, "NASDAQ", D("100"), 150.5, 15050.0, 149.25, 125.0, 0.0, "DU1",
    )  # fmt: skip
    c, pos, *_ = only(b, "updatePortfolio")
    assert (c.conId, c.primaryExchange, pos) == (265598, "NASDAQ", 100.0)
    a, b = both(R.update_portfolio(OPT, D("-2"), D("3.4"), D("-680"), D("350"), D("20"), D("0"),
                                   "DU1"))  # fmt: skip
    assert only(a, "updatePortfolio")[0].multiplier == "100"
    assert only(b, "updatePortfolio")[0].strike == 200.0
    a, b = both(R.update_account_time("14:30"))
    assert a == [("updateAccountTime", ("14:30",))] == b
    a, b = both(R.account_download_end("DU1"))
    assert a == [("accountDownloadEnd", ("DU1",))] == b
    a, b = both(R.position("DU1", STK_SPEC, D("100"), D("149.25")))
    acct, c, pos, cost = only(a, "position")
    assert (acct, c.conId, c.exchange, pos, cost) == ("DU1", 265598, "SMART", D("100"), 149.25)
    assert only(b, "position")[2:] == (100.0, 149.25)
    a, b = both(R.position_end())
    assert a == [("positionEnd", ())] == b
    a, b = both(R.account_summary(9, "DU1", "NetLiquidation", "100000.00", "USD"))
    assert a == [("accountSummary", (9, "DU1", "NetLiquidation", "100000.00", "USD"))] == b
    a, b = both(R.account_summary_end(9))
    assert a == [("accountSummaryEnd", (9,))] == b
    a, b = both(R.account_update_multi(4, "DU1", "", "CashBalance", "5000", "USD"))
    assert a == [("accountUpdateMulti", (4, "DU1", "", "CashBalance", "5000", "USD"))] == b
    a, b = both(R.account_update_multi_end(4))
    assert a == [("accountUpdateMultiEnd", (4,))] == b
    a, b = both(R.pnl(3, D("12.5"), D("-3"), None))
    assert a == [("pnl", (3, 12.5, -3.0, UNSET_DOUBLE))] == b


def test_data_feed_replies() -> None:
    """pnlSingle, realtimeBar, updateMktDepth and updateMktDepthL2 through both decoders."""
    a, b = both(R.pnl_single(4, D("100"), D("12.5"), D("-3"), None, D("15025")))
    assert only(a, "pnlSingle") == (4, D("100"), 12.5, -3.0, UNSET_DOUBLE, 15025.0)
    assert only(b, "pnlSingle")[1:3] == (100.0, 12.5)
    a, b = both(R.real_time_bar(5, 1_795_000_000, D("150.1"), D("151"), D("149.5"),
                                D("150.25"), D("1200"), D("150.2"), 17))
    assert only(a, "realtimeBar") == (5, 1_795_000_000, 150.1, 151.0, 149.5, 150.25,
                                      D("1200"), D("150.2"), 17)
    assert only(b, "realtimeBar")[0] == 5
    a, b = both(R.market_depth(6, 0, 0, 1, D("150.24"), D("300")))
    assert only(a, "updateMktDepth") == (6, 0, 0, 1, 150.24, D("300"))
    assert only(b, "updateMktDepth") == (6, 0, 0, 1, 150.24, 300.0)
    a, b = both(R.market_depth_l2(7, 1, "NSDQ", 2, 0, D("150.26"), D("0"), True))
    assert only(a, "updateMktDepthL2") == (7, 1, "NSDQ", 2, 0, 150.26, D("0"), True)
    assert only(b, "updateMktDepthL2")[:4] == (7, 1, "NSDQ", 2)


def test_sec_def_opt_params_symbol_samples_historical() -> None:
    frame = R.security_definition_option_parameter(
        6, "SMART", 265598, "AAPL", "100", ["20261218", "20270115"], [D("195"), D("200")]
    )
    a, b = both(frame)
    assert a == [("securityDefinitionOptionParameter",
                  (6, "SMART", 265598, "AAPL", "100", {"20261218", "20270115"}, {195.0, 200.0}))]
    assert b == [("securityDefinitionOptionParameter",
                  (6, "SMART", "265598", "AAPL", "100", ["20261218", "20270115"], [195.0, 200.0]))]
    a, b = both(R.security_definition_option_parameter_end(6))
    assert a == [("securityDefinitionOptionParameterEnd", (6,))] == b

    a, b = both(R.symbol_samples(2, [(STK, ("OPT", "WAR")), (OPT, ())]))
    req_id, descs = only(a, "symbolSamples")
    assert req_id == 2
    got = [(d.contract.conId, d.contract.primaryExchange, d.derivativeSecTypes) for d in descs]
    assert got == [(265598, "NASDAQ", ["OPT", "WAR"]), (700001, "", [])]
    req_id, descs = only(b, "symbolSamples")
    assert [(d.contract.conId, list(d.derivativeSecTypes)) for d in descs] == [
        (265598, ["OPT", "WAR"]), (700001, []),
    ]  # fmt: skip

    bars = [
        HistoricalBar("20261124 09:30:00 US/Eastern", D("150"), D("151"), D("149.5"), D("150.5"),
                      D("12000"), D("150.2"), 42),
        HistoricalBar("20261124 09:31:00 US/Eastern", D("150.5"), D("150.75"), D("150"),
                      D("150.1"), D("8000"), D("150.3"), 17),
    ]  # fmt: skip
    a, b = both(R.historical_data(4, "20261124 09:30:00", "20261124 09:32:00", bars))
    hist = [args[1] for n, args in a if n == "historicalData"]
    rows = [(x.date, x.open, x.high, x.low, x.close, x.volume, x.wap, x.barCount) for x in hist]
    assert rows == [
        ("20261124 09:30:00 US/Eastern", 150.0, 151.0, 149.5, 150.5, D("12000"), D("150.2"), 42),
        ("20261124 09:31:00 US/Eastern", 150.5, 150.75, 150.0, 150.1, D("8000"), D("150.3"), 17),
    ]  # fmt: skip
    assert a[-1] == ("historicalDataEnd", (4, "20261124 09:30:00", "20261124 09:32:00"))
    assert [args[1].close for n, args in b if n == "historicalData"] == [150.5, 150.1]
    assert b[-1] == ("historicalDataEnd", (4, "20261124 09:30:00", "20261124 09:32:00"))
    a, b = both(R.historical_data(4, "s", "e", []))
    assert a == [("historicalDataEnd", (4, "s", "e"))] == b
    a, b = both(R.historical_data_update(4, bars[1]))
    (x,) = [args[1] for n, args in a if n == "historicalDataUpdate"]
    assert (x.open, x.high, x.low, x.close, x.volume, x.wap, x.barCount) == (
        150.5, 150.75, 150.0, 150.1, D("8000"), D("150.3"), 17,
    )  # fmt: skip
    (x,) = [args[1] for n, args in b if n == "historicalDataUpdate"]
    assert (x.high, x.low, x.close, x.volume, x.average) == (150.75, 150.0, 150.1, 8000.0, 150.3)


def test_ib_async_real_wrapper_order_lifecycle() -> None:
    """ib_async's real IB/Wrapper state machine (not just its decoder) accepts our order flow:
    a trade keyed by (clientId, orderId), a fill with its commission, whatIf replies."""
    ib = ib_async.IB()
    dec = ib_async.decoder.Decoder(ib.wrapper, 178)

    def feed(frame: bytes) -> None:
        fields = frame[4:].decode().split("\0")
        fields.pop()
        dec.interpret(fields)

    with errors_logged("ib_async") as records:
        feed(R.next_valid_id(11))
        feed(R.managed_accounts(["DU1234567"]))
        snap = snapshot(LMT)
        feed(R.open_order(snap))
        feed(R.order_status(snap))
        feed(R.exec_details(-1, FILL))
        feed(R.commission_report(FILL))
        what_if = replace(LMT, order_id=20, what_if=True)
        feed(R.open_order(snapshot(what_if)))  # no result yet: margins say UNSET
        feed(R.open_order(snapshot(what_if, what_if=WHAT_IF)))
        feed(R.position("DU1234567", STK_SPEC, D(100), D("149.25")))
        feed(R.update_portfolio(STK, D(100), D("150.5"), D(15050), D("149.25"), D(125), D(0),
                                "DU1234567"))  # fmt: skip
    assert not records, [r.getMessage() for r in records]
    (trade,) = [t for t in ib.trades() if t.order.orderId == 11]
    assert (trade.order.clientId, trade.order.permId, trade.orderStatus.status) == (
        7, 1_000_001, "Submitted",
    )  # fmt: skip
    (fill,) = trade.fills
    assert (fill.execution.shares, fill.commissionReport.commission) == (60.0, 1.0)
    assert [(p.contract.conId, p.position) for p in ib.positions()] == [(265598, 100.0)]
    assert [p.marketValue for p in ib.portfolio()] == [15050.0]


def test_every_builder_is_checked_here() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    unchecked = [name for name in R.__all__ if f"R.{name}(" not in source]
    assert unchecked == []


def test_truncated_open_order_is_rejected_by_both_decoders() -> None:
    """Sanity check of the oracles: they do notice a missing field."""
    frame = R.open_order(snapshot(LMT))
    payload = frame[4:]
    cut = payload[: payload.rindex(b"\0", 0, len(payload) - 1) + 1]
    bad = struct.pack(">I", len(cut)) + cut
    with pytest.raises(Exception):  # noqa: B017 - ibapi raises BadMessage -> TypeError
        IbapiDecoderOracle().feed(bad)
    with pytest.raises(AssertionError, match="ib_async logged errors"):
        IbAsyncDecoderOracle().feed(bad)
    extra = encode_fields([9, 1, 5, "x"])
    with pytest.raises(AssertionError, match="ibapi logged errors"):
        IbapiDecoderOracle().feed(extra)


# ------------------------------------------------------------------------------------------------
# 2. both real encoders -> parse_request


def mk(lib: str, kind: str, **kw: Any) -> Any:
    classes = {
        ("ibapi", "contract"): ibapi.contract.Contract,
        ("ib_async", "contract"): ib_async.contract.Contract,
        ("ibapi", "leg"): ibapi.contract.ComboLeg,
        ("ib_async", "leg"): ib_async.contract.ComboLeg,
        ("ibapi", "order"): ibapi.order.Order,
        ("ib_async", "order"): ib_async.order.Order,
        ("ibapi", "oleg"): ibapi.order.OrderComboLeg,
        ("ib_async", "oleg"): ib_async.order.OrderComboLeg,
        ("ibapi", "tag"): ibapi.tag_value.TagValue,
        ("ib_async", "tag"): ib_async.objects.TagValue,
        ("ibapi", "filter"): ibapi.execution.ExecutionFilter,
        ("ib_async", "filter"): ib_async.objects.ExecutionFilter,
        ("ibapi", "dn"): ibapi.contract.DeltaNeutralContract,
        ("ib_async", "dn"): ib_async.contract.DeltaNeutralContract,
    }
    obj = classes[(lib, kind)]()
    for k, v in kw.items():
        setattr(obj, k, v)
    return obj


def tag(lib: str, t: str, v: str) -> Any:
    if lib == "ib_async":
        return ib_async.objects.TagValue(t, v)  # a NamedTuple
    return mk(lib, "tag", tag=t, value=v)


def client_for(lib: str) -> Any:
    return ibapi_client() if lib == "ibapi" else ib_async_client()


def sent_requests(client: Any) -> list[Q.Request]:
    if hasattr(client.wrapper, "calls"):
        assert client.wrapper.calls == [], client.wrapper.calls  # no client-side refusals
    frames = FrameReader().feed(b"".join(client.sent))
    assert len(frames) == len(client.sent)
    return [Q.parse_request(f) for f in frames]


def one_request(client: Any) -> Any:
    (req,) = sent_requests(client)
    return req


def stock(lib: str) -> Any:
    return mk(lib, "contract", conId=265598, symbol="AAPL", secType="STK", exchange="SMART",
              primaryExchange="NASDAQ", currency="USD")  # fmt: skip


def option(lib: str) -> Any:
    return mk(lib, "contract", symbol="AAPL", secType="OPT",
              lastTradeDateOrContractMonth="20261218", strike=200.0, right="C",
              multiplier="100", exchange="SMART", currency="USD")  # fmt: skip


def bag(lib: str) -> Any:
    legs = [mk(lib, "leg", conId=700001, ratio=1, action="BUY", exchange="SMART"),
            mk(lib, "leg", conId=700002, ratio=2, action="SELL", exchange="SMART")]  # fmt: skip
    return mk(lib, "contract", symbol="AAPL", secType="BAG", exchange="SMART", currency="USD",
              comboLegs=legs)  # fmt: skip


STOCK_EXPECTED = ContractSpec(
    con_id=265598, symbol="AAPL", sec_type="STK", exchange="SMART", primary_exchange="NASDAQ",
    currency="USD",
)  # fmt: skip
OPTION_EXPECTED = ContractSpec(
    symbol="AAPL", sec_type="OPT", last_trade_date="20261218", strike=D(200), right="C",
    multiplier="100", exchange="SMART", currency="USD",
)  # fmt: skip
BAG_EXPECTED = ContractSpec(
    symbol="AAPL", sec_type="BAG", exchange="SMART", currency="USD",
    combo_legs=(ComboLegSpec(700001, 1, "BUY", "SMART"), ComboLegSpec(700002, 2, "SELL", "SMART")),
)  # fmt: skip


@pytest.mark.parametrize("lib", LIBS)
def test_handshake_and_start_api(lib: str) -> None:
    if lib == "ibapi":
        hello = b"API\0" + comm.make_initial_msg("v100..226 +PACEAPI")
        assert parse_handshake_prefix(hello + b"xx") == (len(hello), 100, 226, "+PACEAPI")
    else:
        hello = b"API\0" + struct.pack(">I", 9) + b"v157..178"
        assert parse_handshake_prefix(hello) == (len(hello), 157, 178, "")
    for k in range(len(hello)):
        assert parse_handshake_prefix(hello[:k]) is None
    client = client_for(lib)
    client.clientId, client.optCapab = 3, ""
    client.startApi()
    assert one_request(client) == Q.StartApi(client_id=3, optional_capabilities="")


@pytest.mark.parametrize("lib", LIBS)
def test_simple_requests(lib: str) -> None:
    c = client_for(lib)
    c.reqIds(1)
    c.reqCurrentTime()
    c.reqManagedAccts()
    c.cancelMktData(5)
    c.reqMarketDataType(3)
    c.reqOpenOrders()
    c.reqAllOpenOrders()
    c.reqAutoOpenOrders(True)
    c.reqCompletedOrders(False)
    c.reqAccountUpdates(True, "DU1")
    c.reqAccountUpdatesMulti(4, "DU1", "", False)
    c.cancelAccountUpdatesMulti(4)
    c.reqPositions()
    c.cancelPositions()
    c.reqAccountSummary(9, "All", "NetLiquidation,BuyingPower, $LEDGER:ALL")
    c.cancelAccountSummary(9)
    c.reqSecDefOptParams(6, "AAPL", "", "STK", 265598)
    c.cancelHistoricalData(4)
    c.reqMatchingSymbols(2, "AAP")
    c.reqPnL(3, "DU1", "")
    c.cancelPnL(3)
    if lib == "ibapi":
        c.reqGlobalCancel(ibapi.order_cancel.OrderCancel())
        cancel = ibapi.order_cancel.OrderCancel()
        cancel.manualOrderCancelTime = "20261124 14:30:00"
        c.cancelOrder(11, cancel)
    else:
        c.reqGlobalCancel()
        c.cancelOrder(11, "20261124 14:30:00")
    assert sent_requests(c) == [
        Q.ReqIds(1), Q.ReqCurrentTime(), Q.ReqManagedAccts(), Q.CancelMktData(5),
        Q.ReqMarketDataType(3), Q.ReqOpenOrders(), Q.ReqAllOpenOrders(), Q.ReqAutoOpenOrders(True),
        Q.ReqCompletedOrders(False), Q.ReqAccountUpdates(True, "DU1"),
        Q.ReqAccountUpdatesMulti(4, "DU1", "", False), Q.CancelAccountUpdatesMulti(4),
        Q.ReqPositions(), Q.CancelPositions(),
        Q.ReqAccountSummary(9, "All", ("NetLiquidation", "BuyingPower", "$LEDGER:ALL")),
        Q.CancelAccountSummary(9), Q.ReqSecDefOptParams(6, "AAPL", "", "STK", 265598),
        Q.CancelHistoricalData(4), Q.ReqMatchingSymbols(2, "AAP"), Q.ReqPnL(3, "DU1", ""),
        Q.CancelPnL(3), Q.ReqGlobalCancel(), Q.CancelOrder(11, "20261124 14:30:00"),
    ]  # fmt: skip


@pytest.mark.parametrize("lib", LIBS)
def test_req_contract_details(lib: str) -> None:
    c = client_for(lib)
    c.reqContractDetails(7, stock(lib))
    c.reqContractDetails(8, option(lib))
    a, b = sent_requests(c)
    assert a == Q.ReqContractDetails(7, STOCK_EXPECTED, False, "", "", "")
    assert b == Q.ReqContractDetails(8, OPTION_EXPECTED, False, "", "", "")


@pytest.mark.parametrize("lib", LIBS)
def test_req_mkt_data(lib: str) -> None:
    c = client_for(lib)
    c.reqMktData(5, stock(lib), "100,101,106", False, False, [])
    c.reqMktData(6, bag(lib), "", True, False, [])
    dn_contract = stock(lib)
    dn_contract.deltaNeutralContract = mk(lib, "dn", conId=265598, delta=0.5, price=150.25)
    c.reqMktData(7, dn_contract, "", False, True, [])
    a, b, d = sent_requests(c)
    assert a == Q.ReqMktData(5, STOCK_EXPECTED, None, "100,101,106", False, False, "")
    assert b == Q.ReqMktData(6, BAG_EXPECTED, None, "", True, False, "")
    assert d.delta_neutral == Q.DeltaNeutralSpec(265598, D("0.5"), D("150.25"))
    assert d.regulatory_snapshot


@pytest.mark.parametrize("lib", LIBS)
def test_req_executions_and_historical_data(lib: str) -> None:
    c = client_for(lib)
    c.reqExecutions(3, mk(lib, "filter", clientId=7, acctCode="DU1", time="20261124 00:00:00",
                          symbol="AAPL", secType="STK", exchange="SMART", side="BUY"))
    c.reqExecutions(4, mk(lib, "filter"))
    c.reqHistoricalData(4, stock(lib), "", "1 D", "1 min", "TRADES", 1, 1, False, [])
    c.reqHistoricalData(5, bag(lib), "20261124 16:00:00 US/Eastern", "2 W", "1 day", "MIDPOINT",
                        0, 2, True, [tag(lib, "a", "b")])  # fmt: skip
    e1, e2, h1, h2 = sent_requests(c)
    assert e1 == Q.ReqExecutions(3, 7, "DU1", "20261124 00:00:00", "AAPL", "STK", "SMART", "BUY")
    assert e2 == Q.ReqExecutions(4, 0, "", "", "", "", "", "")
    assert h1 == Q.ReqHistoricalData(4, STOCK_EXPECTED, False, "", "1 min", "1 D", True, "TRADES",
                                     1, False, "")  # fmt: skip
    assert h2 == Q.ReqHistoricalData(
        5, BAG_EXPECTED, False, "20261124 16:00:00 US/Eastern", "1 day", "2 W", False, "MIDPOINT",
        2, True, "a=b;",
    )  # fmt: skip


@pytest.mark.parametrize("lib", LIBS)
def test_data_feed_requests(lib: str) -> None:
    c = client_for(lib)
    c.reqPnLSingle(4, "DU1", "", 265598)
    c.cancelPnLSingle(4)
    c.reqRealTimeBars(5, stock(lib), 5, "MIDPOINT", True, [])
    c.cancelRealTimeBars(5)
    c.reqMktDepth(6, stock(lib), 10, True, [])
    c.cancelMktDepth(6, True)
    assert sent_requests(c) == [
        Q.ReqPnLSingle(4, "DU1", "", 265598), Q.CancelPnLSingle(4),
        Q.ReqRealTimeBars(5, STOCK_EXPECTED, 5, "MIDPOINT", True, ""), Q.CancelRealTimeBars(5),
        Q.ReqMktDepth(6, STOCK_EXPECTED, 10, True, ""), Q.CancelMktDepth(6, True),
    ]


def order(lib: str, **kw: Any) -> Any:
    o = mk(lib, "order", **kw)
    if lib == "ibapi" and isinstance(o.totalQuantity, float | int):
        o.totalQuantity = D(str(o.totalQuantity))
    return o


def place(lib: str, order_id: int, contract: Any, o: Any) -> OrderRequest:
    c = client_for(lib)
    c.placeOrder(order_id, contract, o)
    req = one_request(c)
    assert isinstance(req, Q.PlaceOrder)
    return req.order


def base(**kw: Any) -> OrderRequest:
    d: dict[str, Any] = {"contract": STOCK_EXPECTED, "tif": "", "transmit": True}
    d.update(kw)
    return OrderRequest(**d)


@pytest.mark.parametrize("lib", LIBS)
def test_place_order_stock_mkt_and_lmt(lib: str) -> None:
    got = place(lib, 11, stock(lib), order(lib, action="BUY", totalQuantity=100, orderType="MKT"))
    assert got == base(order_id=11, action="BUY", total_quantity=D(100), order_type="MKT")
    o = order(lib, action="SELL", totalQuantity=50, orderType="LMT", lmtPrice=150.25, tif="DAY",
              orderRef="req-123", account="DU1234567", outsideRth=True, ocaGroup="g1",
              goodAfterTime="20261124 09:30:00 US/Eastern", hidden=True)  # fmt: skip
    got = place(lib, 12, stock(lib), o)
    assert got == base(order_id=12, action="SELL", total_quantity=D(50), order_type="LMT",
                       lmt_price=D("150.25"), tif="DAY", order_ref="req-123",
                       account="DU1234567", outside_rth=True, oca_group="g1",
                       good_after_time="20261124 09:30:00 US/Eastern", hidden=True)  # fmt: skip


@pytest.mark.parametrize("lib", LIBS)
def test_place_order_option(lib: str) -> None:
    o = order(lib, action="BUY", totalQuantity=2, orderType="LMT", lmtPrice=3.45)
    got = place(lib, 13, option(lib), o)
    assert got == base(order_id=13, contract=OPTION_EXPECTED, action="BUY", total_quantity=D(2),
                       order_type="LMT", lmt_price=D("3.45"))  # fmt: skip


@pytest.mark.parametrize("lib", LIBS)
def test_place_order_bag(lib: str) -> None:
    o = order(lib, action="BUY", totalQuantity=1, orderType="LMT", lmtPrice=2.5,
              orderComboLegs=[mk(lib, "oleg", price=1.25), mk(lib, "oleg", price=UNSET_DOUBLE)],
              smartComboRoutingParams=[tag(lib, "NonGuaranteed", "1")])  # fmt: skip
    got = place(lib, 14, bag(lib), o)
    assert got == base(order_id=14, contract=BAG_EXPECTED, action="BUY", total_quantity=D(1),
                       order_type="LMT", lmt_price=D("2.5"),
                       order_combo_leg_prices=(D("1.25"), None),
                       smart_combo_routing_params=(("NonGuaranteed", "1"),))  # fmt: skip


@pytest.mark.parametrize("lib", LIBS)
def test_place_order_stp_lmt_gtc_adaptive(lib: str) -> None:
    o = order(lib, action="SELL", totalQuantity=10, orderType="STP LMT", lmtPrice=139.5,
              auxPrice=140.0, tif="GTC", algoStrategy="Adaptive",
              algoParams=[tag(lib, "adaptivePriority", "Normal")],
              goodTillDate="20261231 23:59:59 UTC", minQty=5, cashQty=1000.0)  # fmt: skip
    got = place(lib, 15, stock(lib), o)
    assert got == base(order_id=15, action="SELL", total_quantity=D(10), order_type="STP LMT",
                       lmt_price=D("139.5"), aux_price=D(140), tif="GTC",
                       algo_strategy="Adaptive", algo_params=(("adaptivePriority", "Normal"),),
                       good_till_date="20261231 23:59:59 UTC", min_qty=5,
                       cash_qty=D(1000))  # fmt: skip


@pytest.mark.parametrize("lib", LIBS)
def test_place_order_trail_bracket_child_what_if(lib: str) -> None:
    o = order(lib, action="SELL", totalQuantity=100, orderType="TRAIL", trailingPercent=1.5,
              trailStopPrice=145.0, tif="GTC")  # fmt: skip
    got = place(lib, 16, stock(lib), o)
    assert got == base(order_id=16, action="SELL", total_quantity=D(100), order_type="TRAIL",
                       trailing_percent=D("1.5"), trail_stop_price=D(145), tif="GTC")  # fmt: skip
    o = order(lib, action="SELL", totalQuantity=100, orderType="LMT", lmtPrice=160.0,
              parentId=15, transmit=False, ocaGroup="oca-15", ocaType=3)  # fmt: skip
    got = place(lib, 17, stock(lib), o)
    assert got == base(order_id=17, action="SELL", total_quantity=D(100), order_type="LMT",
                       lmt_price=D(160), parent_id=15, transmit=False, oca_group="oca-15",
                       oca_type=3)  # fmt: skip
    o = order(lib, action="BUY", totalQuantity=100, orderType="MKT", whatIf=True)
    got = place(lib, 18, stock(lib), o)
    assert got == base(order_id=18, action="BUY", total_quantity=D(100), order_type="MKT",
                       what_if=True)  # fmt: skip


@pytest.mark.parametrize("lib", LIBS)
def test_place_order_rare_blocks_are_consumed(lib: str) -> None:
    """Delta-neutral, scale, hedge, PEG BENCH/BEST/MID and IBKRATS blocks: all fields read."""
    cases = [
        order(lib, action="BUY", totalQuantity=1, orderType="VOL", volatility=0.3,
              volatilityType=2, deltaNeutralOrderType="LMT", deltaNeutralAuxPrice=1.0,
              deltaNeutralConId=265598, deltaNeutralOpenClose="O"),
        order(lib, action="BUY", totalQuantity=100, orderType="LMT", lmtPrice=150.0,
              scaleInitLevelSize=10, scaleSubsLevelSize=5, scalePriceIncrement=0.05,
              scalePriceAdjustValue=0.01, scalePriceAdjustInterval=60, hedgeType="D",
              hedgeParam="0.5"),
        order(lib, action="BUY", totalQuantity=100, orderType="PEG BENCH", referenceContractId=1,
              peggedChangeAmount=0.1, referenceChangeAmount=0.2, referenceExchangeId="NYSE"),
        order(lib, action="BUY", totalQuantity=100, orderType="PEG BEST", lmtPrice=150.0,
              minCompeteSize=100, competeAgainstBestOffset=math.inf, midOffsetAtWhole=0.01,
              midOffsetAtHalf=0.005),
        order(lib, action="BUY", totalQuantity=100, orderType="PEG MID", lmtPrice=150.0,
              midOffsetAtWhole=0.01, midOffsetAtHalf=0.005),
    ]  # fmt: skip
    for i, o in enumerate(cases):
        got = place(lib, 30 + i, stock(lib), o)
        assert (got.order_id, got.order_type) == (30 + i, o.orderType)
    ats = stock(lib)
    ats.exchange = "IBKRATS"
    got = place(lib, 40, ats, order(lib, action="BUY", totalQuantity=100, orderType="LMT",
                                    lmtPrice=150.0, minTradeQty=100))  # fmt: skip
    assert got.contract.exchange == "IBKRATS"
    dn = stock(lib)
    dn.deltaNeutralContract = mk(lib, "dn", conId=265598, delta=0.5, price=150.0)
    got = place(lib, 41, dn, order(lib, action="BUY", totalQuantity=1, orderType="MKT"))
    assert got.order_id == 41


def test_place_order_with_conditions_is_rejected_clearly() -> None:
    cond = PriceCondition(0, 265598, "SMART", True, 160.0)
    o = order("ibapi", action="BUY", totalQuantity=1, orderType="MKT", conditions=[cond])
    c = ibapi_client()
    c.placeOrder(19, stock("ibapi"), o)
    (fields,) = FrameReader().feed(c.sent[0])
    with pytest.raises(MalformedRequest, match="conditions are not supported") as info:
        Q.parse_request(fields)
    assert (info.value.msg_id, info.value.req_id) == (3, 19)


def test_spelling_differences_are_normalised() -> None:
    """ibapi and ib_async disagree on unset/infinity spellings (§4.2) but parse identically."""
    for lib_a, lib_b in [("ibapi", "ib_async")]:
        oa = order(lib_a, action="BUY", totalQuantity=100, orderType="PEG BEST", lmtPrice=1.0,
                   competeAgainstBestOffset=math.inf)  # fmt: skip
        ob = order(lib_b, action="BUY", totalQuantity=100, orderType="PEG BEST", lmtPrice=1.0,
                   competeAgainstBestOffset=math.inf)  # fmt: skip
        ca, cb = client_for(lib_a), client_for(lib_b)
        ca.placeOrder(1, stock(lib_a), oa)
        cb.placeOrder(1, stock(lib_b), ob)
        (fa,) = FrameReader().feed(ca.sent[0])
        (fb,) = FrameReader().feed(cb.sent[0])
        assert len(fa) == len(fb)
        assert "Infinity" in fa and "Infinite" in fb
        assert Q.parse_request(fa) == Q.parse_request(fb)


# ------------------------------------------------------------------------------------------------
# 3. properties and negative cases

field_text = st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=20)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.lists(st.lists(field_text, min_size=1, max_size=8), min_size=1, max_size=8),
       st.lists(st.integers(min_value=0, max_value=400), max_size=6))  # fmt: skip
def test_frames_round_trip_at_any_chunking(messages: list[list[str]], cuts: list[int]) -> None:
    data = b"".join(encode_fields(m) for m in messages)
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    reader = FrameReader()
    out: list[list[str]] = []
    for lo, hi in itertools.pairwise(points):
        out += reader.feed(data[lo:hi])
    assert out == messages
    assert reader.buffered == 0


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**30), max_value=10**30)
    | st.decimals(allow_nan=False, allow_infinity=False, places=12)
    | st.builds(Decimal, st.from_regex(r"-?[1-9]\d{0,5}E[+-][0-9]{1,2}", fullmatch=True))
)
@example(D("1E+2"))
@example(D("1.50"))
@example(D("-0.0000001"))
def test_decimal_fields_are_exact(d: Decimal) -> None:
    text = format_decimal(d)
    assert "E" not in text and "e" not in text
    got = FieldCursor(["0", text]).decimal("x")
    assert got == d
    assert str(got) == text or got.normalize() == d.normalize()


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_numbers_round_trip(x: float) -> None:
    text = format_number(x)
    assert "e" not in text and "E" not in text
    assert float(text) == x


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.integers(0, 2**31 - 2), st.integers(0, 100), st.decimals(places=4, min_value=0,
       max_value=10**6, allow_nan=False), st.decimals(places=0, min_value=0, max_value=10**7))
def test_tick_price_fast_path_property(req_id: int, tt: int, price: Decimal, size: Decimal) -> None:
    assert R.tick_price(req_id, tt, price, size, 1) == encode_fields(
        [1, 6, req_id, tt, price, size, 1]
    )


def test_format_decimal_plain_notation() -> None:
    assert [format_decimal(D(x)) for x in ("1E+2", "1.50", "1E-7", "-2.5E+3", "0")] == [
        "100", "1.50", "0.0000001", "-2500", "0",
    ]  # fmt: skip
    assert [format_number(x) for x in (None, 3, 1e16, 0.1, 2.0, D("7.25"))] == [
        "", "3", "10000000000000000", "0.1", "2", "7.25",
    ]  # fmt: skip
    assert format_number(math.inf) == "Infinity"
    with pytest.raises(ValueError):
        format_decimal(D("NaN"))


def test_field_cursor_unset_and_infinity_spellings() -> None:
    c = FieldCursor(["0", "", "1.7976931348623157e+308", "1.7976931348623157E308", "2147483647",
                     "9223372036854775807", "Infinity", "Infinite", "-1.5", "0.0"])  # fmt: skip
    assert [c.decimal(str(i)) for i in range(7)] == [None] * 5 + [D("Infinity")] * 2
    assert c.decimal("x") == D("-1.5")
    assert c.decimal("y") == 0
    assert c.remaining() == 0
    c = FieldCursor(["0", "", "2147483647", "12", "-1", "1", "0", "", "7"])
    assert [c.int("a"), c.int("b", 5), c.int("c"), c.int("d")] == [0, 5, 12, -1]
    assert [c.bool("e"), c.bool("f"), c.bool("g"), c.bool("h")] == [True, False, False, True]
    with pytest.raises(MalformedRequest, match=r"field 9 \(z\) is missing"):
        c.str("z")
    for bad in ("NaN", "nan", "sNaN", "abc", "1e999", "1.5.5"):
        with pytest.raises(MalformedRequest, match=r"number|range"):
            FieldCursor(["3", bad], "placeOrder").decimal("lmtPrice")
    with pytest.raises(MalformedRequest, match="boolean"):
        FieldCursor(["3", "yes"]).bool("transmit")


def test_unset_constants_match_the_real_clients() -> None:
    assert float(WIRE_UNSET_DOUBLE) == UNSET_DOUBLE
    assert Decimal(WIRE_UNSET_DOUBLE) != UNSET_DECIMAL  # ibapi maps the string, not the value


def stock_lmt_fields() -> list[str]:
    c = ibapi_client()
    c.placeOrder(11, stock("ibapi"), order("ibapi", action="BUY", totalQuantity=100,
                                           orderType="LMT", lmtPrice=150.25))  # fmt: skip
    (fields,) = FrameReader().feed(c.sent[0])
    return fields


def test_malformed_place_orders() -> None:
    good = stock_lmt_fields()
    assert len(good) == 114  # tws-protocol.md §4.3: a plain order has 114 fields
    bad_id = ["3", "abc", *good[2:]]
    with pytest.raises(MalformedRequest, match=r"placeOrder: field 1 \(orderId\)"):
        Q.parse_request(bad_id)
    nan = list(good)
    nan[19] = "NaN"
    with pytest.raises(MalformedRequest, match="lmtPrice") as info:
        Q.parse_request(nan)
    assert info.value.req_id == 11
    with pytest.raises(MalformedRequest, match="unexpected trailing"):
        Q.parse_request([*good, "x"])
    for k in range(1, len(good)):
        with pytest.raises(MalformedRequest):
            Q.parse_request(good[:k])
    with pytest.raises(MalformedRequest, match="totalQuantity"):
        Q.parse_request([*good[:17], "", *good[18:]])


def test_unknown_and_garbage_requests() -> None:
    with pytest.raises(UnknownRequest) as info:
        Q.parse_request(["999", "1"])
    assert info.value.msg_id == 999
    with pytest.raises(MalformedRequest):
        Q.parse_request(["x"])
    with pytest.raises(MalformedRequest):
        Q.parse_request([])
    with pytest.raises(MalformedRequest, match="clientId"):
        Q.parse_request(["71", "2", "one", ""])


def test_oversize_frame_is_refused() -> None:
    reader = FrameReader(max_size=1024)
    assert reader.feed(encode_fields(["x" * 1000])) == [["x" * 1000]]
    with pytest.raises(FrameError):
        reader.feed(struct.pack(">I", 1025))
    with pytest.raises(FrameError):
        FrameReader().feed(struct.pack(">I", 2**31))


def test_garbage_handshake() -> None:
    with pytest.raises(HandshakeError):
        parse_handshake_prefix(b"GET / HTTP/1.1\r\n")
    with pytest.raises(HandshakeError):
        parse_handshake_prefix(b"AP\x01")
    with pytest.raises(HandshakeError):
        parse_handshake_prefix(b"API\0" + struct.pack(">I", 5) + b"v1x.2")
    with pytest.raises(HandshakeError):
        parse_handshake_prefix(b"API\0" + struct.pack(">I", 9) + b"v178..100")
    with pytest.raises(HandshakeError):
        parse_handshake_prefix(b"API\0" + struct.pack(">I", 1 << 20))


def test_handshake_reply_is_understood_by_both_clients() -> None:
    reply = encode_handshake_reply(178, "20261124 06:07:01 EST")
    assert reply == b"\x00\x00\x00\x1a178\x0020261124 06:07:01 EST\x00"
    size, msg, rest = comm.read_msg(reply)
    assert (size, rest) == (26, b"")
    assert comm.read_fields(msg) == (b"178", b"20261124 06:07:01 EST")
    client = ib_async.client.Client(None)
    client._onSocketHasData(reply[:10])  # also checks its framing across a split
    client.startApi = lambda: None  # type: ignore[method-assign]
    client.wrapper = type("W", (), {"connectAck": lambda self: None})()
    client._onSocketHasData(reply[10:])
    assert client.serverVersion() == 178
