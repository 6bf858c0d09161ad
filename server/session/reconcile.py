"""What the reconciliation after a (re)connect found, told in one log line once TWS has
answered both reqOpenOrders (openOrderEnd) and reqExecutions (execDetailsEnd)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sized
from dataclasses import dataclass, field
from datetime import datetime

log = logging.getLogger("ibkr_broker.server.session.reconcile")


@dataclass
class Reconciliation:
    started: datetime
    reconnect: bool  # False for the first connection of this server
    subscriptions_restored: int = 0
    executions_req_id: int = 0
    open_at_tws: set[int] = field(default_factory=set)  # IB order ids TWS listed as open
    open_orders_done: bool = False
    executions_recovered: int = 0  # executions the order book did not know yet
    executions_done: bool = False
    marked_inactive: int = 0  # orders we thought working that TWS no longer lists
    reported: bool = False

    def open_order(self, ib_order_id: int) -> None:
        if not self.open_orders_done:
            self.open_at_tws.add(ib_order_id)

    def open_orders_end(self, mark_missing: Callable[[set[int], datetime], Sized]) -> None:
        """TWS listed every open order: ours that it did not list are marked inactive."""
        if not self.open_orders_done:
            self.open_orders_done = True
            self.marked_inactive = len(mark_missing(self.open_at_tws, self.started))
            self.report_when_done()

    def execution(self, new: bool) -> None:
        if new and not self.executions_done:
            self.executions_recovered += 1

    def executions_end(self, req_id: int) -> None:
        if req_id == self.executions_req_id and not self.executions_done:
            self.executions_done = True
            self.report_when_done()

    def report_when_done(self) -> None:
        if self.reported or not (self.open_orders_done and self.executions_done):
            return
        self.reported = True
        fields = {
            "reconnect": self.reconnect,
            "open_orders_checked": len(self.open_at_tws),
            "executions_recovered": self.executions_recovered,
            "orders_marked_inactive": self.marked_inactive,
            "subscriptions_restored": self.subscriptions_restored,
        }
        log.info(
            "TWS reconciliation after %s: %d open orders checked at TWS, %d executions "
            "recovered, %d orders marked inactive, %d subscriptions restored",
            "reconnect" if self.reconnect else "connect",
            fields["open_orders_checked"],
            self.executions_recovered,
            self.marked_inactive,
            self.subscriptions_restored,
            extra=fields,
        )
