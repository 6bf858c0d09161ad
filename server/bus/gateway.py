"""The gateway on the bus: publishes order events (JetStream) and quotes, answers BrokerService
calls and quote interest over request/reply, and announces itself in the ibkr_gateways bucket.

The session and the trader know nothing of NATS: this module listens to the order journal and
to the market-data hub like any other reader, and calls the same BrokerServicer the gRPC server
uses (through BusCall, a stand-in for the gRPC call context), so no handler exists twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import grpc
import nats
from nats.aio.msg import Msg
from nats.js import api as js_api

from ..api import proto_convert as cv
from ..api.auth import Principal, acting_as, is_mutating
from ..api.servicer import BrokerServicer
from ..domain import errors
from ..domain.model import OrderEvent, Position
from ..session.broker_session import BrokerSession
from ..session.ib_port import PortfolioEvent
from ..session.jsoncodec import to_jsonable
from ..trading.trader import Trader
from . import subjects
from .calls import UNARY_METHODS, BusAbort, BusCall, Reply, request_type, status_of
from .lease import Lease, lease_bucket
from .quote_interest import QuoteInterest
from .relay import StreamRelay
from .replica import Replica, state_bucket

log = logging.getLogger(__name__)

ANNOUNCE_EVERY = subjects.GATEWAY_TTL / 3
ORDER_EVENTS_KEPT = 1_000_000  # the stream's window: a resume point older than that is a gap


@dataclass(frozen=True)
class LeaseSettings:
    """The lease of the gateway's TWS login; `on_lost` is called when it cannot be kept."""

    name: str
    ttl: float
    on_lost: Callable[[], None]


