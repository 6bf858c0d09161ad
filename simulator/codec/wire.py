"""TWS socket framing and field primitives (server version 178). Pure: no I/O.

Public API:

- ``encode_fields(fields) -> bytes``: one frame, ``uint32_be(len) + b"f1\\0f2\\0..."``.
  str as is, bool "1"/"0", int decimal, Decimal plain notation (``format_decimal``),
  float shortest round-trip text without exponent, None "".
- ``format_decimal(d) -> str``: plain notation, no exponent ("1E+2" -> "100").
- ``format_number(v) -> str``: Decimal | int | float | None ("" for None) as a number field.
- ``UNSET_DOUBLE``, ``UNSET_INTEGER``, ``UNSET_LONG``: the wire spellings of "unset".
- ``class FrameReader(max_size=MAX_FRAME_SIZE)``: ``feed(data) -> list[list[str]]``, an
  offset-based incremental framer; raises ``FrameError`` for a frame over ``max_size``.
  ``feed_raw(data) -> list[bytes]`` yields the payloads unsplit (the protobuf era).
- ``encode_binary(msg_id, payload) -> bytes``: a protobuf-era frame,
  ``uint32_be(len) + uint32_be(msg_id) + payload`` (from server version 201 every message
  carries its id as 4 binary bytes; protobuf payloads use the id + 200).
- ``split_binary(payload) -> (msg_id, body)``: the reverse, for an incoming protobuf-era frame.
- ``parse_handshake_prefix(buf) -> (consumed, min_version, max_version, options) | None``
  for ``b"API\\0" + uint32_be(len) + b"v<min>..<max>[ options]"``; ``HandshakeError`` on garbage.
- ``encode_handshake_reply(server_version, conn_time) -> bytes``: the 2-field version message.
- ``class FieldCursor(fields, message)``: reads a request's fields in order:
  ``str``, ``int``, ``decimal``, ``bool``, ``skip``, ``remaining``, ``expect_end``.

Errors (``CodecError`` is the base)::

    CodecError
    ├── FrameError          a frame is oversized or its length prefix is impossible
    ├── HandshakeError      the connection did not start with a valid "API\\0" prefix
    └── RequestError        a complete request could not be understood
        ├── UnknownRequest      unknown message id
        └── MalformedRequest    missing or badly typed fields
"""

from __future__ import annotations

import builtins
import struct
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

__all__ = [
    "MAX_FRAME_SIZE",
    "UNSET_DOUBLE",
    "UNSET_INTEGER",
    "UNSET_LONG",
    "CodecError",
    "FieldCursor",
    "FrameError",
    "FrameReader",
    "HandshakeError",
    "MalformedRequest",
    "RequestError",
    "UnknownRequest",
    "encode_binary",
    "encode_fields",
    "encode_handshake_reply",
    "format_decimal",
    "format_number",
    "parse_handshake_prefix",
    "split_binary",
]

UNSET_DOUBLE = "1.7976931348623157E308"
UNSET_INTEGER = "2147483647"
UNSET_LONG = "9223372036854775807"
MAX_FRAME_SIZE = 1 << 20  # 1 MiB: far above any real TWS API message

Field = str | int | bool | Decimal | float | None

_LEN = struct.Struct(">I")
_UNSET_DECIMAL_VALUE = Decimal("1.7976931348623157E308")
_UNSET_INT_TEXT = frozenset({UNSET_INTEGER, UNSET_LONG})
_INFINITY_TEXT = {
    "Infinity": Decimal("Infinity"),
    "Infinite": Decimal("Infinity"),
    "-Infinity": Decimal("-Infinity"),
    "-Infinite": Decimal("-Infinity"),
}


class CodecError(Exception):
    """Base of every error the codec raises."""


class FrameError(CodecError):
    """A frame is larger than allowed."""


class HandshakeError(CodecError):
    """The bytes before the first frame are not a TWS API handshake."""


class RequestError(CodecError):
    """A complete request that the simulator cannot act on."""

    def __init__(
        self, msg_id: builtins.int, reason: builtins.str, req_id: builtins.int | None = None
    ) -> None:
        super().__init__(f"request {msg_id}: {reason}")
        self.msg_id = msg_id
        self.reason = reason
        self.req_id = req_id  # the request's reqId / orderId when it could be read


class UnknownRequest(RequestError):
    """A message id the simulator does not know."""

    def __init__(self, msg_id: builtins.int) -> None:
        super().__init__(msg_id, "unknown message id")


class MalformedRequest(RequestError):
    """A known request with missing, extra or badly typed fields."""


