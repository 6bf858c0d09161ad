"""Safety of the MCP tools: confirmation tokens (--confirm mode) and refusals as tool errors.

No import of the `mcp` SDK here: the tools module turns `ToolRefusal` into the SDK's ToolError.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import (
    BrokerError,
    DeadlineExceededError,
    PermissionDeniedError,
    RiskLimitError,
    TradingHaltedError,
    UnavailableError,
)

DEFAULT_CONFIRM_TTL = 60.0
MAX_PENDING_CONFIRMATIONS = 256


class ToolRefusal(Exception):
    """A tool call that cannot be done: bad input or a refusal; the message says why."""


@dataclass(frozen=True)
class Pending:
    """A previewed command waiting for its confirmation."""

    action: str
    fingerprint: str
    request_id: str
    expires_at: float


class Confirmations:
    """One-time tokens: a preview issues one for exactly these arguments; the command with the
    same arguments and the token runs within `ttl` seconds. A token stays valid until it expires
    (a retry after a lost answer reuses the same request_id, so it cannot trade twice)."""

    def __init__(
        self, ttl: float = DEFAULT_CONFIRM_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl <= 0:
            raise ValueError(f"confirmation ttl must be positive seconds, got {ttl!r}")
        self.ttl = ttl
        self._clock = clock
        self._pending: dict[str, Pending] = {}

    def issue(self, action: str, fingerprint: str, request_id: str) -> str:
        self._drop_expired()
        while len(self._pending) >= MAX_PENDING_CONFIRMATIONS:
            self._pending.pop(next(iter(self._pending)))
        token = secrets.token_urlsafe(16)
        self._pending[token] = Pending(action, fingerprint, request_id, self._clock() + self.ttl)
        return token

    def redeem(self, token: str, action: str, fingerprint: str) -> str:
        """The request_id bound to `token`; ToolRefusal when unknown, expired or for other args."""
        self._drop_expired()
        pending = self._pending.get(token)
        if pending is None:
            raise ToolRefusal(
                "confirmation_token: unknown or expired (tokens last "
                f"{self.ttl:g} s); call {action} without it for a new preview"
            )
        if pending.action != action or pending.fingerprint != fingerprint:
            raise ToolRefusal(
                f"confirmation_token: it confirms other arguments; call {action} with exactly "
                "the previewed arguments, or without a token for a new preview"
            )
        return pending.request_id

    def _drop_expired(self) -> None:
        now = self._clock()
        for token in [t for t, p in self._pending.items() if p.expires_at <= now]:
            del self._pending[token]


def refusal_text(error: BrokerError) -> str:
    """One clear line for a broker refusal or failure, naming the limit, halt or permission."""
    if isinstance(error, RiskLimitError):
        head = f"refused by risk limit {error.reason}"
    elif isinstance(error, TradingHaltedError):
        head = "refused: trading is halted (kill switch engaged; an admin must resume)"
    elif isinstance(error, PermissionDeniedError):
        head = f"refused: permission denied ({error.reason or 'PERMISSION_DENIED'})"
    else:
        head = f"failed: {error.reason or (error.code.name if error.code else 'ERROR')}"
    details = _details(error.metadata)
    text = f"{head}: {' '.join(error.message.split()) or '(no message)'}"
    if error.field:
        text += f" (field {error.field})"
    if details:
        text += f" [{details}]"
    if error.request_id and isinstance(error, UnavailableError | DeadlineExceededError):
        text += f"; retry with request_id {error.request_id} so it cannot run twice"
    return text


def _details(metadata: Mapping[str, str]) -> str:
    keys = ("setting", "limit", "attempted", "engaged_by")
    return ", ".join(f"{key} {metadata[key]}" for key in keys if metadata.get(key))
