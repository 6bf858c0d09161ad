"""Pre-trade risk limits: the limits, which apply to a call, and the pure checks (no I/O).

`RiskLimits` is the one form of the limits: the configuration parses its [risk] section and
every token's `risk` table into it once, at start-up. The effective limits of a call are the
server's [risk] section overridden, field by field, by the calling token's `risk` table: a
field the token sets (non-empty, non-zero) replaces the server's value, so a token can tighten
or loosen a limit but not remove one.

Each check raises RiskLimitBreached with a reason naming the limit (RISK_MAX_ORDER_QUANTITY,
...) and metadata: `setting` (e.g. "risk.max_order_notional"), `limit` (the configured value),
`attempted` (the value the order would reach) and `scope` ("server" or "token NAME").

Notional = |quantity x price x multiplier|, in the contract's currency (no FX conversion).
The price: the order's limit price when it has one (for a buy, the most it pays); else the
latest quote: ask for a buy, bid for a sell, falling back to last then close; a stop order
takes the stop price when that is higher. A combo is priced at |its limit price| x the largest
leg multiplier (100 for option legs); a combo without a limit price, or any order that cannot
be priced, is refused while a notional limit is set (fail closed).
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol

from ..domain.errors import RiskLimitBreached
from ..domain.model import Contract, OrderAction, OrderSpec, Quote

SECURITY_TYPES = frozenset({"STK", "OPT", "FUT", "CASH", "IND", "BAG", "FOP"})
WINDOW_SECONDS = 60.0
SERVER_SCOPE = "server"


@dataclass(frozen=True)
class RiskLimits:
    """Pre-trade limits; None / 0 / empty = no limit."""

    max_order_quantity: Decimal | None = None  # units per order
    max_order_notional: Decimal | None = None  # quantity x latest price x multiplier
    max_position: Decimal | None = None  # units per contract, absolute, after the order
    max_open_orders: int = 0
    max_orders_per_minute: int = 0
    allowed_security_types: frozenset[str] = frozenset()  # e.g. {"STK", "OPT"}; IB spelling
    allowed_symbols: frozenset[str] = frozenset()


@dataclass(frozen=True)
class EffectiveLimits(RiskLimits):
    """The limits one call is held to, and who set each: `scopes` maps a setting to
    "token NAME" where the calling token set it; every other setting is the server's."""

    scopes: tuple[tuple[str, str], ...] = ()

    def scope(self, setting: str) -> str:
        return dict(self.scopes).get(setting, SERVER_SCOPE)


class Caller(Protocol):
    """Who places the order (the auth layer's Principal fits): a token name and its limits."""

    @property
    def name(self) -> str: ...

    @property
    def risk(self) -> RiskLimits | None: ...


def parse_decimal(text: str) -> Decimal | None:
    """A limit's decimal string, as the configuration gives it; empty = no limit."""
    if not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal number") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{text!r} must be a positive number")
    return value


def merge(server: RiskLimits, token: RiskLimits | None) -> tuple[RiskLimits, frozenset[str]]:
    """The server's limits with every field the token sets replaced; and the replaced names."""
    if token is None:
        return server, frozenset()
    defaults = RiskLimits()
    changes = {
        f.name: getattr(token, f.name)
        for f in dataclasses.fields(RiskLimits)
        if getattr(token, f.name) != getattr(defaults, f.name)
    }
    return dataclasses.replace(server, **changes), frozenset(changes)


def effective(server: RiskLimits, caller: Caller | None) -> EffectiveLimits:
    merged, from_token = merge(server, caller.risk if caller is not None else None)
    name = caller.name if caller is not None else ""
    return EffectiveLimits(
        **{f.name: getattr(merged, f.name) for f in dataclasses.fields(RiskLimits)},
        scopes=tuple((s, f"token {name}") for s in sorted(from_token)),
    )


# --- the checks -------------------------------------------------------------------------------


def breach(
    limits: EffectiveLimits, setting: str, attempted: object, text: str
) -> RiskLimitBreached:
    """The error for `setting` of `limits` (e.g. "max_order_notional") being exceeded."""
    scope = limits.scope(setting)
    return RiskLimitBreached(
        f"RISK_{setting.upper()}",
        f"risk limit {setting} ({scope}): {text}; nothing was sent to TWS",
        {
            "setting": f"risk.{setting}",
            "limit": _text(getattr(limits, setting)),
            "attempted": _text(attempted),
            "scope": scope,
        },
    )


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, frozenset | set | tuple | list):
        return ",".join(sorted(str(v) for v in value))
    return str(value)


