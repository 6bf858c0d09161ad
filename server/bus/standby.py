"""A standby gateway's wait: no TWS connection until the leader's lease lapses; then the
leader's replicated orders, request ids and IB order-id mark are copied into the standby's own
store, and the gateway starts as usual (taking the lease; LeaseHeld when another standby was
quicker: then wait again)."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import nats

from .lease import Lease, lease_bucket
from .replica import restore, state_bucket

log = logging.getLogger(__name__)


async def wait_and_restore(url: str, lease: str, ttl: float, store_path: Path) -> None:
    nc = await nats.connect(url, name="ibkr-broker standby", max_reconnect_attempts=-1)
    try:
        js = nc.jetstream()
        waiting = Lease(await lease_bucket(js, ttl), lease, "", ttl)
        log.info("standby: waiting for the lease %s to lapse", lease)
        await waiting.wait_free()
        orders, requests = await restore(await state_bucket(js), lease, store_path)
        log.info("standby: taking over %s (%d orders, %d request ids)", lease, orders, requests)
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
