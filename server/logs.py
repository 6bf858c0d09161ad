"""The server's log output: text for a terminal, or JSON lines for a log pipeline.

`--log-format json` (`[server] log_format = "json"`) writes one JSON object per line: time (UTC,
ISO 8601), level, logger, message, and the event's fields (what a call passed as `extra=`),
plus `exception` when there is one. A field whose name says it holds a secret (token,
authorization, password, secret) is written as "[redacted]", whatever logged it.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import logging
import sys
from decimal import Decimal
from typing import Any, TextIO

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SECRET_WORDS = ("token", "authorization", "password", "secret")
# Attributes every LogRecord has: whatever else a record carries are the event's fields.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _RECORD_ATTRIBUTES or key.startswith("_") or key in entry:
                continue
            secret = any(word in key.lower() for word in SECRET_WORDS)
            entry[key] = "[redacted]" if secret else jsonable(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def jsonable(value: Any) -> Any:
    """A field value as JSON: exact decimals as strings, enums by value, times in ISO 8601."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def configure(level: str, log_format: str, stream: TextIO | None = None) -> None:
    """Route the root logger to `stream` (stderr) in `log_format`, at `level`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    json_lines = log_format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level, logging.INFO))
    logging.getLogger("ibapi").setLevel(logging.WARNING)  # it logs every message it sends