def check_instrument(
    limits: EffectiveLimits, sec_types: Iterable[str], symbols: Iterable[str]
) -> None:
    """Every security type and symbol the order trades must be allowed (when a list is set)."""
    for security_type in sec_types:
        if limits.allowed_security_types and security_type not in limits.allowed_security_types:
            text = f"security type {security_type} is not allowed"
            raise breach(limits, "allowed_security_types", security_type, text)
    for symbol in symbols:
        if limits.allowed_symbols and symbol.upper() not in limits.allowed_symbols:
            raise breach(limits, "allowed_symbols", symbol, f"symbol {symbol!r} is not allowed")


def check_quantity(limits: EffectiveLimits, quantity: Decimal) -> None:
    cap = limits.max_order_quantity
    if cap is not None and quantity > cap:
        text = f"quantity {_text(quantity)} is above {_text(cap)}"
        raise breach(limits, "max_order_quantity", quantity, text)


def check_notional(limits: EffectiveLimits, notional: Decimal | None, unpriced: str = "") -> None:
    """`notional` None = the order could not be priced (`unpriced` says why): refused."""
    cap = limits.max_order_notional
    if cap is None:
        return
    if notional is None:
        text = f"cannot price the order ({unpriced or 'no price'})"
        raise breach(limits, "max_order_notional", "unknown", text)
    if notional > cap:
        text = f"notional {_text(notional)} is above {_text(cap)}"
        raise breach(limits, "max_order_notional", notional, text)


def projected_position(current: Decimal, working: Iterable[Decimal], change: Decimal) -> Decimal:
    """The position if this order and every working order on the same side filled."""
    same_side = sum((w for w in working if w != 0 and (w > 0) == (change > 0)), Decimal(0))
    return current + same_side + change


def check_position(
    limits: EffectiveLimits,
    label: str,
    current: Decimal,
    working: Iterable[Decimal],
    change: Decimal,
) -> None:
    """|position after this order and the working orders on its side| <= max_position."""
    cap = limits.max_position
    if cap is None or change == 0:
        return
    after = projected_position(current, working, change)
    if abs(after) > cap:
        text = f"{label} would reach {_text(after)} (now {_text(current)}), beyond {_text(cap)}"
        raise breach(limits, "max_position", abs(after), text)


def check_open_orders(limits: EffectiveLimits, open_now: int, new_orders: int) -> None:
    cap = limits.max_open_orders
    if cap and open_now + new_orders > cap:
        text = f"{open_now} orders are open and this adds {new_orders}; at most {cap}"
        raise breach(limits, "max_open_orders", open_now + new_orders, text)


# --- pricing ----------------------------------------------------------------------------------


def multiplier(contract: Contract) -> Decimal:
    """The contract's multiplier (options 100, futures per contract); 1 when not given."""
    try:
        value = Decimal(contract.multiplier) if contract.multiplier else Decimal(1)
    except InvalidOperation:
        return Decimal(1)
    return value if value.is_finite() and value > 0 else Decimal(1)


def market_price(action: OrderAction, quote: Quote | None) -> Decimal | None:
    """What the market asks (buy) or bids (sell); else the last trade; else the close."""
    if quote is None:
        return None
    side = quote.ask if action is OrderAction.BUY else quote.bid
    for value in (side, quote.last, quote.close):
        if value is not None and value > 0:
            return value
    return None


def needs_quote(spec: OrderSpec) -> bool:
    return spec.limit_price is None


def order_price(spec: OrderSpec, quote: Quote | None) -> Decimal | None:
    if spec.limit_price is not None:
        return abs(spec.limit_price)
    market = market_price(spec.action, quote)
    if spec.stop_price is not None and spec.action is OrderAction.BUY:
        return max(spec.stop_price, market) if market is not None else spec.stop_price
    return market


def notional(quantity: Decimal, price: Decimal, mult: Decimal) -> Decimal:
    return abs(quantity * price * mult)


# --- orders per minute ------------------------------------------------------------------------


class RateWindow:
    """Placements in the last 60 s, server-wide and per token."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._times: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        times = self._times.setdefault(key, deque())
        horizon = self._clock() - WINDOW_SECONDS
        while times and times[0] <= horizon:
            times.popleft()
        return times

    def count(self, key: str) -> int:
        return len(self._recent(key))

    def record(self, keys: Iterable[str]) -> None:
        now = self._clock()
        for key in keys:
            self._recent(key).append(now)


def rate_keys(caller: Caller | None) -> tuple[str, ...]:
    """Every window a placement counts in: the server's, and the calling token's."""
    return (SERVER_SCOPE,) if caller is None else (SERVER_SCOPE, f"token {caller.name}")


def check_rate(limits: EffectiveLimits, window: RateWindow) -> None:
    """Counted per token when the token sets the limit, else server-wide."""
    cap = limits.max_orders_per_minute
    if not cap:
        return
    placed = window.count(limits.scope("max_orders_per_minute"))
    if placed >= cap:
        text = f"{placed} orders were placed in the last minute; at most {cap}"
        raise breach(limits, "max_orders_per_minute", placed + 1, text)
