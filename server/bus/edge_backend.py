"""What an edge knows of the bus: the gateways (from the ibkr_gateways bucket), calls forwarded
to the gateway that owns an account, quotes fanned out from one NATS subscription per contract,
and order events read from the IBKR_ORDERS stream. The edge holds no state of its own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import nats
from google.protobuf.message import DecodeError, Message
from ibkr_broker.v1 import market_data_pb2, order_pb2

from ..api import quote_wire
from ..api.auth import Principal
from ..domain import errors
from ..session.fan_out import FanOutTurns, Signal
from . import subjects
from .calls import Reply
from .edge_streams import EdgeStreams
from .streams import Clock

log = logging.getLogger(__name__)

CALL_TIMEOUT = 30.0


class CallFailed(Exception):
    """A gateway answered a call with an error (or none answered): the reply to pass on."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.message)
        self.reply = reply


@dataclass(eq=False)
class QuoteReader:
    """One gRPC stream's mailbox at the edge: the newest quote of each contract with news, as
    the encoded `QuoteBatch.quotes` field (quote_wire), shared by every reader of the edge."""

    con_ids: frozenset[int]
    dirty: dict[int, bytes] = field(default_factory=dict)
    coalesced: int = 0
    wake: Signal = field(default_factory=Signal)

    def put(self, con_id: int, quote_field: bytes) -> None:
        if con_id in self.dirty:
            self.coalesced += 1
        self.dirty[con_id] = quote_field

    def take(self) -> tuple[list[bytes], int]:
        fields, coalesced = list(self.dirty.values()), self.coalesced
        self.dirty.clear()
        self.coalesced = 0
        self.wake.clear()
        return fields, coalesced