# --------------------------------------------------------------------------------------------
# encoding


def format_decimal(d: Decimal) -> builtins.str:
    """Plain notation without exponent: 1E+2 -> "100", 1.50 -> "1.50", 1E-7 -> "0.0000001"."""
    if not d.is_finite():
        if d.is_nan():
            raise ValueError("NaN cannot be sent")
        return "Infinity" if d > 0 else "-Infinity"
    s = builtins.str(d)
    if "E" not in s:
        return s
    s = format(d, "f")
    return s


def format_number(v: Decimal | builtins.int | float | None) -> builtins.str:
    """A number field: None -> "", Decimal plain, int decimal, float shortest round-trip text
    without exponent; infinity -> "Infinity"."""
    if v is None:
        return ""
    t = type(v)
    if t is Decimal:
        return format_decimal(v)  # type: ignore[arg-type]
    if t is builtins.int:
        return builtins.str(v)
    if t is float:
        s = repr(v)
        if "e" in s or "n" in s:
            return format_decimal(Decimal(s))
        return s[:-2] if s.endswith(".0") else s
    if t is bool:
        return "1" if v else "0"
    raise TypeError(f"cannot encode {t.__name__} as a TWS number")


def _field_text(v: Field) -> builtins.str:
    if v is None:
        return ""
    t = type(v)
    if t is builtins.str:
        return v  # type: ignore[return-value]
    if t is bool:
        return "1" if v else "0"
    if t is builtins.int:
        return builtins.str(v)
    if t is Decimal:
        return format_decimal(v)  # type: ignore[arg-type]
    if t is float:
        return format_number(v)  # type: ignore[arg-type]
    raise TypeError(f"cannot encode {t.__name__} as a TWS field")


def encode_fields(fields: Iterable[Field]) -> bytes:
    """Frame one message: 4-byte big-endian length, then each field + NUL (ASCII)."""
    payload = "".join([_field_text(f) + "\0" for f in fields]).encode("ascii")
    return _LEN.pack(len(payload)) + payload


def encode_binary(msg_id: builtins.int, payload: bytes) -> bytes:
    """A protobuf-era frame: 4-byte length, 4-byte big-endian message id, payload."""
    return _LEN.pack(len(payload) + 4) + _LEN.pack(msg_id) + payload


def split_binary(payload: bytes) -> tuple[builtins.int, bytes]:
    """(message id, body) of a protobuf-era frame's payload."""
    if len(payload) < 4:
        raise FrameError(f"protobuf-era frame of {len(payload)} bytes has no message id")
    (msg_id,) = _LEN.unpack_from(payload, 0)
    return msg_id, payload[4:]


def encode_handshake_reply(server_version: builtins.int, conn_time: builtins.str) -> bytes:
    """The server's answer to the handshake: [serverVersion, connTime]."""
    return encode_fields((server_version, conn_time))


# --------------------------------------------------------------------------------------------
# decoding


class FrameReader:
    """Incremental framer: feed bytes, get complete messages as lists of str fields.

    Keeps one buffer and a read offset; consumed bytes are dropped once per ``feed`` call, so a
    large burst costs O(n), not O(n^2).
    """

    __slots__ = ("_buf", "_max")

    def __init__(self, max_size: builtins.int = MAX_FRAME_SIZE) -> None:
        self._buf = bytearray()
        self._max = max_size

    @property
    def buffered(self) -> builtins.int:
        """Bytes held that do not yet form a complete frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[list[builtins.str]]:
        """Complete text-era messages as lists of fields."""
        out: list[list[builtins.str]] = []
        for payload in self.feed_raw(data):
            fields = payload.decode("latin-1").split("\0")
            if fields and fields[-1] == "":
                fields.pop()
            out.append(fields)
        return out

    def feed_raw(self, data: bytes) -> list[bytes]:
        """Complete frames' payloads, unsplit."""
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos = 0
        end = len(buf)
        unpack = _LEN.unpack_from
        while end - pos >= 4:
            (size,) = unpack(buf, pos)
            if size > self._max:
                raise FrameError(f"frame of {size} bytes exceeds the limit of {self._max}")
            stop = pos + 4 + size
            if stop > end:
                break
            out.append(bytes(buf[pos + 4 : stop]))
            pos = stop
        if pos:
            del buf[:pos]
        return out


