"""placeOrder (message 3) at server version 178, and the contract block requests share. Pure.

The placeOrder layout is a table (``PLACE_ORDER_LAYOUT``): each step reads one field, or a
block when its condition holds on the values read so far. Values with a key become the
``OrderRequest``'s fields; keys starting with "_" only steer later steps.

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

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from ..model import ComboLegSpec, ContractSpec, OrderRequest
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


Values = dict[str, object]


@dataclass(frozen=True)
class F:
    """One field: its wire name, its kind (s str, i int, i-1 int defaulting to -1, d decimal,
    b bool) and the key it is kept under (None: read, checked and dropped)."""

    name: str
    kind: str
    key: str | None = None


@dataclass(frozen=True)
class When:
    """Steps read only when ``test(values)`` holds."""

    test: Callable[[Values], bool]
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Call:
    """A block read by a function (repeat counts, checks)."""

    read: Callable[[FieldCursor, Values], None]


Step = F | When | Call

_READ: dict[str, Callable[[FieldCursor, str], object]] = {
    "s": FieldCursor.str,
    "i": FieldCursor.int,
    "i-1": lambda c, name: c.int(name, -1),
    "d": FieldCursor.decimal,
    "b": FieldCursor.bool,
}


def _total_quantity(c: FieldCursor, v: Values) -> None:
    q = c.decimal("totalQuantity")
    if q is None or not q.is_finite():
        raise MalformedRequest(c.msg_id, "placeOrder: totalQuantity is missing", c.req_id)
    v["total_quantity"] = q


def _bag_block(c: FieldCursor, v: Values) -> None:
    """Legs, order combo leg prices, smart combo routing params."""
    v["contract"] = replace(_contract(v), combo_legs=_bag_legs(c))
    n = read_count(c, "orderComboLegsCount")
    v["order_combo_leg_prices"] = tuple(c.decimal("orderComboLeg.price") for _ in range(n))
    v["smart_combo_routing_params"] = _tag_values(c, "smartComboRoutingParams")


def _algo_params(c: FieldCursor, v: Values) -> None:
    v["algo_params"] = _tag_values(c, "algoParams")


def _no_conditions(c: FieldCursor, v: Values) -> None:
    if read_count(c, "conditionsCount"):
        raise MalformedRequest(c.msg_id, "placeOrder: order conditions are not supported",
                               c.req_id)


def _is(key: str, *values: str) -> Callable[[Values], bool]:
    return lambda v: v.get(key) in values


def _truthy(key: str) -> Callable[[Values], bool]:
    return lambda v: bool(v.get(key))


def _positive(key: str) -> Callable[[Values], bool]:
    return lambda v: v.get(key) is not None and v[key] > 0  # type: ignore[operator]


def _contract(v: Values) -> ContractSpec:
    contract = v["contract"]
    assert isinstance(contract, ContractSpec)
    return contract


def _is_bag(v: Values) -> bool:
    return _contract(v).sec_type == "BAG"


def _at_ibkrats(v: Values) -> bool:
    return _contract(v).exchange == "IBKRATS"


def _mid_offsets(v: Values) -> bool:
    if v.get("order_type") in _PEG_BEST:
        return v.get("_compete_offset") == _INF
    return v.get("order_type") in _PEG_MID


def _fields(spec: str) -> tuple[F, ...]:
    """Dropped fields from "name:kind name:kind ..."."""
    return tuple(F(*item.split(":")) for item in spec.split())


# ibapi EClient.placeOrder below MIN_SERVER_VER_CUSTOMER_ACCOUNT, after orderId and the
# contract block (tws-protocol.md §4.3).
PLACE_ORDER_LAYOUT: tuple[Step, ...] = (
    *_fields("secIdType:s secId:s"),
    F("action", "s", "action"), Call(_total_quantity), F("orderType", "s", "order_type"),
    F("lmtPrice", "d", "lmt_price"), F("auxPrice", "d", "aux_price"), F("tif", "s", "tif"),
    F("ocaGroup", "s", "oca_group"), F("account", "s", "account"),
    *_fields("openClose:s origin:i"),
    F("orderRef", "s", "order_ref"), F("transmit", "b", "transmit"),
    F("parentId", "i", "parent_id"), *_fields("blockOrder:b sweepToFill:b"),
    F("displaySize", "i", "display_size"), F("triggerMethod", "i", "trigger_method"),
    F("outsideRth", "b", "outside_rth"), F("hidden", "b", "hidden"),
    When(_is_bag, (Call(_bag_block),)),
    *_fields("sharesAllocation:s discretionaryAmt:d"),
    F("goodAfterTime", "s", "good_after_time"), F("goodTillDate", "s", "good_till_date"),
    *_fields("faGroup:s faMethod:s faPercentage:s"),
    F("modelCode", "s", "model_code"),
    *_fields("shortSaleSlot:i designatedLocation:s exemptCode:i-1"),
    F("ocaType", "i", "oca_type"), *_fields("rule80A:s settlingFirm:s"),
    F("allOrNone", "b", "all_or_none"), F("minQty", "i-1", "min_qty"),
    *_fields("percentOffset:d eTradeOnly:b firmQuoteOnly:b nbboPriceCap:d auctionStrategy:i "
             "startingPrice:d stockRefPrice:d delta:d stockRangeLower:d stockRangeUpper:d "
             "overridePercentageConstraints:b volatility:d volatilityType:i"),
    F("deltaNeutralOrderType", "s", "_dn_order_type"), F("deltaNeutralAuxPrice", "d"),
    When(_truthy("_dn_order_type"), _fields(
        "deltaNeutralConId:i deltaNeutralSettlingFirm:s deltaNeutralClearingAccount:s "
        "deltaNeutralClearingIntent:s deltaNeutralOpenClose:s deltaNeutralShortSale:b "
        "deltaNeutralShortSaleSlot:i deltaNeutralDesignatedLocation:s")),
    *_fields("continuousUpdate:b referencePriceType:i"),
    F("trailStopPrice", "d", "trail_stop_price"), F("trailingPercent", "d", "trailing_percent"),
    *_fields("scaleInitLevelSize:i scaleSubsLevelSize:i"),
    F("scalePriceIncrement", "d", "_scale_increment"),
    When(_positive("_scale_increment"), _fields(
        "scalePriceAdjustValue:d scalePriceAdjustInterval:i scaleProfitOffset:d "
        "scaleAutoReset:b scaleInitPosition:i scaleInitFillQty:i scaleRandomPercent:b")),
    *_fields("scaleTable:s activeStartTime:s activeStopTime:s"),
    F("hedgeType", "s", "_hedge_type"), When(_truthy("_hedge_type"), _fields("hedgeParam:s")),
    *_fields("optOutSmartRouting:b clearingAccount:s clearingIntent:s notHeld:b"),
    F("deltaNeutralContractPresent", "b", "_dn_contract"),
    When(_truthy("_dn_contract"), _fields(
        "deltaNeutralContract.conId:i deltaNeutralContract.delta:d "
        "deltaNeutralContract.price:d")),
    F("algoStrategy", "s", "algo_strategy"),
    When(_truthy("algo_strategy"), (Call(_algo_params),)),
    *_fields("algoId:s"), F("whatIf", "b", "what_if"),
    *_fields("orderMiscOptions:s solicited:b randomizeSize:b randomizePrice:b"),
    When(_is("order_type", *_PEG_BENCH), _fields(
        "referenceContractId:i isPeggedChangeAmountDecrease:b peggedChangeAmount:d "
        "referenceChangeAmount:d referenceExchangeId:s")),
    Call(_no_conditions),
    *_fields("adjustedOrderType:s triggerPrice:d lmtPriceOffset:d adjustedStopPrice:d "
             "adjustedStopLimitPrice:d adjustedTrailingAmount:d adjustableTrailingUnit:i "
             "extOperator:s softDollarTier.name:s softDollarTier.value:s"),
    F("cashQty", "d", "cash_qty"),
    *_fields("mifid2DecisionMaker:s mifid2DecisionAlgo:s mifid2ExecutionTrader:s "
             "mifid2ExecutionAlgo:s dontUseAutoPriceForHedge:b isOmsContainer:b "
             "discretionaryUpToLimitPrice:b usePriceMgmtAlgo:b duration:i postToAts:i "
             "autoCancelParent:b advancedErrorOverride:s manualOrderTime:s"),
    When(_at_ibkrats, _fields("minTradeQty:i")),
    When(_is("order_type", *_PEG_BEST), (
        F("minCompeteSize", "i"), F("competeAgainstBestOffset", "d", "_compete_offset"))),
    When(_mid_offsets, _fields("midOffsetAtWhole:d midOffsetAtHalf:d")),
)  # fmt: skip


def _run(c: FieldCursor, steps: tuple[Step, ...], v: Values) -> None:
    for step in steps:
        if isinstance(step, F):
            value = _READ[step.kind](c, step.name)
            if step.key is not None:
                v[step.key] = value
        elif isinstance(step, When):
            if step.test(v):
                _run(c, step.steps, v)
        else:
            step.read(c, v)


def parse_place_order(c: FieldCursor) -> OrderRequest:
    """Read a whole placeOrder after its message id (``PLACE_ORDER_LAYOUT``)."""
    order_id = c.int("orderId")
    c.req_id = order_id
    v: Values = {"order_id": order_id, "contract": read_contract(c)}
    _run(c, PLACE_ORDER_LAYOUT, v)
    min_qty = v.pop("min_qty")
    return OrderRequest(
        min_qty=None if min_qty < 0 else min_qty,  # type: ignore[operator,arg-type]
        **{k: x for k, x in v.items() if not k.startswith("_")},  # type: ignore[arg-type]
    )
