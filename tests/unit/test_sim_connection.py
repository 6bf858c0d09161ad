"""The simulator's sans-IO protocol state (codec/connection.py), driven with bytes in memory,
and the codec's wall: nothing under simulator/codec imports I/O."""

from __future__ import annotations

import ast
import struct
from pathlib import Path

from ibkr_broker.simulator.codec import connection as pc
from ibkr_broker.simulator.codec import requests as rq
from ibkr_broker.simulator.codec.wire import encode_fields

CODEC_DIR = Path(__file__).resolve().parents[2] / "simulator" / "codec"
IO_MODULES = {"asyncio", "socket", "selectors", "ssl", "threading", "time", "subprocess",
              "io", "os", "logging"}


def hello(lo: int = 157, hi: int = 178) -> bytes:
    text = f"v{lo}..{hi}".encode()
    return b"API\0" + struct.pack(">I", len(text)) + text


def start_api(client_id: int = 7) -> bytes:
    return encode_fields(("71", "2", client_id, ""))


def test_codec_imports_no_io() -> None:
    offenders = []
    for path in sorted(CODEC_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in IO_MODULES]
    assert offenders == []


def test_handshake_start_and_requests_in_one_chunk() -> None:
    conn = pc.ServerConnection()
    data = hello() + start_api(7) + encode_fields(("8", "1", "1")) + encode_fields(("49", "1"))
    events = conn.receive_data(data, now=0.0)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Handshake", "StartRequested", "RequestReceived", "RequestReceived"]
    assert events[0] == pc.Handshake(178, 157, 178, "")
    assert conn.phase is pc.Phase.RUNNING and conn.client_id == 7
    assert isinstance(events[2], pc.RequestReceived)
    assert events[2].request == rq.ReqIds(num_ids=1)


def test_handshake_split_at_every_byte() -> None:
    conn = pc.ServerConnection()
    data = hello(100, 226) + start_api(3)
    events: list[pc.Event] = []
    for i in range(len(data)):
        events += conn.receive_data(data[i : i + 1], now=0.0)
    assert [type(e) for e in events] == [pc.Handshake, pc.StartRequested]
    assert conn.server_version == 178  # the text-era ceiling answers an ibapi 10.50 offer


def test_requests_before_start_are_ignored_and_a_second_start_is_reported() -> None:
    conn = pc.ServerConnection()
    events = conn.receive_data(hello() + encode_fields(("61", "1")) + start_api()
                               + start_api(), now=0.0)
    assert [type(e) for e in events] == [pc.Handshake, pc.IgnoredBeforeStart,
                                         pc.StartRequested, pc.AlreadyStarted]


def test_client_needing_a_newer_version_is_refused() -> None:
    conn = pc.ServerConnection(max_server_version=178)
    events = conn.receive_data(hello(179, 226), now=0.0)
    assert events == [pc.Refused("client needs server version >= 179")]
    assert conn.phase is pc.Phase.CLOSED
    assert conn.receive_data(start_api(), now=0.0) == []


def test_garbage_instead_of_a_handshake_is_a_protocol_violation() -> None:
    conn = pc.ServerConnection()
    (event,) = conn.receive_data(b"GET / HTTP/1.1\r\n", now=0.0)
    assert isinstance(event, pc.ProtocolViolation)
    assert conn.phase is pc.Phase.CLOSED


def test_bad_request_before_start_closes_and_after_start_counts() -> None:
    early = pc.ServerConnection()
    events = early.receive_data(hello() + encode_fields(("8", "1", "x")), now=0.0)
    assert isinstance(events[-1], pc.BadRequest) and events[-1].close_now
    conn = pc.ServerConnection(max_malformed=2)
    conn.receive_data(hello() + start_api(), now=0.0)
    bad = encode_fields(("8", "1", "x"))
    results = [conn.receive_data(bad, now=0.0)[0] for _ in range(3)]
    assert all(isinstance(e, pc.BadRequest) for e in results)
    assert [e.close_after for e in results if isinstance(e, pc.BadRequest)] == [
        False, False, True]
    assert conn.malformed == 3


def test_pacing_is_reported_once_per_second_of_the_callers_clock() -> None:
    conn = pc.ServerConnection(max_msg_rate=3)
    conn.receive_data(hello() + start_api(), now=10.0)  # startApi is message 1
    msg = encode_fields(("49", "1"))
    events = conn.receive_data(msg * 4, now=10.5)
    assert [type(e) for e in events].count(pc.PacingExceeded) == 1
    assert events[2] == pc.PacingExceeded(limit=3, count=4)  # before the 4th message
    assert not any(isinstance(e, pc.PacingExceeded)
                   for e in conn.receive_data(msg * 2, now=11.6))


def binary(msg_id: int, body: bytes) -> bytes:
    return struct.pack(">II", len(body) + 4, msg_id) + body


def test_protobuf_era_frames_carry_binary_ids_protobuf_above_200() -> None:
    from ibapi.protobuf.IdsRequest_pb2 import IdsRequest
    from ibapi.protobuf.StartApiRequest_pb2 import StartApiRequest

    conn = pc.ServerConnection(max_server_version=226)
    data = (hello(100, 226) + binary(271, StartApiRequest(clientId=4).SerializeToString())
            + binary(208, IdsRequest(numIds=1).SerializeToString())
            + binary(49, b"1\0"))  # a text request keeps its classic id, now 4 binary bytes
    events = conn.receive_data(data, now=0.0)
    assert [type(e) for e in events] == [pc.Handshake, pc.StartRequested, pc.RequestReceived,
                                         pc.RequestReceived]
    assert conn.server_version == 226 and conn.client_id == 4
    assert [getattr(e, "request", None) for e in events[2:]] == [rq.ReqIds(1),
                                                                 rq.ReqCurrentTime()]
    assert conn.protobuf_received == 2
    assert pc.replies_for(conn.server_version).__name__.endswith("proto_replies")
    assert pc.replies_for(178).__name__.endswith(".responses")


def test_protobuf_era_frame_too_short_for_its_id_is_a_bad_request() -> None:
    conn = pc.ServerConnection(max_server_version=213)
    conn.receive_data(hello(100, 226), now=0.0)
    from ibapi.protobuf.StartApiRequest_pb2 import StartApiRequest

    conn.receive_data(binary(271, StartApiRequest(clientId=1).SerializeToString()), now=0.0)
    (event,) = conn.receive_data(struct.pack(">I", 2) + b"\0\0", now=0.0)
    assert isinstance(event, pc.BadRequest) and not event.close_now
    assert "no message id" in event.error.reason