def parse_handshake_prefix(
    buf: bytes | bytearray,
) -> tuple[builtins.int, builtins.int, builtins.int, builtins.str] | None:
    """Parse ``b"API\\0" + uint32_be(n) + b"v<min>..<max>[ options]"``.

    Returns ``(consumed, min_version, max_version, options)``, or None while incomplete.
    """
    head = bytes(buf[:4])
    if head != b"API\0"[: len(head)]:
        raise HandshakeError(f"connection does not start with API\\0: {head!r}")
    if len(buf) < 8:
        return None
    (size,) = _LEN.unpack_from(buf, 4)
    if size > 4096:
        raise HandshakeError(f"handshake version text of {size} bytes is implausible")
    if len(buf) < 8 + size:
        return None
    text = bytes(buf[8 : 8 + size]).decode("latin-1")
    versions, _, options = text.partition(" ")
    if not versions.startswith("v") or ".." not in versions:
        raise HandshakeError(f"bad handshake version range {text!r}")
    lo, _, hi = versions[1:].partition("..")
    if not (lo.isdigit() and hi.isdigit()):
        raise HandshakeError(f"bad handshake version range {text!r}")
    min_v, max_v = builtins.int(lo), builtins.int(hi)
    if min_v > max_v:
        raise HandshakeError(f"empty handshake version range {text!r}")
    return 8 + size, min_v, max_v, options


class FieldCursor:
    """Reads a request's fields in order. ``fields[0]`` is the message id; reading starts at 1.

    Every reader takes the field's name for the error message.
    """

    __slots__ = ("_fields", "_pos", "message", "msg_id", "req_id")

    def __init__(self, fields: list[builtins.str], message: builtins.str = "") -> None:
        self._fields = fields
        self._pos = 1
        self.message = message or (fields[0] if fields else "?")
        self.req_id: builtins.int | None = None  # set by parsers once the id is read
        try:
            self.msg_id = builtins.int(fields[0])
        except (IndexError, ValueError):
            self.msg_id = -1

    def _error(self, name: builtins.str, why: builtins.str) -> MalformedRequest:
        return MalformedRequest(
            self.msg_id, f"{self.message}: field {self._pos} ({name}) {why}", self.req_id
        )

    def _next(self, name: builtins.str) -> builtins.str:
        try:
            s = self._fields[self._pos]
        except IndexError:
            raise self._error(name, "is missing") from None
        self._pos += 1
        return s

    def str(self, name: builtins.str) -> builtins.str:
        return self._next(name)

    def int(self, name: builtins.str, default: builtins.int = 0) -> builtins.int:
        """An integer; "" and the unset spellings give ``default``."""
        s = self._next(name)
        if s == "" or s in _UNSET_INT_TEXT:
            return default
        try:
            return builtins.int(s)
        except ValueError:
            self._pos -= 1
            raise self._error(name, f"is not an integer: {s!r}") from None

    def decimal(self, name: builtins.str) -> Decimal | None:
        """An exact decimal; None for "" and the unset spellings; Infinity/Infinite for inf."""
        s = self._next(name)
        if s == "" or s in _UNSET_INT_TEXT:
            return None
        inf = _INFINITY_TEXT.get(s)
        if inf is not None:
            return inf
        try:
            d = Decimal(s)
        except InvalidOperation:
            self._pos -= 1
            raise self._error(name, f"is not a number: {s!r}") from None
        if not d.is_finite():
            self._pos -= 1
            raise self._error(name, f"is not a finite number: {s!r}")
        if d == _UNSET_DECIMAL_VALUE:
            return None
        if d and not -400 <= d.adjusted() <= 400:  # beyond any double; would explode in text
            self._pos -= 1
            raise self._error(name, f"is out of range: {s!r}")
        return d

    def bool(self, name: builtins.str) -> builtins.bool:
        """ "1"/"0" ("" is False; any other integer is True, as TWS reads it)."""
        s = self._next(name)
        if s in ("0", ""):
            return False
        if s == "1":
            return True
        try:
            return builtins.int(s) != 0
        except ValueError:
            self._pos -= 1
            raise self._error(name, f"is not a boolean: {s!r}") from None

    def skip(self, n: builtins.int, name: builtins.str = "ignored") -> None:
        """Skip ``n`` fields that must be present."""
        if self._pos + n > len(self._fields):
            self._pos = len(self._fields)
            raise self._error(name, "is missing")
        self._pos += n

    def remaining(self) -> builtins.int:
        return len(self._fields) - self._pos

    def expect_end(self) -> None:
        """Fail if fields are left over (the layout at version 178 is exact)."""
        if self._pos < len(self._fields):
            extra = self._fields[self._pos :]
            raise MalformedRequest(
                self.msg_id,
                f"{self.message}: {len(extra)} unexpected trailing field(s) {extra[:5]!r}",
                self.req_id,
            )
