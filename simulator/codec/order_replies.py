"""Order messages the server sends at version 178 (re-exported by responses.py). Pure.

Public API:

- ``open_order(snapshot) -> bytes``: openOrder (5), no version field, the full ~150-field layout
  of ibapi ``processOpenOrder`` / ib_async ``Decoder.openOrder`` (tws-protocol.md §3.5).
  whatIf margin/commission fields come from ``snapshot.what_if``; combo legs from
  ``snapshot.request.contract.combo_legs``.
- ``open_order_end() -> bytes``
- ``order_status(snapshot, mkt_cap_price=None) -> bytes``: orderStatus (3), no version field,
  carrying the placing connection's client id (ib_async keys trades by (clientId, orderId)).
- ``completed_order(snapshot, completed_time="", completed_status="") -> bytes``:
  completedOrder (101), ibapi ``processCompletedOrderMsg`` layout.
- ``completed_orders_end() -> bytes``: (102), no version field.

Unset doubles that ibapi reads without SHOW_UNSET (triggerPrice, lmtPriceOffset, adjusted*,
cashQty) are sent as UNSET_DOUBLE so "unset" survives (G12); other unset fields are "".
"""

from __future__ import annotations

from ..model import ContractSpec, OrderRequest, OrderSnapshot, WhatIfResult
from .ids import Out
from .wire import UNSET_DOUBLE, Field, encode_fields
from .wire import format_number as num

__all__ = [
    "completed_order",
    "completed_orders_end",
    "open_order",
    "open_order_end",
    "order_status",
]

_PEG_BENCH = ("PEG BENCH", "PEGBENCH")


def _contract(s: OrderSnapshot) -> list[Field]:
    """conId, symbol, secType, ltd, strike, right, multiplier, exchange, currency, localSymbol,
    tradingClass: the resolved instrument when there is one, else the request's contract."""
    req: ContractSpec = s.request.contract
    inst = s.instrument
    if inst is None:
        return [
            req.con_id, req.symbol, req.sec_type, req.last_trade_date, num(req.strike or 0),
            req.right, req.multiplier, req.exchange, req.currency, req.local_symbol,
            req.trading_class,
        ]  # fmt: skip
    mult = str(inst.multiplier) if inst.sec_type in ("OPT", "FOP", "FUT") else ""
    return [
        inst.con_id, inst.symbol, inst.sec_type, inst.last_trade_date, num(inst.strike or 0),
        inst.right, mult, req.exchange or inst.exchange, inst.currency, inst.local_symbol,
        inst.trading_class,
    ]  # fmt: skip


def _combo(r: OrderRequest) -> list[Field]:
    """comboLegsDescrip, legs, order combo leg prices, smart combo routing params."""
    legs = r.contract.combo_legs
    out: list[Field] = ["", len(legs)]
    for leg in legs:
        out += [leg.con_id, leg.ratio, leg.action, leg.exchange, 0, 0, "", -1]
    out.append(len(r.order_combo_leg_prices))
    out += [num(p) for p in r.order_combo_leg_prices]
    out.append(len(r.smart_combo_routing_params))
    for tag, value in r.smart_combo_routing_params:
        out += [tag, value]
    return out


def _algo(r: OrderRequest) -> list[Field]:
    if not r.algo_strategy:
        return [""]
    out: list[Field] = [r.algo_strategy, len(r.algo_params)]
    for tag, value in r.algo_params:
        out += [tag, value]
    return out


def _what_if(w: WhatIfResult | None, what_if_order: bool) -> list[Field]:
    """9 margin strings, commission, minCommission, maxCommission, currency, warningText.

    Without a result: "" except for a whatIf order, whose margins say UNSET_DOUBLE (ib_async
    calls float() on initMarginChange of whatIf orders; "" would raise in its wrapper)."""
    if w is None:
        margin: Field = UNSET_DOUBLE if what_if_order else ""
        return [*([margin] * 9), "", "", "", "", ""]
    return [
        num(w.init_margin_before), num(w.maint_margin_before), num(w.equity_with_loan_before),
        num(w.init_margin_change), num(w.maint_margin_change), num(w.equity_with_loan_change),
        num(w.init_margin_after), num(w.maint_margin_after), num(w.equity_with_loan_after),
        num(w.commission), num(w.min_commission), num(w.max_commission),
        w.commission_currency, w.warning_text,
    ]  # fmt: skip


def _peg_bench(r: OrderRequest) -> list[Field]:
    return [0, False, "", "", ""] if r.order_type in _PEG_BENCH else []


def _min_qty(r: OrderRequest) -> Field:
    return "" if r.min_qty is None else r.min_qty


