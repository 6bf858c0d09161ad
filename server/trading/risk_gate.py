"""The pre-trade gate: gathers what the limits need (contracts, a price, positions, working
orders) and applies the checks of `limits` before an order or a modification reaches TWS.

Limits are only paid for when set: no quote is fetched without a notional limit, no positions
without a position limit. An order's exposure is per con_id: a combo exposes each leg
(ratio x quantity, signed by the leg's and the order's side).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from ..domain import errors
from ..domain.model import Contract, Order, OrderAction, OrderSpec
from ..session.broker_session import BrokerSession
from . import limits as risk
from .limits import Caller, EffectiveLimits, RiskLimits

Resolve = Callable[[Contract], Awaitable[Contract]]


@dataclass(frozen=True)
class Leg:
    """One instrument an order trades, and its signed quantity per unit of the order."""

    contract: Contract
    per_unit: Decimal


class RiskGate:
    def __init__(
        self,
        session: BrokerSession,
        resolve: Resolve,
        server_limits: RiskLimits,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self._resolve = resolve
        self.server_limits = server_limits
        self.window = risk.RateWindow(clock)

    def limits(self, caller: Caller | None) -> EffectiveLimits:
        return risk.effective(self.server_limits, caller)

    async def check_place(
        self, caller: Caller | None, contract: Contract, spec: OrderSpec, account: str
    ) -> EffectiveLimits:
        """The limits of a new order that need a look-up (instrument, quantity, notional,
        position); returns the call's limits for `check_counts`."""
        limits = self.limits(caller)
        legs = await self._legs(contract, spec.action, limits)
        self._check_instrument(limits, contract, legs)
        risk.check_quantity(limits, spec.quantity)
        await self._check_notional(limits, contract, spec, legs)
        await self._check_positions(limits, account, legs, spec.quantity, exclude="")
        return limits

    def check_counts(self, limits: EffectiveLimits, orders: int) -> None:
        """Open orders and orders per minute, for a placement of `orders` orders (a bracket is
        one placement). The caller then calls `placed()` and adds the orders to the book without
        awaiting in between, so concurrent placements cannot both pass them."""
        risk.check_open_orders(limits, len(self.session.orders.open_orders()), orders)
        risk.check_rate(limits, self.window)

    def placed(self, caller: Caller | None) -> None:
        """Count a placement in the per-minute windows (the server's and the caller's)."""
        self.window.record(risk.rate_keys(caller))

    async def check_modify(self, caller: Caller | None, order: Order, spec: OrderSpec) -> None:
        """Quantity, notional and position limits when a change raises quantity or a price."""
        more = spec.quantity > order.spec.quantity
        if not (more or raises_price(order.spec, spec)):
            return
        limits = self.limits(caller)
        legs = await self._legs(order.contract, spec.action, limits)
        if more:
            risk.check_quantity(limits, spec.quantity)
        await self._check_notional(limits, order.contract, spec, legs)
        if more:
            remaining = spec.quantity - order.filled_quantity
            await self._check_positions(
                limits, order.account, legs, remaining, exclude=order.order_id
            )

    # --- the parts ------------------------------------------------------------------------------

    async def _legs(
        self, contract: Contract, action: OrderAction, limits: EffectiveLimits
    ) -> list[Leg]:
        """The instruments traded; combo legs are looked up only when a limit needs them."""
        sign = Decimal(1) if action is OrderAction.BUY else Decimal(-1)
        if not contract.is_combo:
            return [Leg(contract, sign)]
        need_details = bool(
            limits.allowed_security_types
            or limits.allowed_symbols
            or limits.max_order_notional is not None
        )
        legs = []
        for leg in contract.combo_legs:
            leg_contract = Contract(con_id=leg.con_id)
            if need_details:
                leg_contract = await self._resolve(leg_contract)
            leg_sign = sign if leg.action is OrderAction.BUY else -sign
            legs.append(Leg(leg_contract, leg_sign * leg.ratio))
        return legs

    def _check_instrument(
        self, limits: EffectiveLimits, contract: Contract, legs: list[Leg]
    ) -> None:
        if not (limits.allowed_security_types or limits.allowed_symbols):
            return
        parts = [contract] if contract.is_combo else []
        parts += [leg.contract for leg in legs]
        risk.check_instrument(
            limits,
            [c.security_type.value for c in parts if c.security_type is not None],
            [c.symbol for c in parts if c.symbol],
        )

    async def _check_notional(
        self, limits: EffectiveLimits, contract: Contract, spec: OrderSpec, legs: list[Leg]
    ) -> None:
        if limits.max_order_notional is None:
            return
        if contract.is_combo:
            if spec.limit_price is None:
                risk.check_notional(limits, None, "a combo is priced by its limit price")
                return
            mult = max(risk.multiplier(leg.contract) for leg in legs)
            value = risk.notional(spec.quantity, spec.limit_price, mult)
            risk.check_notional(limits, value)
            return
        quote, unpriced = None, ""
        if risk.needs_quote(spec):
            try:
                quote = await self.session.queries.snapshot_quote(contract)
            except errors.BrokerError as exc:
                unpriced = f"no quote: {exc.message}"
        price = risk.order_price(spec, quote)
        if price is None:
            risk.check_notional(limits, None, unpriced or "no bid, ask, last or close")
            return
        risk.check_notional(limits, risk.notional(spec.quantity, price, risk.multiplier(contract)))

    async def _check_positions(
        self,
        limits: EffectiveLimits,
        account: str,
        legs: list[Leg],
        quantity: Decimal,
        exclude: str,
    ) -> None:
        if limits.max_position is None:
            return
        held: dict[int, Decimal] = {}
        for position in await self.session.queries.positions():
            if position.account_id == account:
                con_id = position.contract.con_id
                held[con_id] = held.get(con_id, Decimal(0)) + position.quantity
        working: dict[int, list[Decimal]] = {}
        for order in self.session.orders.open_orders():
            if order.account != account or order.order_id == exclude:
                continue
            remaining = order.remaining_quantity
            for con_id, amount in exposure(order.contract, order.spec.action, remaining):
                working.setdefault(con_id, []).append(amount)
        for leg in legs:
            con_id = leg.contract.con_id
            label = f"the position in {leg.contract.symbol or f'con_id {con_id}'}"
            risk.check_position(
                limits,
                label,
                held.get(con_id, Decimal(0)),
                working.get(con_id, []),
                leg.per_unit * quantity,
            )


def exposure(
    contract: Contract, action: OrderAction, quantity: Decimal
) -> list[tuple[int, Decimal]]:
    """(con_id, signed quantity) of every instrument an order of `quantity` units trades."""
    sign = Decimal(1) if action is OrderAction.BUY else Decimal(-1)
    if not contract.is_combo:
        return [(contract.con_id, sign * quantity)]
    return [
        (leg.con_id, (sign if leg.action is OrderAction.BUY else -sign) * leg.ratio * quantity)
        for leg in contract.combo_legs
    ]


def raises_price(old: OrderSpec, new: OrderSpec) -> bool:
    """True when the modification raises the limit or the stop price."""
    return any(
        after is not None and (before is None or after > before)
        for before, after in (
            (old.limit_price, new.limit_price),
            (old.stop_price, new.stop_price),
        )
    )
