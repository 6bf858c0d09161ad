"""The embedded SQLite store: orders, the IB order-id high-water mark, idempotency keys.

Order ids are never reused: the high-water mark is written before an id is sent to TWS, and
`request_id`s map to their first result across restarts of the server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..domain.decimals import UnboundedDecimal, repaired
from ..domain.errors import StoreFailed
from ..domain.model import Order
from .jsoncodec import load, to_jsonable

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT UNIQUE,
    request_id TEXT NOT NULL,
    ib_order_id INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_request ON orders(request_id);
CREATE INDEX IF NOT EXISTS orders_by_ib_id ON orders(ib_order_id);
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result TEXT NOT NULL
);
"""


class CorruptStore(Exception):
    """The store holds a value the server cannot serve; the message says what and where."""


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        self._depth = 0
        # Told (kind, key, value) of every change worth replicating: "order" (order_id, JSON),
        # "request" (request_id, JSON [method, fingerprint, result]), "forget" (request_id, ""),
        # "high_water" (client_id, mark). The bus replicates them; a listener must not raise.
        # They are told after the change is committed (a rolled-back change is never told),
        # never inside an open transaction.
        self.listeners: list[Callable[[str, str, str], None]] = []
        self._untold: list[tuple[str, str, str]] = []  # changes of the open transaction
        self._on_commit: list[Callable[[], None]] = []  # after_commit callbacks waiting

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the open transaction commits (at once when none is open); a
        rollback or a failed COMMIT drops it: what never became durable never happened."""
        if self._depth:
            self._on_commit.append(callback)
        else:
            callback()

    def _tell(self, kind: str, key: str, value: str) -> None:
        if self._depth:
            self._untold.append((kind, key, value))
            return
        self._tell_now(kind, key, value)

    def _tell_now(self, kind: str, key: str, value: str) -> None:
        for listener in self.listeners:
            try:
                listener(kind, key, value)
            except Exception:
                log.exception("store listener failed on %s %s", kind, key)

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one commit (nested uses join the outer transaction)."""
        if self._depth == 0:
            self._db.execute("BEGIN")
        self._depth += 1
        try:
            yield
        except BaseException as exc:
            self._depth -= 1
            if self._depth == 0:
                self._untold.clear()  # never happened: nobody hears of it
                self._on_commit.clear()
                self._db.execute("ROLLBACK")
                self._meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if isinstance(exc, sqlite3.Error):
                raise StoreFailed(
                    f"the server's store could not write ({exc}): nothing was recorded or sent; "
                    "retry with the same request_id"
                ) from exc
            raise
        self._depth -= 1
        if self._depth == 0:
            told, self._untold = self._untold, []  # a COMMIT that fails tells nothing
            then, self._on_commit = self._on_commit, []
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back itself
                    self._db.execute("ROLLBACK")
                self._meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
                raise StoreFailed(
                    f"the server's store could not commit ({exc}): nothing was recorded or "
                    "sent; retry with the same request_id"
                ) from exc
            for change in told:
                self._tell_now(*change)
            for callback in then:
                callback()

    # --- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str = "") -> str:
        return str(self._meta.get(key, default))

    def set_meta(self, key: str, value: str) -> None:
        self._meta[key] = value
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def ib_order_id_high_water(self, client_id: int) -> int:
        return int(self.ib_order_id_high_water_text(client_id))

    def ib_order_id_high_water_text(self, client_id: int) -> str:
        """The mark as stored (checked by the session at start-up)."""
        return self.get_meta(f"ib_order_id_high_water:{client_id}", "0")

    def set_ib_order_id_high_water(self, client_id: int, value: int) -> None:
        self.set_meta(f"ib_order_id_high_water:{client_id}", str(value))
        self._tell("high_water", str(client_id), str(value))

    # --- orders -------------------------------------------------------------------------------

    def new_order_id(self, request_id: str) -> str:
        """Reserve a never-reused server order id."""
        cur = self._db.execute(
            "INSERT INTO orders(request_id, data) VALUES(?, '{}')", (request_id,)
        )
        seq = cur.lastrowid
        order_id = f"o{seq}"
        self._db.execute("UPDATE orders SET order_id = ? WHERE seq = ?", (order_id, seq))
        return order_id

    def save_order(self, order: Order) -> None:
        data = json.dumps(to_jsonable(order))
        self._db.execute(
            "UPDATE orders SET ib_order_id = ?, data = ? WHERE order_id = ?",
            (order.ib_order_id, data, order.order_id),
        )
        self._tell("order", order.order_id, data)

    def adopt_order(self, data: str) -> None:
        """Take in an order replicated from another gateway of the same login (a JSON as
        `save_order` tells it), under its own id; later ids continue after it."""
        order = load(Order, json.loads(data))
        if not order.order_id.startswith("o") or not order.order_id[1:].isdigit():
            raise CorruptStore(f"replicated order id {order.order_id!r} is not o<number>")
        self._db.execute(
            "INSERT INTO orders(seq, order_id, request_id, ib_order_id, data) "
            "VALUES(?, ?, ?, ?, ?) ON CONFLICT(order_id) DO UPDATE SET "
            "ib_order_id = excluded.ib_order_id, data = excluded.data",
            (int(order.order_id[1:]), order.order_id, order.request_id, order.ib_order_id, data),
        )

    def load_orders(self) -> list[Order]:
        rows = self._db.execute(
            "SELECT data FROM orders WHERE data != '{}' ORDER BY seq"
        ).fetchall()
        return [self._checked(load(Order, json.loads(r[0]))) for r in rows]

    def _checked(self, order: Order) -> Order:
        """The order with every decimal of a sane magnitude: one too small to write in plain
        digits (stored before the bounds existed) is repaired to 0 and saved, with a warning;
        one that cannot be repaired stops the start-up with CorruptStore."""
        fixes: list[str] = []
        try:
            fixed = _repair(order, "", fixes)
        except UnboundedDecimal as exc:
            raise CorruptStore(
                f"order {order.order_id} in {self.path} holds an unusable decimal: {exc}; "
                "remove the order or the store"
            ) from None
        if fixes:
            log.warning(
                "order %s in %s: repaired %s (values below 10**-40 became 0)",
                order.order_id, self.path, ", ".join(fixes),
            )  # fmt: skip
            self.save_order(fixed)
        return fixed  # type: ignore[no-any-return]

    def find_order(self, column: str, value: str | int) -> Order | None:
        """The newest order whose `column` (order_id, request_id or ib_order_id) is `value`:
        for orders the book no longer keeps in memory."""
        if column not in ("order_id", "request_id", "ib_order_id"):
            raise ValueError(f"not an order key: {column}")
        row = self._db.execute(
            f"SELECT data FROM orders WHERE {column} = ? AND data != '{{}}' "
            "ORDER BY seq DESC LIMIT 1",
            (value,),
        ).fetchone()
        return self._checked(load(Order, json.loads(row[0]))) if row else None

    # --- idempotency keys ---------------------------------------------------------------------

    def find_request(self, request_id: str) -> tuple[str, str, str] | None:
        row = self._db.execute(
            "SELECT method, fingerprint, result FROM requests WHERE request_id = ?", (request_id,)
        ).fetchone()
        return (str(row[0]), str(row[1]), str(row[2])) if row else None

    def forget_request(self, request_id: str) -> None:
        """Release a key whose call was refused before anything reached TWS."""
        self._db.execute("DELETE FROM requests WHERE request_id = ?", (request_id,))
        self._tell("forget", request_id, "")

    def save_request(self, request_id: str, method: str, fingerprint: str, result: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO requests(request_id, method, fingerprint, result) "
            "VALUES(?, ?, ?, ?)",
            (request_id, method, fingerprint, result),
        )
        self._tell("request", request_id, json.dumps([method, fingerprint, result]))


def _repair(value: Any, path: str, fixes: list[str]) -> Any:
    """`value` with every Decimal inside it passed through `repaired`; `fixes` names each
    changed field (path = its dotted name)."""
    if isinstance(value, Decimal):
        fixed = repaired(value)
        if fixed is not value:
            fixes.append(f"{path.lstrip('.')} {str(value)[:40]} -> {fixed}")
        return fixed
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = _repair(old, f"{path}.{f.name}", fixes)
            if new is not old:
                changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, tuple):
        items = [_repair(v, f"{path}[{i}]", fixes) for i, v in enumerate(value)]
        return tuple(items) if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value
