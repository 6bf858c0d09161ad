"""A price chart for the terminal: one column per bar (the newest on the right), a thin wick
from low to high and a thick body from open to close, in plain characters so it works in any
terminal and in a pipe. Pure: bars in, lines out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

WICK, UP, DOWN, EMPTY = "│", "█", "▒", " "  # body: up bars solid, down bars shaded


def chart_lines(bars: Sequence[Mapping[str, Any]], width: int, height: int = 12) -> list[str]:
    """The chart of the last bars that fit `width` characters (prices on the left), `height`
    rows of price; [] when there is nothing to draw."""
    priced = [b for b in bars if b.get("high") is not None and b.get("low") is not None]
    if not priced or height < 2:
        return []
    top = max(Decimal(b["high"]) for b in priced)
    bottom = min(Decimal(b["low"]) for b in priced)
    label = max(len(_price(top)), len(_price(bottom)))
    shown = priced[-max(1, width - label - 3):]
    span = (top - bottom) or Decimal(1)

    def row_of(price: Decimal) -> int:
        return int((top - price) / span * (height - 1) + Decimal("0.5"))

    grid = [[EMPTY] * len(shown) for _ in range(height)]
    for x, bar in enumerate(shown):
        for y in range(row_of(Decimal(bar["high"])), row_of(Decimal(bar["low"])) + 1):
            grid[y][x] = WICK
        o, c = Decimal(bar["open"]), Decimal(bar["close"])
        body = UP if c >= o else DOWN
        for y in range(row_of(max(o, c)), row_of(min(o, c)) + 1):
            grid[y][x] = body
    lines = []
    for y, cells in enumerate(grid):
        price = top - span * y / (height - 1)
        tag = _price(price) if y in (0, height // 2, height - 1) else ""
        lines.append(f"{tag:>{label}} ┤ " + "".join(cells))
    return lines


def _price(value: Decimal) -> str:
    return f"{value:.2f}"
