"""IB's historical-data pacing, as TWS enforces it (per login, over every client): error 162
when a request is identical to one within 15 s, is the 7th for one contract, exchange and tick
type within 2 s, or the 61st within 10 minutes. A refused request does not count."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable

from .codec.request_types import ReqHistoricalData

IDENTICAL_WINDOW = 15.0
LINE_WINDOW, LINE_MAX = 2.0, 6
TOTAL_WINDOW, TOTAL_MAX = 600.0, 60

PACING_CODE = 162
PACING_TEXT = ("Historical Market Data Service error message:"
               "Historical data request pacing violation")


def _contract_key(req: ReqHistoricalData) -> Hashable:
    c = req.contract
    return (c.con_id, c.symbol, c.sec_type, c.exchange, c.currency, c.local_symbol)


class HistoryPacing:
    def __init__(self) -> None:
        self._identical: dict[Hashable, float] = {}
        self._lines: dict[Hashable, deque[float]] = {}
        self._all: deque[float] = deque()
        self.violations = 0  # requests refused with 162
        self.accepted = 0

    def violation(self, req: ReqHistoricalData, now: float) -> str | None:
        """Why `req` breaks a rule at `now` (None = it may go; then it is counted)."""
        identical = (_contract_key(req), req.end_date_time, req.bar_size, req.duration,
                     req.use_rth, req.what_to_show)
        line_key = (_contract_key(req), req.what_to_show)
        while self._all and self._all[0] <= now - TOTAL_WINDOW:
            self._all.popleft()
        line = self._lines.setdefault(line_key, deque())
        while line and line[0] <= now - LINE_WINDOW:
            line.popleft()
        why = None
        if now - self._identical.get(identical, float("-inf")) < IDENTICAL_WINDOW:
            why = "identical request within 15 seconds"
        elif len(line) >= LINE_MAX:
            why = "six requests for the same contract within 2 seconds"
        elif len(self._all) >= TOTAL_MAX:
            why = "sixty requests within 10 minutes"
        if why is not None:
            self.violations += 1
            return why
        self.accepted += 1
        self._identical[identical] = now
        line.append(now)
        self._all.append(now)
        return None
