"""The embedded SQLite store: orders, the IB order-id high-water mark, idempotency keys.

Order ids are never reused: the high-water mark is written before an id is sent to TWS, and
`request_id`s map to their first result across restarts of the server.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..domain.model import Order
from .jsoncodec import load, to_jsonable

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


class Store:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        self._depth = 0

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
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("ROLLBACK")
                self._meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            raise
        self._depth -= 1
        if self._depth == 0:
            self._db.execute("COMMIT")

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
        return int(self.get_meta(f"ib_order_id_high_water:{client_id}", "0"))

    def set_ib_order_id_high_water(self, client_id: int, value: int) -> None:
        self.set_meta(f"ib_order_id_high_water:{client_id}", str(value))

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
        self._db.execute(
            "UPDATE orders SET ib_order_id = ?, data = ? WHERE order_id = ?",
            (order.ib_order_id, json.dumps(to_jsonable(order)), order.order_id),
        )

    def load_orders(self) -> list[Order]:
        rows = self._db.execute(
            "SELECT data FROM orders WHERE data != '{}' ORDER BY seq"
        ).fetchall()
        return [load(Order, json.loads(r[0])) for r in rows]

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
        return load(Order, json.loads(row[0])) if row else None

    # --- idempotency keys ---------------------------------------------------------------------

    def find_request(self, request_id: str) -> tuple[str, str, str] | None:
        row = self._db.execute(
            "SELECT method, fingerprint, result FROM requests WHERE request_id = ?", (request_id,)
        ).fetchone()
        return (str(row[0]), str(row[1]), str(row[2])) if row else None

    def forget_request(self, request_id: str) -> None:
        """Release a key whose call was refused before anything reached TWS."""
        self._db.execute("DELETE FROM requests WHERE request_id = ?", (request_id,))

    def save_request(self, request_id: str, method: str, fingerprint: str, result: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO requests(request_id, method, fingerprint, result) "
            "VALUES(?, ?, ?, ?)",
            (request_id, method, fingerprint, result),
        )
