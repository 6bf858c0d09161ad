"""Offset-based framing of the TWS stream and the reader/decoder thread loops."""

from __future__ import annotations

import itertools
import queue
import socket
import struct
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibapi import comm
from ibkr_broker.server.ib.reader import (
    FrameBuffer,
    FramingError,
    decoder_loop,
    put_batch,
    reader_loop,
)

pytestmark = pytest.mark.timeout(60)


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def tick_price(i: int) -> bytes:
    return frame(b"1\x006\x00%d\x001\x00%d.25\x00100\x000\x00" % (i % 50, 100 + i % 100))


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


_payloads = st.lists(st.binary(min_size=0, max_size=300), min_size=0, max_size=40)


@given(payloads=_payloads, cuts=st.lists(st.integers(0, 13_000), max_size=60))
def test_frames_survive_any_split(payloads: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(frame(p) for p in payloads)
    framer = FrameBuffer()
    out: list[bytes] = []
    for chunk in split_at(stream, cuts):
        out.extend(framer.feed(chunk))
    assert out == payloads
    assert framer.pending == 0


@given(payloads=_payloads)
@settings(max_examples=30)
def test_byte_at_a_time(payloads: list[bytes]) -> None:
    stream = b"".join(frame(p) for p in payloads)
    framer = FrameBuffer()
    out: list[bytes] = []
    for i in range(len(stream)):
        out.extend(framer.feed(stream[i : i + 1]))
    assert out == payloads


@given(payloads=st.lists(st.binary(min_size=1, max_size=200), max_size=30), cut=st.integers(0))
def test_same_frames_as_ibapi(payloads: list[bytes], cut: int) -> None:
    """ibapi's own `comm.read_msg` is the oracle, with an incomplete tail left over."""
    stream = b"".join(frame(p) for p in payloads)
    stream = stream[: cut % (len(stream) + 1)]
    expected: list[bytes] = []
    rest = stream
    while True:
        _size, msg, rest = comm.read_msg(rest)
        if not msg:
            break
        expected.append(msg)
    framer = FrameBuffer()
    assert framer.feed(stream) == expected
    assert framer.pending == len(rest)


def test_oversized_length_is_a_framing_error() -> None:
    framer = FrameBuffer(max_len=1000)
    with pytest.raises(FramingError):
        framer.feed(struct.pack(">I", 1001) + b"x")
    assert FrameBuffer(max_len=1000).feed(frame(b"y" * 1000)) == [b"y" * 1000]


def test_large_burst_is_framed_whole_and_in_order() -> None:
    """200k messages (~5 MB) in one buffer (ibapi's EReader would copy ~500 GB here; the speed
    is measured by bench/bench_ingest.py, not asserted in a test)."""
    burst = b"".join(tick_price(i) for i in range(200_000))
    frames = FrameBuffer().feed(burst)
    assert len(frames) == 200_000
    assert frames[7] == tick_price(7)[4:] and frames[-1] == tick_price(199_999)[4:]


def test_burst_in_socket_sized_chunks_is_framed_whole() -> None:
    burst = b"".join(tick_price(i) for i in range(200_000))
    framer = FrameBuffer()
    count = sum(
        len(framer.feed(chunk)) for chunk in split_at(burst, list(range(0, 6_000_000, 4093)))
    )
    assert count == 200_000 and framer.pending == 0


def test_huge_message_in_small_chunks_is_accumulated() -> None:
    """An 8 MB message arriving 4 KiB at a time comes out once, whole, before the next one."""
    payload = bytes(range(256)) * (8 * 4096)
    stream = frame(payload) + tick_price(1)
    framer = FrameBuffer()
    out: list[bytes] = []
    for chunk in split_at(stream, list(range(0, len(stream), 4096))):
        out.extend(framer.feed(chunk))
    assert out == [payload, tick_price(1)[4:]]


# --- the thread loops ---------------------------------------------------------------------------


class _Decoder:
    """Records what ibapi's Decoder would be called with."""

    def __init__(self, fail_on: int = -1) -> None:
        self.calls: list[tuple[int, list[bytes]]] = []
        self.fail_on = fail_on

    def interpret(self, fields: list[bytes], msg_id: int) -> None:
        if msg_id == self.fail_on:
            raise ValueError("invalid literal for int()")
        self.calls.append((msg_id, list(fields)))

    def processProtoBuf(self, payload: bytes, msg_id: int) -> None:
        self.calls.append((msg_id + 1000, [payload]))


def _never() -> bool:
    return False


def test_reader_loop_frames_and_reports_eof() -> None:
    ours, theirs = socket.socketpair()
    batches: queue.Queue[list[bytes] | None] = queue.Queue()
    theirs.sendall(b"".join(tick_price(i) for i in range(1000)))
    theirs.close()
    reason = reader_loop(ours, FrameBuffer(), batches, _never)
    ours.close()
    assert reason == "connection closed by TWS"
    frames = [f for _ in range(batches.qsize()) for f in batches.get_nowait() or []]
    assert frames == [tick_price(i)[4:] for i in range(1000)]


def test_reader_loop_framing_error() -> None:
    ours, theirs = socket.socketpair()
    theirs.sendall(struct.pack(">I", 0x7FFFFFFF) + b"junk")
    reason = reader_loop(ours, FrameBuffer(), queue.Queue(), _never)
    ours.close()
    theirs.close()
    assert reason.startswith("framing error")


def test_reader_loop_stops_when_told() -> None:
    ours, theirs = socket.socketpair()
    ours.settimeout(0.05)
    stop = threading.Event()
    result: list[str] = []
    thread = threading.Thread(
        target=lambda: result.append(reader_loop(ours, FrameBuffer(), queue.Queue(), stop.is_set))
    )
    thread.start()
    stop.set()
    thread.join(5)
    assert result == ["stopped"]
    ours.close()
    theirs.close()


def test_decoder_loop_splits_like_eclient_run() -> None:
    batches: queue.Queue[list[bytes] | None] = queue.Queue()
    batches.put([b"1\x006\x002\x001\x00101.5\x00100\x000\x00", b"9\x001\x00" + b"42\x00"])
    batches.put(None)
    decoder = _Decoder()
    decoder_loop(decoder, 178, batches, _never)
    assert decoder.calls == [
        (1, [b"6", b"2", b"1", b"101.5", b"100", b"0"]),
        (9, [b"1", b"42"]),
    ]


def test_decoder_loop_binary_ids_and_protobuf() -> None:
    batches: queue.Queue[list[bytes] | None] = queue.Queue()
    batches.put([(9).to_bytes(4, "big") + b"1\x0042\x00", (203).to_bytes(4, "big") + b"\x08\x01"])
    batches.put(None)
    decoder = _Decoder()
    decoder_loop(decoder, 201, batches, _never)
    assert decoder.calls == [(9, [b"1", b"42"]), (1003, [b"\x08\x01"])]


def test_decoder_loop_skips_and_reports_a_message_that_does_not_decode() -> None:
    batches: queue.Queue[list[bytes] | None] = queue.Queue()
    batches.put([b"9\x001\x001\x00", b"3\x00bad\x00", b"x\x00", b"9\x001\x002\x00"])
    batches.put(None)
    decoder = _Decoder(fail_on=3)
    skipped: list[tuple[int, int]] = []
    decoder_loop(decoder, 178, batches, _never, lambda i, n, _exc: skipped.append((i, n)))
    assert skipped == [(3, 1), (0, 1)]  # "x" is no message id at all
    assert decoder.calls == [(9, [b"1", b"1"]), (9, [b"1", b"2"])]


def test_decoder_loop_stops_mid_batch() -> None:
    batches: queue.Queue[list[bytes] | None] = queue.Queue()
    batches.put([b"9\x001\x00%d\x00" % i for i in range(100)])
    decoder = _Decoder()
    calls: list[Any] = decoder.calls
    decoder_loop(decoder, 178, batches, lambda: len(calls) >= 10)
    assert len(calls) == 10


def test_put_batch_gives_up_when_stopped() -> None:
    batches: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=1)
    assert put_batch(batches, [b"a"], _never)
    checks = iter([False, True])  # one bounded wait on the full queue, then stopped
    assert not put_batch(batches, [b"b"], lambda: next(checks))
    assert batches.get_nowait() == [b"a"] and batches.empty()
