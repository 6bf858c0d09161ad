"""One TWS API connection on a socket: the asyncio side of ``codec.connection.ServerConnection``.

The protocol state (handshake, startApi gating, incoming pacing) lives in the sans-IO
``ServerConnection``; this class feeds it the socket's bytes, acts on its events (dispatching
requests to handlers.py), and batches, delays and writes replies. It holds only per-connection
state (client id, subscriptions): orders, executions and the account live in the server's
exchange, so they survive reconnects.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .codec import connection as pc
from .codec import requests as rq
from .codec import responses as text_replies
from .codec.wire import CodecError, RequestError, encode_handshake_reply
from .data_feeds import DataFeeds
from .events import AccountChanged, Event, Executed, OrderChanged, OrderError
from .feeds import MarketDataSub
from .handlers import HANDLERS

if TYPE_CHECKING:
    from .server import SimulatorServer

log = logging.getLogger(__name__)

HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024

FARM_NOTICES = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)


class Session(asyncio.Protocol):
    """The server side of one client connection."""

    def __init__(self, server: SimulatorServer) -> None:
        self.server = server
        self.protocol = pc.ServerConnection(max_server_version=server.config.max_server_version,
                                            max_msg_rate=server.config.max_msg_rate)
        self.replies: ModuleType = text_replies  # the era's reply builders, set at handshake
        self.transport: asyncio.Transport | None = None
        self.peer: Any = None
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._delayed: deque[tuple[float, bytes]] = deque()
        self._delay_timer: asyncio.TimerHandle | None = None
        self.paused = False
        self._tick_budget = 0.0
        self._tick_budget_time = time.monotonic()
        # subscriptions
        self.market_data_type = 1
        self.mkt: dict[int, MarketDataSub] = {}
        self.account_updates: str | None = None  # the account reqAccountUpdates follows
        self.positions = False
        self.summaries: dict[int, tuple[str, ...]] = {}
        self.multi: dict[int, tuple[str, str]] = {}  # req_id -> (account, model code)
        self.pnl: dict[int, str] = {}  # reqPnL req_id -> account
        self.data = DataFeeds(self)  # per-position PnL, real-time bars, market depth
        self.auto_open_orders = False
        self.messages_sent = 0

    @property
    def state(self) -> str:
        """"handshake" -> "await_start" -> "running" -> "closed"."""
        return self.protocol.phase.value

    @property
    def server_version(self) -> int:
        return self.protocol.server_version

    @property
    def client_id(self) -> int | None:
        return self.protocol.client_id

    @property
    def malformed(self) -> int:
        return self.protocol.malformed

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = transport.get_extra_info("peername")
        transport.set_write_buffer_limits(high=HIGH_WATER, low=LOW_WATER)
        self.server.session_opened(self)
        log.debug("connection from %s", self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.state != "closed":
            log.info("client %s (%s) disconnected: %s", self.client_id, self.peer, exc or "eof")
        self.protocol.close()
        if self._delay_timer is not None:
            self._delay_timer.cancel()
        self.server.session_closed(self)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False

    def data_received(self, data: bytes) -> None:
        before = self.protocol.protobuf_received
        events = self.protocol.receive_data(data, time.monotonic())
        self.server.stats.protobuf_requests += self.protocol.protobuf_received - before
        for event in events:
            self._on_event(event)
            if self.state == "closed":
                return

    # -- protocol events ---------------------------------------------------------------------

    def _on_event(self, event: pc.Event) -> None:
        stats = self.server.stats
        if isinstance(event, pc.MessageEvent):
            stats.messages_received += 1
        match event:
            case pc.Handshake():
                self._handshake(event)
            case pc.Refused(reason=reason):
                log.warning("refusing %s: %s", self.peer, reason)
                self.close()
            case pc.ProtocolViolation(error=error):
                log.warning("closing %s: %s", self.peer, error)
                stats.protocol_errors += 1
                self.close()
            case pc.PacingExceeded():
                self._paced(event)
            case pc.StartRequested(request=req):
                stats.requests[type(req).__name__] += 1
                self._start(req)
            case pc.IgnoredBeforeStart(request=req):
                stats.requests[type(req).__name__] += 1
                log.warning("%s sent %s before startApi: ignored", self.peer,
                            type(req).__name__)
            case pc.AlreadyStarted(request=req):
                stats.requests[type(req).__name__] += 1
                self.send_error(-1, 321, "Error validating request.-'a0' : cause - "
                                             "the API is already started")
            case pc.BadRequest():
                self._bad_request(event)
            case pc.RequestReceived(request=req):
                stats.requests[type(req).__name__] += 1
                self._dispatch(req)

    def _handshake(self, event: pc.Handshake) -> None:
        self.replies = pc.replies_for(event.server_version)
        if event.server_version < pc.TEXT_ERA_MAX:
            log.warning("client %s speaks at most %d; messages are laid out for %d",
                        self.peer, event.client_max, pc.TEXT_ERA_MAX)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d %H:%M:%S") + " UTC"
        self._write_now(encode_handshake_reply(event.server_version, stamp))

    def _start(self, req: rq.StartApi) -> None:
        if self.server.client_in_use(req.client_id, self):
            log.warning("client id %d already in use: refusing %s", req.client_id, self.peer)
            self.server.stats.client_id_in_use += 1
            self.send_error(-1, 326, "Unable to connect as the client id is already in use. "
                                         "Retry with a unique client id.")
            self.close_after_flush()
            return
        self.server.exchange.subscribe(self.on_exchange_event)
        ex = self.server.exchange
        self.send(self.replies.next_valid_id(ex.next_order_id(req.client_id)))
        self.send(self.replies.managed_accounts(list(ex.accounts)))
        for code, text in FARM_NOTICES:
            self.send_error(-1, code, text)
        for snap in ex.open_orders(req.client_id):  # TWS re-reports open orders on connect
            self.send(self.replies.open_order(snap))
            self.send(self.replies.order_status(snap))
        log.info("client %d connected from %s (version %d)", req.client_id, self.peer,
                 self.server_version)

    def _dispatch(self, req: rq.Request) -> None:
        name = type(req).__name__
        handler: Callable[[Session, Any], None] | None = HANDLERS.get(type(req))
        if handler is None:
            self.send_error(-1, 321, f"Error validating request: {name} not supported")
            return
        try:
            handler(self, req)
        except CodecError:
            raise
        except Exception:
            log.exception("handler for %s failed (client %s)", name, self.client_id)
            self.server.stats.handler_errors += 1
            self.send_error(getattr(req, "req_id", -1), 320,
                                f"Server error when reading an API client request: {name}")

    def _bad_request(self, event: pc.BadRequest) -> None:
        exc: RequestError = event.error
        self.server.stats.malformed += 1
        log.warning("client %s sent a bad request: %s", self.client_id, exc)
        if event.close_now:
            self.close()
            return
        req_id = exc.req_id if exc.req_id is not None else -1
        self.send_error(req_id, 320, f"Server error when reading an API client request: "
                                         f"{exc.reason}")
        if event.close_after:
            log.warning("closing client %s: too many malformed requests", self.client_id)
            self.close_after_flush()

    def _paced(self, event: pc.PacingExceeded) -> None:
        self.server.stats.pacing_violations += 1
        log.warning("client %s exceeded %d messages/s", self.client_id, event.limit)
        self.send_error(-1, 100, f"Max rate of messages per second has been exceeded:"
                                     f"max={event.limit} rec={event.count} (1)")
        if self.server.config.disconnect_on_pacing:
            self.close_after_flush()

    # -- exchange events ---------------------------------------------------------------------

    def on_exchange_event(self, ev: Event) -> None:
        if self.state != "running":
            return
        if isinstance(ev, AccountChanged):
            self.on_account_changed(ev.account, ev.con_ids)
            return
        if isinstance(ev, OrderError):
            if ev.client_id == self.client_id:
                self.send_error(ev.order_id, ev.code, ev.message)
            return
        snap = ev.snapshot
        mine = snap.client_id == self.client_id
        if not mine and not (self.client_id == 0 and self.auto_open_orders):
            return
        if isinstance(ev, OrderChanged):
            self.send(self.replies.open_order(snap))
            if snap.what_if is None:
                self.send(self.replies.order_status(snap))
        elif isinstance(ev, Executed) and mine:
            for fill in ev.fills:
                self.send(self.replies.exec_details(-1, fill, self.server_version))
            self.send(self.replies.open_order(snap))
            self.send(self.replies.order_status(snap))
            for fill in ev.fills:
                self.send(self.replies.commission_report(fill))

    def on_account_changed(self, account: str, con_ids: tuple[int, ...]) -> None:
        from . import account_msgs as am

        ex = self.server.exchange
        if self.account_updates == account:
            self.send_many(am.account_update_frames(self.replies, ex, con_ids, account=account))
        if self.positions:
            self.send_many(am.position_frames(self.replies, ex, con_ids))
        for req_id, tags in self.summaries.items():
            self.send_many(am.summary_frames(self.replies, ex, req_id, tags))
        for req_id, (acct, model) in self.multi.items():
            if acct in ("", account) or acct not in ex.ledgers:
                self.send_many(am.multi_frames(self.replies, ex, req_id, model, account))
        self.data.refresh_pnl()

    # -- market data -------------------------------------------------------------------------

    def on_step(self) -> None:
        """Send the ticks that changed in this market step (skipped while the client lags),
        then what the data feeds have to say."""
        if self.state != "running" or self.paused:
            return
        if self.data.active:
            self.data.on_step()
        if not self.mkt:
            return
        limit = self.server.config.max_tick_rate
        if limit:
            now = time.monotonic()
            self._tick_budget = min(float(limit), self._tick_budget
                                    + (now - self._tick_budget_time) * limit)
            self._tick_budget_time = now
            if self._tick_budget <= 0:
                return
        market = self.server.market
        frames: list[bytes] = []
        for sub in self.mkt.values():
            frames += sub.frames(market, self.replies)
        if frames:
            self._tick_budget -= len(frames)
            self.server.stats.ticks_sent += len(frames)
            self.send_many(frames)

    def drop_market_data(self) -> None:
        self.mkt.clear()

    # -- output ------------------------------------------------------------------------------

    def send_error(self, req_id: int, code: int, text: str) -> None:
        """errMsg in the connection's era."""
        self.send(self.replies.error(req_id, code, text))

    def send(self, frame: bytes) -> None:
        if self.state == "closed":
            return
        self._out.append(frame)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def send_many(self, frames: list[bytes]) -> None:
        if not frames or self.state == "closed":
            return
        self._out.extend(frames)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._out or self.transport is None or self.state == "closed":
            self._out.clear()
            return
        data = b"".join(self._out)
        self.messages_sent += len(self._out)
        self._out.clear()
        delay = self.server.delay_ms / 1000.0
        if delay > 0 or self._delayed:
            loop = asyncio.get_running_loop()
            self._delayed.append((loop.time() + delay, data))
            if self._delay_timer is None:
                self._delay_timer = loop.call_at(self._delayed[0][0], self._release_delayed)
            return
        self._write_now(data)

    def _release_delayed(self) -> None:
        self._delay_timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._delayed and self._delayed[0][0] <= now:
            self._write_now(self._delayed.popleft()[1])
        if self._delayed and self.state != "closed":
            self._delay_timer = loop.call_at(self._delayed[0][0], self._release_delayed)

    def _write_now(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        """Close now (pending output is discarded)."""
        self.protocol.close()
        self._out.clear()
        self.server.exchange.unsubscribe(self.on_exchange_event)
        if self.transport is not None:
            self.transport.abort()

    def close_after_flush(self) -> None:
        """Send what is queued, then close."""
        self._flush()
        self.protocol.close()
        self.server.exchange.unsubscribe(self.on_exchange_event)
        if self.transport is not None:
            self.transport.close()

    def now_epoch(self) -> int:
        return int(time.time())
