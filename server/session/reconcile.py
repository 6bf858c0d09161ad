"""The reconciliation after a (re)connect. Once TWS has answered both reqOpenOrders
(openOrderEnd) and reqExecutions (execDetailsEnd), so that an order which filled while the link
was down is FILLED by now, the orders of earlier connections that TWS no longer knows are
settled (`settle`: OrderBook.settle_missing), and what was found is told in one log line."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sized
from dataclasses import dataclass, field
from datetime import datetime

log = logging.getLogger("ibkr_broker.server.session.reconcile")


@dataclass
class Reconciliation:
    started: datetime  # orders created before this belong to earlier connections
    reconnect: bool  # False for the first connection of this server
    settle: Callable[[set[int], datetime], Sized]  # (IB ids open at TWS, started) -> settled
    subscriptions_restored: int = 0
    executions_req_id: int = 0
    open_at_tws: set[int] = field(default_factory=set)  # IB order ids TWS listed as open
    open_orders_done: bool = False
    executions_recovered: int = 0  # executions the order book did not know yet
    executions_done: bool = False
    settled: int = 0  # orders we thought working that TWS no longer knows
    reported: bool = False

    def open_order(self, ib_order_id: int) -> None:
        if not self.open_orders_done:
            self.open_at_tws.add(ib_order_id)

    def open_orders_end(self) -> None:
        """TWS listed every open order."""
        if not self.open_orders_done:
            self.open_orders_done = True
            self.finish_when_done()

    def execution(self, new: bool) -> None:
        if new and not self.executions_done:
            self.executions_recovered += 1

    def executions_end(self, req_id: int) -> None:
        if req_id == self.executions_req_id and not self.executions_done:
            self.executions_done = True
            self.finish_when_done()

    def finish_when_done(self) -> None:
        if self.reported or not (self.open_orders_done and self.executions_done):
            return
        self.reported = True
        self.settled = len(self.settle(self.open_at_tws, self.started))
        fields = {
            "reconnect": self.reconnect,
            "open_orders_checked": len(self.open_at_tws),
            "executions_recovered": self.executions_recovered,
            "orders_settled": self.settled,
            "subscriptions_restored": self.subscriptions_restored,
        }
        log.info(
            "TWS reconciliation after %s: %d open orders checked at TWS, %d executions "
            "recovered, %d orders unknown to TWS settled, %d subscriptions restored",
            "reconnect" if self.reconnect else "connect",
            fields["open_orders_checked"],
            self.executions_recovered,
            self.settled,
            self.subscriptions_restored,
            extra=fields,
        )
