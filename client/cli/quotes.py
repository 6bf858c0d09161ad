"""`ibkr-broker quotes`: live quotes as a table that refreshes (rich), lines or JSON lines."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Iterator
from typing import Any

from .. import contracts
from ..broker_client import BrokerClient
from ..message_dicts import quote_status_to_dict, quote_to_dict
from ..render import Output, cell
from ..streams import StreamReconnected
from .parser import EXIT_OK, UsageError

QUOTE_COLUMNS = ["symbol", "bid", "ask", "last", "bid_size", "ask_size", "volume", "state",
                 "updated_at"]  # fmt: skip
QUOTE_OPTIONAL = ["updated_at", "volume", "state", "ask_size", "bid_size"]


def cmd_quotes(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    if args.count is not None and args.count <= 0:
        raise UsageError("--count must be positive")
    if args.seconds is not None and args.seconds <= 0:
        raise UsageError("--seconds must be positive")
    symbols = [contracts.check_symbol(s) for s in args.symbols]
    stream = client.stream_quotes([contracts.stock(s) for s in symbols])
    timer = threading.Timer(args.seconds, stream.cancel) if args.seconds else None
    rows: dict[str, dict[str, Any]] = {s: {"symbol": s} for s in symbols}

    def table() -> list[list[Any]]:
        return [[row.get(c) for c in QUOTE_COLUMNS] for row in rows.values()]

    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        updates = _updates(stream, rows, args.count)
        if out.json_mode:
            for update in updates:
                out.json_line(update)
        elif out.use_rich:
            _live_quotes(out, updates, table)
        else:
            for update in updates:
                out.line(_quote_line(update))
    except KeyboardInterrupt:
        pass
    finally:
        if timer is not None:
            timer.cancel()
        stream.close()
    return EXIT_OK


def _updates(stream: Any, rows: dict[str, dict[str, Any]], count: int | None) -> Iterator[Any]:
    """Each quote, status and re-open of the stream as a dict; `rows` keeps the latest values."""
    seen = 0
    for item in stream:
        if isinstance(item, StreamReconnected):
            yield {"type": "reconnected", "attempts": item.attempts,
                   "error": item.error.one_line()}  # fmt: skip
            continue
        if item.HasField("status"):
            status = quote_status_to_dict(item.status)
            rows.setdefault(status["symbol"], {"symbol": status["symbol"]})
            rows[status["symbol"]]["state"] = status["state"]
            yield {"type": "status", **status}
        elif item.HasField("quotes"):
            for quote in item.quotes.quotes:
                values = quote_to_dict(quote)
                rows.setdefault(values["symbol"], {"symbol": values["symbol"]})
                rows[values["symbol"]].update(values)
                seen += 1
                yield {"type": "quote", **values}
                if count is not None and seen >= count:
                    return


def _live_quotes(out: Output, updates: Any, table: Callable[[], list[list[Any]]]) -> None:
    from rich.live import Live

    console = out.console()
    title = "quotes (Ctrl-C to stop)"

    def fitted() -> Any:
        rows = table()
        fit = out.fit(QUOTE_COLUMNS, rows, optional=QUOTE_OPTIONAL)
        return out.rich_table(title, fit.columns, fit.rows(rows), widths=fit.widths)

    with Live(fitted(), console=console, auto_refresh=False) as live:
        for _ in updates:
            live.update(fitted(), refresh=True)
    console.print()


def _quote_line(update: dict[str, Any]) -> str:
    if update["type"] == "quote":
        parts = [f"{c}={cell(update.get(c))}" for c in QUOTE_COLUMNS[1:7]]
        return f"{update['symbol']:<8} " + " ".join(parts)
    if update["type"] == "status":
        error = f" ({update['error']})" if update.get("error") else ""
        return f"{update['symbol']:<8} state={update['state']}{error}"
    return f"stream re-opened after {update['attempts']} attempt(s): {update['error']}"
