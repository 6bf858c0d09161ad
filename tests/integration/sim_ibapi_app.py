"""An unmodified ibapi EClient/EWrapper that records every callback, for simulator tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ibapi.client import EClient
from ibapi.wrapper import EWrapper

RECORDED = (
    "error", "nextValidId", "managedAccounts", "connectionClosed", "currentTime",
    "contractDetails", "contractDetailsEnd", "securityDefinitionOptionParameter",
    "securityDefinitionOptionParameterEnd", "symbolSamples",
    "tickPrice", "tickSize", "tickString", "tickGeneric", "tickOptionComputation",
    "tickReqParams", "marketDataType", "tickSnapshotEnd",
    "openOrder", "openOrderEnd", "orderStatus", "execDetails", "execDetailsEnd",
    "commissionAndFeesReport", "completedOrder", "completedOrdersEnd",
    "updateAccountValue", "updatePortfolio", "updateAccountTime", "accountDownloadEnd",
    "position", "positionEnd", "accountSummary", "accountSummaryEnd", "pnl",
    "historicalData", "historicalDataEnd",
    "pnlSingle", "realtimeBar", "updateMktDepth", "updateMktDepthL2",
)  # fmt: skip


class RecordingApp(EWrapper, EClient):
    """Records (callback name, args) in arrival order; ``wait`` blocks on a predicate."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, self)
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self.cond = threading.Condition()
        self.thread: threading.Thread | None = None
        for name in RECORDED:
            setattr(self, name, self._recorder(name))
        self.protobuf_calls: list[str] = []  # ibapi's *ProtoBuf callbacks, by name
        for name in dir(EWrapper):
            if name.endswith("ProtoBuf"):
                setattr(self, name, self._proto_recorder(name))

    def _proto_recorder(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            self.protobuf_calls.append(name)

        return record

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            with self.cond:
                self.events.append((name, args))
                self.cond.notify_all()

        return record

    def start(self, port: int, client_id: int, timeout: float = 10) -> RecordingApp:
        self.connect("127.0.0.1", port, client_id)
        self.thread = threading.Thread(target=self.run, daemon=True, name=f"ibapi-{client_id}")
        self.thread.start()
        self.wait(lambda: self.of("nextValidId"), timeout, "nextValidId")
        return self

    def stop(self) -> None:
        self.disconnect()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def of(self, name: str, pred: Callable[[tuple[Any, ...]], bool] | None = None
           ) -> list[tuple[Any, ...]]:
        with self.cond:
            return [a for n, a in self.events if n == name and (pred is None or pred(a))]

    def errors(self, code: int | None = None) -> list[tuple[Any, ...]]:
        # error(reqId, errorTime, errorCode, errorString, advancedOrderRejectJson)
        return self.of("error", None if code is None else (lambda a: a[2] == code))

    def wait(self, pred: Callable[[], Any], timeout: float = 10, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                result = pred()
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out waiting for {what}; last events: "
                                       f"{[n for n, _ in self.events[-15:]]}")
                self.cond.wait(min(left, 0.05))

    def index(self, name: str, pred: Callable[[tuple[Any, ...]], bool]) -> int:
        with self.cond:
            for i, (n, a) in enumerate(self.events):
                if n == name and pred(a):
                    return i
        raise LookupError(name)
