"""The fast path of the market-data ticks: tickPrice, tickSize, tickString and tickGeneric, from
payload bytes straight to the events that ibapi's Decoder and our EventWrapper would yield.

Ticks are the flood of a TWS connection; everything else is rare. ibapi's Decoder spends 7-10 us
on a tickPrice (an iterator, a logging call and a type dispatch per field, a TickAttrib,
two guarded callbacks) on the decoder thread, which shares the GIL with the event loop. Here
one function call decodes a tick, with the same conversions and in the same order:

- text era (and text ids of the protobuf era): the fields are read as ibapi's `decode` reads
  them (`int(s or 0)`, `float(s or 0)`, its unset spellings of a Decimal; tickString and
  tickGeneric as `interpretWithSignature` does, exact field count, "unicode-escape" text from
  server version 153); a tickPrice of a bid, ask or last (live or delayed) also yields the size
  ibapi reports with `tickSize`; the attribute mask is read (a bad one fails the message) and,
  as in the wrapper, dropped;
- protobuf era (ids 201, 202, 245, 246): parsed with ibapi's generated classes, an absent field
  read as ibapi's `process...ProtoBuf` reads it (NO_VALID_ID, UNSET_INTEGER, UNSET_DOUBLE,
  UNSET_DECIMAL, ""), a tickSize / tickString of tick type NOT_SET dropped as ibapi does.

Values convert with ibapi_convert's float_to_decimal and decimal_or_none, as in the wrapper,
whose tick callbacks build their events with price_event, size_event and string_event below;
a flood repeats its prices, sizes and ids, so the conversions of field texts are remembered
(bounded; Decimals are immutable). A tick message that raises anything here yields nothing
here and goes to ibapi's path (`other`) as it is: a malformed one fails there, and is logged,
counted and skipped exactly as before. A message's events are all decoded before any is kept,
so none is posted twice.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from ibapi.common import PROTOBUF_MSG_ID
from ibapi.const import NO_VALID_ID, UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER
from ibapi.message import IN
from ibapi.protobuf.TickGeneric_pb2 import TickGeneric
from ibapi.protobuf.TickPrice_pb2 import TickPrice
from ibapi.protobuf.TickSize_pb2 import TickSize
from ibapi.protobuf.TickString_pb2 import TickString
from ibapi.server_versions import MIN_SERVER_VER_ENCODE_MSG_ASCII7, MIN_SERVER_VER_PROTOBUF
from ibapi.ticktype import TickTypeEnum

from ..session.ib_port import IbEvent, TickPriceEvent, TickSizeEvent, TickStringEvent
from .ibapi_convert import decimal_or_none, float_to_decimal

# ibapi reports the size that comes with a bid, ask or last price as a tickSize of this type
SIZE_TICK_OF_PRICE: Final[dict[int, int]] = {
    TickTypeEnum.BID: TickTypeEnum.BID_SIZE,
    TickTypeEnum.ASK: TickTypeEnum.ASK_SIZE,
    TickTypeEnum.LAST: TickTypeEnum.LAST_SIZE,
    TickTypeEnum.DELAYED_BID: TickTypeEnum.DELAYED_BID_SIZE,
    TickTypeEnum.DELAYED_ASK: TickTypeEnum.DELAYED_ASK_SIZE,
    TickTypeEnum.DELAYED_LAST: TickTypeEnum.DELAYED_LAST_SIZE,
}
_NOT_SET: Final = TickTypeEnum.NOT_SET

# --- the events (EventWrapper's tick callbacks build theirs here too) -------------------------


def price_event(req_id: int, tick_type: int, price: float) -> TickPriceEvent | None:
    """A tickPrice as an event; None for an unset or non-finite price."""
    value = float_to_decimal(price)
    return None if value is None else TickPriceEvent(req_id, tick_type, value)


def size_event(req_id: int, tick_type: int, size: Decimal) -> TickSizeEvent | None:
    """A tickSize as an event; None for an unset size (a tickPrice without one)."""
    value = decimal_or_none(size)
    return None if value is None else TickSizeEvent(req_id, tick_type, value)


def string_event(req_id: int, tick_type: int, value: str) -> TickStringEvent:
    return TickStringEvent(int(req_id), int(tick_type), value)


# --- text fields, read as ibapi's decode() reads them ------------------------------------------

_UNSET_DECIMAL_TEXTS: Final = frozenset(
    {b"2147483647", b"9223372036854775807", b"1.7976931348623157E308", b"-9223372036854775808"}
)
_UNSET_DECIMAL: Final[Decimal] = UNSET_DECIMAL
_MEMO_LIMIT: Final = 4096  # distinct field texts remembered per kind (a flood repeats prices)


def _text_decimal(text: bytes) -> Decimal:
    """ibapi's decode(Decimal, ...)."""
    if not text or text in _UNSET_DECIMAL_TEXTS:
        return _UNSET_DECIMAL
    return Decimal(text.decode())


