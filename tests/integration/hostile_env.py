"""Helpers of the hostile-input tests: the status details of a refused call, a stack whose TWS
is a proxy (tws_proxy.py) in front of the simulator, and the simulator's market-data lines."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from ibkr_broker.simulator.server import SimulatorServer

from .server_env import ServerEnv
from .tws_proxy import TwsProxy


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
    sim = SimulatorServer("127.0.0.1", 0, seed=7, tick_interval=0.05)
    await sim.start()
    try:
        async with (
            TwsProxy(sim.port) as proxy,
            ServerEnv(tmp_path, sim, port=proxy.port, **kw) as env,
        ):
            yield env, proxy
    finally:
        await sim.stop()
