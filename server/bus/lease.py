"""Who leads a TWS login: a key in the ibkr_leases JetStream bucket whose entries live `ttl`
seconds. The leader creates the key and renews it well inside the TTL; a standby waits until
the key is gone (the leader stopped renewing) and then creates it itself. One writer of IB
order ids per login, whichever machine it runs on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import nats

log = logging.getLogger(__name__)

LEASE_BUCKET = "ibkr_leases"


class LeaseHeld(OSError):
    """Another gateway holds the lease of this login."""


def lease_name(host: str, port: int, client_id: int) -> str:
    """The lease key of a TWS login: its API address and client id, as a KV key."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"tws-{host}-{port}-{client_id}")


async def lease_bucket(js: Any, ttl: float) -> Any:
    try:
        return await js.create_key_value(bucket=LEASE_BUCKET, ttl=ttl, history=1)
    except nats.js.errors.BadRequestError:  # there already, perhaps with another TTL
        return await js.key_value(LEASE_BUCKET)


class Lease:
    def __init__(self, kv: Any, name: str, holder: str, ttl: float) -> None:
        self.kv = kv
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self.revision = 0
        self.renewed_at = 0.0

    async def holder_now(self) -> str:
        """Who holds it now ("" when nobody does)."""
        try:
            entry = await self.kv.get(self.name)
        except nats.js.errors.KeyNotFoundError:
            return ""
        return entry.value.decode() if entry.value else ""

    async def acquire(self) -> None:
        """Take the lease now, or LeaseHeld naming who has it."""
        try:
            self.revision = await self.kv.create(self.name, self.holder.encode())
        except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.BadRequestError):
            raise LeaseHeld(
                f"gateway {await self.holder_now() or '?'} holds the lease {self.name}: "
                "start this one with --standby to take over when it stops"
            ) from None
        self.renewed_at = time.monotonic()

    async def wait_free(self, poll: float = 0.1) -> None:
        """Return once nobody holds the lease (its holder stopped renewing)."""
        while await self.holder_now():
            await asyncio.sleep(poll)  # poll interval; the lease's TTL bounds the wait

    async def keep(self, on_lost: Callable[[], None]) -> None:
        """Renew until cancelled; call `on_lost` once when the lease cannot be kept."""
        while True:
            await asyncio.sleep(self.ttl / 4)  # the renewal period, four times inside the TTL
            try:
                self.revision = await self.kv.update(
                    self.name, self.holder.encode(), last=self.revision
                )
                self.renewed_at = time.monotonic()
                continue
            except nats.js.errors.KeyWrongLastSequenceError:
                log.error("lease %s was taken over by another gateway", self.name)
            except Exception as exc:
                if time.monotonic() - self.renewed_at < self.ttl:
                    log.warning("renewing lease %s failed (%s); trying again", self.name, exc)
                    continue
                log.error("lease %s lapsed: not renewed for %.1fs", self.name, self.ttl)
            on_lost()
            return

    async def release(self) -> None:
        """Give the lease up at a clean stop (a standby takes over at once)."""
        with contextlib.suppress(Exception):
            await self.kv.delete(self.name, last=self.revision)
