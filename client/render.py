"""Terminal output of the CLI: rich tables when rich is installed, aligned plain text otherwise,
JSON with --json. `rich` is imported here only, and only when a table is drawn with it.

Tables fit the terminal's width (COLUMNS, else the terminal, else 160 when not a terminal):
numbers and ids are never split across lines. When the columns do not fit, the command's
optional columns are left out (empty columns first, then in the order the command gives) and a
last line names them (--json shows everything).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TextIO

from .message_dicts import to_jsonable

Row = Sequence[Any]
NOT_A_TERMINAL_WIDTH = 160  # piped output: wide, but bounded
RICH_COLUMN_EXTRA = 3  # a rich column's padding (1 + 1) and its border
PLAIN_GAP = 2  # spaces between plain columns


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


def terminal_width(stream: TextIO) -> int:
    """COLUMNS when set, else the terminal's width, else NOT_A_TERMINAL_WIDTH."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if stream.isatty():
        return shutil.get_terminal_size().columns
    return NOT_A_TERMINAL_WIDTH


def header(name: str) -> str:
    """A column name as a header that may break between words (`avg_price` -> `avg price`)."""
    return name.replace("_", " ")


class Fit:
    """Which columns of a table fit `width` and how wide each is. A column needs the widest
    word of its header (headers wrap when `headers_wrap`) and the whole of every cell (cells
    never wrap, except in the `wrap` columns, which need their widest word)."""

    def __init__(
        self,
        columns: Sequence[str],
        rows: Sequence[Row],
        width: int,
        *,
        extra: int,
        optional: Sequence[str] = (),
        wrap: Iterable[str] = (),
        headers_wrap: bool = True,
    ) -> None:
        texts = [[cell(v) for v in row] for row in rows]
        wrap = set(wrap)
        need, natural = {}, {}
        for i, name in enumerate(columns):
            values = [r[i] for r in texts]
            words = [w for t in values for w in (t.split() if name in wrap else [t])]
            head = header(name).split() if headers_wrap else [name]
            need[name] = max([len(w) for w in head] + [len(w) for w in words])
            natural[name] = max([len(header(name))] + [len(t) for t in values])
        empty = {c for i, c in enumerate(columns) if rows and all(r[i] == "-" for r in texts)}
        keep = list(columns)
        order = [c for c in optional if c in empty] + [c for c in optional if c not in empty]
        for name in order:
            if sum(need[c] + extra for c in keep) <= width:
                break
            keep.remove(name)
        self.columns = keep
        self.hidden = [c for c in columns if c not in keep]
        self.index = [list(columns).index(c) for c in keep]
        self.widths = _shrink([natural[c] for c in keep], [need[c] for c in keep],
                              width - extra * len(keep))  # fmt: skip

    def rows(self, rows: Sequence[Row]) -> list[list[Any]]:
        return [[row[i] for i in self.index] for row in rows]

    def note(self) -> str:
        return f"(not shown at this width: {', '.join(self.hidden)}; --json has all)"


def _shrink(natural: list[int], need: list[int], room: int) -> list[int]:
    """Column widths within `room`: the natural widths, the most shrinkable ones taken down
    toward what they need first (never below it)."""
    widths = list(natural)
    excess = sum(widths) - room
    for i in sorted(range(len(widths)), key=lambda i: need[i] - natural[i]):
        if excess <= 0:
            break
        cut = min(excess, widths[i] - need[i])
        widths[i] -= cut
        excess -= cut
    return widths


