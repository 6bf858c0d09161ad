"""The real stack (simulator + gRPC server) on a background event loop, for blocking clients.

BrokerClient, IBKRAdapter and the CLI block the calling thread, so the server cannot share the
test's event loop: ThreadedServerEnv runs a ServerEnv on its own loop in a daemon thread.

    with ThreadedServerEnv(tmp_path) as env:
        IBKRAdapter({"target": env.target}).buy_stock_market("AAPL", 1)
        env.call(lambda: env.sim.reject_next_order("no"))   # runs on the server's loop

A TcpProxy in front of the server lets a test cut every client connection (a reset network)
while the server keeps running on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from ibkr_broker.client import ClientConfig

from tests.waiting import wait_until_sync

from .server_env import ServerEnv

T = TypeVar("T")


class TcpProxy:
    """Forwards 127.0.0.1:<port> to the server; `cut()` resets every open connection."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def cut(self) -> int:
        """Abort every open connection (RST); new connections are still accepted."""
        writers, self._writers = self._writers, set()
        for writer in writers:
            writer.transport.abort()
        return len(writers) // 2

    async def stop(self) -> None:
        await self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def fast_config(target: str, **changes: Any) -> ClientConfig:
    """Client settings for tests: a 10 s deadline and short backoffs."""
    values: dict[str, Any] = {"target": target, "timeout": 10.0, "backoff": 0.02,
                              "max_backoff": 0.1, **changes}  # fmt: skip
    return ClientConfig(**values)


class ThreadedServerEnv:
    def __init__(self, tmp_path: Path, **server_env: Any) -> None:
        """`server_env`: keyword arguments of ServerEnv (sections=..., credentials=...)."""
        self.tmp_path = tmp_path
        self.server_env = server_env
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.env: ServerEnv | None = None
        self.proxy: TcpProxy | None = None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 30) -> T:
        async def wrapper() -> T:
            return fn()

        return self.run(wrapper(), timeout)

    def __enter__(self) -> ThreadedServerEnv:
        self.thread.start()
        self.env = ServerEnv(self.tmp_path, **self.server_env)
        self.run(self.env.__aenter__())
        self.proxy = TcpProxy(self.port)
        self.run(self.proxy.start())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.proxy is not None:
                self.run(self.proxy.stop())
            if self.env is not None:
                self.run(self.env.__aexit__(None, None, None))
            self.run(_cancel_pending())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()

    @property
    def port(self) -> int:
        assert self.env is not None and self.env.app is not None
        return self.env.app.port

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def proxy_target(self) -> str:
        assert self.proxy is not None
        return f"127.0.0.1:{self.proxy.port}"

    @property
    def sim(self) -> Any:
        assert self.env is not None
        return self.env.sim

    def cut_connections(self) -> int:
        assert self.proxy is not None
        return self.run(self.proxy.cut())


async def _cancel_pending() -> None:
    """Let handlers of streams the clients already left finish before the loop stops."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll a condition with a deadline (never sleep for state)."""
    wait_until_sync(predicate, timeout, what)
