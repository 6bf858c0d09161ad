"""A level-2 book around the quote, and the insert/update/delete operations that turn the book
a client has into a newer one (IB's updateMktDepth semantics: insert at a row shifts the rows
below down, delete shifts them up). Pure: no I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from .market import Quote

ASK, BID = 0, 1  # IB's side numbers
INSERT, UPDATE, DELETE = 0, 1, 2  # IB's operations
EXCHANGES = ("NSDQ", "ARCA", "BATS", "IEX", "EDGX")


@dataclass(frozen=True)
class Row:
    price: Decimal
    size: Decimal
    market_maker: str = ""


@dataclass(frozen=True)
class DepthOp:
    """One updateMktDepth: `row` is the new content (for a delete, the row removed)."""

    position: int
    operation: int
    side: int
    row: Row


def book_around(quote: Quote, tick: Decimal, rows: int, rng: random.Random,
                previous: tuple[list[Row], list[Row]] = ([], [])) -> tuple[list[Row], list[Row]]:
    """(asks, bids), best first: levels one tick apart from the quote, a few left empty at
    random (so rows appear and vanish), sizes in round lots; a level of `previous` mostly keeps
    its size and exchange (a book changes a few rows at a time)."""
    def side(best: Decimal, step: Decimal, top_size: Decimal, before: list[Row]) -> list[Row]:
        kept = {r.price: r for r in before}
        out: list[Row] = []
        level = 0
        while len(out) < rows and level < rows * 3:
            price = best + step * level
            level += 1
            if price <= 0:
                break
            old = kept.get(price)
            if level == 1:
                out.append(Row(price, top_size, old.market_maker if old else "NSDQ"))
            elif old is not None and rng.random() < 0.85:
                out.append(old)
            elif rng.random() < 0.8:
                out.append(Row(price, Decimal(rng.randrange(1, 40) * 100), rng.choice(EXCHANGES)))
        return out

    asks = side(quote.ask, tick, quote.ask_size or Decimal(100), previous[0])
    bids = side(quote.bid, -tick, quote.bid_size or Decimal(100), previous[1])
    return asks, bids


def diff_side(old: list[Row], new: list[Row], side: int, limit: int = 0) -> list[DepthOp]:
    """Operations that turn `old` into `new` (both best first, prices strictly ordered); with
    a `limit`, the side never holds more rows than that on the way (the last row goes before
    an insert that would overflow it, as a book of `limit` rows does)."""
    ops: list[DepthOp] = []
    cur = list(old)
    new_prices = {r.price for r in new}
    i = 0
    while i < len(new):
        if i < len(cur) and cur[i].price == new[i].price:
            if cur[i] != new[i]:
                ops.append(DepthOp(i, UPDATE, side, new[i]))
                cur[i] = new[i]
            i += 1
        elif i < len(cur) and cur[i].price not in new_prices:
            ops.append(DepthOp(i, DELETE, side, cur.pop(i)))
        else:
            if limit and len(cur) >= limit:
                ops.append(DepthOp(len(cur) - 1, DELETE, side, cur.pop()))
            ops.append(DepthOp(i, INSERT, side, new[i]))
            cur.insert(i, new[i])
            i += 1
    while len(cur) > len(new):
        ops.append(DepthOp(len(cur) - 1, DELETE, side, cur.pop()))
    return ops


def apply(book: list[Row], op: DepthOp) -> None:
    """Apply one operation to one side of a book (what a client does)."""
    if op.operation == INSERT:
        book.insert(op.position, op.row)
    elif op.operation == UPDATE:
        book[op.position] = op.row
    else:
        del book[op.position]
