"""Order messages in the protobuf era (re-exported by proto_replies.py), and the framing and
contract helpers both protobuf reply modules share. Pure: no I/O.

Public API (the twins of ``order_replies.py``):

- ``open_order(snapshot)``, ``open_order_end()``, ``order_status(snapshot, mkt_cap_price=None)``,
  ``completed_order(snapshot, completed_time="", completed_status="")``,
  ``completed_orders_end()``: one framed ``bytes`` each.
- ``frame(out_id, message) -> bytes``: ``uint32_be(len) + uint32_be(out_id + 200) + protobuf``.
- ``contract_proto(...)``: a ``Contract`` message with the text era's values.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ibapi.protobuf import (
    CompletedOrder_pb2,
    CompletedOrdersEnd_pb2,
    Contract_pb2,
    OpenOrder_pb2,
    OpenOrdersEnd_pb2,
    Order_pb2,
    OrderStatus_pb2,
)

from ..model import ContractSpec, OrderRequest, OrderSnapshot, WhatIfResult
from .ids import PROTOBUF_OFFSET, Out
from .wire import encode_binary
from .wire import format_number as num

__all__ = [
    "UNSET_DOUBLE",
    "Number",
    "Proto",
    "completed_order",
    "completed_orders_end",
    "contract_proto",
    "frame",
    "open_order",
    "open_order_end",
    "order_status",
]

Proto = Any  # a generated protobuf message (ibapi's modules carry no type information)
Number = Decimal | int | float
UNSET_DOUBLE = 1.7976931348623157e308  # IB's "unset" double


def frame(out_id: int, message: Proto) -> bytes:
    return encode_binary(out_id + PROTOBUF_OFFSET, message.SerializeToString())


def contract_proto(*, con_id: int, symbol: str, sec_type: str, last_trade_date: str,
                   strike: Number, right: str, multiplier: str, exchange: str,
                   primary_exchange: str = "", currency: str, local_symbol: str,
                   trading_class: str) -> Proto:
    """A Contract message; empty texts are left out (ibapi reads them as ""), the strike is
    always sent (the text era sends 0 for none), the multiplier as a number when there is one."""
    c = Contract_pb2.Contract(conId=con_id, strike=float(strike))
    for name, value in (("symbol", symbol), ("secType", sec_type),
                        ("lastTradeDateOrContractMonth", last_trade_date), ("right", right),
                        ("exchange", exchange), ("primaryExch", primary_exchange),
                        ("currency", currency), ("localSymbol", local_symbol),
                        ("tradingClass", trading_class)):  # fmt: skip
        if value:
            setattr(c, name, value)
    if multiplier:
        c.multiplier = float(multiplier)
    return c


def _order_contract(s: OrderSnapshot) -> Proto:
    """The resolved instrument when there is one, else the request's contract; BAG legs carry
    the order's per-leg prices."""
    req: ContractSpec = s.request.contract
    inst = s.instrument
    if inst is None:
        c = contract_proto(
            con_id=req.con_id, symbol=req.symbol, sec_type=req.sec_type,
            last_trade_date=req.last_trade_date, strike=req.strike or 0, right=req.right,
            multiplier=req.multiplier, exchange=req.exchange, currency=req.currency,
            local_symbol=req.local_symbol, trading_class=req.trading_class,
        )  # fmt: skip
    else:
        c = contract_proto(
            con_id=inst.con_id, symbol=inst.symbol, sec_type=inst.sec_type,
            last_trade_date=inst.last_trade_date, strike=inst.strike or 0, right=inst.right,
            multiplier=str(inst.multiplier) if inst.sec_type in ("OPT", "FOP", "FUT") else "",
            exchange=req.exchange or inst.exchange, currency=inst.currency,
            local_symbol=inst.local_symbol, trading_class=inst.trading_class,
        )  # fmt: skip
    prices = s.request.order_combo_leg_prices
    for i, leg in enumerate(req.combo_legs):
        p = c.comboLegs.add(conId=leg.con_id, ratio=leg.ratio, action=leg.action,
                            exchange=leg.exchange, openClose=0, shortSalesSlot=0,
                            designatedLocation="", exemptCode=-1)
        if i < len(prices) and prices[i] is not None:
            p.perLegPrice = float(prices[i])  # type: ignore[arg-type]
    return c


_OPTIONAL_DOUBLES = (("lmtPrice", "lmt_price"), ("auxPrice", "aux_price"),
                     ("trailStopPrice", "trail_stop_price"),
                     ("trailingPercent", "trailing_percent"), ("cashQty", "cash_qty"))


