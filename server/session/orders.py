"""The order book: every order the server placed, updated from IB's order events.

Memory holds the working orders and the most recent `max_finished` finished ones; the store
keeps every order, and the book reads an older one from it when asked (by id, request id or IB
order id). Nothing the book does per order scans the orders (order_index.py).

IB may skip orderStatus messages, repeat them, or send them out of order; executions move
orders forward too. Every change is applied through the transition table, saved to the store
and appended to the journal, in that order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..domain import errors
from ..domain.model import (
    Execution,
    IbError,
    Order,
    OrderEventType,
    OrderPreview,
    OrderStatus,
    SecurityType,
)
from ..domain.order_state import advance, status_after_fill
from .ib_port import (
    CommissionEvent,
    ErrorEvent,
    ExecutionEvent,
    OpenOrderEvent,
    OrderStatusEvent,
)
from .journal import OrderJournal
from .order_index import OrderIndex
from .store import Store

log = logging.getLogger(__name__)

MAX_FINISHED = 10_000  # finished orders kept in memory; older ones are read from the store
FLUSH_DELAY = 0.005  # seconds between an order change and its write (changes coalesce)
ORDER_REF_PREFIX = "ikb:"  # orderRef = prefix + request_id: matches orders after a reconnect
IB_STATUS = {
    "ApiPending": OrderStatus.PENDING_SUBMIT,
    "PendingSubmit": OrderStatus.PENDING_SUBMIT,
    "PreSubmitted": OrderStatus.PRE_SUBMITTED,
    "Submitted": OrderStatus.SUBMITTED,
    "ApiCancelled": OrderStatus.CANCELLED,
    "Cancelled": OrderStatus.CANCELLED,
    "PendingCancel": OrderStatus.PENDING_CANCEL,
    "Filled": OrderStatus.FILLED,
    "Inactive": OrderStatus.INACTIVE,
}


NEVER_PLACED = IbError(
    0,
    "not placed: the connection to TWS dropped before TWS acknowledged the order, and after "
    "reconnecting TWS lists neither the order nor a fill of it",
)
GONE_WHILE_DISCONNECTED = IbError(
    0,
    "no longer working: after reconnecting TWS does not list the order as open and reports no "
    "fill for the rest; it was cancelled or expired while the connection was down",
)
MAX_IB_ORDER_ID = 2**31 - 1  # IB order ids are 32-bit
MAX_PERM_ID = 2**63 - 1  # an int64 on the wire to clients


def now() -> datetime:
    return datetime.now(UTC)


def _acknowledged(order: Order) -> bool:
    return order.status is not OrderStatus.PENDING_SUBMIT


def _sane(reported: int, known: int, limit: int) -> int:
    """An id TWS reports, unless it is missing (0) or out of range (then the known one)."""
    if 0 < reported <= limit:
        return reported
    if reported:
        log.warning("ignored id %d from TWS: out of range", reported)
    return known


class OrderBook:
    def __init__(
        self, store: Store, journal: OrderJournal, max_finished: int = MAX_FINISHED
    ) -> None:
        self._store = store
        self.journal = journal
        self.max_finished = max_finished
        self._orders: dict[str, Order] = {}  # working and recently finished orders
        self._finished: dict[str, None] = {}  # in memory, in the order they finished
        self.index = OrderIndex()  # working orders, exposure, creation order: kept up to date
        self._by_ib_id: dict[int, str] = {}
        self._by_request: dict[str, str] = {}
        self._exec_owner: dict[str, str] = {}  # exec_id -> order_id
        self._dirty: dict[str, Order] = {}
        self._flush_scheduled = False
        self._acks: dict[int, asyncio.Future[Order]] = {}
        self._ack_until: dict[int, Callable[[Order], bool]] = {}
        self._previews: dict[int, asyncio.Future[OrderPreview]] = {}
        for order in store.load_orders():
            self.index.add(order.order_id)
            self._index(order)
            for ex in order.executions:
                self._exec_owner[ex.execution_id] = order.order_id
        self._forget_finished()

    # --- queries ------------------------------------------------------------------------------

    def get(self, order_id: str) -> Order | None:
        order = self._orders.get(order_id)
        return order if order is not None else self._store.find_order("order_id", order_id)

    def by_request(self, request_id: str) -> Order | None:
        order_id = self._by_request.get(request_id)
        if order_id:
            return self._orders.get(order_id)
        return self._store.find_order("request_id", request_id)

    def by_ib_id(self, ib_order_id: int) -> Order | None:
        order_id = self._by_ib_id.get(ib_order_id)
        if order_id:
            return self._orders.get(order_id)
        if ib_order_id <= 0:
            return None
        return self._store.find_order("ib_order_id", ib_order_id)

    def all(self) -> list[Order]:
        """The orders in memory: the working ones and the recently finished ones."""
        return list(self._orders.values())

    def open_orders(self) -> list[Order]:
        """The working orders (not terminal), oldest first; costs what they number."""
        return list(self.index.working.values())

    @property
    def open_count(self) -> int:
        return len(self.index.working)

    def page(self, which: str, account: str, start: int, size: int) -> tuple[list[Order], bool]:
        """Orders newest first (`which`: "all", "open" or "completed"), from the `start`-th
        match: up to `size` of them, and whether more follow. Walks the creation index (the
        working orders alone for "open"), never sorts the book."""
        if which == "all" and not account:
            created = self.index.created
            end = len(created) - start
            ids = reversed(created[max(end - size, 0) : max(end, 0)])
            return [self._order(i) for i in ids], end - size > 0
        source = self.index.working_newest_first() if which == "open" else self.index.newest_first()
        matches = (
            order
            for order in map(self._order, source)
            if (not account or order.account == account)
            and (which != "completed" or order.status.is_terminal)
        )
        found = list(itertools.islice(matches, start, start + size + 1))
        return found[:size], len(found) > size

    # --- changes made by the session ----------------------------------------------------------

    def add(self, order: Order) -> None:
        self._commit(order, OrderEventType.CREATED)

    def expect_ack(
        self, ib_order_id: int, until: Callable[[Order], bool] | None = None
    ) -> asyncio.Future[Order]:
        """A future of the order once TWS acknowledged it: by default any status past
        PENDING_SUBMIT; `until` narrows that (a cancel waits for the cancel, not for a late
        'Submitted' replayed by a reconnect). An IB error ending the order resolves it too."""
        fut: asyncio.Future[Order] = asyncio.get_running_loop().create_future()
        self._acks[ib_order_id] = fut
        self._ack_until[ib_order_id] = until or _acknowledged

        def forget(_f: asyncio.Future[Order]) -> None:
            if self._acks.get(ib_order_id) is fut:
                del self._acks[ib_order_id]
                self._ack_until.pop(ib_order_id, None)

        fut.add_done_callback(forget)
        return fut

    def expect_preview(self, ib_order_id: int) -> asyncio.Future[OrderPreview]:
        fut: asyncio.Future[OrderPreview] = asyncio.get_running_loop().create_future()
        self._previews[ib_order_id] = fut
        fut.add_done_callback(lambda _f: self._previews.pop(ib_order_id, None))
        return fut

    def replace(self, order: Order, event: OrderEventType = OrderEventType.STATUS_CHANGED) -> None:
        self._commit(order, event)

    def reject(self, order: Order, error: IbError) -> Order:
        updated = dataclasses.replace(
            order, status=OrderStatus.REJECTED, last_error=error, update_time=now()
        )
        self._commit(updated, OrderEventType.STATUS_CHANGED)
        return updated

    # --- IB events ----------------------------------------------------------------------------

    def on_open_order(self, ev: OpenOrderEvent) -> None:
        if ev.preview is not None:
            fut = self._previews.get(ev.ib_order_id)
            if fut and not fut.done():
                fut.set_result(ev.preview)
            return
        order = self._match(ev.ib_order_id, ev.order_ref)
        if order is None:
            return
        status = advance(order.status, IB_STATUS.get(ev.status, order.status))
        updated = dataclasses.replace(
            order,
            perm_id=_sane(ev.perm_id, order.perm_id, MAX_PERM_ID),
            status=status,
            ib_order_id=_sane(ev.ib_order_id, order.ib_order_id, MAX_IB_ORDER_ID),
        )
        self._update(order, updated)
        self._ack(updated)

    def on_order_status(self, ev: OrderStatusEvent) -> None:
        order = self._match(ev.ib_order_id, "")
        if order is None:  # another client's order, or garbage: never ours to track
            level = logging.DEBUG if 0 < ev.ib_order_id <= MAX_IB_ORDER_ID else logging.WARNING
            log.log(level, "ignored orderStatus for IB order id %d: not ours", ev.ib_order_id)
            return
        reported = IB_STATUS.get(ev.status, order.status)
        filled = max(order.filled_quantity, ev.filled)
        if reported is OrderStatus.SUBMITTED and filled > 0:
            reported = OrderStatus.PARTIALLY_FILLED
        avg = ev.avg_fill_price if ev.avg_fill_price and filled > 0 else order.average_fill_price
        updated = dataclasses.replace(
            order,
            status=advance(order.status, reported),
            filled_quantity=filled,
            average_fill_price=avg,
            perm_id=_sane(ev.perm_id, order.perm_id, MAX_PERM_ID),
        )
        self._update(order, updated)
        self._ack(updated)

    def on_execution(self, ev: ExecutionEvent) -> bool:
        """Apply a fill; True when it was new (not a replay) and of one of our orders."""
        if ev.exec_id in self._exec_owner:
            return False  # already known (a replay from reqExecutions after a reconnect)
        order = self._match(ev.ib_order_id, ev.order_ref)
        if order is None or any(e.execution_id == ev.exec_id for e in order.executions):
            return False  # not ours, or a replay of an order no longer kept in memory
        execution = Execution(
            execution_id=ev.exec_id,
            order_id=order.order_id,
            execution_time=ev.execution_time,
            side=ev.side,
            quantity=ev.shares,
            price=ev.price,
            exchange=ev.exchange,
            account=ev.account,
            contract=ev.contract,
            cumulative_quantity=ev.cum_qty,
            average_price=ev.avg_price,
        )
        self._exec_owner[ev.exec_id] = order.order_id
        counts = not order.contract.is_combo or ev.contract.security_type is SecurityType.COMBO
        filled, avg = order.filled_quantity, order.average_fill_price
        if counts and ev.cum_qty > filled:
            filled, avg = ev.cum_qty, ev.avg_price
        status = order.status
        if counts and filled > 0:
            status = advance(status, status_after_fill(filled, order.spec.quantity))
        updated = dataclasses.replace(
            order,
            executions=(*order.executions, execution),
            filled_quantity=filled,
            average_fill_price=avg,
            status=status,
            perm_id=_sane(ev.perm_id, order.perm_id, MAX_PERM_ID),
            update_time=now(),
        )
        self._commit(updated, OrderEventType.FILL, execution=execution)
        self._ack(updated)
        return True

    def on_commission(self, ev: CommissionEvent) -> None:
        order_id = self._exec_owner.get(ev.exec_id)
        order = self._orders.get(order_id) if order_id else None
        if order is None:
            return
        executions = list(order.executions)
        for i, ex in enumerate(executions):
            if ex.execution_id == ev.exec_id:
                if ex.commission is not None:
                    return  # a replay (reqExecutions after a reconnect): counted once only
                executions[i] = dataclasses.replace(
                    ex,
                    commission=ev.commission,
                    commission_currency=ev.currency,
                    realized_pnl=ev.realized_pnl,
                )
                updated = dataclasses.replace(
                    order, executions=tuple(executions), update_time=now()
                )
                self._commit(updated, OrderEventType.COMMISSION, execution=executions[i])
                return

    def on_error(self, ev: ErrorEvent) -> bool:
        """Apply an error about an order; True when `ev.req_id` was one of our orders."""
        order = self.by_ib_id(ev.req_id)
        error = IbError(ev.code, ev.message)
        preview = self._previews.get(ev.req_id)
        if preview and not preview.done() and not errors.is_informational(ev.code):
            preview.set_exception(errors.error_for_code(ev.code, ev.message))
        if order is None:
            return preview is not None
        if errors.is_informational(ev.code):
            self._commit(order, OrderEventType.ERROR, error=error)
            return True
        if ev.code == errors.ORDER_CANCELLED:
            status = advance(order.status, OrderStatus.CANCELLED)
        elif order.status is OrderStatus.PENDING_SUBMIT or ev.code in errors.ORDER_REJECT_CODES:
            status = advance(order.status, OrderStatus.REJECTED)
        else:
            status = order.status
        updated = dataclasses.replace(order, status=status, last_error=error, update_time=now())
        self._commit(updated, OrderEventType.ERROR, error=error)
        fut = self._acks.get(ev.req_id)
        if fut and not fut.done():
            if status is OrderStatus.REJECTED:
                fut.set_exception(errors.error_for_code(ev.code, ev.message))
            elif status.is_terminal:
                fut.set_result(updated)
        return True

    def settle_missing(self, open_at_tws: set[int], since: datetime) -> list[Order]:
        """After a (re)connect, once TWS listed its open orders and replayed today's
        executions: orders of earlier connections that are still working here but unknown to
        TWS are over. One TWS never acknowledged (PENDING_SUBMIT, no permId) was not placed:
        REJECTED; any other was cancelled or expired while the link was down: CANCELLED (an
        order that filled meanwhile is FILLED already, by the replayed executions)."""
        missing = [
            o
            for o in self.open_orders()
            if o.create_time < since and o.ib_order_id not in open_at_tws
        ]
        for order in missing:
            if order.status is OrderStatus.PENDING_SUBMIT and not order.perm_id:
                status, error = OrderStatus.REJECTED, NEVER_PLACED
            else:
                status, error = OrderStatus.CANCELLED, GONE_WHILE_DISCONNECTED
            updated = dataclasses.replace(order, status=status, last_error=error, update_time=now())
            self._commit(updated, OrderEventType.STATUS_CHANGED, error=error)
        if missing:
            log.warning("%d orders were no longer known to TWS after reconnecting", len(missing))
        return missing

    def fail_pending(self, make_error: type[errors.BrokerError], message: str) -> None:
        futures: list[asyncio.Future[Any]] = [*self._acks.values(), *self._previews.values()]
        for fut in futures:
            if not fut.done():
                fut.set_exception(make_error(message))

    # --- internals ----------------------------------------------------------------------------

    def _order(self, order_id: str) -> Order:
        order = self.get(order_id)
        if order is None:
            raise errors.BrokerError(f"order {order_id} is missing from the store")
        return order

    def _match(self, ib_order_id: int, order_ref: str) -> Order | None:
        order = self.by_ib_id(ib_order_id)
        if order is None and order_ref.startswith(ORDER_REF_PREFIX):
            order = self.by_request(order_ref[len(ORDER_REF_PREFIX) :])
        return order

    def _ack(self, order: Order) -> None:
        fut = self._acks.get(order.ib_order_id)
        until = self._ack_until.get(order.ib_order_id, _acknowledged)
        if fut and not fut.done() and until(order):
            fut.set_result(order)

    def _update(self, old: Order, new: Order) -> None:
        if new != old:
            self._commit(dataclasses.replace(new, update_time=now()), OrderEventType.STATUS_CHANGED)

    def _index(self, order: Order) -> None:
        self._orders[order.order_id] = order
        if order.status.is_terminal:
            self._finished[order.order_id] = None
        self.index.put(order)
        self._by_request[order.request_id] = order.order_id
        if order.ib_order_id:
            self._by_ib_id[order.ib_order_id] = order.order_id

    def _commit(
        self,
        order: Order,
        type_: OrderEventType,
        execution: Execution | None = None,
        error: IbError | None = None,
    ) -> None:
        if type_ is OrderEventType.CREATED:
            # The identity is durable before TWS sees the order; the book and the journal take
            # it once that write commits (a rolled-back order leaves no trace in memory).
            self._store.save_order(order)
            self._store.after_commit(lambda: self._created(order, execution, error))
            return
        self._index(order)
        self._dirty[order.order_id] = order
        if not self._flush_scheduled:
            self._flush_scheduled = True
            # A moment later, so waiting callers are answered before the disk write.
            asyncio.get_running_loop().call_later(FLUSH_DELAY, self.flush)
        self.journal.append(type_, order, execution, error)

    def _created(self, order: Order, execution: Execution | None, error: IbError | None) -> None:
        self.index.add(order.order_id)
        self._index(order)
        self.journal.append(OrderEventType.CREATED, order, execution, error)

    def flush(self) -> None:
        """Write changed orders; changes within one loop iteration are written once."""
        self._flush_scheduled = False
        if not self._dirty:
            return
        with self._store.transaction():
            for order in self._dirty.values():
                self._store.save_order(order)
        self._dirty.clear()
        self._forget_finished()

    def _forget_finished(self) -> None:
        """Keep at most `max_finished` finished orders in memory (the store has them all)."""
        while len(self._finished) > self.max_finished:
            order_id = next(iter(self._finished))
            del self._finished[order_id]
            order = self._orders.get(order_id)
            if order is None or order_id in self._dirty or not order.status.is_terminal:
                continue
            del self._orders[order_id]
            if self._by_request.get(order.request_id) == order_id:
                del self._by_request[order.request_id]
            if self._by_ib_id.get(order.ib_order_id) == order_id:
                del self._by_ib_id[order.ib_order_id]
            for ex in order.executions:
                self._exec_owner.pop(ex.execution_id, None)
