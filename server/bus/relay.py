"""The streams a gateway runs for edges: StreamBars, StreamPnL and StreamMarketDepth opened
from the bus. Each runs the servicer's own streaming handler (through BusCall, so no handler
exists twice) in a task of its own, and publishes every response, then the final status, to
the edge's inbox (calls.py has the message format). A stream ends when its handler ends, when
its edge cancels it, or when its edge stops renewing it (streams.py); cancelling the task runs
the handler's `finally`, which releases the market-data lines at TWS."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.message import Message
from nats.aio.msg import Msg

from ..api.auth import Principal, acting_as
from .calls import RELAYED_STREAMS, BusAbort, BusCall, Reply, request_type
from .streams import KEEP_EVERY, LAPSE_AFTER, Clock, Leases

log = logging.getLogger(__name__)

MAX_STREAMS = 10_000  # streams one gateway runs for edges at once
INBOX_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class StreamRelay:
    def __init__(
        self,
        nc: Any,
        servicer: Any,
        principal_of: Callable[[dict[str, str]], Principal | None],
        lapse_after: float = LAPSE_AFTER,
        clock: Clock = time.monotonic,
        max_streams: int = MAX_STREAMS,
    ) -> None:
        self.nc = nc
        self.servicer = servicer
        self.principal_of = principal_of
        self.leases = Leases(lapse_after, clock)
        self.max_streams = max_streams
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    # --- the bus's requests ---------------------------------------------------------------------

    async def on_open(self, msg: Msg) -> None:
        reply = self.open(msg.data, msg.headers or {})
        if msg.reply:
            await self.nc.publish(msg.reply, reply.payload, headers=reply.headers())

    async def on_keep(self, msg: Msg) -> None:
        """Renew the streams named (a JSON list of inboxes); answer with the ones not run here."""
        try:
            named = [str(i) for i in json.loads(msg.data)]
        except (ValueError, TypeError):
            named = []
        unknown = self.leases.renew(named)
        if msg.reply:
            await self.nc.publish(msg.reply, json.dumps(unknown).encode(), headers={"code": "OK"})

    async def on_cancel(self, msg: Msg) -> None:
        self.cancel(msg.data.decode(errors="replace"))

    # --- streams --------------------------------------------------------------------------------

    def open(self, data: bytes, headers: dict[str, str]) -> Reply:
        """Start the stream a request names; the reply says whether it started."""
        method, inbox = headers.get("method", ""), headers.get("stream", "")
        if method not in RELAYED_STREAMS:
            return Reply(grpc.StatusCode.UNIMPLEMENTED, b"", f"no relayed stream {method!r}")
        if not inbox or not set(inbox) <= INBOX_CHARS or len(inbox) > 200:
            return Reply(grpc.StatusCode.INVALID_ARGUMENT, b"", f"bad stream inbox {inbox!r}")
        if inbox in self._tasks:
            return Reply(grpc.StatusCode.ALREADY_EXISTS, b"", f"stream {inbox} is open already")
        if len(self._tasks) >= self.max_streams:
            return Reply(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                b"",
                f"the gateway runs {self.max_streams} streams for edges already",
            )
        try:
            request = request_type(method).FromString(data)
        except Exception:
            return Reply(grpc.StatusCode.INVALID_ARGUMENT, b"", f"malformed {method} request")
        principal = self.principal_of(headers)
        run = self._run(method, request, principal, inbox, headers.get("peer", "bus"))
        task = asyncio.get_running_loop().create_task(run, name=f"relay-{method}")
        self._tasks[inbox] = task
        self.leases.add(inbox)
        task.add_done_callback(lambda _: self._forget(inbox, task))
        return Reply(grpc.StatusCode.OK, b"")

    def cancel(self, inbox: str) -> bool:
        task = self._tasks.get(inbox)
        if task is None:
            return False
        task.cancel()
        return True

    def sweep(self) -> list[str]:
        """Cancel the streams whose edge stopped renewing them; their inboxes."""
        lapsed = self.leases.lapsed()
        for inbox in lapsed:
            if self.cancel(inbox):
                log.info("stream %s lapsed: its edge stopped renewing it", inbox)
        return lapsed

    async def run(self) -> None:
        while True:
            await asyncio.sleep(KEEP_EVERY)  # the sweep period, not a wait for state
            self.sweep()

    async def close(self, grace: float = 2.0) -> None:
        """Let the streams end by themselves for `grace` seconds (a draining servicer ends
        them with their final status), then cancel the rest."""
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _forget(self, inbox: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(inbox) is task:
            del self._tasks[inbox]
            self.leases.discard(inbox)

    async def _run(
        self, method: str, request: Message, principal: Principal | None, inbox: str, peer: str
    ) -> None:
        """Run the servicer's handler, publishing each response and then the final status. A
        cancelled stream (by its edge, or lapsed) publishes nothing more: nobody listens."""
        n = 0
        end = Reply(grpc.StatusCode.OK, b"")
        try:
            with acting_as(principal):
                async for response in getattr(self.servicer, method)(request, BusCall(peer)):
                    n += 1
                    data = response.SerializeToString()
                    await self.nc.publish(inbox, data, headers={"n": str(n)})
        except BusAbort as abort:
            end = abort.reply
        except Exception:
            log.exception("relayed stream %s failed", method)
            end = Reply(grpc.StatusCode.INTERNAL, b"", "internal error (logged by the gateway)")
        with contextlib.suppress(Exception):  # the edge may be gone; its lease ends the rest
            await self.nc.publish(inbox, end.payload, headers={"n": str(n + 1), "end": "1",
                                                               **end.headers()})  # fmt: skip