def _order(r: OrderRequest, s: OrderSnapshot) -> Proto:
    o = Order_pb2.Order(
        orderId=r.order_id, clientId=s.client_id, permId=s.perm_id, parentId=r.parent_id,
        action=r.action, totalQuantity=num(r.total_quantity), displaySize=r.display_size,
        orderType=r.order_type, tif=r.tif, account=s.account, allOrNone=r.all_or_none,
        outsideRth=r.outside_rth, hidden=r.hidden, goodAfterTime=r.good_after_time,
        goodTillDate=r.good_till_date, ocaGroup=r.oca_group, orderRef=r.order_ref,
        ocaType=r.oca_type, triggerMethod=r.trigger_method, whatIf=r.what_if,
        modelCode=r.model_code, origin=0, shortSaleSlot=0, exemptCode=-1,
        discretionaryAmt=0.0, volatilityType=0, referencePriceType=0, usePriceMgmtAlgo=0,
    )  # fmt: skip
    for proto_name, name in _OPTIONAL_DOUBLES:
        value = getattr(r, name)
        if value is not None:
            setattr(o, proto_name, float(value))
    if r.min_qty is not None:
        o.minQty = r.min_qty
    o.smartComboRoutingParams.update(dict(r.smart_combo_routing_params))
    if r.algo_strategy:
        o.algoStrategy = r.algo_strategy
        o.algoParams.update(dict(r.algo_params))
    return o


def _what_if(state: Proto, w: WhatIfResult | None) -> None:
    if w is None:
        return
    for name, value in (
        ("initMarginBefore", w.init_margin_before), ("maintMarginBefore", w.maint_margin_before),
        ("equityWithLoanBefore", w.equity_with_loan_before),
        ("initMarginChange", w.init_margin_change), ("maintMarginChange", w.maint_margin_change),
        ("equityWithLoanChange", w.equity_with_loan_change),
        ("initMarginAfter", w.init_margin_after), ("maintMarginAfter", w.maint_margin_after),
        ("equityWithLoanAfter", w.equity_with_loan_after),
        ("commissionAndFees", w.commission), ("minCommissionAndFees", w.min_commission),
        ("maxCommissionAndFees", w.max_commission),
    ):  # fmt: skip
        setattr(state, name, float(value))
    state.commissionAndFeesCurrency = w.commission_currency
    if w.warning_text:
        state.warningText = w.warning_text


def open_order(s: OrderSnapshot) -> bytes:
    msg = OpenOrder_pb2.OpenOrder(orderId=s.request.order_id, contract=_order_contract(s),
                                  order=_order(s.request, s))
    msg.orderState.status = s.status
    _what_if(msg.orderState, s.what_if)
    return frame(Out.OPEN_ORDER, msg)


def open_order_end() -> bytes:
    return frame(Out.OPEN_ORDER_END, OpenOrdersEnd_pb2.OpenOrdersEnd())


def order_status(s: OrderSnapshot, mkt_cap_price: Number | None = None) -> bytes:
    r = s.request
    msg = OrderStatus_pb2.OrderStatus(
        orderId=r.order_id, status=s.status, filled=num(s.filled), remaining=num(s.remaining),
        avgFillPrice=float(s.avg_fill_price), permId=s.perm_id, parentId=r.parent_id,
        lastFillPrice=float(s.last_fill_price), clientId=s.client_id, whyHeld=s.why_held,
        mktCapPrice=0.0 if mkt_cap_price is None else float(mkt_cap_price),
    )  # fmt: skip
    return frame(Out.ORDER_STATUS, msg)


def completed_order(
    s: OrderSnapshot, completed_time: str = "", completed_status: str = ""
) -> bytes:
    order = _order(s.request, s)
    order.filledQuantity = num(s.filled)
    order.routeMarketableToBbo = 0
    for absent in ("orderId", "clientId", "parentId", "usePriceMgmtAlgo"):  # not in text
        order.ClearField(absent)
    msg = CompletedOrder_pb2.CompletedOrder(contract=_order_contract(s), order=order)
    msg.orderState.status = s.status
    if completed_time:
        msg.orderState.completedTime = completed_time
    if completed_status:
        msg.orderState.completedStatus = completed_status
    return frame(Out.COMPLETED_ORDER, msg)


def completed_orders_end() -> bytes:
    return frame(Out.COMPLETED_ORDERS_END, CompletedOrdersEnd_pb2.CompletedOrdersEnd())
