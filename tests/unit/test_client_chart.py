"""The terminal chart of bars (client/chart.py)."""

from __future__ import annotations

from decimal import Decimal as D

from ibkr_broker.client.chart import DOWN, UP, WICK, chart_lines


def bar(o: str, h: str, low: str, c: str) -> dict[str, D]:
    return {"open": D(o), "high": D(h), "low": D(low), "close": D(c)}


def test_an_up_bar_and_a_down_bar_with_their_wicks() -> None:
    lines = chart_lines([bar("10", "14", "9", "13"), bar("13", "13", "10", "11")], width=40,
                        height=6)
    assert len(lines) == 6
    assert lines[0].startswith("14.00 ┤") and lines[-1].startswith(" 9.00 ┤")
    columns = ["".join(line.split("┤ ")[1][x] for line in lines) for x in range(2)]
    assert columns[0] == WICK + UP * 3 + WICK * 2 or columns[0].count(UP) >= 2
    assert UP in columns[0] and DOWN in columns[1] and columns[1][0] == " "


def test_only_the_newest_bars_that_fit_are_drawn() -> None:
    bars = [bar(str(p), str(p + 1), str(p - 1), str(p)) for p in range(100, 200)]
    lines = chart_lines(bars, width=30, height=4)
    assert all(len(line) <= 30 for line in lines)
    assert chart_lines([], 30) == [] and chart_lines(bars, 30, height=1) == []
