"""Tables fit the width they are given: numbers and ids are never split, optional columns go
first, text wraps at spaces, and the same holds for rich and plain output."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from ibkr_broker.client.render import Output

COLUMNS = ["account_id", "symbol", "quantity", "avg_price", "market_value", "unrealized_pnl",
           "realized_pnl", "last_trade_date"]  # fmt: skip
ROWS = [["DU1234567", "AAPL", Decimal("231.69"), Decimal("230.91285714285715"),
         Decimal("1615.3600"), Decimal("-1.04"), Decimal("0"), None],
        ["DU1234567", "MSFT", Decimal("-20"), Decimal("411.5"), Decimal("-8230.00"),
         Decimal("12.5"), Decimal("3.25"), None]]  # fmt: skip
OPTIONAL = ["realized_pnl", "account_id", "last_trade_date", "avg_price"]


def render(width: int, plain: bool, **kw: object) -> str:
    stream = io.StringIO()
    out = Output(stream, plain=plain, width=width)
    out.table("positions", COLUMNS, ROWS, optional=OPTIONAL, **kw)  # type: ignore[arg-type]
    return stream.getvalue()


@pytest.mark.parametrize("plain", [True, False])
@pytest.mark.parametrize("width", [60, 80, 200])
def test_numbers_and_ids_are_whole_and_lines_fit(width: int, plain: bool) -> None:
    text = render(width, plain)
    assert all(len(line) <= width for line in text.splitlines()), text
    for value in ("231.69", "1615.3600", "-8230.00", "-1.04", "AAPL", "MSFT"):
        assert value in text, text
    if width == 200:
        assert "DU1234567" in text and "230.91285714285715" in text and "not shown" not in text
    else:
        assert "not shown at this width" in " ".join(text.split())


def test_empty_optional_columns_go_first() -> None:
    full = max(len(line) for line in render(200, True).splitlines())
    text = render(full, True)  # one column too narrow: the empty one goes, not realized_pnl
    assert "(not shown at this width: last_trade_date; --json has all)" in text
    assert "realized_pnl" in text.splitlines()[1]


@pytest.mark.parametrize("plain", [True, False])
def test_long_field_values_wrap_at_spaces_within_the_width(plain: bool) -> None:
    stream = io.StringIO()
    message = "the order was rejected because " + "the account has no buying power " * 4
    Output(stream, plain=plain, width=60).fields("order o7", {"status": "rejected",
                                                             "error": message})  # fmt: skip
    text = stream.getvalue()
    assert all(len(line) <= 60 for line in text.splitlines()), text
    words = [w for w in text.split() if w.isalpha()]
    assert " ".join(message.split()) in " ".join(words)
