"""placeOrder (message 3) at server version 178, and the contract block requests share. Pure.

Public API:

- ``parse_place_order(cursor) -> OrderRequest``: reads every field both real encoders send for
  ordinary, BAG, algo, delta-neutral, scale, hedge, PEG BENCH/BEST/MID orders (the layout of
  ibapi ``EClient.placeOrder`` below ``MIN_SERVER_VER_CUSTOMER_ACCOUNT``; tws-protocol.md §4.3).
  Orders with conditions raise ``MalformedRequest`` ("order conditions are not supported").
- ``read_contract(cursor) -> ContractSpec``: the 12-field contract block
  (conId .. tradingClass).
- ``read_count(cursor, name) -> int``: a repeat count, 0..10000.

Fields the simulator does not act on are read (type-checked) and dropped.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from .model import ComboLegSpec, ContractSpec, OrderRequest
from .wire import FieldCursor, MalformedRequest

__all__ = ["parse_place_order", "read_contract", "read_count"]

_PEG_BENCH = ("PEG BENCH", "PEGBENCH")
_PEG_BEST = ("PEG BEST", "PEGBEST")
_PEG_MID = ("PEG MID", "PEGMID")
_INF = Decimal("Infinity")


def read_count(c: FieldCursor, name: str) -> int:
    n = c.int(name)
    if n < 0 or n > 10_000:
        raise MalformedRequest(c.msg_id, f"{c.message}: {name} {n} is out of range", c.req_id)
    return n


def _strike(d: Decimal | None) -> Decimal | None:
    # ib_async spells an unset strike "0.0", ibapi "": both mean "no strike".
    return None if d is None or d == 0 else d


def read_contract(c: FieldCursor) -> ContractSpec:
    """conId, symbol, secType, ltd, strike, right, multiplier, exchange, primaryExchange,
    currency, localSymbol, tradingClass."""
    return ContractSpec(
        con_id=c.int("conId"),
        symbol=c.str("symbol"),
        sec_type=c.str("secType"),
        last_trade_date=c.str("lastTradeDateOrContractMonth"),
        strike=_strike(c.decimal("strike")),
        right=c.str("right"),
        multiplier=c.str("multiplier"),
        exchange=c.str("exchange"),
        primary_exchange=c.str("primaryExchange"),
        currency=c.str("currency"),
        local_symbol=c.str("localSymbol"),
        trading_class=c.str("tradingClass"),
    )


def _tag_values(c: FieldCursor, name: str) -> tuple[tuple[str, str], ...]:
    n = read_count(c, name)
    return tuple((c.str(f"{name}.tag"), c.str(f"{name}.value")) for _ in range(n))


def _bag_legs(c: FieldCursor) -> tuple[ComboLegSpec, ...]:
    legs = []
    for _ in range(read_count(c, "comboLegsCount")):
        leg = ComboLegSpec(
            con_id=c.int("leg.conId"),
            ratio=c.int("leg.ratio"),
            action=c.str("leg.action"),
            exchange=c.str("leg.exchange"),
        )
        c.int("leg.openClose")
        c.int("leg.shortSaleSlot")
        c.str("leg.designatedLocation")
        c.int("leg.exemptCode", -1)
        legs.append(leg)
    return tuple(legs)


def parse_place_order(c: FieldCursor) -> OrderRequest:
    order_id = c.int("orderId")
    c.req_id = order_id
    contract = read_contract(c)
    c.str("secIdType")
    c.str("secId")
    action = c.str("action")
    total_quantity = c.decimal("totalQuantity")
    if total_quantity is None or not total_quantity.is_finite():
        raise MalformedRequest(c.msg_id, "placeOrder: totalQuantity is missing", order_id)
    order_type = c.str("orderType")
    lmt_price = c.decimal("lmtPrice")
    aux_price = c.decimal("auxPrice")
    tif = c.str("tif")
    oca_group = c.str("ocaGroup")
    account = c.str("account")
    c.str("openClose")
    c.int("origin")
    order_ref = c.str("orderRef")
    transmit = c.bool("transmit")
    parent_id = c.int("parentId")
    c.bool("blockOrder")
    c.bool("sweepToFill")
    display_size = c.int("displaySize")
    trigger_method = c.int("triggerMethod")
    outside_rth = c.bool("outsideRth")
    hidden = c.bool("hidden")

    combo_leg_prices: tuple[Decimal | None, ...] = ()
    smart_params: tuple[tuple[str, str], ...] = ()
    if contract.sec_type == "BAG":
        contract = replace(contract, combo_legs=_bag_legs(c))
        n = read_count(c, "orderComboLegsCount")
        combo_leg_prices = tuple(c.decimal("orderComboLeg.price") for _ in range(n))
        smart_params = _tag_values(c, "smartComboRoutingParams")

    c.str("sharesAllocation")
    c.decimal("discretionaryAmt")
    good_after_time = c.str("goodAfterTime")
    good_till_date = c.str("goodTillDate")
    c.str("faGroup")
    c.str("faMethod")
    c.str("faPercentage")
    model_code = c.str("modelCode")
    c.int("shortSaleSlot")
    c.str("designatedLocation")
    c.int("exemptCode", -1)
    oca_type = c.int("ocaType")
    c.str("rule80A")
    c.str("settlingFirm")
    all_or_none = c.bool("allOrNone")
    min_qty_raw = c.int("minQty", -1)
    c.decimal("percentOffset")
    c.bool("eTradeOnly")
    c.bool("firmQuoteOnly")
    c.decimal("nbboPriceCap")
    c.int("auctionStrategy")
    c.decimal("startingPrice")
    c.decimal("stockRefPrice")
    c.decimal("delta")
    c.decimal("stockRangeLower")
    c.decimal("stockRangeUpper")
    c.bool("overridePercentageConstraints")
    c.decimal("volatility")
    c.int("volatilityType")
    dn_order_type = c.str("deltaNeutralOrderType")
    c.decimal("deltaNeutralAuxPrice")
    if dn_order_type:
        c.int("deltaNeutralConId")
        c.str("deltaNeutralSettlingFirm")
        c.str("deltaNeutralClearingAccount")
        c.str("deltaNeutralClearingIntent")
        c.str("deltaNeutralOpenClose")
        c.bool("deltaNeutralShortSale")
        c.int("deltaNeutralShortSaleSlot")
        c.str("deltaNeutralDesignatedLocation")
    c.bool("continuousUpdate")
    c.int("referencePriceType")
    trail_stop_price = c.decimal("trailStopPrice")
    trailing_percent = c.decimal("trailingPercent")
    c.int("scaleInitLevelSize")
    c.int("scaleSubsLevelSize")
    increment = c.decimal("scalePriceIncrement")
    if increment is not None and increment > 0:
        c.decimal("scalePriceAdjustValue")
        c.int("scalePriceAdjustInterval")
        c.decimal("scaleProfitOffset")
        c.bool("scaleAutoReset")
        c.int("scaleInitPosition")
        c.int("scaleInitFillQty")
        c.bool("scaleRandomPercent")
    c.str("scaleTable")
    c.str("activeStartTime")
    c.str("activeStopTime")
    if c.str("hedgeType"):
        c.str("hedgeParam")
    c.bool("optOutSmartRouting")
    c.str("clearingAccount")
    c.str("clearingIntent")
    c.bool("notHeld")
    if c.bool("deltaNeutralContractPresent"):
        c.int("deltaNeutralContract.conId")
        c.decimal("deltaNeutralContract.delta")
        c.decimal("deltaNeutralContract.price")
    algo_strategy = c.str("algoStrategy")
    algo_params = _tag_values(c, "algoParams") if algo_strategy else ()
    c.str("algoId")
    what_if = c.bool("whatIf")
    c.str("orderMiscOptions")
    c.bool("solicited")
    c.bool("randomizeSize")
    c.bool("randomizePrice")
    if order_type in _PEG_BENCH:
        c.int("referenceContractId")
        c.bool("isPeggedChangeAmountDecrease")
        c.decimal("peggedChangeAmount")
        c.decimal("referenceChangeAmount")
        c.str("referenceExchangeId")
    if read_count(c, "conditionsCount"):
        raise MalformedRequest(c.msg_id, "placeOrder: order conditions are not supported", order_id)
    c.str("adjustedOrderType")
    c.decimal("triggerPrice")
    c.decimal("lmtPriceOffset")
    c.decimal("adjustedStopPrice")
    c.decimal("adjustedStopLimitPrice")
    c.decimal("adjustedTrailingAmount")
    c.int("adjustableTrailingUnit")
    c.str("extOperator")
    c.str("softDollarTier.name")
    c.str("softDollarTier.value")
    cash_qty = c.decimal("cashQty")
    c.str("mifid2DecisionMaker")
    c.str("mifid2DecisionAlgo")
    c.str("mifid2ExecutionTrader")
    c.str("mifid2ExecutionAlgo")
    c.bool("dontUseAutoPriceForHedge")
    c.bool("isOmsContainer")
    c.bool("discretionaryUpToLimitPrice")
    c.bool("usePriceMgmtAlgo")
    c.int("duration")
    c.int("postToAts")
    c.bool("autoCancelParent")
    c.str("advancedErrorOverride")
    c.str("manualOrderTime")
    if contract.exchange == "IBKRATS":
        c.int("minTradeQty")
    mid_offsets = order_type in _PEG_MID
    if order_type in _PEG_BEST:
        c.int("minCompeteSize")
        mid_offsets = c.decimal("competeAgainstBestOffset") == _INF
    if mid_offsets:
        c.decimal("midOffsetAtWhole")
        c.decimal("midOffsetAtHalf")

    return OrderRequest(
        order_id=order_id,
        contract=contract,
        action=action,
        total_quantity=total_quantity,
        order_type=order_type,
        lmt_price=lmt_price,
        aux_price=aux_price,
        tif=tif,
        oca_group=oca_group,
        account=account,
        order_ref=order_ref,
        transmit=transmit,
        parent_id=parent_id,
        outside_rth=outside_rth,
        trailing_percent=trailing_percent,
        trail_stop_price=trail_stop_price,
        what_if=what_if,
        order_combo_leg_prices=combo_leg_prices,
        smart_combo_routing_params=smart_params,
        good_after_time=good_after_time,
        good_till_date=good_till_date,
        algo_strategy=algo_strategy,
        algo_params=algo_params,
        hidden=hidden,
        display_size=display_size,
        all_or_none=all_or_none,
        min_qty=None if min_qty_raw < 0 else min_qty_raw,
        oca_type=oca_type,
        trigger_method=trigger_method,
        cash_qty=cash_qty,
        model_code=model_code,
    )
