"""GetHistoricalBars through the real server and the simulator, in both protocol eras: the bars
are the simulator's walk, identical requests within 15 s are shared, IB's pacing is kept (no
error 162 from TWS, however many clients ask), and bad input never reaches TWS."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from ibkr_broker.simulator import history as sim_history
from ibkr_broker.simulator import sessions
from ibkr_broker.v1 import bars_pb2, broker_service_pb2_grpc
from ibkr_broker.v1 import broker_service_pb2 as pb

from .server_env import AAPL, MSFT, SPY, ServerEnv

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("tws_era")]


@pytest.fixture
async def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with ServerEnv(tmp_path) as env:
        yield env


def ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


# A moment in regular trading hours (a Tuesday, 15:00 New York) for requests of seconds: the
# simulator, like IB, has no bars outside the session.
END = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


def bars_request(contract: Any = AAPL, **kw: Any) -> pb.GetHistoricalBarsRequest:
    kw.setdefault("end_time", ts(END))
    kw.setdefault("duration", "3600 S")
    kw.setdefault("bar_size", "5 mins")
    return pb.GetHistoricalBarsRequest(contract=contract, **kw)


def details(err: grpc.aio.AioRpcError) -> list[Any]:
    status = rpc_status.from_call(err)
    assert status is not None
    found: list[Any] = []
    for packed in status.details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.RetryInfo,
                     error_details_pb2.BadRequest):
            msg = kind()
            if packed.Unpack(msg):
                found.append(msg)
    return found


async def test_bars_are_the_simulators_walk(env: ServerEnv) -> None:
    env.sim.pause_market()
    answer = await env.stub.GetHistoricalBars(
        bars_request(source=bars_pb2.BAR_SOURCE_MIDPOINT), timeout=10
    )
    con_id = answer.contract.con_id
    inst = env.sim.universe.get(con_id)
    assert inst is not None
    schedule = sessions.schedule_for(inst.sec_type)
    starts = sessions.bar_starts(schedule, True, sim_history.parse_duration("3600 S"), 300,
                                 int(END.timestamp()), sim_history.MAX_BARS)
    expected = env.sim.market.history_at(con_id, starts, 300)
    assert len(answer.bars) == len(expected) == 12
    for got, want in zip(answer.bars, expected, strict=True):
        assert got.start_time.ToDatetime(tzinfo=UTC) == datetime.fromtimestamp(want.time, UTC)
        prices = (got.open, got.high, got.low, got.close, got.volume, got.wap)
        assert tuple(Decimal(x) for x in prices) == (
            want.open, want.high, want.low, want.close, want.volume, want.wap
        )
        assert got.trade_count == want.count
    assert not answer.shared


async def test_identical_request_within_15_s_is_answered_from_the_first(env: ServerEnv) -> None:
    first = await env.stub.GetHistoricalBars(bars_request(), timeout=10)
    second = await env.stub.GetHistoricalBars(bars_request(), timeout=10)
    assert not first.shared and second.shared
    assert list(second.bars) == list(first.bars)
    assert env.sim.stats.requests["ReqHistoricalData"] == 1
    other = await env.stub.GetHistoricalBars(bars_request(bar_size="10 mins"), timeout=10)
    assert not other.shared and len(other.bars) == 6
    assert env.sim.stats.requests["ReqHistoricalData"] == 2


async def test_a_burst_from_ten_clients_never_breaks_ibs_pacing(env: ServerEnv) -> None:
    """100 requests (40 different ones over three contracts) from 10 clients with 4 s
    deadlines: each gets bars or RESOURCE_EXHAUSTED with a RetryInfo; TWS never sends 162."""
    contracts = (AAPL, MSFT, SPY)
    channels = [env.open_channel() for _ in range(10)]
    outcomes: list[Any] = []

    async def client(i: int) -> None:
        stub = broker_service_pb2_grpc.BrokerServiceStub(channels[i])
        for j in range(10):
            k = (i * 10 + j) % 40
            request = bars_request(contracts[k % 3], duration=f"{(k // 3 + 1) * 300} S",
                                   bar_size="1 min")
            try:
                outcomes.append(await stub.GetHistoricalBars(request, timeout=4))
            except grpc.aio.AioRpcError as err:
                outcomes.append(err)

    try:
        await asyncio.gather(*(client(i) for i in range(10)))
    finally:
        for channel in channels:
            await channel.close()
    assert len(outcomes) == 100
    answered = [o for o in outcomes if isinstance(o, pb.GetHistoricalBarsResponse)]
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert answered
    for err in refused:
        assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err.details()
        (retry,) = [d for d in details(err) if isinstance(d, error_details_pb2.RetryInfo)]
        assert retry.retry_delay.ToTimedelta() > timedelta(0)
    assert any(a.shared for a in answered)
    assert env.sim.history_pacing.violations == 0
    assert env.sim.history_pacing.accepted == env.app.session.history.sent  # type: ignore[union-attr]
    assert all(len(a.bars) > 0 for a in answered)


async def test_a_request_that_cannot_wait_is_refused_with_retry_info(env: ServerEnv) -> None:
    """Eight different requests for one contract at once, 1 s deadlines: six go now, the
    other two would have to wait 2 s for IB's pacing and are refused, saying when to retry."""
    requests = [bars_request(duration=f"{(k + 1) * 300} S", bar_size="1 min") for k in range(8)]
    outcomes = await asyncio.gather(
        *(env.stub.GetHistoricalBars(r, timeout=1) for r in requests), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(refused) == 2, [getattr(o, "details", lambda: "")() for o in refused]
    for err in refused:
        assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        info, retry = details(err)[:2]
        assert info.reason == "RATE_LIMITED"
        assert timedelta(seconds=1) < retry.retry_delay.ToTimedelta() <= timedelta(seconds=3)
    assert env.sim.stats.requests["ReqHistoricalData"] == 6
    assert env.sim.history_pacing.violations == 0


BAD = [
    (bars_request(bar_size="7 mins"), "bar_size"),
    (bars_request(duration="1 X"), "duration"),
    (bars_request(duration=""), "duration"),
    (bars_request(duration="400 D"), "duration"),
    (bars_request(duration="2 D", bar_size="1 secs"), "bar_size"),
    (bars_request(end_time=ts(datetime.now(UTC) + timedelta(days=3))), "end_time"),
    (pb.GetHistoricalBarsRequest(duration="1 D", bar_size="1 day"), "contract"),
    (bars_request(source=42), "source"),
]


@pytest.mark.parametrize(("request_msg", "field"), BAD, ids=[f for _, f in BAD])
async def test_bad_input_is_invalid_argument_before_tws(
    env: ServerEnv, request_msg: pb.GetHistoricalBarsRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.GetHistoricalBars(request_msg, timeout=5)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT, exc.value.details()
    info = details(exc.value)[0]
    assert info.metadata["field"] == field
    assert env.sim.stats.requests["ReqHistoricalData"] == 0