def open_order(s: OrderSnapshot) -> bytes:
    r = s.request
    f: list[Field] = [Out.OPEN_ORDER, r.order_id, *_contract(s)]
    f += [
        r.action, num(r.total_quantity), r.order_type, num(r.lmt_price), num(r.aux_price), r.tif,
        r.oca_group, s.account, "", 0, r.order_ref, s.client_id, s.perm_id, r.outside_rth,
        r.hidden, "0", r.good_after_time,
        "", "", "", "",  # sharesAllocation, faGroup, faMethod, faPercentage
        r.model_code, r.good_till_date, "", "", "",  # rule80A, percentOffset, settlingFirm
        0, "", -1,  # shortSaleSlot, designatedLocation, exemptCode
        0, "", "", "", "", "",  # auctionStrategy, startingPrice .. stockRangeUpper
        r.display_size, False, False, r.all_or_none, _min_qty(r), r.oca_type,
        False, False, "",  # eTradeOnly, firmQuoteOnly, nbboPriceCap
        r.parent_id, r.trigger_method,
        "", 0, "", "",  # volatility, volatilityType, deltaNeutralOrderType, deltaNeutralAuxPrice
        False, 0,  # continuousUpdate, referencePriceType
        num(r.trail_stop_price), num(r.trailing_percent), "", "",  # basisPoints(+Type)
    ]  # fmt: skip
    f += _combo(r)
    f += ["", "", ""]  # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement
    f += ["", False, "", "", False, False]  # hedgeType, optOutSmartRouting .. notHeld, dn
    f += _algo(r)
    f += [False, r.what_if, s.status, *_what_if(s.what_if, r.what_if)]  # solicited ..
    f += [False, False]  # randomizeSize, randomizePrice
    f += _peg_bench(r)
    f += [0]  # conditions
    f += [
        "", UNSET_DOUBLE, _unset(r.trail_stop_price), UNSET_DOUBLE,  # adjustedOrderType ..
        UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, 0,  # adjusted stop/stop-limit/trailing, unit
        "", "", "",  # softDollarTier name, value, displayName
        _unset(r.cash_qty), False, False, False, "",  # .. usePriceMgmtAlgo
        "", "", False,  # duration, postToAts, autoCancelParent
        "", "", "", "", "",  # minTradeQty .. midOffsetAtHalf
    ]  # fmt: skip
    return encode_fields(f)


def _unset(v: object) -> Field:
    return UNSET_DOUBLE if v is None else num(v)  # type: ignore[arg-type]


def open_order_end() -> bytes:
    return encode_fields((Out.OPEN_ORDER_END, 1))


def order_status(s: OrderSnapshot, mkt_cap_price: object = None) -> bytes:
    r = s.request
    return encode_fields(
        (
            Out.ORDER_STATUS,
            r.order_id, s.status, num(s.filled), num(s.remaining), num(s.avg_fill_price),
            s.perm_id, r.parent_id, num(s.last_fill_price), s.client_id, s.why_held,
            num(mkt_cap_price),  # type: ignore[arg-type]
        )
    )  # fmt: skip


def completed_order(
    s: OrderSnapshot, completed_time: str = "", completed_status: str = ""
) -> bytes:
    r = s.request
    f: list[Field] = [Out.COMPLETED_ORDER, *_contract(s)]
    f += [
        r.action, num(r.total_quantity), r.order_type, num(r.lmt_price), num(r.aux_price), r.tif,
        r.oca_group, s.account, "", 0, r.order_ref, s.perm_id, r.outside_rth, r.hidden, "0",
        r.good_after_time, "", "", "",  # faGroup, faMethod, faPercentage
        r.model_code, r.good_till_date, "", "", "",  # rule80A, percentOffset, settlingFirm
        0, "", -1,  # shortSaleSlot, designatedLocation, exemptCode
        "", "", "", "", "",  # startingPrice .. stockRangeUpper
        r.display_size, False, r.all_or_none, _min_qty(r), r.oca_type, r.trigger_method,
        "", 0, "", "",  # volatility, volatilityType, deltaNeutralOrderType, deltaNeutralAuxPrice
        False, 0, num(r.trail_stop_price), num(r.trailing_percent),
    ]  # fmt: skip
    f += _combo(r)
    f += ["", "", "", ""]  # scale x3, hedgeType
    f += ["", "", False, False]  # clearingAccount, clearingIntent, notHeld, dnContractPresent
    f += _algo(r)
    f += [False, s.status, False, False]
    f += _peg_bench(r)
    f += [0]  # conditions
    f += [
        _unset(r.trail_stop_price), UNSET_DOUBLE, _unset(r.cash_qty), False, False,
        "", num(s.filled), 0, False, "", False, False, "",  # autoCancelDate .. parentPermId
        completed_time, completed_status,
        "", "", "", "", "",  # minTradeQty .. midOffsetAtHalf
    ]  # fmt: skip
    return encode_fields(f)


def completed_orders_end() -> bytes:
    return encode_fields((Out.COMPLETED_ORDERS_END,))
