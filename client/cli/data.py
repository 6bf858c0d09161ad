"""`ibkr-broker bars`, `pnl` and `depth`: historical bars as a table (and a chart when asked),
live PnL, and a live level-2 book."""

from __future__ import annotations

import argparse
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

from .. import contracts
from ..broker_client import BrokerClient
from ..chart import chart_lines
from ..data_values import DepthKeeper, bar_to_dict, feed_status_to_dict, pnl_to_dict
from ..render import Output, cell
from ..streams import StreamReconnected
from .parser import EXIT_OK, UsageError

BAR_COLUMNS = ["time", "open", "high", "low", "close", "volume", "wap", "count"]
PNL_COLUMNS = ["account", "con_id", "daily", "unrealized", "realized", "position",
               "market_value"]  # fmt: skip
DEPTH_COLUMNS = ["bid_exchange", "bid_size", "bid", "ask", "ask_size", "ask_exchange"]


def cmd_bars(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    end = _end_time(args.end)
    spec = contracts.contract(contracts.check_symbol(args.symbol), args.sec_type)
    response = client.historical_bars(spec, args.duration, args.bar_size, end_time=end,
                                      what=args.what, outside_rth=args.outside_rth)  # fmt: skip
    bars = [bar_to_dict(b) for b in response.bars]
    if out.json_mode:
        out.json(bars)
        return EXIT_OK
    title = f"{args.bar_size} bars of {response.contract.symbol} over {args.duration}"
    if args.chart:
        out.line(title)
        for line in chart_lines(bars, out.width - 1, args.height):
            out.line(line)
        return EXIT_OK
    rows = [[b[c] for c in BAR_COLUMNS] for b in bars]
    out.table(title, BAR_COLUMNS, rows, optional=["count", "wap", "volume"])
    return EXIT_OK


def _end_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        end = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--end {text!r} is not an ISO time like 2026-11-24T16:00:00Z") from None
    return end if end.tzinfo else end.replace(tzinfo=dt.UTC)


def _limits(args: argparse.Namespace) -> None:
    if args.count is not None and args.count <= 0:
        raise UsageError("--count must be positive")
    if args.seconds is not None and args.seconds <= 0:
        raise UsageError("--seconds must be positive")


def _until(stream: Any, args: argparse.Namespace) -> threading.Timer | None:
    timer = threading.Timer(args.seconds, stream.cancel) if args.seconds else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    return timer


def cmd_pnl(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    _limits(args)
    stream = client.stream_pnl(args.account, positions=args.positions)
    timer = _until(stream, args)
    seen = 0
    try:
        for item in stream:
            if isinstance(item, StreamReconnected):
                continue
            if item.HasField("status"):
                status = feed_status_to_dict(item.status)
                _show(out, {"type": "status", **status}, f"status: {status}")
            elif item.HasField("pnl"):
                value = pnl_to_dict(item.pnl)
                text = " ".join(f"{c}={cell(value[c])}" for c in PNL_COLUMNS)
                _show(out, {"type": "pnl", **value}, text)
                seen += 1
                if args.count is not None and seen >= args.count:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        if timer is not None:
            timer.cancel()
        stream.close()
    return EXIT_OK


def _show(out: Output, value: dict[str, Any], text: str) -> None:
    if out.json_mode:
        out.json_line(value)
    else:
        out.line(text)


def cmd_depth(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    _limits(args)
    if not 1 <= args.rows <= 50:
        raise UsageError("--rows must be 1 to 50")
    spec = contracts.contract(contracts.check_symbol(args.symbol), args.sec_type)
    stream = client.stream_market_depth(spec, args.rows)
    timer = _until(stream, args)
    keeper = DepthKeeper()
    try:
        books = _books(stream, keeper, args.count)
        if out.json_mode:
            for book in books:
                out.json_line(book)
        elif out.use_rich:
            _live_book(out, books, keeper)
        else:
            for book in books:
                out.line(_top_line(book))
            _book_table(out, keeper)
    except KeyboardInterrupt:
        pass
    finally:
        if timer is not None:
            timer.cancel()
        stream.close()
    return EXIT_OK


def _books(stream: Any, keeper: DepthKeeper, count: int | None) -> Iterator[dict[str, Any]]:
    seen = 0
    for item in stream:
        if isinstance(item, StreamReconnected):
            continue
        if item.HasField("status"):
            yield {"type": "status", **feed_status_to_dict(item.status)}
        elif keeper.apply(item):
            seen += 1
            yield keeper.to_dict()
            if count is not None and seen >= count:
                return


def _book_rows(keeper: DepthKeeper) -> list[list[Any]]:
    rows = []
    for i in range(max(len(keeper.bids), len(keeper.asks))):
        bid = keeper.bids[i] if i < len(keeper.bids) else {}
        ask = keeper.asks[i] if i < len(keeper.asks) else {}
        rows.append([bid.get("exchange"), bid.get("size"), bid.get("price"), ask.get("price"),
                     ask.get("size"), ask.get("exchange")])
    return rows


def _book_table(out: Output, keeper: DepthKeeper) -> None:
    title = f"depth of {keeper.symbol}"
    out.table(title, DEPTH_COLUMNS, _book_rows(keeper), optional=["bid_exchange", "ask_exchange"])


def _top_line(book: dict[str, Any]) -> str:
    if book["type"] == "status":
        error = book.get("error") or {}
        return f"status: {book['state']} {error.get('code') or ''} {error.get('message') or ''}"
    bid = book["bids"][0] if book["bids"] else {}
    ask = book["asks"][0] if book["asks"] else {}
    return (f"{book['symbol']:<8} bid {cell(bid.get('size'))} @ {cell(bid.get('price'))}  "
            f"ask {cell(ask.get('size'))} @ {cell(ask.get('price'))}  "
            f"rows {len(book['bids'])}/{len(book['asks'])}")


def _live_book(out: Output, books: Iterator[dict[str, Any]], keeper: DepthKeeper) -> None:
    from rich.live import Live

    console = out.console()

    def table() -> Any:
        rows = _book_rows(keeper)
        fit = out.fit(DEPTH_COLUMNS, rows, optional=["bid_exchange", "ask_exchange"])
        title = f"depth of {keeper.symbol or '...'} (Ctrl-C to stop)"
        return out.rich_table(title, fit.columns, fit.rows(rows), widths=fit.widths)

    with Live(table(), console=console, auto_refresh=False) as live:
        for book in books:
            if book["type"] == "status":
                console.print(_top_line(book))
            live.update(table(), refresh=True)
    console.print()
