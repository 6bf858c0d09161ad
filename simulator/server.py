"""``SimulatorServer``: the asyncio TCP server, the market clock, and introspection for tests.

    server = SimulatorServer(host="127.0.0.1", port=0, seed=1, tick_interval=0.05)
    await server.start(); server.port; ...; await server.stop()

Introspection: ``server.exchange`` (``orders()``, ``open_orders()``, ``executions()``,
``ledger``), ``server.market`` (``quote(con_id)``), ``server.universe``, ``server.stats``
(``requests[kind]``, ``mkt_data[con_id]``, ``ticks_sent``, ``malformed``, ...),
``server.sessions()`` / ``client_ids()`` / ``session(client_id)``, ``await server.wait_for(pred)``,
``server.step()`` (one market step by hand).
Faults: ``drop_all()``, ``await go_away(seconds)`` (then ``await server.listening.wait()``),
``notice(1100|1101|1102)``, ``set_delay(ms)``, ``reject_next_order()``; see faults.py.

``SimulatorThread`` runs one in a background thread for synchronous code (ibapi tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from .codec.connection import NEWEST, check_ceiling
from .exchange import Exchange
from .faults import Faults
from .history_pacing import HistoryPacing
from .market import Market
from .session import Session
from .universe import Universe

log = logging.getLogger(__name__)
T = TypeVar("T")

# The newest server version the simulator answers unless told otherwise: the newest it speaks
# (ibapi 10.50's own), which ibapi's scenario and the server's whole integration suite pass
# against (it runs in both eras, tests/conftest.py --tws-era; every version 213..226 is also
# checked by tests/integration/test_server_every_version.py). Clients that offer no more than
# 178 (ib_async 2.1) get the text era whatever the ceiling.
DEFAULT_MAX_SERVER_VERSION = NEWEST


@dataclass
class SimConfig:
    """Behaviour settings (all have IB-like defaults)."""

    tick_interval: float = 0.05  # seconds between market steps; 0 = as fast as possible
    max_market_data_lines: int = 100  # per client; more -> error 101
    max_msg_rate: int | None = 50  # incoming messages/s per client; more -> error 100
    disconnect_on_pacing: bool = False  # close the connection on a pacing violation
    max_tick_rate: int | None = None  # outgoing tick messages/s per client (None = no cap)
    partial_fills: bool = False
    max_server_version: int = DEFAULT_MAX_SERVER_VERSION  # 100..178 text era, 213..226 protobuf
    max_depth_subscriptions: int = 3  # concurrent reqMktDepth per login; more -> error 309


@dataclass
class Stats:
    """Counters for assertions in tests."""

    requests: Counter[str] = field(default_factory=Counter)  # by request class name
    mkt_data: Counter[int] = field(default_factory=Counter)  # reqMktData per con_id
    messages_received: int = 0
    protobuf_requests: int = 0  # of messages_received, those in protobuf form
    ticks_sent: int = 0
    connections: int = 0
    malformed: int = 0
    protocol_errors: int = 0
    handler_errors: int = 0
    pacing_violations: int = 0
    depth_updates: int = 0  # updateMktDepth(L2) messages sent
    client_id_in_use: int = 0


class SimulatorServer:
    """A paper TWS on a socket: speaks the TWS API in the text era (server version 178) and,
    up to ``max_server_version``, the protobuf era (213..226) to clients that offer it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 1,
                 tick_interval: float = 0.05, account: str = "DU1234567", accounts: int = 1,
                 cash: Decimal = Decimal("1000000"), today: dt.date | None = None,
                 max_market_data_lines: int = 100, max_msg_rate: int | None = 50,
                 disconnect_on_pacing: bool = False, max_tick_rate: int | None = None,
                 partial_fills: bool = False,
                 max_server_version: int = DEFAULT_MAX_SERVER_VERSION) -> None:
        if not account.startswith("D"):
            raise ValueError("the simulator only has paper accounts (DU...)")
        check_ceiling(max_server_version)
        self.host = host
        self.port = port
        self.seed = seed
        self.config = SimConfig(tick_interval, max_market_data_lines, max_msg_rate,
                                disconnect_on_pacing, max_tick_rate, partial_fills,
                                max_server_version)
        self.universe = Universe(today)
        self.market = Market(self.universe, seed)
        self.exchange = Exchange(self.universe, self.market, account, seed=seed,
                                 partial_fills=partial_fills, cash=cash, accounts=accounts)
        self.stats = Stats()
        self.history_pacing = HistoryPacing()
        self.faults = Faults(self)
        self.delay_ms = 0
        self.connectivity_lost = False
        self._sessions: set[Session] = set()
        self._server: asyncio.Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        await self.listen()
        self._ticker = asyncio.create_task(self._run_market(), name="sim-market")
        log.info("simulator listening on %s:%d (seed %d, account %s)", self.host, self.port,
                 self.seed, self.exchange.account)

    async def stop(self) -> None:
        await self.faults.cancel()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.unlisten()
        for s in list(self._sessions):
            s.close()

    async def listen(self) -> None:
        """Accept connections on ``host:port`` (the port chosen on the first call is kept)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: Session(self), self.host, self.port,
                                                reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        self.listening.set()

    async def unlisten(self) -> None:
        """Stop accepting connections (open ones stay)."""
        self.listening.clear()
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _run_market(self) -> None:
        interval = self.config.tick_interval
        while True:
            await asyncio.sleep(interval)
            try:
                self.step()
            except Exception:
                log.exception("market step failed")

    def pause_market(self) -> None:
        """Stop the market clock (no steps, no ticks) until resume_market()."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def resume_market(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._run_market(), name="sim-market")

    def step(self) -> None:
        """One market step: move the walks, match orders, stream ticks."""
        self.market.step()
        self.exchange.on_market_step()
        if self.connectivity_lost:
            return
        for s in list(self._sessions):
            s.on_step()

    # -- sessions ----------------------------------------------------------------------------

    def session_opened(self, s: Session) -> None:
        self._sessions.add(s)
        self.stats.connections += 1

    def session_closed(self, s: Session) -> None:
        self._sessions.discard(s)
        self.exchange.unsubscribe(s.on_exchange_event)

    def client_in_use(self, client_id: int, asking: Session) -> bool:
        return any(s is not asking and s.state == "running" and s.client_id == client_id
                   for s in self._sessions)

    def connections(self) -> list[Session]:
        """Every open connection, started or not."""
        return list(self._sessions)

    def sessions(self) -> list[Session]:
        """Connections that completed startApi."""
        return [s for s in self._sessions if s.state == "running"]

    def client_ids(self) -> list[int]:
        return sorted(s.client_id for s in self.sessions() if s.client_id is not None)

    def session(self, client_id: int) -> Session | None:
        return next((s for s in self.sessions() if s.client_id == client_id), None)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0,
                       what: str = "condition") -> None:
        """Poll ``predicate`` on the loop until it is true; TimeoutError after ``timeout``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            await asyncio.sleep(0.005)

    # -- faults (see faults.py) --------------------------------------------------------------

    def drop_all(self) -> int:
        return self.faults.drop_all()

    async def go_away(self, seconds: float) -> None:
        await self.faults.go_away(seconds)

    def notice(self, code: int, text: str | None = None) -> None:
        self.faults.notice(code, text)

    def set_delay(self, ms: int) -> None:
        self.faults.set_delay(ms)

    def reject_next_order(self, reason: str = "Simulated rejection") -> None:
        self.exchange.reject_next_order(reason)


class SimulatorThread:
    """Run a SimulatorServer on its own event loop in a daemon thread.

        with SimulatorThread(seed=1) as sim:
            app.connect("127.0.0.1", sim.port, clientId=1)
            sim.call(lambda: sim.server.exchange.orders())
    """

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="simulator",
                                        daemon=True)
        self.server: SimulatorServer

    @property
    def port(self) -> int:
        return self.server.port

    def __enter__(self) -> SimulatorThread:
        self._thread.start()

        async def make() -> SimulatorServer:
            server = SimulatorServer(**self._kwargs)
            await server.start()
            return server

        self.server = self.run(make())
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.run(self.server.stop(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def run(self, coro: Awaitable[T], timeout: float = 30) -> T:
        """Run a coroutine on the simulator's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def call(self, fn: Callable[[], T], timeout: float = 30) -> T:
        """Call ``fn()`` on the simulator's loop (thread-safe access to its state)."""

        async def wrapper() -> T:
            return fn()

        return self.run(wrapper(), timeout)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10,
                 what: str = "condition") -> None:
        self.run(self.server.wait_for(predicate, timeout, what), timeout + 5)