def _int_value(text: bytes) -> int:
    """ibapi's decode(int, ...)."""
    return int(text or 0)


def _price_value(text: bytes) -> Decimal | None:
    """decode(float, ...) of a tickPrice's price, then price_event's conversion."""
    return float_to_decimal(float(text or 0))


def _size_value(text: bytes) -> Decimal | None:
    """decode(Decimal, ...) of a size, then size_event's conversion."""
    return decimal_or_none(_text_decimal(text))


def _proto_size_value(text: str) -> Decimal | None:
    """A protobuf size as ibapi reads a present one, then size_event's conversion."""
    return decimal_or_none(Decimal(text))


class _Memo(dict[Any, Any]):
    """A bounded memo of a pure conversion (its results are immutable, so shared).

    Keys are field texts, or (prices) floats other than zero: 0.0 and -0.0 are equal keys but
    convert to different Decimals, and NaN is no key at all (it equals nothing)."""

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        super().__init__()
        self._convert = convert

    def __missing__(self, key: Any) -> Any:
        value = self._convert(key)  # raises for a field ibapi cannot read: nothing remembered
        if key == key:
            if len(self) >= _MEMO_LIMIT:
                self.clear()
            self[key] = value
        return value


Handler = Callable[[bytes, list[IbEvent]], None]


