"""The live data feeds other than quotes: PnL (per account and per position), live bars
(5-second real-time bars and bars kept up to date) and level-2 market depth."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .history import Bar, BarSource
from .model import Contract, IbError, SubscriptionState


@dataclass(frozen=True)
class FeedStatus:
    """A feed's subscription state changed (the IB error or notice behind it, if any)."""

    state: SubscriptionState
    error: IbError | None = None
    key: object = None  # the feed's key (PnlKey, LiveBarKey, ...), set by the feed

    @property
    def final(self) -> bool:
        """True when the subscription is over (not interrupted, not live again)."""
        return self.state not in (SubscriptionState.SUBSCRIBED, SubscriptionState.INTERRUPTED,
                                  SubscriptionState.DELAYED)


# --- PnL -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PnlKey:
    account: str
    con_id: int = 0  # 0 = the whole account (reqPnL); else one position (reqPnLSingle)


@dataclass(frozen=True)
class PnlValue:
    """Daily, unrealized and realized PnL of an account or of one position (None = not known)."""

    key: PnlKey
    daily: Decimal | None
    unrealized: Decimal | None
    realized: Decimal | None
    position: Decimal | None = None  # positions only
    market_value: Decimal | None = None  # positions only
    time: datetime | None = None


# --- live bars ------------------------------------------------------------------------------------


class LiveBarKind(enum.Enum):
    REAL_TIME = "real_time"  # IB's 5-second real-time bars (reqRealTimeBars)
    KEEP_UP_TO_DATE = "keep_up_to_date"  # reqHistoricalData with keepUpToDate


@dataclass(frozen=True)
class LiveBarKey:
    """What one IB bar subscription is: shared by every stream asking the same."""

    con_id: int
    kind: LiveBarKind
    bar_size: str  # "5 secs" for real-time bars
    source: BarSource
    regular_hours_only: bool


@dataclass(frozen=True)
class LiveBar:
    bar: Bar
    completed: bool  # False while a kept-up-to-date bar is still forming


# --- market depth ---------------------------------------------------------------------------------


class DepthSide(enum.Enum):
    ASK = 0  # IB's side numbers
    BID = 1


class DepthOperation(enum.Enum):
    INSERT = 0  # IB's operation numbers
    UPDATE = 1
    DELETE = 2


@dataclass(frozen=True)
class DepthRow:
    price: Decimal
    size: Decimal
    market_maker: str = ""  # the exchange (smart depth) or market maker; "" when IB gives none


@dataclass(frozen=True)
class DepthChange:
    """One IB depth operation: insert at `position` shifts the rows below down, delete shifts
    them up; `row` is the new content (for a delete, the row removed)."""

    side: DepthSide
    operation: DepthOperation
    position: int
    row: DepthRow


@dataclass(frozen=True)
class DepthBook:
    """A full book, best first on each side."""

    contract: Contract
    asks: tuple[DepthRow, ...]
    bids: tuple[DepthRow, ...]


class DepthError(ValueError):
    """An operation that does not fit the book (a position out of range)."""


def apply_change(rows: list[DepthRow], change: DepthChange) -> DepthRow | None:
    """Apply one change to one side; returns the row removed by a delete. DepthError when the
    position does not fit (IB's book and ours disagree: resubscribe)."""
    p = change.position
    if change.operation is DepthOperation.INSERT:
        if not 0 <= p <= len(rows):
            raise DepthError(f"insert at {p} into {len(rows)} rows")
        rows.insert(p, change.row)
        return None
    if not 0 <= p < len(rows):
        raise DepthError(f"{change.operation.name.lower()} at {p} of {len(rows)} rows")
    if change.operation is DepthOperation.UPDATE:
        rows[p] = change.row
        return None
    return rows.pop(p)
