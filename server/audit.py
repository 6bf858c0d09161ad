"""The audit log: one JSON line per mutating call and per refused call, appended, never rewritten.

    {"time": "2025-01-02T15:04:05.123+00:00", "event": "call", "method": "PlaceOrder",
     "token": "desk-1", "peer": "ipv4:127.0.0.1:53422", "result": "OK", "reason": "",
     "request": {"request_id": "...", "contract": {"symbol": "AAPL", ...}, "order": {...}},
     "order_ids": ["O17"]}
    {"time": ..., "event": "refused", "method": "PlaceOrder", "token": "", "peer": ...,
     "result": "UNAUTHENTICATED", "reason": "UNAUTHENTICATED"}

`token` is the token's configured name ("" when authentication is off). The log never holds a
token, a token hash or any request metadata: request summaries copy a fixed list of order fields.
Each line is one os.write() on a file opened with O_APPEND (mode 0600), under a lock: lines of
concurrent calls never interleave, and a line costs one small system call on the event loop.
A failing write is logged and does not fail the call.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

log = logging.getLogger(__name__)

# Request fields copied into the summary, per (sub)message; everything else is left out.
CONTRACT_FIELDS = (
    "con_id", "security_type", "symbol", "exchange", "currency", "last_trade_date", "strike",
    "right", "multiplier", "local_symbol",
)  # fmt: skip
ORDER_FIELDS = (
    "account", "action", "quantity", "order_type", "limit_price", "stop_price",
    "trailing_amount", "trailing_percent", "time_in_force", "outside_regular_hours", "order_ref",
    "oca_group",
)  # fmt: skip
BRACKET_FIELDS = ("take_profit_limit_price", "stop_loss_stop_price", "stop_loss_limit_price")
REQUEST_FIELDS = (
    "request_id", "order_id", "what_if", "quantity", "limit_price", "stop_price",
    "trailing_amount", "trailing_percent", "time_in_force", "reason",
)  # fmt: skip
NESTED = {"contract": CONTRACT_FIELDS, "order": ORDER_FIELDS, "bracket": BRACKET_FIELDS}
MAX_TEXT = 200  # characters kept of any one string value
# Response fields holding the server's order ids.
ORDER_ID_FIELDS = ("order", "bracket_orders", "order_ids", "cancelled_order_ids")


def summarize(request: Any) -> dict[str, Any]:
    """The fixed list of fields of a mutating request, as set by the client."""
    if not isinstance(request, Message):
        return {}
    summary = _pick(request, REQUEST_FIELDS)
    for name, fields in NESTED.items():
        if name in request.DESCRIPTOR.fields_by_name and request.HasField(name):
            summary[name] = _pick(getattr(request, name), fields)
    return summary


def _pick(message: Message, names: tuple[str, ...]) -> dict[str, Any]:
    picked: dict[str, Any] = {}
    for field, value in message.ListFields():
        if field.name not in names:
            continue
        if field.enum_type is not None:
            # An unknown number (a refused call) is kept as the number: it is what was sent.
            member = field.enum_type.values_by_number.get(value)
            picked[field.name] = member.name if member is not None else value
        elif isinstance(value, str):
            picked[field.name] = value[:MAX_TEXT]
        elif isinstance(value, bool | int | float):
            picked[field.name] = value
    return picked


def order_ids(response: Any) -> list[str]:
    """The server's order ids in a mutating call's response."""
    if not isinstance(response, Message):
        return []
    ids: list[str] = []
    fields = response.DESCRIPTOR.fields_by_name
    for name in ORDER_ID_FIELDS:
        if name not in fields:
            continue
        value = getattr(response, name)
        items = [value] if isinstance(value, str | Message) else list(value)
        for item in items:
            order_id = item if isinstance(item, str) else getattr(item, "order_id", "")
            if order_id:
                ids.append(order_id)
    return ids


class AuditLog:
    """Appends JSON lines to `path` (created 0600 with its directory)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def call(
        self,
        *,
        method: str,
        token: str,
        peer: str,
        request: Any,
        response: Any,
        code: str,
        reason: str,
    ) -> None:
        """A mutating call that reached its handler, with its result."""
        self.write(
            {
                "event": "call",
                "method": method,
                "token": token,
                "peer": peer,
                "result": code,
                "reason": reason,
                "request": summarize(request),
                "order_ids": order_ids(response),
            }
        )

    def refused(self, *, method: str, token: str, peer: str, code: str, reason: str) -> None:
        """A call refused by authentication, role, read-only mode or the allowlist; `token` is
        the name of the caller's token when it was valid (a role too small), else ""."""
        self.write(
            {
                "event": "refused",
                "method": method,
                "token": token,
                "peer": peer,
                "result": code,
                "reason": reason,
            }
        )

    def write(self, record: Mapping[str, Any]) -> None:
        stamped = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **record}
        data = (json.dumps(stamped, ensure_ascii=True, separators=(",", ":")) + "\n").encode()
        try:
            with self._lock:
                if self._fd < 0:
                    raise OSError("the audit log is closed")
                written = os.write(self._fd, data)
                while written < len(data):  # a short write (disk nearly full); rare
                    written += os.write(self._fd, data[written:])
        except OSError as exc:
            log.error("cannot write the audit log %s: %s", self.path, exc)
