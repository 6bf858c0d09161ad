"""The edge's side of the streams it forwards to gateways (StreamBars, StreamPnL,
StreamMarketDepth): each one an inbox the gateway publishes the stream's responses to, renewed
while the edge's client reads it and cancelled when the client leaves (streams.py has the
rules; relay.py is the gateway's side)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import Message

from ..session.fan_out import Signal
from . import subjects
from .calls import Reply
from .streams import KEEP_EVERY, LAPSE_AFTER, Clock, Leases

log = logging.getLogger(__name__)

MAX_PENDING = 2_000  # responses an edge holds for one slow client before it ends the stream
Request = Callable[[str, bytes, dict[str, str], float | None], Awaitable[bytes]]


class RemoteStream:
    """One stream a gateway runs for this edge: its responses as they arrive, then its end."""

    def __init__(self, inbox: str, gateway: str, max_pending: int = MAX_PENDING) -> None:
        self.inbox = inbox
        self.gateway = gateway
        self.max_pending = max_pending
        self.wake = Signal()
        self.end: Reply | None = None  # the final status, once it came (or the stream failed)
        self.unknown_rounds = 0  # renewals in a row the gateway said it does not run this
        self.sub: Any = None
        self._pending: deque[bytes] = deque()
        self._next = 1

    def on_message(self, headers: dict[str, str], data: bytes) -> None:
        """A message of the gateway's: the next response, or the end (numbered from 1)."""
        if self.end is not None:
            return
        n = headers.get("n", "")
        if n != str(self._next):
            self.fail(f"the gateway's message {self._next} was lost on the bus; open it again")
            return
        self._next += 1
        if headers.get("end"):
            self.end = Reply.from_headers(headers, data)
        elif len(self._pending) >= self.max_pending:
            self.fail(f"the client fell {self.max_pending} messages behind; open it again")
        else:
            self._pending.append(data)
        self.wake.set()

    def fail(self, message: str) -> None:
        """End the stream with UNAVAILABLE (retryable: open it again) after what came."""
        if self.end is None:
            self.end = Reply(grpc.StatusCode.UNAVAILABLE, b"", f"stream lost: {message}")
            self.wake.set()

    def take(self) -> list[bytes]:
        items = list(self._pending)
        self._pending.clear()
        self.wake.clear()
        return items

    @property
    def done(self) -> bool:
        """Ended, and every response before the end taken."""
        return self.end is not None and not self._pending


class EdgeStreams:
    """Every stream this edge forwards, and the renewals that keep them alive at the gateways."""

    def __init__(
        self,
        nc: Any,
        request: Request,
        lapse_after: float = LAPSE_AFTER,
        clock: Clock = time.monotonic,
    ) -> None:
        self.nc = nc
        self.request = request
        self.confirmed = Leases(lapse_after, clock)  # when each stream's gateway last said so
        self.streams: dict[str, RemoteStream] = {}

    async def open(
        self, method: str, gateway: str, request: Message, headers: dict[str, str]
    ) -> RemoteStream:
        """Ask `gateway` to run `method`; CallFailed (or a BrokerError) when it refuses."""
        stream = RemoteStream(self.nc.new_inbox(), gateway)

        async def on_message(msg: Any) -> None:
            stream.on_message(msg.headers or {}, msg.data)

        stream.sub = await self.nc.subscribe(stream.inbox, cb=on_message)
        opening = {**headers, "method": method, "stream": stream.inbox}
        try:
            await self.request(
                subjects.stream_open(gateway), request.SerializeToString(), opening, None
            )
        except BaseException:
            await self._unsubscribe(stream)
            raise
        self.streams[stream.inbox] = stream
        self.confirmed.add(stream.inbox)
        return stream

    async def close(self, stream: RemoteStream) -> None:
        """The client is done with the stream: tell the gateway unless the stream ended."""
        self.streams.pop(stream.inbox, None)
        self.confirmed.discard(stream.inbox)
        await self._unsubscribe(stream)
        if stream.end is None:
            with contextlib.suppress(Exception):  # the gateway's lease on it is the backstop
                await self.nc.publish(subjects.stream_cancel(stream.gateway), stream.inbox.encode())

    async def _unsubscribe(self, stream: RemoteStream) -> None:
        if stream.sub is not None:
            with contextlib.suppress(Exception):
                await stream.sub.unsubscribe()

    async def keep(self) -> None:
        """One round of renewals: each gateway told which streams are still read here."""
        by_gateway: dict[str, list[str]] = {}
        for inbox, stream in self.streams.items():
            if stream.end is None:
                by_gateway.setdefault(stream.gateway, []).append(inbox)
        for gateway, inboxes in by_gateway.items():
            try:
                data = await self.request(
                    subjects.stream_keep(gateway), json.dumps(inboxes).encode(), {}, KEEP_EVERY
                )
                unknown = set(json.loads(data))
            except Exception as exc:  # unanswered: the lease below decides
                log.warning("renewing %d stream(s) at %s failed: %s", len(inboxes), gateway, exc)
                continue
            self.confirmed.renew(i for i in inboxes if i not in unknown)
            for inbox in inboxes:
                self._known(self.streams.get(inbox), inbox not in unknown)
        for inbox in self.confirmed.lapsed():
            silent = self.streams.get(inbox)
            if silent is not None:
                silent.fail(f"its gateway has not answered for {self.confirmed.lapse_after:g} s")

    def _known(self, stream: RemoteStream | None, known: bool) -> None:
        """A stream its gateway does not run ends on the second such answer in a row (the
        first may cross the stream's last message on the way)."""
        if stream is None:
            return
        stream.unknown_rounds = 0 if known else stream.unknown_rounds + 1
        if stream.unknown_rounds >= 2:
            stream.fail("its gateway no longer runs it (replaced or restarted)")

    async def run(self, every: float = KEEP_EVERY) -> None:
        while True:
            await asyncio.sleep(every)  # the renewal period, not a wait for state
            try:
                await self.keep()
            except Exception:  # never stop renewing: the gateways would drop every stream
                log.exception("renewing the relayed streams failed; trying again")