class EdgeBackend:
    def __init__(self, url: str, clock: Clock = time.monotonic) -> None:
        self.url = url
        self.clock = clock  # monotonic: a wall-clock jump must not declare a gateway dead
        self.nc: Any = None
        self.js: Any = None
        self.streams: EdgeStreams | None = None
        self.gateways: dict[str, dict[str, Any]] = {}
        self._seen: dict[str, float] = {}  # when this edge last heard each gateway (clock)
        self._readers: dict[int, set[QuoteReader]] = {}
        self._latest: dict[int, bytes] = {}  # con_id -> its newest quote, encoded (quote_wire)
        self._news: dict[int, bytes] = {}  # since the last fan-out turn
        self.fan_out = FanOutTurns(self._turn)
        self._subs: dict[int, Any] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()

    async def start(self) -> None:
        self.nc = await nats.connect(self.url, name="ibkr-broker edge", max_reconnect_attempts=-1)
        self.js = self.nc.jetstream()
        self.streams = EdgeStreams(self.nc, self._request)
        self._tasks.append(asyncio.create_task(self.streams.run(), name="edge-stream-keep"))
        from .gateway import ensure_orders_stream

        await ensure_orders_stream(self.js)
        kv = await self.js.create_key_value(
            bucket=subjects.GATEWAYS_BUCKET, ttl=subjects.GATEWAY_TTL
        )
        self._tasks.append(asyncio.create_task(self._watch_gateways(kv), name="edge-gateways"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()

    async def _watch_gateways(self, kv: Any) -> None:
        watcher = await kv.watchall()
        async for entry in watcher:
            if entry is None:
                continue
            gone = entry.operation in ("DEL", "PURGE") or entry.value is None
            self.note_gateway(entry.key, None if gone else entry.value)

    def note_gateway(self, key: str, value: bytes | None) -> None:
        """A gateway's announcement (None: its key was deleted), heard now."""
        before = self.gateways.get(key, {}).get("instance")
        if value is None:
            self.gateways.pop(key, None)
            self._seen.pop(key, None)
        else:
            try:
                self.gateways[key] = json.loads(value)
                self._seen[key] = self.clock()
            except ValueError:
                log.warning("gateway announcement of %s is not JSON: ignored", key)
        if self.gateways.get(key, {}).get("instance") != before:
            self._changed.set()  # a gateway came, went or was replaced (a fail-over)
            self._changed = asyncio.Event()

    # --- routing and calls ----------------------------------------------------------------------

    async def gateways_changed(self, timeout: float) -> bool:
        """Wait until a gateway comes, goes or is replaced; False after `timeout`."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def live(self) -> dict[str, dict[str, Any]]:
        """The gateways heard from within GATEWAY_TTL, by key (the first account of each).
        Judged by when this edge heard them, on its monotonic clock: not by the time the
        gateway wrote (another machine's wall clock) nor by this machine's wall clock."""
        now = self.clock()
        return {
            key: entry
            for key, entry in self.gateways.items()
            if now - self._seen.get(key, float("-inf")) <= subjects.GATEWAY_TTL
        }

    def route(self, account: str) -> str:
        """The gateway (its key) of the account named, or the only one there is."""
        live = self.live()
        if account:
            for key, entry in live.items():
                if account == key or account in entry.get("accounts", ()):
                    return key
            raise errors.Unavailable(f"no gateway on the bus serves account {account}")
        if not live:
            raise errors.Unavailable("no gateway on the bus yet")
        if len(live) > 1:
            raise errors.InvalidArgument(
                "account",
                f"several accounts are served here ({', '.join(sorted(live))}): name one in the "
                "request or in the ibkr-account metadata",
            )
        return next(iter(live))

    async def call(
        self,
        method: str,
        gateway: str,
        request: Message,
        principal: Principal | None,
        timeout: float | None = None,
    ) -> bytes:
        """Forward a unary call to a gateway (by key): its serialized response, or CallFailed."""
        headers = {"method": method}
        if principal is not None:
            headers.update({"principal-name": principal.name, "principal-role": principal.role})
        return await self._request(
            subjects.rpc(gateway), request.SerializeToString(), headers, timeout
        )

    def any_gateway(self, account: str) -> str:
        """The account's gateway, or any gateway for what every gateway knows alike (quotes)."""
        if account:
            return self.route(account)
        live = self.live()
        if not live:
            raise errors.Unavailable("no gateway on the bus yet")
        ready = [key for key, entry in live.items() if entry.get("ready")]
        return min(ready or live)

    async def _request(
        self, subject: str, data: bytes, headers: dict[str, str], timeout: float | None
    ) -> bytes:
        try:
            msg = await self.nc.request(
                subject, data, timeout=min(timeout or CALL_TIMEOUT, CALL_TIMEOUT), headers=headers
            )
        except nats.errors.NoRespondersError:
            raise errors.Unavailable("the account's gateway is not answering on the bus") from None
        except nats.errors.TimeoutError:
            raise CallFailed(
                Reply(grpc.StatusCode.DEADLINE_EXCEEDED, b"", "the gateway did not answer in time")
            ) from None
        reply = Reply.from_headers(msg.headers, msg.data)
        if reply.code is not grpc.StatusCode.OK:
            raise CallFailed(reply)
        return reply.payload

    # --- quotes ---------------------------------------------------------------------------------

    async def want_quotes(self, account: str, request: Message) -> list[int]:
        """Ask the gateway for these contracts' quotes; their con ids in request order."""
        data = await self._request(
            subjects.quotes_want(self.any_gateway(account)), request.SerializeToString(), {}, None
        )
        return [int(c) for c in json.loads(data)]

    async def open_quotes(self, account: str, con_ids: list[int]) -> QuoteReader:
        reader = QuoteReader(frozenset(con_ids))
        target = self.any_gateway(account)
        for con_id in reader.con_ids:
            self._readers.setdefault(con_id, set()).add(reader)
            if con_id not in self._subs:
                self._subs[con_id] = await self.nc.subscribe(
                    subjects.quotes(target, con_id), cb=self._on_quote
                )
            latest = self._latest.get(con_id)
            if latest is not None:
                reader.put(con_id, latest)
                reader.wake.set()
        return reader

    async def close_quotes(self, reader: QuoteReader) -> None:
        for con_id in reader.con_ids:
            readers = self._readers.get(con_id, set())
            readers.discard(reader)
            if not readers:
                self._readers.pop(con_id, None)
                self._latest.pop(con_id, None)
                self._news.pop(con_id, None)
                sub = self._subs.pop(con_id, None)
                if sub is not None:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()

    async def _on_quote(self, msg: Any) -> None:
        """A gateway's quote: kept encoded once for every reader; handed out in the next turn."""
        con_id = int(msg.subject.rsplit(".", 1)[1])
        try:
            market_data_pb2.Quote.FromString(msg.data)  # never relay bytes that do not decode
        except DecodeError:
            log.warning("quote of %d on %s does not decode: dropped", con_id, msg.subject)
            return
        self._latest[con_id] = self._news[con_id] = quote_wire.field(
            quote_wire.BATCH_QUOTES, msg.data
        )
        self.fan_out.request()

    def _turn(self) -> list[Signal]:
        news, self._news = self._news, {}
        ready: dict[QuoteReader, None] = {}
        for con_id, quote_field in news.items():
            for reader in self._readers.get(con_id, ()):
                reader.put(con_id, quote_field)
                ready[reader] = None
        return [reader.wake for reader in ready]

    # --- order events ---------------------------------------------------------------------------

    async def event_window(self) -> tuple[int, int]:
        """(first, last) sequence the order-event stream still holds."""
        info = await self.js.stream_info(subjects.ORDERS_STREAM)
        return int(info.state.first_seq), int(info.state.last_seq)

    async def order_events(
        self, account: str, after: int
    ) -> AsyncIterator[tuple[int, order_pb2.OrderEvent | None]]:
        """(stream sequence, event) after `after`, live; (0, None) when idle for a moment, so the
        caller can send heartbeats and notice draining."""
        from nats.js import api as js_api

        subject = subjects.orders(account) if account else subjects.ORDERS_WILDCARD
        config = js_api.ConsumerConfig(
            deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1
        )
        sub = await self.js.subscribe(
            subject, stream=subjects.ORDERS_STREAM, ordered_consumer=True, config=config
        )
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=0.5)
                except nats.errors.TimeoutError:
                    yield 0, None
                    continue
                yield msg.metadata.sequence.stream, order_pb2.OrderEvent.FromString(msg.data)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
