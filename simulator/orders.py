"""Order validation and price logic for the simulated exchange (pure functions, no state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from .market import Market, on_grid
from .model import ComboLegSpec, ContractSpec, Instrument, OrderRequest, OrderSnapshot
from .universe import TICK, Universe

ZERO = Decimal(0)
SUPPORTED_TYPES = frozenset({"MKT", "LMT", "STP", "STP LMT", "TRAIL"})
MAX_COMBO_LEGS = 4
BAG_CON_ID = 28812380  # IB's generic combo con_id
OPEN_STATES = frozenset({"Untransmitted", "PreSubmitted", "Submitted"})


class Rejection(Exception):
    """An order refused with an IB error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class WorkingOrder:
    """The exchange's mutable record of one order."""

    req: OrderRequest
    client_id: int
    perm_id: int
    account: str
    seq: int
    instrument: Instrument | None
    legs: tuple[tuple[Instrument, ComboLegSpec], ...] = ()
    status: str = "Untransmitted"
    filled: Decimal = ZERO
    avg_fill_price: Decimal = ZERO
    last_fill_price: Decimal = ZERO
    triggered: bool = False
    rests: bool = False  # it did not fill on arrival: later limit fills are at the limit price
    trail_extreme: Decimal | None = None
    leg_filled: dict[int, Decimal] = field(default_factory=dict)
    commissions: dict[int, Decimal] = field(default_factory=dict)  # charged so far, per con_id

    @property
    def key(self) -> tuple[int, int]:
        return (self.client_id, self.req.order_id)

    @property
    def remaining(self) -> Decimal:
        return self.req.total_quantity - self.filled

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    @property
    def is_live(self) -> bool:
        """Working at the exchange: can fill now."""
        return self.status == "Submitted"

    def snapshot(self) -> OrderSnapshot:
        status = "PreSubmitted" if self.status == "Untransmitted" else self.status
        return OrderSnapshot(
            request=self.req, client_id=self.client_id, perm_id=self.perm_id, status=status,
            filled=self.filled, remaining=self.remaining,
            avg_fill_price=self.avg_fill_price, last_fill_price=self.last_fill_price,
            account=self.account, instrument=self.instrument,
            why_held="child" if self.status == "PreSubmitted" and self.req.parent_id else "",
        )


def spec_of(inst: Instrument) -> ContractSpec:
    """A fully specified ContractSpec of a listed instrument (for executions)."""
    return ContractSpec(
        con_id=inst.con_id, symbol=inst.symbol, sec_type=inst.sec_type,
        last_trade_date=inst.last_trade_date, strike=inst.strike, right=inst.right,
        multiplier=str(inst.multiplier) if inst.sec_type in ("OPT", "FUT") else "",
        exchange=inst.exchange, primary_exchange=inst.primary_exchange, currency=inst.currency,
        local_symbol=inst.local_symbol, trading_class=inst.trading_class,
    )


def resolve_contract(universe: Universe, spec: ContractSpec
                     ) -> tuple[Instrument | None, tuple[tuple[Instrument, ComboLegSpec], ...]]:
    """The instrument (or the combo legs) an order is for; raises Rejection 200/321."""
    if spec.sec_type.upper() == "BAG":
        if not spec.combo_legs:
            raise Rejection(321, "Error validating request.-'bN' : cause - "
                                 "BAG requires combo leg details")
        if len(spec.combo_legs) > MAX_COMBO_LEGS:
            raise Rejection(321, "Error validating request.-'bN' : cause - "
                                 f"at most {MAX_COMBO_LEGS} combo legs are supported")
        legs = []
        for leg in spec.combo_legs:
            inst = universe.get(leg.con_id)
            if inst is None:
                raise Rejection(200, "No security definition has been found for the request")
            if leg.ratio <= 0 or leg.action.upper() not in ("BUY", "SELL"):
                raise Rejection(321, "Error validating request.-'bN' : cause - "
                                     "invalid combo leg")
            legs.append((inst, leg))
        return None, tuple(legs)
    matches = universe.resolve(spec)
    if len(matches) != 1:
        raise Rejection(200, "No security definition has been found for the request")
    return matches[0], ()


def validate(req: OrderRequest) -> None:
    """Quantity, order type and prices; raises Rejection with IB's code."""
    if req.action.upper() not in ("BUY", "SELL", "SSHORT"):
        raise Rejection(321, f"Error validating request.-'bN' : cause - invalid action "
                             f"'{req.action}'")
    if req.total_quantity <= 0:
        raise Rejection(434, "The order size cannot be zero")
    ot = req.order_type.upper()
    if ot not in SUPPORTED_TYPES:
        raise Rejection(387, f"Unsupported order type {req.order_type!r} for this exchange "
                             "and security type.")
    if ot in ("LMT", "STP LMT") and req.lmt_price is None:
        raise Rejection(201, "Order rejected - reason:The limit price is missing")
    if ot in ("STP", "STP LMT") and req.aux_price is None:
        raise Rejection(201, "Order rejected - reason:The stop price is missing")
    if ot == "TRAIL" and req.aux_price is None and req.trailing_percent is None:
        raise Rejection(201, "Order rejected - reason:The trailing amount is missing")
    if ot == "TRAIL" and req.trailing_percent is not None and not (
            0 < req.trailing_percent < 100):
        raise Rejection(201, "Order rejected - reason:Invalid trailing percent")
    for price in (req.lmt_price, req.aux_price if ot != "TRAIL" or req.trailing_percent is None
                  else None, req.trail_stop_price):
        if price is not None and price % TICK != 0:
            raise Rejection(110, "The price does not conform to the minimum price variation "
                                 "for this contract.")


def is_buy(action: str) -> bool:
    return action.upper() == "BUY"


def leg_prices(market: Market, legs: tuple[tuple[Instrument, ComboLegSpec], ...],
               buy: bool) -> list[tuple[Instrument, ComboLegSpec, bool, Decimal]]:
    """(instrument, leg, leg is bought, price) for every leg of a combo bought or sold."""
    out = []
    for inst, leg in legs:
        leg_buy = is_buy(leg.action) == buy
        q = market.quote(inst.con_id)
        out.append((inst, leg, leg_buy, q.ask if leg_buy else q.bid))
    return out


def net_price(priced: list[tuple[Instrument, ComboLegSpec, bool, Decimal]], buy: bool) -> Decimal:
    """A combo's price per unit: what a buyer pays (BUY) or a seller receives (SELL)."""
    total = sum(((p if leg_buy else -p) * leg.ratio for _, leg, leg_buy, p in priced), ZERO)
    return total if buy else -total


def trail_stop(order: WorkingOrder, last: Decimal) -> Decimal:
    """Update the trailing extreme with ``last`` and return the current stop price."""
    req = order.req
    buy = is_buy(req.action)
    if order.trail_extreme is None:
        order.trail_extreme = last
    elif buy:
        order.trail_extreme = min(order.trail_extreme, last)
    else:
        order.trail_extreme = max(order.trail_extreme, last)
    ext = order.trail_extreme
    if req.trailing_percent is not None:
        offset = ext * req.trailing_percent / 100
    else:
        offset = req.aux_price or ZERO
    stop = ext + offset if buy else ext - offset
    stop = on_grid(stop, TICK, ROUND_CEILING if buy else ROUND_FLOOR)
    if req.trail_stop_price is not None:
        stop = min(stop, req.trail_stop_price) if buy else max(stop, req.trail_stop_price)
    return stop


def stop_hit(buy: bool, stop: Decimal, last: Decimal) -> bool:
    return last >= stop if buy else last <= stop
