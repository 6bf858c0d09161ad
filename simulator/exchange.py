"""The simulated exchange: orders keyed by (client_id, order_id), matching against the
simulated quotes, executions, commissions and the account ledger.

It lives in the server, not in a session, so orders, executions and positions survive client
reconnects. It is single-threaded (the server's event loop) and publishes events to listeners.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from decimal import Decimal

from . import margin
from .events import AccountChanged, Event, Executed, OrderChanged, OrderError
from .ledger import Ledger, commission_for
from .market import Market
from .model import (
    ContractSpec,
    Fill,
    Instrument,
    OrderRequest,
    OrderSnapshot,
)
from .orders import (
    BAG_CON_ID,
    ZERO,
    Rejection,
    WorkingOrder,
    is_buy,
    leg_prices,
    net_price,
    resolve_contract,
    spec_of,
    stop_hit,
    trail_stop,
    validate,
)
from .universe import Universe

log = logging.getLogger(__name__)
Listener = Callable[[Event], None]


class Exchange:
    """Orders, fills and the account of one simulator run."""

    def __init__(self, universe: Universe, market: Market, account: str = "DU1234567", *,
                 seed: int = 1, partial_fills: bool = False, cash: Decimal = Decimal("1000000"),
                 clock: Callable[[], float] | None = None) -> None:
        self.universe = universe
        self.market = market
        self.account = account
        self.ledger = Ledger(account, cash)
        self.partial_fills = partial_fills
        self._clock = clock
        self._orders: dict[tuple[int, int], WorkingOrder] = {}
        self._used_ids: dict[int, set[int]] = {}
        self._fills: list[Fill] = []
        self._listeners: list[Listener] = []
        self._seq = 0
        self._next_perm = 1_000_000_000 + (seed % 1000) * 1_000_000 + 1
        self._exec_prefix = f"{(seed * 2654435761) & 0xFFFFFFFF:08x}"
        self._exec_seq = 0
        self._reject_next: str | None = None

    # -- listeners ---------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not break the exchange
                log.exception("exchange listener failed on %r", type(event).__name__)

    # -- queries -----------------------------------------------------------------------------

    def orders(self, client_id: int | None = None, *, open_only: bool = False
               ) -> list[OrderSnapshot]:
        out = [o for o in sorted(self._orders.values(), key=lambda o: o.seq)
               if (client_id is None or o.client_id == client_id)
               and (o.is_open or not open_only) and o.status != "Inactive"]
        return [o.snapshot() for o in out]

    def open_orders(self, client_id: int | None = None) -> list[OrderSnapshot]:
        return [s for s in self.orders(client_id, open_only=True)
                if self._orders[(s.client_id, s.request.order_id)].status != "Untransmitted"]

    def completed_orders(self) -> list[OrderSnapshot]:
        return [o.snapshot() for o in sorted(self._orders.values(), key=lambda o: o.seq)
                if o.status in ("Filled", "Cancelled")]

    def executions(self) -> list[Fill]:
        return list(self._fills)

    def order(self, client_id: int, order_id: int) -> OrderSnapshot | None:
        o = self._orders.get((client_id, order_id))
        return o.snapshot() if o else None

    def next_order_id(self, client_id: int) -> int:
        used = self._used_ids.get(client_id)
        return max(used) + 1 if used else 1

    def reject_next_order(self, reason: str = "Simulated rejection") -> None:
        """Fault: the next placeOrder (from any client) is rejected with error 201."""
        self._reject_next = reason

    # -- commands ----------------------------------------------------------------------------

    def place(self, client_id: int, req: OrderRequest) -> None:
        """placeOrder: a new order, or a modification of an open one with the same id."""
        key = (client_id, req.order_id)
        existing = self._orders.get(key)
        used = self._used_ids.setdefault(client_id, set())
        try:
            if req.order_id <= 0:
                raise Rejection(103, f"Duplicate order id {req.order_id}")
            if existing is not None and existing.is_open and not req.what_if:
                self._modify(existing, req)
                return
            if req.order_id in used and not req.what_if:
                raise Rejection(103, "Duplicate order id")
            if not req.what_if:
                used.add(req.order_id)
            if self._reject_next is not None:
                reason, self._reject_next = self._reject_next, None
                raise Rejection(201, f"Order rejected - reason:{reason}")
            if not req.contract.exchange.strip():  # IB checks this before any lookup
                raise Rejection(321, "Error validating request.-'bN' : cause - Missing order "
                                     "exchange")
            inst, legs = resolve_contract(self.universe, req.contract)
            if inst is not None and inst.sec_type == "IND":  # indices have no orders at IB
                raise Rejection(201, "Order rejected - reason:Indices are not tradable; trade "
                                     "a future, an option or a fund on it instead")
            validate(req)
            if req.what_if:
                snapshot = margin.what_if(self.ledger, self.market, client_id, req, inst, legs)
                self._emit(OrderChanged(snapshot))
                return
            parent = self._parent_of(client_id, req)
            margin.check_buying_power(self.ledger, self.market, req, inst, legs)
        except Rejection as rej:
            log.info("order %s/%s rejected: %s", client_id, req.order_id, rej)
            self._emit(OrderError(client_id, req.order_id, rej.code, rej.message))
            return
        self._seq += 1
        order = WorkingOrder(req=req, client_id=client_id, perm_id=self._next_perm,
                             account=self.account, seq=self._seq, instrument=inst, legs=legs)
        self._next_perm += 1
        self._orders[key] = order
        if req.transmit:
            self._transmit(order, parent)

    def cancel(self, client_id: int, order_id: int) -> None:
        order = self._orders.get((client_id, order_id))
        if order is None or order.status == "Inactive":
            self._emit(OrderError(client_id, order_id, 10147,
                                  f"OrderId {order_id} that needs to be cancelled is not found."))
            return
        if not order.is_open:
            self._emit(OrderError(client_id, order_id, 10148,
                                  f"OrderId {order_id} that needs to be cancelled cannot be "
                                  f"cancelled, state: {order.status}."))
            return
        self._cancel(order)

    def global_cancel(self) -> None:
        for order in sorted(self._orders.values(), key=lambda o: o.seq):
            if order.is_open:
                self._cancel(order)

    def on_market_step(self) -> None:
        """Match every live order against the quotes of the current step."""
        for order in sorted(self._orders.values(), key=lambda o: o.seq):
            if order.is_live:
                self._work(order, arriving=False)

    # -- order life cycle --------------------------------------------------------------------

    def _parent_of(self, client_id: int, req: OrderRequest) -> WorkingOrder | None:
        if not req.parent_id:
            return None
        parent = self._orders.get((client_id, req.parent_id))
        if parent is None or parent.status in ("Cancelled", "Inactive"):
            raise Rejection(201, "Order rejected - reason:Parent order is not active")
        return parent

    def _family(self, order: WorkingOrder) -> list[WorkingOrder]:
        """An order's parent and all of the parent's children (or its own children)."""
        root_id = order.req.parent_id or order.req.order_id
        return [o for o in self._orders.values() if o.client_id == order.client_id
                and (o.req.order_id == root_id or o.req.parent_id == root_id)]

    def _transmit(self, order: WorkingOrder, parent: WorkingOrder | None) -> None:
        """Transmit an order; a transmitted child also transmits its parent and siblings."""
        family = self._family(order) if (parent is not None or order.req.parent_id == 0) else []
        pending = [o for o in sorted(family, key=lambda o: o.seq) if o.status == "Untransmitted"]
        if order not in pending:
            pending.append(order)
        # parent first, then children in placement order
        pending.sort(key=lambda o: (o.req.parent_id != 0, o.seq))
        for o in pending:
            par = self._orders.get((o.client_id, o.req.parent_id)) if o.req.parent_id else None
            if par is not None and par.status != "Filled":
                o.status = "PreSubmitted"
                self._emit(OrderChanged(o.snapshot()))
            else:
                o.status = "Submitted"
                self._emit(OrderChanged(o.snapshot()))
                self._work(o, arriving=True)

    def _modify(self, order: WorkingOrder, req: OrderRequest) -> None:
        try:
            inst, _ = resolve_contract(self.universe, req.contract)
            validate(req)
            if (inst.con_id if inst else None) != (order.instrument.con_id if order.instrument
                                                   else None):
                raise Rejection(201, "Order rejected - reason:The contract of an order cannot "
                                     "be modified")
            if req.total_quantity < order.filled:
                raise Rejection(201, "Order rejected - reason:Quantity below filled quantity")
        except Rejection as rej:
            self._emit(OrderError(order.client_id, req.order_id, rej.code, rej.message))
            return
        type_changed = req.order_type != order.req.order_type
        order.req = req
        if type_changed:
            order.triggered = False
            order.trail_extreme = None
        if order.status == "Untransmitted":
            if req.transmit:
                self._transmit(order, self._orders.get((order.client_id, req.parent_id)))
            return
        self._emit(OrderChanged(order.snapshot()))
        if order.is_live:
            self._work(order, arriving=True)

    def _cancel(self, order: WorkingOrder, *, reason: str = "", notify: bool = True) -> None:
        order.status = "Cancelled"
        if notify:
            self._emit(OrderError(order.client_id, order.req.order_id, 202,
                                  f"Order Canceled - reason:{reason}"))
        self._emit(OrderChanged(order.snapshot()))
        if order.req.parent_id == 0:
            for child in self._family(order):
                if child is not order and child.is_open:
                    self._cancel(child, reason="parent cancelled")

    # -- matching ----------------------------------------------------------------------------

    def _work(self, order: WorkingOrder, *, arriving: bool) -> None:
        """Fill what the current quotes allow; IOC cancels the rest after the first attempt."""
        price = self._executable_price(order)
        if price is not None:
            qty = order.remaining
            if self.partial_fills and qty > 1:
                qty = min(qty, max(Decimal(1), (order.req.total_quantity / 2).to_integral_value()))
            self._fill(order, qty, price)
        elif arriving:
            order.rests = True
        if arriving and order.req.tif.upper() in ("IOC", "FOK") and order.is_open:
            self._cancel(order, notify=False)

    def _executable_price(self, order: WorkingOrder) -> Decimal | None:
        """The price the order fills at now, or None when it does not fill."""
        req = order.req
        buy = is_buy(req.action)
        ot = req.order_type.upper()
        if order.legs:
            market = net_price(leg_prices(self.market, order.legs, buy), buy)
            last = market
        else:
            assert order.instrument is not None
            q = self.market.quote(order.instrument.con_id)
            market = q.ask if buy else q.bid
            last = q.last
        if ot in ("STP", "STP LMT", "TRAIL") and not order.triggered:
            stop = trail_stop(order, last) if ot == "TRAIL" else req.aux_price
            assert stop is not None
            if not stop_hit(buy, stop, last):
                return None
            order.triggered = True
        if ot in ("MKT", "STP", "TRAIL"):
            return market
        lmt = req.lmt_price
        assert lmt is not None
        if (buy and market <= lmt) or (not buy and market >= lmt):
            return lmt if order.rests and not order.legs else market
        order.rests = True
        return None

    def _fill(self, order: WorkingOrder, qty: Decimal, price: Decimal) -> None:
        req = order.req
        buy = is_buy(req.action)
        now = self._time_utc()
        self._exec_seq += 1
        base = f"{self._exec_prefix}.{self._exec_seq:08x}"
        order.filled += qty
        order.avg_fill_price = ((order.avg_fill_price * (order.filled - qty) + price * qty)
                                / order.filled)
        order.last_fill_price = price
        fills: list[Fill] = []
        touched: list[int] = []
        if order.legs:
            priced = leg_prices(self.market, order.legs, buy)
            for n, (inst, leg, leg_buy, leg_px) in enumerate(priced, start=1):
                leg_qty = qty * leg.ratio
                cum = order.leg_filled.get(inst.con_id, ZERO) + leg_qty
                order.leg_filled[inst.con_id] = cum
                fills.append(self._book(order, inst, f"{base}.{n:02d}.01", leg_buy, leg_qty,
                                        leg_px, cum, leg_px, now, commission=None))
                touched.append(inst.con_id)
            combo = ContractSpec(
                con_id=req.contract.con_id or BAG_CON_ID, symbol=req.contract.symbol or
                order.legs[0][0].symbol, sec_type="BAG", exchange=req.contract.exchange or
                "SMART", currency=req.contract.currency or "USD",
                combo_legs=req.contract.combo_legs)
            fills.append(Fill(
                exec_id=f"{base}.{len(priced) + 1:02d}.01", order_id=req.order_id,
                client_id=order.client_id, perm_id=order.perm_id, contract=combo, time_utc=now,
                account=order.account, exchange=combo.exchange, side="BOT" if buy else "SLD",
                shares=qty, price=price, cum_qty=order.filled, avg_price=order.avg_fill_price,
                order_ref=req.order_ref, commission=ZERO))
        else:
            assert order.instrument is not None
            fills.append(self._book(order, order.instrument, f"{base}.01.01", buy, qty, price,
                                    order.filled, order.avg_fill_price, now, commission=None))
            touched.append(order.instrument.con_id)
        self._fills.extend(fills)
        if order.remaining == 0:
            order.status = "Filled"
        self._emit(Executed(tuple(fills), order.snapshot()))
        self._emit(AccountChanged(self.account, tuple(touched)))
        if order.status == "Filled":
            self._after_filled(order)
        self._cancel_oca(order)

    def _book(self, order: WorkingOrder, inst: Instrument, exec_id: str, buy: bool, qty: Decimal,
              price: Decimal, cum: Decimal, avg: Decimal, now: str,
              commission: Decimal | None) -> Fill:
        """Apply one fill of one instrument to the ledger and return its Fill."""
        if commission is None:
            total = commission_for(inst, cum, avg)
            commission = max(ZERO, total - order.commissions.get(inst.con_id, ZERO))
        order.commissions[inst.con_id] = order.commissions.get(inst.con_id, ZERO) + commission
        realized = self.ledger.apply_fill(inst, qty if buy else -qty, price, commission)
        return Fill(
            exec_id=exec_id, order_id=order.req.order_id, client_id=order.client_id,
            perm_id=order.perm_id, contract=spec_of(inst), time_utc=now, account=order.account,
            exchange=_execution_exchange(inst),
            side="BOT" if buy else "SLD", shares=qty, price=price, cum_qty=cum, avg_price=avg,
            order_ref=order.req.order_ref, commission=commission, realized_pnl=realized,
        )

    def _after_filled(self, order: WorkingOrder) -> None:
        """A filled parent releases its held children; a filled child cancels its siblings."""
        if order.req.parent_id == 0:
            for child in sorted(self._family(order), key=lambda o: o.seq):
                if child is not order and child.status == "PreSubmitted":
                    child.status = "Submitted"
                    self._emit(OrderChanged(child.snapshot()))
                    self._work(child, arriving=True)

    def _cancel_oca(self, order: WorkingOrder) -> None:
        """OCA: a fill cancels the other members of the group (bracket children form one)."""
        members: dict[tuple[int, int], WorkingOrder] = {}
        if order.req.parent_id:
            members.update((o.key, o) for o in self._family(order)
                           if o.req.parent_id == order.req.parent_id)
        group = order.req.oca_group
        if group:
            members.update((o.key, o) for o in self._orders.values()
                           if o.account == order.account and o.req.oca_group == group)
        for sib in sorted(members.values(), key=lambda o: o.seq):
            if sib is not order and sib.is_open:
                self._cancel(sib, reason="OCA group filled")

    def _time_utc(self) -> str:
        now = (dt.datetime.fromtimestamp(self._clock(), dt.UTC) if self._clock
               else dt.datetime.now(dt.UTC))
        return now.strftime("%Y%m%d %H:%M:%S") + " UTC"


def _execution_exchange(inst: Instrument) -> str:
    """Where a fill executed: a stock's primary exchange, CBOE for options, else its own."""
    if inst.sec_type == "STK":
        return inst.primary_exchange
    return "CBOE" if inst.sec_type == "OPT" else inst.exchange
