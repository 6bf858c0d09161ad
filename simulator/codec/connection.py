"""The server side of one TWS API connection as a sans-IO state machine (h11's style).

Bytes go in (``receive_data``), events come out; the socket class acts on the events and the
state machine never touches a socket, a loop or a clock (the caller passes ``now``).

    conn = ServerConnection(max_server_version=178, max_msg_rate=50)
    for event in conn.receive_data(data, now=time.monotonic()):
        ...  # Handshake: write event.reply; StartRequested: accept or refuse; ...

Versions: ``negotiate`` answers the text era (at most 178, the layouts of 178) to clients that
offer no more than 212, and the protobuf era (213 up to ``max_server_version``) to clients that
offer it; 179..212 mix newer text layouts with protobuf and are never answered. From 201 on
every frame carries a 4-byte binary message id; ids above 200 are protobuf payloads
(``proto_requests.py``).

Phases (``conn.phase``): HANDSHAKE -> AWAIT_START -> RUNNING -> CLOSED. The first request after
the handshake must be startApi; the connection moves to RUNNING as it hands out
``StartRequested`` (the caller calls ``close()`` to refuse it). Requests before startApi are
reported as ``IgnoredBeforeStart``; a second startApi as ``AlreadyStarted``.

Events: ``Handshake``, ``Refused``, ``ProtocolViolation``, ``StartRequested``,
``RequestReceived``, ``IgnoredBeforeStart``, ``AlreadyStarted``, ``BadRequest``,
``PacingExceeded``. Every event made from one incoming message is a ``MessageEvent``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import ModuleType

from . import proto_replies, responses
from .ids import PROTOBUF_OFFSET
from .proto_requests import parse_proto_request
from .request_types import Request, StartApi
from .requests import parse_request
from .wire import (
    CodecError,
    FrameReader,
    RequestError,
    parse_handshake_prefix,
    split_binary,
)

__all__ = [
    "BINARY_IDS_MIN",
    "NEWEST",
    "PROTOBUF_ERA_MIN",
    "TEXT_ERA_MAX",
    "AlreadyStarted",
    "BadRequest",
    "Event",
    "Handshake",
    "IgnoredBeforeStart",
    "MessageEvent",
    "PacingExceeded",
    "Phase",
    "ProtocolViolation",
    "Refused",
    "RequestReceived",
    "ServerConnection",
    "StartRequested",
    "check_ceiling",
    "negotiate",
    "replies_for",
]

TEXT_ERA_MAX = 178  # the newest text-era layout the codec speaks (ib_async 2.1 pins 157..178)
BINARY_IDS_MIN = 201  # ibapi MIN_SERVER_VER_PROTOBUF: binary message ids from here on
PROTOBUF_ERA_MIN = 213  # ibapi sends every request the simulator parses as protobuf from here
NEWEST = 226  # ibapi 10.50's MAX_CLIENT_VER
MAX_MALFORMED = 20  # malformed requests tolerated before the connection is closed


class Phase(enum.Enum):
    HANDSHAKE = "handshake"
    AWAIT_START = "await_start"
    RUNNING = "running"
    CLOSED = "closed"


class Event:
    """Base of everything ``receive_data`` reports."""


class MessageEvent(Event):
    """An event made from one complete incoming message."""


@dataclass(frozen=True)
class Handshake(Event):
    """The handshake is complete: answer with the version message before anything else."""

    server_version: int
    client_min: int
    client_max: int
    options: str


@dataclass(frozen=True)
class Refused(Event):
    """The client cannot be served (its minimum version is too new): close."""

    reason: str


@dataclass(frozen=True)
class ProtocolViolation(Event):
    """Garbage where a handshake or frame should be: close."""

    error: CodecError


@dataclass(frozen=True)
class StartRequested(MessageEvent):
    """startApi: accept it (the connection is RUNNING now) or refuse it with ``close()``."""

    request: StartApi


@dataclass(frozen=True)
class RequestReceived(MessageEvent):
    request: Request

    @property
    def name(self) -> str:
        return type(self.request).__name__


@dataclass(frozen=True)
class IgnoredBeforeStart(MessageEvent):
    """A request before startApi (TWS ignores it)."""

    request: Request


@dataclass(frozen=True)
class AlreadyStarted(MessageEvent):
    """startApi on a running connection."""

    request: StartApi


@dataclass(frozen=True)
class BadRequest(MessageEvent):
    """A request that could not be understood. ``close_now``: before startApi (drop the
    connection); ``close_after``: too many of them (answer, then close)."""

    error: RequestError
    close_now: bool
    close_after: bool


@dataclass(frozen=True)
class PacingExceeded(Event):
    """More than ``limit`` messages in one second (reported once per second)."""

    limit: int
    count: int


def replies_for(server_version: int) -> ModuleType:
    """The reply builders of a negotiated version: ``responses`` (text era) or
    ``proto_replies`` (protobuf era); both have the same functions."""
    return proto_replies if server_version >= BINARY_IDS_MIN else responses


def check_ceiling(version: int) -> int:
    """``version`` if the simulator can be capped there; ValueError naming the choices if not."""
    if 100 <= version <= TEXT_ERA_MAX or PROTOBUF_ERA_MIN <= version <= NEWEST:
        return version
    raise ValueError(
        f"max server version {version} is not spoken: choose 100..{TEXT_ERA_MAX} (text era) or "
        f"{PROTOBUF_ERA_MIN}..{NEWEST} (protobuf era)")


def negotiate(client_min: int, client_max: int, ceiling: int) -> int | None:
    """The server version to answer, or None when the client needs one the simulator lacks."""
    if ceiling >= PROTOBUF_ERA_MIN and client_max >= PROTOBUF_ERA_MIN:
        version = min(client_max, ceiling)
    else:
        version = min(client_max, ceiling, TEXT_ERA_MAX)
    return version if version >= client_min else None


class ServerConnection:
    """Per-connection protocol state: handshake, startApi gating, incoming pacing."""

    def __init__(self, *, max_server_version: int = TEXT_ERA_MAX,
                 max_msg_rate: int | None = None, max_malformed: int = MAX_MALFORMED) -> None:
        self.max_server_version = check_ceiling(max_server_version)
        self.max_msg_rate = max_msg_rate
        self.max_malformed = max_malformed
        self.phase = Phase.HANDSHAKE
        self.server_version = 0
        self.client_id: int | None = None
        self.malformed = 0
        self.protobuf_received = 0  # messages that came as protobuf payloads
        self._hs_buf = bytearray()
        self._reader = FrameReader()
        self._rate_window = 0.0
        self._rate_count = 0
        self._rate_warned = False

    def close(self) -> None:
        self.phase = Phase.CLOSED

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed bytes from the socket; returns the events they complete, in order."""
        if self.phase is Phase.CLOSED:
            return []
        events: list[Event] = []
        try:
            if self.phase is Phase.HANDSHAKE:
                data = self._handshake(data, events)
                if not data:
                    return events
            frames = self._reader.feed_raw(data)
        except CodecError as exc:
            self.phase = Phase.CLOSED
            events.append(ProtocolViolation(exc))
            return events
        for frame in frames:
            self._pace(now, events)
            events.append(self._message(frame))
        return events

    @property
    def binary_ids(self) -> bool:
        """Whether frames carry 4-byte binary message ids (server version >= 201)."""
        return self.server_version >= BINARY_IDS_MIN

    def _parse(self, frame: bytes) -> Request:
        if not self.binary_ids:
            fields = frame.decode("latin-1").split("\0")
            if fields and fields[-1] == "":
                fields.pop()
            return parse_request(fields)
        msg_id, body = split_binary(frame)
        if msg_id > PROTOBUF_OFFSET:
            self.protobuf_received += 1
            return parse_proto_request(msg_id - PROTOBUF_OFFSET, body)
        fields = body.decode("latin-1").split("\0")
        if fields and fields[-1] == "":
            fields.pop()
        return parse_request([str(msg_id), *fields])

    def _handshake(self, data: bytes, events: list[Event]) -> bytes:
        self._hs_buf += data
        parsed = parse_handshake_prefix(self._hs_buf)
        if parsed is None:
            return b""
        consumed, lo, hi, options = parsed
        version = negotiate(lo, hi, self.max_server_version)
        if version is None:
            self.phase = Phase.CLOSED
            events.append(Refused(f"client needs server version >= {lo}"))
            return b""
        self.server_version = version
        self.phase = Phase.AWAIT_START
        events.append(Handshake(version, lo, hi, options))
        rest = bytes(self._hs_buf[consumed:])
        self._hs_buf.clear()
        return rest

    def _message(self, frame: bytes) -> MessageEvent:
        try:
            request = self._parse(frame)
        except RequestError as exc:
            return self._bad(exc)
        except CodecError as exc:  # a binary frame too short for its id
            return self._bad(RequestError(-1, str(exc)))
        if self.phase is Phase.AWAIT_START:
            if isinstance(request, StartApi):
                self.phase = Phase.RUNNING
                self.client_id = request.client_id
                return StartRequested(request)
            return IgnoredBeforeStart(request)
        if isinstance(request, StartApi):
            return AlreadyStarted(request)
        return RequestReceived(request)

    def _bad(self, exc: RequestError) -> BadRequest:
        self.malformed += 1
        if self.phase is not Phase.RUNNING:
            self.phase = Phase.CLOSED
            return BadRequest(exc, close_now=True, close_after=False)
        return BadRequest(exc, close_now=False, close_after=self.malformed > self.max_malformed)

    def _pace(self, now: float, events: list[Event]) -> None:
        limit = self.max_msg_rate
        if not limit:
            return
        if now - self._rate_window >= 1.0:
            self._rate_window = now
            self._rate_count = 0
            self._rate_warned = False
        self._rate_count += 1
        if self._rate_count > limit and not self._rate_warned:
            self._rate_warned = True
            events.append(PacingExceeded(limit, self._rate_count))