class TickDecoder:
    """Decodes the tick messages of a batch into events for `post`; see the module docstring.

    `post(events)` receives the events of consecutive ticks, in order, before anything else of
    the batch is decoded and at most `chunk` at a time (the wrapper's hand-over per burst).
    """

    def __init__(
        self, server_version: int, post: Callable[[list[IbEvent]], None], chunk: int = 1024
    ) -> None:
        self._post = post
        self._chunk = chunk
        self._binary_ids = server_version >= MIN_SERVER_VER_PROTOBUF
        self._encoding = (
            "unicode-escape" if server_version >= MIN_SERVER_VER_ENCODE_MSG_ASCII7 else "UTF-8"
        )
        self._ints = _Memo(_int_value)
        self._prices = _Memo(_price_value)
        self._sizes = _Memo(_size_value)
        self._proto_prices = _Memo(float_to_decimal)
        self._proto_sizes = _Memo(_proto_size_value)
        self._messages = (TickPrice(), TickSize(), TickString(), TickGeneric())
        self._handlers = self._binary_handlers() if self._binary_ids else self._text_handlers()

    def decode_batch(
        self, batch: list[bytes], other: Callable[[bytes], None], stopped: Callable[[], bool]
    ) -> bool:
        """Every message of `batch` in order: ticks here, the rest (and any tick that does not
        decode here) by `other(payload)`. False if `stopped()` ended it early."""
        handlers, post, chunk = self._handlers, self._post, self._chunk
        binary_ids = self._binary_ids
        events: list[IbEvent] = []
        for payload in batch:
            if stopped():
                if events:
                    post(events)
                return False
            # the message id: 4 bytes, or the text before the first NUL (a tick's has 1 or 2
            # digits; without a NUL there, the key is no tick's or the handler raises)
            key = payload[:4] if binary_ids else payload[: payload.find(b"\0", 0, 3)]
            handler = handlers.get(key)
            if handler is not None:
                try:
                    handler(payload, events)
                except Exception:  # for ibapi's path, which skips it if it is malformed
                    pass
                else:
                    if len(events) >= chunk:
                        post(events)
                        events = []
                    continue
            if events:
                post(events)
                events = []
            other(payload)
        if events:
            post(events)
        return True

    # --- dispatch ----------------------------------------------------------------------------

    def _text_handlers(self) -> dict[bytes, Handler]:
        return {
            b"%d" % IN.TICK_PRICE: self._text_price,
            b"%d" % IN.TICK_SIZE: self._text_size,
            b"%d" % IN.TICK_STRING: self._text_string,
            b"%d" % IN.TICK_GENERIC: self._text_generic,
        }

    def _binary_handlers(self) -> dict[bytes, Handler]:
        def text(handler: Handler) -> Handler:
            return lambda payload, events: handler(b"\0" + payload[4:], events)

        def key(msg_id: int) -> bytes:
            return msg_id.to_bytes(4, "big")

        return {
            key(PROTOBUF_MSG_ID + IN.TICK_PRICE): self._proto_price,
            key(PROTOBUF_MSG_ID + IN.TICK_SIZE): self._proto_size,
            key(PROTOBUF_MSG_ID + IN.TICK_STRING): self._proto_string,
            key(PROTOBUF_MSG_ID + IN.TICK_GENERIC): self._proto_generic,
            key(IN.TICK_PRICE): text(self._text_price),
            key(IN.TICK_SIZE): text(self._text_size),
            key(IN.TICK_STRING): text(self._text_string),
            key(IN.TICK_GENERIC): text(self._text_generic),
        }

    # --- text era: fields[0] is the message id, the last field the empty string after the last
    # terminator (ibapi drops it); a short message raises IndexError -------------------------

    def _text_price(self, payload: bytes, events: list[IbEvent]) -> None:
        fields = payload.split(b"\0")
        if len(fields) < 8:
            raise IndexError("tickPrice: missing fields")
        ints = self._ints
        ints[fields[1]]  # version
        req_id = ints[fields[2]]
        tick_type = ints[fields[3]]
        price = self._prices[fields[4]]
        size = self._sizes[fields[5]]
        ints[fields[6]]  # attribute mask: read, and dropped as the wrapper does
        if price is not None:
            events.append(TickPriceEvent(req_id, tick_type, price))
        if size is not None:
            size_type = SIZE_TICK_OF_PRICE.get(tick_type)
            if size_type is not None:
                events.append(TickSizeEvent(req_id, size_type, size))

    def _text_size(self, payload: bytes, events: list[IbEvent]) -> None:
        fields = payload.split(b"\0")
        if len(fields) < 6:
            raise IndexError("tickSize: missing fields")
        ints = self._ints
        ints[fields[1]]  # version
        req_id = ints[fields[2]]
        tick_type = ints[fields[3]]
        size = self._sizes[fields[4]]
        if size is not None and tick_type != _NOT_SET:
            events.append(TickSizeEvent(req_id, tick_type, size))

    def _signature_args(self, payload: bytes, name: str) -> tuple[str, str, str]:
        """reqId, tickType and value as ibapi's interpretWithSignature reads them (the version
        field unread; any other field count is an error it logs)."""
        fields = payload.split(b"\0")
        if len(fields) != 6:
            raise IndexError(f"{name}: {len(fields) - 2} fields, not 4")
        encoding = self._encoding
        args = []
        for field in fields[2:5]:
            try:
                args.append(field.decode(encoding))
            except UnicodeDecodeError:
                args.append(field.decode("latin-1"))
        return args[0], args[1], args[2]

    def _text_string(self, payload: bytes, events: list[IbEvent]) -> None:
        req_id, tick_type, value = self._signature_args(payload, "tickString")
        events.append(string_event(int(req_id), int(tick_type), value))

    def _text_generic(self, payload: bytes, events: list[IbEvent]) -> None:
        req_id, tick_type, value = self._signature_args(payload, "tickGeneric")
        int(req_id), int(tick_type), float(value)  # read; the wrapper keeps no generic tick

    # --- protobuf era: an absent field reads as ibapi's process...ProtoBuf reads it. A field
    # that holds anything but its default is present, so the hot two ask HasField only then --

    def _proto_price(self, payload: bytes, events: list[IbEvent]) -> None:
        message = self._messages[0]
        message.ParseFromString(payload[4:])
        has = message.HasField
        req_id, tick_type, price, size_text = (
            message.reqId,
            message.tickType,
            message.price,
            message.size,
        )
        if not req_id and not has("reqId"):
            req_id = NO_VALID_ID
        if not tick_type and not has("tickType"):
            tick_type = UNSET_INTEGER
        if price:
            value = self._proto_prices[price]
        else:
            value = float_to_decimal(price if has("price") else UNSET_DOUBLE)
        # an absent size is UNSET_DECIMAL, which yields no event (None)
        size = self._proto_sizes[size_text] if size_text or has("size") else None
        if value is not None:
            events.append(TickPriceEvent(req_id, tick_type, value))
        if size is not None:
            size_type = SIZE_TICK_OF_PRICE.get(tick_type)
            if size_type is not None:
                events.append(TickSizeEvent(req_id, size_type, size))

    def _proto_size(self, payload: bytes, events: list[IbEvent]) -> None:
        message = self._messages[1]
        message.ParseFromString(payload[4:])
        has = message.HasField
        req_id, tick_type, size_text = message.reqId, message.tickType, message.size
        if not req_id and not has("reqId"):
            req_id = NO_VALID_ID
        if not tick_type and not has("tickType"):
            tick_type = UNSET_INTEGER
        size = self._proto_sizes[size_text] if size_text or has("size") else None
        if size is not None and tick_type != _NOT_SET:
            events.append(TickSizeEvent(req_id, tick_type, size))

    def _proto_string(self, payload: bytes, events: list[IbEvent]) -> None:
        message = self._messages[2]
        message.ParseFromString(payload[4:])
        has = message.HasField
        req_id = message.reqId if has("reqId") else NO_VALID_ID
        tick_type = message.tickType if has("tickType") else UNSET_INTEGER
        value = message.value if has("value") else ""
        if tick_type != _NOT_SET:
            events.append(string_event(req_id, tick_type, value))

    def _proto_generic(self, payload: bytes, events: list[IbEvent]) -> None:
        self._messages[3].ParseFromString(payload[4:])  # the wrapper keeps no generic tick
