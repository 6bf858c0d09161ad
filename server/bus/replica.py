"""The gateway's state replicated in JetStream (the ibkr_state key-value bucket): its orders,
request ids and IB order-id high-water mark, under the lease key of its TWS login, so that a
standby taking over knows every order and every request id the leader had, and never reuses an
IB order id.

Keys: <lease>.order.<order_id> (order JSON), <lease>.req.<hex of request_id> (JSON [method,
fingerprint, result]), <lease>.hw.<client_id> (the mark).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from ..session.store import Store

log = logging.getLogger(__name__)

STATE_BUCKET = "ibkr_state"


def state_key(lease: str, kind: str, key: str) -> str:
    if kind == "order":
        return f"{lease}.order.{key}"
    if kind in ("request", "forget"):
        return f"{lease}.req.{key.encode().hex()}"
    if kind == "high_water":
        return f"{lease}.hw.{key}"
    raise ValueError(f"no replicated state of kind {kind!r}")


async def state_bucket(js: Any) -> Any:
    return await js.create_key_value(bucket=STATE_BUCKET, history=1)


class Replica:
    """Writes the store's changes to the bucket in order; `flush` waits for them to be stored."""

    def __init__(self, kv: Any, lease: str) -> None:
        self.kv = kv
        self.lease = lease
        self._queue: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue()
        self._queued = 0
        self._written = 0
        self._progress = asyncio.Condition()
        self.failed: Exception | None = None

    def on_change(self, kind: str, key: str, value: str) -> None:
        self._queued += 1
        self._queue.put_nowait((kind, key, value))

    async def run(self) -> None:
        while True:
            kind, key, value = await self._queue.get()
            name = state_key(self.lease, kind, key)
            while True:
                try:
                    if kind == "forget":
                        await self.kv.delete(name)
                    else:
                        await self.kv.put(name, value.encode())
                    self.failed = None
                    break
                except Exception as exc:  # NATS away for a moment: keep the order, try again
                    self.failed = exc
                    log.warning("replicating %s failed (%s); retrying", name, exc)
                    await asyncio.sleep(0.2)  # back-off before the retry
            async with self._progress:
                self._written += 1
                self._progress.notify_all()

    async def flush(self, timeout: float = 5.0) -> None:
        """Return once every change told so far is stored; TimeoutError otherwise."""
        target = self._queued
        async with asyncio.timeout(timeout), self._progress:
            await self._progress.wait_for(lambda: self._written >= target)


async def restore(kv: Any, lease: str, store_path: Path) -> tuple[int, int]:
    """Copy the replicated state of `lease` into the store at `store_path` (before the gateway
    opens it): orders adopted, request ids saved, the high-water mark raised. (orders, requests)"""
    store = Store(store_path)
    orders = requests = 0
    try:
        watcher = await kv.watch(f"{lease}.>", ignore_deletes=True)
        with store.transaction():
            async for entry in watcher:
                if entry is None:  # the initial values are all in
                    break
                if entry.value is None or entry.operation is not None:
                    continue
                _, kind, key = entry.key.split(".", 2)
                value = entry.value.decode()
                if kind == "order":
                    store.adopt_order(value)
                    orders += 1
                elif kind == "req":
                    method, fingerprint, result = json.loads(value)
                    store.save_request(bytes.fromhex(key).decode(), method, fingerprint, result)
                    requests += 1
                elif kind == "hw":
                    client_id = int(key)
                    mark = max(int(value), store.ib_order_id_high_water(client_id))
                    store.set_ib_order_id_high_water(client_id, mark)
        with contextlib.suppress(Exception):
            await watcher.stop()
    finally:
        store.close()
    return orders, requests
