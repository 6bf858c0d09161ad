"""Terminal output of the CLI: rich tables when rich is installed, aligned plain text otherwise,
JSON with --json. `rich` is imported here only, and only when a table is drawn with it."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TextIO

from .message_dicts import to_jsonable

Row = Sequence[Any]


def cell(value: Any) -> str:
    """A value as table text: exact decimals, short UTC times, '-' for unknown."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or "-"
    return str(value)


def _numeric(value: Any) -> bool:
    return isinstance(value, Decimal | int | float) and not isinstance(value, bool)


def rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class Output:
    """Where the CLI writes: `stream` (stdout) in JSON, rich or plain form."""

    def __init__(self, stream: TextIO, *, json_mode: bool = False, plain: bool = False) -> None:
        self.stream = stream
        self.json_mode = json_mode
        self.use_rich = not json_mode and not plain and rich_available()

    # --- JSON ----------------------------------------------------------------------------

    def json(self, value: Any) -> None:
        self.stream.write(json.dumps(to_jsonable(value), indent=2) + "\n")

    def json_line(self, value: Any) -> None:
        self.stream.write(json.dumps(to_jsonable(value)) + "\n")
        self.stream.flush()

    # --- tables --------------------------------------------------------------------------

    def table(
        self, title: str, columns: Sequence[str], rows: Sequence[Row], *, align: bool = True
    ) -> None:
        """Rows under columns; with `align`, numeric columns are right-aligned."""
        if self.use_rich:
            console = self.console()
            console.print(self.rich_table(title, columns, rows, align=align))
        else:
            self.stream.write(plain_table(title, columns, rows, align=align))

    def fields(self, title: str, values: Mapping[str, Any]) -> None:
        """A two-column table of label -> value."""
        self.table(title, ["field", "value"], [(k, v) for k, v in values.items()], align=False)

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    # --- rich ----------------------------------------------------------------------------

    def console(self) -> Any:
        from rich.console import Console

        width = None if self.stream.isatty() else max(shutil.get_terminal_size().columns, 160)
        return Console(file=self.stream, width=width, highlight=False)

    def rich_table(
        self, title: str, columns: Sequence[str], rows: Sequence[Row], *, align: bool = True
    ) -> Any:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        numeric = _numeric_columns(columns, rows, align)
        for name, is_number in zip(columns, numeric, strict=True):
            table.add_column(name, justify="right" if is_number else "left", overflow="fold")
        for row in rows:
            table.add_row(*(cell(v) for v in row))
        return table


def _numeric_columns(columns: Sequence[str], rows: Sequence[Row], align: bool) -> list[bool]:
    return [align and any(_numeric(row[i]) for row in rows) for i in range(len(columns))]


def plain_table(
    title: str, columns: Sequence[str], rows: Sequence[Row], *, align: bool = True
) -> str:
    """Aligned text: numeric columns right-aligned (when `align`), the rest left-aligned."""
    texts = [[cell(v) for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in texts:
        widths = [max(w, len(t)) for w, t in zip(widths, row, strict=True)]
    numeric = _numeric_columns(columns, rows, align)

    def fmt(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    lines = [title] if title else []
    lines.append(fmt(list(columns)))
    lines.append("  ".join("-" * w for w in widths))
    lines += [fmt(row) for row in texts]
    if not rows:
        lines.append("(none)")
    return "\n".join(lines) + "\n"
