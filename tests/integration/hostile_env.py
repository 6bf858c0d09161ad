"""Helpers of the hostile-input tests: the status details of a refused call, a stack whose TWS
is a proxy (tws_proxy.py) in front of the simulator, and the simulator's market-data lines."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from ibkr_broker.simulator.server import SimulatorServer

from .server_env import ServerEnv, new_simulator
from .tws_proxy import TwsProxy

T = TypeVar("T")


def details(err: grpc.aio.AioRpcError) -> tuple[error_details_pb2.ErrorInfo, list[str]]:
    """The ErrorInfo of a failed call (asserted present) and the fields its BadRequest names."""
    status = rpc_status.from_call(err)
    assert status is not None, f"no rich status in {err.code()} {err.details()}"
    info, fields = None, []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
    assert info is not None, f"no ErrorInfo in {err.code()} {err.details()}"
    return info, fields


async def refused(call: Any, code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT) -> list[str]:
    """Await a call that must fail with `code` and an ErrorInfo; the BadRequest fields."""
    try:
        await call
    except grpc.aio.AioRpcError as err:
        assert err.code() == code, f"{err.code()}: {err.details()}"
        return details(err)[1]
    raise AssertionError(f"the call succeeded; expected {code}")


def market_data_lines(sim: SimulatorServer) -> int:
    """Market-data subscriptions the simulator is serving, over every connection."""
    return sum(len(s.mkt) for s in sim.sessions())


@contextlib.asynccontextmanager
async def proxied_env(tmp_path: Path, **kw: Any) -> AsyncIterator[tuple[ServerEnv, TwsProxy]]:
    """The real server connected to the simulator through a TwsProxy."""
    sim = new_simulator(seed=7, tick_interval=0.05)
    await sim.start()
    try:
        async with (
            TwsProxy(sim.port) as proxy,
            ServerEnv(tmp_path, sim, port=proxy.port, **kw) as env,
        ):
            yield env, proxy
    finally:
        await sim.stop()


class ServerThread:
    """A ServerEnv (server + simulator) on its own event loop in a thread, for blocking tests
    such as Hypothesis campaigns:

        with ServerThread(tmp_path) as stack:
            channel = grpc.insecure_channel(stack.target)
            stack.call(lambda: stack.env.sim_orders())   # state read on the stack's loop
    """

    def __init__(self, tmp_path: Path, **kw: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="stack", daemon=True)
        self.env = ServerEnv(tmp_path, **kw)

    @property
    def target(self) -> str:
        return self.env.target

    def __enter__(self) -> ServerThread:
        self._thread.start()
        self.run(self.env.__aenter__())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.run(self.env.__aexit__(None, None, None))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 60) -> T:
        async def on_loop() -> T:
            return fn()

        return self.run(on_loop(), timeout)