class GatewayBus:
    def __init__(
        self,
        url: str,
        session: BrokerSession,
        trader: Trader,
        servicer: BrokerServicer,
        principals: dict[str, Principal] | None = None,
        read_only: bool = False,
        lease: LeaseSettings | None = None,
    ) -> None:
        self.url = url
        self.session = session
        self.trader = trader
        self.servicer = servicer
        self.principals = principals or {}
        self.read_only = read_only
        self.account = ""
        self.nc: Any = None
        self.js: Any = None
        self.published = 0  # order events on the stream
        self._events: asyncio.Queue[OrderEvent] = asyncio.Queue()
        self._positions: asyncio.Queue[PortfolioEvent] = asyncio.Queue()
        self._answering: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._interest: QuoteInterest | None = None
        self.relay: StreamRelay | None = None
        self._gateways: Any = None
        self._instance = uuid.uuid4().hex  # with the journal sequence: the dedup id of an event
        self.lease_settings = lease
        self.lease: Lease | None = None
        self.replica: Replica | None = None

    async def start(self) -> None:
        """Connect to NATS, take the lease of the login (LeaseHeld when another gateway has
        it), replicate the state and set up the stream; serving starts once TWS names the
        account. Call before the session connects to TWS."""
        self.nc = await nats.connect(
            self.url, name="ibkr-broker gateway", max_reconnect_attempts=-1
        )
        self.js = self.nc.jetstream()
        if self.lease_settings is not None:
            try:
                await self._lead(self.lease_settings)
            except BaseException:
                with contextlib.suppress(Exception):
                    await self.nc.close()
                raise
        await ensure_orders_stream(self.js)
        self._gateways = await self.js.create_key_value(
            bucket=subjects.GATEWAYS_BUCKET, ttl=subjects.GATEWAY_TTL
        )
        self.session.journal.listeners.append(self._events.put_nowait)
        self._tasks.append(asyncio.create_task(self._serve_when_ready(), name="bus-serve"))

    async def _lead(self, settings: LeaseSettings) -> None:
        kv = await lease_bucket(self.js, settings.ttl)
        holder = f"{socket.gethostname()}:{os.getpid()}:{self._instance[:8]}"
        self.lease = Lease(kv, settings.name, holder, settings.ttl)
        await self.lease.acquire()
        self.replica = Replica(await state_bucket(self.js), settings.name)
        for order in self.session.orders.all():  # what the store had before: replicated too
            self.replica.on_change("order", order.order_id, json.dumps(to_jsonable(order)))
        client_id = self.session.config.client_id
        mark = self.session.store.ib_order_id_high_water(client_id)
        self.replica.on_change("high_water", str(client_id), str(mark))
        self.session.store.listeners.append(self.replica.on_change)
        self.session.before_send.append(self.replica.flush)
        self._tasks.append(asyncio.create_task(self.replica.run(), name="bus-replica"))
        self._tasks.append(asyncio.create_task(self.lease.keep(settings.on_lost), name="bus-lease"))
        log.info("leading %s on the bus as %s", settings.name, holder)

    async def release(self) -> None:
        """Give the lease up (after the session left TWS): a standby takes over at once."""
        if self.lease is not None:
            await self.lease.release()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()

    async def _serve_when_ready(self) -> None:
        while not self.session.accounts:
            await asyncio.sleep(0.05)  # poll interval until TWS names the managed accounts
        self.account = self.session.accounts[0]
        self._interest = QuoteInterest(self.session.market_data, self._publish_quote)
        self.relay = StreamRelay(self.nc, self.servicer, self._principal)
        await self.nc.subscribe(subjects.rpc(self.account), cb=self._concurrently(self._on_call))
        await self.nc.subscribe(
            subjects.quotes_want(self.account), cb=self._concurrently(self._on_want)
        )
        await self.nc.subscribe(subjects.stream_open(self.account), cb=self.relay.on_open)
        await self.nc.subscribe(subjects.stream_keep(self.account), cb=self.relay.on_keep)
        await self.nc.subscribe(subjects.stream_cancel(self.account), cb=self.relay.on_cancel)
        self._tasks.append(asyncio.create_task(self.relay.run(), name="bus-relay"))
        self._tasks.append(asyncio.create_task(self._publish_events(), name="bus-events"))
        self.session.queries.portfolio_listeners.append(self._positions.put_nowait)
        self._tasks.append(asyncio.create_task(self._publish_positions(), name="bus-account"))
        self._tasks.append(asyncio.create_task(self._announce(), name="bus-announce"))
        self._tasks.append(asyncio.create_task(self._interest.run(), name="bus-quotes"))
        log.info("serving account %s on the bus %s", self.account, self.url)

    @property
    def serving(self) -> bool:
        return bool(self.account) and len(self._tasks) > 1

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.session.journal.listeners.remove(self._events.put_nowait)
        with contextlib.suppress(ValueError):
            self.session.queries.portfolio_listeners.remove(self._positions.put_nowait)
        if self.relay is not None:
            await self.relay.close()  # streams end (the server drains) and say so to their edges
        for task in [*self._tasks, *self._answering]:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._interest is not None:
            await self._interest.close()
        if self.replica is not None:
            with contextlib.suppress(ValueError):
                self.session.store.listeners.remove(self.replica.on_change)
            with contextlib.suppress(ValueError):
                self.session.before_send.remove(self.replica.flush)

    # --- publishing -----------------------------------------------------------------------------

    async def _publish_events(self) -> None:
        """Every journal event, in order, on the stream (deduplicated by the journal sequence)."""
        while True:
            event = await self._events.get()
            data = cv.event_to_proto(event).SerializeToString()
            msg_id = f"{self._instance}-{event.sequence}"
            while True:
                try:
                    await self.js.publish(
                        subjects.orders(event.order.account or self.account),
                        data,
                        headers={"Nats-Msg-Id": msg_id},
                    )
                    break
                except (nats.errors.TimeoutError, nats.js.errors.NoStreamResponseError):
                    log.warning(
                        "order event %d not yet stored by JetStream; retrying", event.sequence
                    )
                    await asyncio.sleep(0.2)  # back-off before the retry, not a wait for state
            self.published += 1

    async def _publish_positions(self) -> None:
        """Account updates: every portfolio update from TWS as a Position on the bus."""
        while True:
            ev = await self._positions.get()
            position = Position(
                account_id=ev.account,
                contract=ev.contract,
                quantity=ev.position,
                average_cost=ev.average_cost or Decimal(0),
                market_price=ev.market_price,
                market_value=ev.market_value,
                unrealized_pnl=ev.unrealized_pnl,
                realized_pnl=ev.realized_pnl,
            )
            data = cv.position_to_proto(position).SerializeToString()
            with contextlib.suppress(Exception):  # best effort, like quotes; the next one follows
                await self.nc.publish(subjects.positions(ev.account or self.account), data)

    async def _publish_quote(self, con_id: int, data: bytes) -> None:
        await self.nc.publish(subjects.quotes(self.account, con_id), data)

    async def _announce(self) -> None:
        while True:
            entry = {
                "account": self.account,
                "accounts": list(self.session.accounts),
                "ready": self.session.ready,
                "instance": self._instance,
                "time": time.time(),
            }
            with contextlib.suppress(Exception):
                await self._gateways.put(self.account, json.dumps(entry).encode())
            await asyncio.sleep(ANNOUNCE_EVERY)  # the refresh period of the announcement

    # --- answering ------------------------------------------------------------------------------

    def _concurrently(
        self, handle: Callable[[Msg], Coroutine[Any, Any, None]]
    ) -> Callable[[Msg], Awaitable[None]]:
        """A subscription callback that answers each request in its own task: NATS runs one
        subscription's callbacks one after another, and an order waiting for TWS must not hold
        up every other call."""

        async def spawn(msg: Msg) -> None:
            task = asyncio.get_running_loop().create_task(handle(msg))
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)

        return spawn

    async def _on_call(self, msg: Msg) -> None:
        headers = msg.headers or {}
        method = headers.get("method", "")
        reply = await self.call(method, msg.data, headers)
        await self._respond(msg, reply)

    async def call(self, method: str, data: bytes, headers: dict[str, str]) -> Reply:
        """Run one BrokerService unary call through the servicer; never raises."""
        if method not in UNARY_METHODS:
            return Reply(grpc.StatusCode.UNIMPLEMENTED, b"", f"no unary method {method!r}")
        if self.read_only and is_mutating(method):
            return Reply(
                grpc.StatusCode.PERMISSION_DENIED,
                b"",
                f"the gateway is in read-only mode: {method} is refused",
            )
        try:
            request = request_type(method).FromString(data)
        except Exception:
            return Reply(grpc.StatusCode.INVALID_ARGUMENT, b"", f"malformed {method} request")
        principal = self._principal(headers)
        handler = getattr(self.servicer, method)
        try:
            with acting_as(principal):
                response = await handler(request, BusCall(headers.get("peer", "bus")))
        except BusAbort as abort:
            return abort.reply
        except Exception:
            log.exception("bus call %s failed", method)
            return Reply(grpc.StatusCode.INTERNAL, b"", "internal error (logged by the gateway)")
        return Reply(grpc.StatusCode.OK, response.SerializeToString())

    async def _respond(self, msg: Msg, reply: Reply) -> None:
        if msg.reply:
            await self.nc.publish(msg.reply, reply.payload, headers=reply.headers())

    def _principal(self, headers: dict[str, str]) -> Principal | None:
        name = headers.get("principal-name", "")
        if not name:
            return None
        known = self.principals.get(name)
        role = headers.get("principal-role", "read")
        return Principal(name, role, known.risk if known is not None else None)

    async def _on_want(self, msg: Msg) -> None:
        assert self._interest is not None
        try:
            con_ids = await self._interest.want(msg.data, self.trader, self.session)
            reply = Reply(grpc.StatusCode.OK, json.dumps(con_ids).encode())
        except errors.BrokerError as exc:
            from ..api.errors import to_status

            status = to_status(exc)
            reply = status_of(status.code, status.details, status.trailing_metadata)
        except Exception:
            log.exception("quote interest failed")
            reply = Reply(grpc.StatusCode.INTERNAL, b"", "internal error (logged by the gateway)")
        await self._respond(msg, reply)


async def ensure_orders_stream(js: Any) -> None:
    """The order-event stream: on disk, deduplicated, one sequence for every account."""
    config = js_api.StreamConfig(
        name=subjects.ORDERS_STREAM,
        subjects=[subjects.ORDERS_WILDCARD],
        storage=js_api.StorageType.FILE,
        duplicate_window=120.0,
        max_msgs=ORDER_EVENTS_KEPT,
    )
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError:
        await js.update_stream(config)
