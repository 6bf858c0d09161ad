"""The kill switch: while engaged, new orders are refused; engaging it cancels every open order.

Its state lives in the store's meta table (written before anything else happens), so a halt
survives a restart of the server. Engaging sends reqGlobalCancel through the session (paced);
when TWS is not connected at that moment the cancel is sent as soon as the session is ready
again (`cancel_pending`, also persisted).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ..domain import errors
from ..domain.model import ConnectionState, IbError
from ..session.broker_session import BrokerSession

log = logging.getLogger(__name__)

META_KEY = "kill_switch"


@dataclass(frozen=True)
class KillSwitchState:
    engaged: bool = False
    reason: str = ""
    engaged_by: str = ""  # token name; empty when authentication is off
    engage_time: datetime | None = None
    cancel_pending: bool = False  # reqGlobalCancel still to be sent (TWS was not connected)

    def to_json(self) -> str:
        time = self.engage_time.isoformat() if self.engage_time else ""
        return json.dumps({**asdict(self), "engage_time": time})

    @classmethod
    def from_json(cls, text: str) -> KillSwitchState:
        data: dict[str, Any] = json.loads(text)
        time = data.get("engage_time") or ""
        return cls(
            engaged=bool(data.get("engaged")),
            reason=str(data.get("reason", "")),
            engaged_by=str(data.get("engaged_by", "")),
            engage_time=datetime.fromisoformat(time) if time else None,
            cancel_pending=bool(data.get("cancel_pending")),
        )


class KillSwitch:
    def __init__(self, session: BrokerSession) -> None:
        self.session = session
        stored = session.store.get_meta(META_KEY)
        self.state = KillSwitchState.from_json(stored) if stored else KillSwitchState()
        self._tasks: set[asyncio.Task[None]] = set()
        session.state_listeners.append(self._on_state)

    @property
    def engaged(self) -> bool:
        return self.state.engaged

    def disabled_reason(self) -> str:
        """Why trading is halted, for GetStatus; empty when not engaged."""
        if not self.state.engaged:
            return ""
        by = f" by {self.state.engaged_by}" if self.state.engaged_by else ""
        why = f": {self.state.reason}" if self.state.reason else ""
        return f"trading halted{by} (kill switch){why}"

    def require_armed(self) -> None:
        """Raise TradingHalted while the kill switch is engaged."""
        if self.state.engaged:
            raise errors.TradingHalted(
                self.disabled_reason() + "; an admin resumes it with ResumeTrading"
            )

    def _save(self, state: KillSwitchState) -> None:
        self.session.store.set_meta(META_KEY, state.to_json())
        self.state = state

    async def engage(self, reason: str, engaged_by: str) -> list[str]:
        """Halt (kept as first engaged if already halted), then cancel every open order at TWS.

        Returns the server ids of the orders that were working.
        """
        if not self.state.engaged:
            self._save(KillSwitchState(True, reason, engaged_by, datetime.now(UTC)))
            log.warning("kill switch engaged by %r: %s", engaged_by or "-", reason or "-")
        working = [o.order_id for o in self.session.orders.open_orders()]
        self._save(replace(self.state, cancel_pending=True))
        await self._global_cancel()
        return working

    def release(self) -> None:
        if self.state.engaged:
            log.warning("kill switch released; trading re-armed")
        self._save(KillSwitchState())

    async def _global_cancel(self) -> None:
        if not self.session.ready:
            log.warning("TWS not connected: reqGlobalCancel is sent once it is")
            return
        try:
            await self.session.cancel_all_orders()
        except errors.Unavailable:
            log.warning("TWS connection lost: reqGlobalCancel is sent once it is back")
            return
        if self.state.cancel_pending:
            self._save(replace(self.state, cancel_pending=False))

    def _on_state(self, state: ConnectionState, _error: IbError | None) -> None:
        if state is ConnectionState.READY and self.state.engaged and self.state.cancel_pending:
            task = asyncio.get_running_loop().create_task(self._global_cancel())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
