"""The liveness of relayed streams and of gateways at an edge, on an injected clock: leases lapse
by the monotonic clock only, a gateway cancels a stream its edge stopped renewing or cancelled,
an edge ends a stream its gateway lost, and a gap on the bus ends a stream instead of hiding."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from ibkr_broker.server.bus.calls import BusCall
from ibkr_broker.server.bus.edge_backend import EdgeBackend
from ibkr_broker.server.bus.edge_streams import EdgeStreams, RemoteStream
from ibkr_broker.server.bus.relay import StreamRelay
from ibkr_broker.server.bus.streams import Leases
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import common_pb2

from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(30)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeNats:
    """What a relay publishes, by subject."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, dict[str, str]]] = []
        self._inboxes = 0

    async def publish(
        self, subject: str, data: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.published.append((subject, data, headers or {}))

    def new_inbox(self) -> str:
        self._inboxes += 1
        return f"_INBOX.test.{self._inboxes}"

    async def subscribe(self, subject: str, cb: Any = None) -> Any:
        return None


class EndlessBars:
    """A servicer whose StreamBars sends one message and then waits until cancelled."""

    def __init__(self) -> None:
        self.running = 0
        self.released = 0

    async def StreamBars(self, request: Any, context: BusCall) -> AsyncIterator[Any]:
        self.running += 1
        try:
            yield pb.StreamBarsResponse(sequence=1, heartbeat=common_pb2.Heartbeat())
            await asyncio.Event().wait()
        finally:
            self.running -= 1
            self.released += 1


def test_a_lease_lapses_by_the_injected_clock_only(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    leases = Leases(lapse_after=20.0, clock=clock)
    leases.add("a")
    leases.add("b")
    monkeypatch.setattr(time, "time", lambda: 4e9)  # the wall clock jumps decades ahead
    clock.now += 15
    assert leases.renew(["a", "zz"]) == ["zz"]
    clock.now += 10
    assert leases.lapsed() == ["b"]  # a was renewed 10 s ago, b 25 s ago
    assert "a" in leases and "b" not in leases
    with pytest.raises(ValueError, match="lapse_after"):
        Leases(lapse_after=0)


async def open_bars(relay: StreamRelay, inbox: str) -> None:
    reply = relay.open(pb.StreamBarsRequest().SerializeToString(),
                       {"method": "StreamBars", "stream": inbox})  # fmt: skip
    assert reply.code is grpc.StatusCode.OK, reply.message


async def test_the_gateway_cancels_a_stream_whose_edge_stopped_renewing() -> None:
    clock, nc, servicer = FakeClock(), FakeNats(), EndlessBars()
    relay = StreamRelay(nc, servicer, lambda _: None, lapse_after=20.0, clock=clock)
    await open_bars(relay, "_INBOX.kept")
    await open_bars(relay, "_INBOX.lost")
    await wait_until(lambda: servicer.running == 2, 5, "both streams run")
    assert [h["n"] for s, _, h in nc.published if s == "_INBOX.kept"] == ["1"]
    clock.now += 15
    assert relay.leases.renew(["_INBOX.kept", "_INBOX.gone"]) == ["_INBOX.gone"]
    clock.now += 10
    assert relay.sweep() == ["_INBOX.lost"]
    await wait_until(lambda: servicer.released == 1 and len(relay) == 1, 5, "one released")
    assert not any(h.get("end") for s, _, h in nc.published if s == "_INBOX.lost")
    assert relay.cancel("_INBOX.kept")  # the edge's client cancelled
    await wait_until(lambda: servicer.running == 0 and len(relay) == 0, 5, "all released")
    assert not relay.cancel("_INBOX.kept")


async def test_the_gateway_refuses_what_it_cannot_run() -> None:
    relay = StreamRelay(FakeNats(), EndlessBars(), lambda _: None, max_streams=1)
    data = pb.StreamBarsRequest().SerializeToString()
    assert relay.open(data, {"method": "GetStatus", "stream": "_INBOX.a"}).code is (
        grpc.StatusCode.UNIMPLEMENTED)  # fmt: skip
    assert relay.open(data, {"method": "StreamBars", "stream": "a b"}).code is (
        grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
    assert relay.open(b"\xff\xff", {"method": "StreamBars", "stream": "_INBOX.a"}).code is (
        grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
    await open_bars(relay, "_INBOX.a")
    assert relay.open(data, {"method": "StreamBars", "stream": "_INBOX.a"}).code is (
        grpc.StatusCode.ALREADY_EXISTS)  # fmt: skip
    assert relay.open(data, {"method": "StreamBars", "stream": "_INBOX.b"}).code is (
        grpc.StatusCode.RESOURCE_EXHAUSTED)  # fmt: skip
    await relay.close(grace=0)
    assert len(relay) == 0


def test_a_remote_stream_ends_on_a_gap_after_what_came_before() -> None:
    stream = RemoteStream("_INBOX.x", "DU1")
    stream.on_message({"n": "1"}, b"one")
    stream.on_message({"n": "3"}, b"three")  # 2 was lost on the bus
    stream.on_message({"n": "4"}, b"four")
    assert stream.take() == [b"one"]
    assert stream.done and stream.end is not None
    assert stream.end.code is grpc.StatusCode.UNAVAILABLE and "lost" in stream.end.message


def test_a_remote_stream_ends_with_the_gateways_status() -> None:
    stream = RemoteStream("_INBOX.x", "DU1", max_pending=2)
    stream.on_message({"n": "1"}, b"one")
    stream.on_message({"n": "2", "end": "1", "code": "INVALID_ARGUMENT", "message": "rows"}, b"d")
    assert not stream.done  # "one" is still to be taken
    assert stream.take() == [b"one"] and stream.done
    assert stream.end is not None and stream.end.code is grpc.StatusCode.INVALID_ARGUMENT
    assert (stream.end.message, stream.end.payload) == ("rows", b"d")
    slow = RemoteStream("_INBOX.y", "DU1", max_pending=2)
    for n in (1, 2, 3):
        slow.on_message({"n": str(n)}, b"m")
    assert slow.end is not None and "behind" in slow.end.message


async def test_the_edge_ends_streams_its_gateway_lost_or_stopped_answering() -> None:
    clock = FakeClock()
    answers: dict[str, Any] = {}

    async def request(subject: str, data: bytes, headers: dict[str, str], _: Any) -> bytes:
        if subject.endswith(".stream.open"):
            return b""
        answer = answers[subject.split(".")[2]]
        if isinstance(answer, Exception):
            raise answer
        return json.dumps([i for i in json.loads(data) if i in answer]).encode()

    edge = EdgeStreams(FakeNats(), request, lapse_after=20.0, clock=clock)
    one = await edge.open("StreamBars", "DU1", pb.StreamBarsRequest(), {})
    two = await edge.open("StreamBars", "DU2", pb.StreamBarsRequest(), {})
    answers.update({"DU1": {one.inbox}, "DU2": TimeoutError("no answer")})  # DU1 lost `one`
    await edge.keep()
    assert one.end is None  # once may cross the stream's last message: not yet
    clock.now += 5
    await edge.keep()
    assert one.end is not None and one.end.code is grpc.StatusCode.UNAVAILABLE
    assert two.end is None
    clock.now += 16  # DU2 has not answered for 21 s
    await edge.keep()
    assert two.end is not None and "not answered" in two.end.message
    answers["DU1"] = set()
    await edge.close(one)
    await edge.close(two)
    assert not edge.streams and len(edge.confirmed) == 0


def test_an_edge_judges_gateways_by_its_monotonic_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    backend = EdgeBackend("nats://127.0.0.1:1", clock=clock)
    entry = {"account": "DU1", "accounts": ["DU1"], "instance": "i1", "time": 0.0}
    backend.note_gateway("DU1", json.dumps(entry).encode())  # its own time says 1970: ignored
    monkeypatch.setattr(time, "time", lambda: 4e9)  # this machine's wall clock jumps
    clock.now += 9
    assert list(backend.live()) == ["DU1"]
    clock.now += 2
    assert backend.live() == {}  # 11 s without an announcement
    backend.note_gateway("DU1", json.dumps(entry).encode())
    assert list(backend.live()) == ["DU1"]
    backend.note_gateway("DU1", None)
    assert backend.live() == {} and backend.gateways == {}
