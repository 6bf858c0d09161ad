"""The error tree of the broker and the one table that sorts IB's message codes.

    BrokerError
    ├── InvalidArgument          bad input, named by `field` (before anything reaches TWS)
    ├── NotFound
    │   ├── ContractNotFound     IB 200 and friends
    │   └── OrderNotFound
    ├── AmbiguousContract        a spec that must be unique matched several contracts
    ├── OrderRejected            IB refused an order (201, 103, 110, 321, ...)
    │   └── OrderNotCancellable  a cancel of an order that is already filled, cancelled, ...
    ├── TradingDisabled          safety checks (live account in paper mode, not ready to trade)
    │   └── TradingHalted        the kill switch is engaged (reason TRADING_HALTED)
    ├── RiskLimitBreached        a pre-trade risk limit; reason names it (RISK_MAX_ORDER_QUANTITY)
    ├── Unavailable              no TWS session, connection lost (retryable)
    │   ├── DeadlineExceeded     TWS did not answer in time (reason TWS_TIMEOUT)
    │   └── StoreFailed          the server's store could not write (reason STORE_FAILED)
    ├── RateLimited              IB pacing or our own limits (retryable)
    ├── Conflict                 a request_id reused with different content
    └── JournalGap               an order-event stream's resume point is no longer kept

Each error may carry the IB code and text that caused it, and string metadata for the
client (e.g. a risk limit and the attempted value).
"""

from __future__ import annotations

from collections.abc import Mapping


class BrokerError(Exception):
    reason = "BROKER_ERROR"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        ib_code: int = 0,
        field: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.ib_code = ib_code
        self.field = field
        self.metadata: dict[str, str] = dict(metadata or {})


class InvalidArgument(BrokerError):
    reason = "INVALID_ARGUMENT"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}", field=field)


class NotFound(BrokerError):
    reason = "NOT_FOUND"


class ContractNotFound(NotFound):
    reason = "CONTRACT_NOT_FOUND"


class OrderNotFound(NotFound):
    reason = "ORDER_NOT_FOUND"


class AmbiguousContract(BrokerError):
    reason = "AMBIGUOUS_CONTRACT"


class OrderRejected(BrokerError):
    reason = "ORDER_REJECTED"


class OrderNotCancellable(OrderRejected):
    """CancelOrder of an order in a final status (FAILED_PRECONDITION); nothing was sent."""

    reason = "ORDER_NOT_CANCELLABLE"


class TradingDisabled(BrokerError):
    reason = "TRADING_DISABLED"


class TradingHalted(TradingDisabled):
    reason = "TRADING_HALTED"


class RiskLimitBreached(BrokerError):
    """An order would break a pre-trade limit; nothing was sent to TWS."""

    def __init__(self, reason: str, message: str, metadata: Mapping[str, str]) -> None:
        super().__init__(message, metadata=metadata)
        self.reason = reason


class Unavailable(BrokerError):
    reason = "NOT_CONNECTED"
    retryable = True


class DeadlineExceeded(Unavailable):
    reason = "TWS_TIMEOUT"


class StoreFailed(Unavailable):
    """A write to the server's SQLite store failed (a full or failing disk): the transaction
    was rolled back, so nothing of it happened; a retry with the same request_id is safe."""

    reason = "STORE_FAILED"


class RateLimited(BrokerError):
    reason = "RATE_LIMITED"
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        ib_code: int = 0,
        retry_after: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, ib_code=ib_code, metadata=metadata)
        self.retry_after = retry_after  # seconds until a retry can succeed; None = not known


class Conflict(BrokerError):
    reason = "REQUEST_ID_CONFLICT"


class JournalGap(BrokerError):
    reason = "EVENTS_EXPIRED"


# --- IB message codes ------------------------------------------------------------------------

# Notices that never fail a call or drop the session (farm status, delayed data, order
# warnings). 2100-2199 are warnings by IB's own numbering and are covered by the range check.
INFORMATIONAL_CODES = frozenset({10167, 10349, 399, 404, 434, 2100, 2109, 2137, 2161, 2168, 2169})
# Connectivity between TWS and IB's servers (the socket to TWS stays up).
CONNECTIVITY_LOST = 1100
CONNECTIVITY_RESTORED_DATA_LOST = 1101
CONNECTIVITY_RESTORED_DATA_KEPT = 1102
CLIENT_ID_IN_USE = 326
NOT_CONNECTED_CODES = frozenset({502, 504, 1100, 2110})
PACING_CODES = frozenset({100, 162, 420})
MARKET_DATA_NOT_SUBSCRIBED = frozenset({354, 10168, 10197, 10089, 10090})
MARKET_DATA_LINE_LIMIT = 101
DELAYED_DATA_NOTICE = 10167
ORDER_CANCELLED = 202
ORDER_REJECT_CODES = frozenset(
    {
        103,
        104,
        105,
        106,
        107,
        109,
        110,
        111,
        113,
        116,
        117,
        135,
        136,
        161,
        163,
        201,
        203,
        321,
        382,
        383,
        387,
        388,
        10006,
        10147,
        10148,
        10149,
    }
)
CONTRACT_NOT_FOUND_CODES = frozenset({200})


def is_informational(code: int) -> bool:
    """True for notices that must never fail a call, cancel an order or drop the session."""
    return code in INFORMATIONAL_CODES or 2100 <= code <= 2199


def error_for_code(code: int, message: str) -> BrokerError:
    """The domain error a request fails with when IB answers it with `code`."""
    if code in CONTRACT_NOT_FOUND_CODES:
        return ContractNotFound(message, ib_code=code)
    if code in ORDER_REJECT_CODES:
        return OrderRejected(message, ib_code=code)
    if code in PACING_CODES:
        return RateLimited(message, ib_code=code)
    if code in NOT_CONNECTED_CODES:
        return Unavailable(message, ib_code=code)
    return BrokerError(message, ib_code=code)
