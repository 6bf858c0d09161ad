"""Test oracles for the simulator codec: the two real TWS clients' decoders and encoders.

- ``IbapiDecoderOracle.feed(frame)`` runs one server frame through ``ibapi.decoder.Decoder`` at
  server version 178 exactly as ``EClient.run`` does, and returns the EWrapper calls it made.
  It fails on decode exceptions, on ibapi's ERROR logs (signature-dispatched messages with a
  wrong field count are dropped with only a log line) and on error() callbacks unless allowed.
- ``IbAsyncDecoderOracle.feed(frame)``: the same through ``ib_async.decoder.Decoder``; fails on
  its logged "Error handling fields"/"Error for" exceptions.
- ``ibapi_client()`` / ``ib_async_client()``: real client objects at server version 178 whose
  outgoing frames are captured in ``.sent`` (a list of bytes frames).

ibapi and ib_async are only used here, as oracles; the simulator never imports them.
"""

from __future__ import annotations

import inspect
import logging
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from types import SimpleNamespace
from typing import Any

import ib_async.client
import ib_async.decoder
from ibapi import comm
from ibapi.client import EClient
from ibapi.decoder import Decoder
from ibapi.wrapper import EWrapper

SERVER_VERSION = 178

Call = tuple[str, tuple[Any, ...]]


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def errors_logged(*names: str) -> Iterator[list[logging.LogRecord]]:
    """Collect ERROR records logged under the given logger names."""
    handler = _ListHandler()
    loggers = [logging.getLogger(n) for n in names]
    saved = [(lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.disabled = False
        if lg.level == logging.NOTSET or lg.level > logging.ERROR:
            lg.setLevel(logging.ERROR)
    try:
        yield handler.records
    finally:
        for lg, (level, disabled) in zip(loggers, saved, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
            lg.disabled = disabled


def _recorder(name: str) -> Any:
    def method(self: Any, *args: Any) -> None:
        self.calls.append((name, args))

    method.__name__ = name
    return method


# An EWrapper whose every callback records (name, args).
RecordingEWrapper: type[EWrapper] = type(
    "RecordingEWrapper",
    (EWrapper,),
    {
        name: _recorder(name)
        for name, _ in inspect.getmembers(EWrapper, inspect.isfunction)
        if not name.startswith("_")
    },
)


def _new_recording_ewrapper() -> Any:
    w = RecordingEWrapper()
    w.calls = []  # type: ignore[attr-defined]
    return w


def split_frame(frame: bytes) -> bytes:
    """The payload of exactly one frame (asserts the length prefix is right)."""
    assert len(frame) >= 4, frame
    (size,) = struct.unpack(">I", frame[:4])
    assert len(frame) == 4 + size, f"length prefix {size} but {len(frame) - 4} payload bytes"
    return frame[4:]


def split_frames(data: bytes) -> list[bytes]:
    """The payloads of one or more whole frames (asserts nothing is left over)."""
    out = []
    while data:
        assert len(data) >= 4, data
        (size,) = struct.unpack(">I", data[:4])
        assert len(data) >= 4 + size, f"length prefix {size} but {len(data) - 4} bytes left"
        out.append(data[4 : 4 + size])
        data = data[4 + size :]
    return out


class IbapiDecoderOracle:
    """ibapi's Decoder at ``server_version`` (178: text; >= 201: binary ids, protobuf above 200).

    ``feed`` takes one frame (or, with ``frames=True``, several back to back)."""

    def __init__(self, server_version: int = SERVER_VERSION) -> None:
        self.wrapper = _new_recording_ewrapper()
        self.server_version = server_version
        self.decoder = Decoder(self.wrapper, server_version)

    def _dispatch(self, text: bytes) -> int:
        # EClient.run: a text id below 201, a 4-byte id from 201; ids above 200 are protobuf
        if self.server_version >= 201:
            msg_id = int.from_bytes(text[:4], "big")
            text = text[4:]
        else:
            msg_id = int(text[: text.index(b"\0")])
            text = text[text.index(b"\0") + 1 :]
        if msg_id > 200:
            self.decoder.processProtoBuf(text, msg_id - 200)
        else:
            self.decoder.interpret(comm.read_fields(text), msg_id)
        return msg_id

    def feed(self, frame: bytes, allow_error: bool = False, frames: bool = False) -> list[Call]:
        payloads = split_frames(frame) if frames else [split_frame(frame)]
        calls: list[Call] = self.wrapper.calls
        start = len(calls)
        with errors_logged("ibapi") as records:
            for text in payloads:
                msg_id = self._dispatch(text)
        if records:
            raise AssertionError(f"ibapi logged errors: {[r.getMessage() for r in records]}")
        new = calls[start:]
        if not allow_error:
            errs = [c for c in new if c[0] == "error"]
            if errs:
                raise AssertionError(f"ibapi reported errors: {errs}")
        if not new:
            raise AssertionError(f"ibapi made no callback for message {msg_id}")
        return new


class _AsyncRecorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.defaultTimezone = UTC
        self.ib = SimpleNamespace(TimezoneTWS=None)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def record(*args: Any) -> None:
            self.calls.append((name, args))

        return record


class IbAsyncDecoderOracle:
    def __init__(self) -> None:
        self.wrapper = _AsyncRecorder()
        self.decoder = ib_async.decoder.Decoder(self.wrapper, SERVER_VERSION)  # type: ignore[arg-type]

    def feed(self, frame: bytes) -> list[Call]:
        # Client._onSocketHasData: decode, split on NUL, pop the trailing empty field
        fields = split_frame(frame).decode(errors="backslashreplace").split("\0")
        fields.pop()
        start = len(self.wrapper.calls)
        with errors_logged("ib_async") as records:
            self.decoder.interpret(fields)
        if records:
            raise AssertionError(f"ib_async logged errors: {[r.getMessage() for r in records]}")
        new = self.wrapper.calls[start:]
        if not new:
            raise AssertionError(f"ib_async made no callback for {fields[:2]}")
        return new


class _FakeConn:
    def __init__(self, sent: list[bytes]) -> None:
        self.sent = sent

    def isConnected(self) -> bool:
        return True

    def sendMsg(self, msg: bytes) -> None:
        self.sent.append(msg)


def ibapi_client(server_version: int = SERVER_VERSION) -> Any:
    """An ibapi EClient 'connected' at ``server_version``; frames land in ``client.sent``."""
    client = EClient(_new_recording_ewrapper())
    client.sent = []
    client.serverVersion_ = server_version
    client.connState = EClient.CONNECTED
    client.conn = _FakeConn(client.sent)
    return client


def ib_async_client() -> Any:
    """An ib_async Client 'connected' at server version 178; frames land in ``client.sent``."""
    client = ib_async.client.Client(_AsyncRecorder())
    client.sent = []
    client._serverVersion = SERVER_VERSION
    client.connState = ib_async.client.Client.CONNECTED
    # Client.send -> sendMsg(str) normally throttles and writes _prefix(msg.encode()) to conn.
    client.sendMsg = lambda msg: client.sent.append(client._prefix(msg.encode()))
    return client