class Output:
    """Where the CLI writes: `stream` (stdout) in JSON, rich or plain form."""

    def __init__(
        self, stream: TextIO, *, json_mode: bool = False, plain: bool = False, width: int = 0
    ) -> None:
        self.stream = stream
        self.json_mode = json_mode
        self.use_rich = not json_mode and not plain and rich_available()
        self.width = width or terminal_width(stream)

    # --- JSON ----------------------------------------------------------------------------

    def json(self, value: Any) -> None:
        self.stream.write(json.dumps(to_jsonable(value), indent=2) + "\n")

    def json_line(self, value: Any) -> None:
        self.stream.write(json.dumps(to_jsonable(value)) + "\n")
        self.stream.flush()

    # --- tables --------------------------------------------------------------------------

    def table(
        self,
        title: str,
        columns: Sequence[str],
        rows: Sequence[Row],
        *,
        align: bool = True,
        optional: Sequence[str] = (),
        wrap: Iterable[str] = (),
    ) -> None:
        """Rows under columns that fit the width; numeric columns right-aligned (`align`).
        `optional` columns may be left out, in that order; `wrap` columns may wrap."""
        fit = self.fit(columns, rows, optional=optional, wrap=wrap)
        shown = fit.rows(rows)
        if self.use_rich:
            table = self.rich_table(title, fit.columns, shown, align=align, widths=fit.widths)
            self.console().print(table)
        else:
            text = plain_table(title, fit.columns, shown, align=align, widths=fit.widths)
            self.stream.write(text)
        if fit.hidden:
            for line in textwrap.wrap(fit.note(), self.width - 1, break_long_words=False):
                self.line(line)

    def fit(
        self,
        columns: Sequence[str],
        rows: Sequence[Row],
        *,
        optional: Sequence[str] = (),
        wrap: Iterable[str] = (),
    ) -> Fit:
        """The columns of a table that fit this output's width (rich or plain)."""
        extra = RICH_COLUMN_EXTRA if self.use_rich else PLAIN_GAP
        return Fit(columns, rows, self.width - 1, extra=extra, optional=optional, wrap=wrap,
                   headers_wrap=self.use_rich)  # fmt: skip

    def fields(self, title: str, values: Mapping[str, Any]) -> None:
        """A two-column table of label -> value (long values wrap at spaces)."""
        rows = [(k, v) for k, v in values.items()]
        self.table(title, ["field", "value"], rows, align=False, wrap=("value",))

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def words(self, label: str, values: Sequence[Any], indent: int = 2) -> None:
        """`label: v1 v2 ...` wrapped to the width, never inside a value."""
        text = f"{label}: " + " ".join(cell(v) for v in values) if values else f"{label}: -"
        pad = " " * indent
        for line in textwrap.wrap(text, self.width - 1, initial_indent=pad,
                                  subsequent_indent=pad * 2, break_long_words=False,
                                  break_on_hyphens=False):  # fmt: skip
            self.line(line)

    # --- rich ----------------------------------------------------------------------------

    def console(self) -> Any:
        from rich.console import Console

        return Console(file=self.stream, width=self.width, highlight=False)

    def rich_table(
        self,
        title: str,
        columns: Sequence[str],
        rows: Sequence[Row],
        *,
        align: bool = True,
        widths: Sequence[int] = (),
    ) -> Any:
        """A rich Table; `widths` (from a Fit) fix each column's width: text wraps at spaces
        within it, and a cell is never wider than its column (the Fit saw to that)."""
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        numeric = _numeric_columns(columns, rows, align)
        for i, (name, is_number) in enumerate(zip(columns, numeric, strict=True)):
            table.add_column(
                header(name),
                justify="right" if is_number else "left",
                overflow="fold",
                width=widths[i] if widths else None,
            )
        for row in rows:
            table.add_row(*(cell(v) for v in row))
        return table


def _numeric_columns(columns: Sequence[str], rows: Sequence[Row], align: bool) -> list[bool]:
    return [align and any(_numeric(row[i]) for row in rows) for i in range(len(columns))]


def plain_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Row],
    *,
    align: bool = True,
    widths: Sequence[int] = (),
) -> str:
    """Aligned text: numeric columns right-aligned (when `align`), the rest left-aligned.
    `widths` (from a Fit) caps columns: a longer cell wraps at spaces onto more lines."""
    texts = [[cell(v) for v in row] for row in rows]
    natural = [len(c) for c in columns]
    for row in texts:
        natural = [max(w, len(t)) for w, t in zip(natural, row, strict=True)]
    final = [min(n, w) for n, w in zip(natural, widths, strict=True)] if widths else natural
    numeric = _numeric_columns(columns, rows, align)

    def fmt(values: Sequence[str]) -> list[str]:
        cells = [textwrap.wrap(v, w, break_long_words=False) or [""] if len(v) > w else [v]
                 for v, w in zip(values, final, strict=True)]  # fmt: skip
        lines = []
        for i in range(max(len(c) for c in cells)):
            parts = [(c[i] if i < len(c) else "").rjust(w) if n else
                     (c[i] if i < len(c) else "").ljust(w)
                     for c, w, n in zip(cells, final, numeric, strict=True)]  # fmt: skip
            lines.append("  ".join(parts).rstrip())
        return lines

    lines = [title] if title else []
    lines += fmt(list(columns))
    lines.append("  ".join("-" * w for w in final))
    for row in texts:
        lines += fmt(row)
    if not rows:
        lines.append("(none)")
    return "\n".join(lines) + "\n"
