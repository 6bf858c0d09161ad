"""The ticks' fast path (server/ib/ticks.py) yields exactly what ibapi's Decoder and the
EventWrapper yield: the same events (compared by repr, so Decimal('0.0') is not Decimal('0')),
in the same order among other messages, the same messages skipped and reported, in both eras.

Each case runs one batch through `decoder_loop` twice, with and without the fast path."""

from __future__ import annotations

import dataclasses
import queue
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ibapi.const import UNSET_DOUBLE
from ibapi.protobuf.TickGeneric_pb2 import TickGeneric
from ibapi.protobuf.TickPrice_pb2 import TickPrice
from ibapi.protobuf.TickSize_pb2 import TickSize
from ibapi.protobuf.TickString_pb2 import TickString
from ibkr_broker.server.ib.decoding import BridgeDecoder
from ibkr_broker.server.ib.reader import decoder_loop
from ibkr_broker.server.ib.ticks import TickDecoder
from ibkr_broker.server.ib.wrapper import MAX_HELD, EventWrapper
from ibkr_broker.server.session.ib_port import (
    IbEvent,
    NextValidIdEvent,
    TickPriceEvent,
    TickSizeEvent,
    TickStringEvent,
)

pytestmark = [
    pytest.mark.timeout(120),
    # tickString text is decoded "unicode-escape" (ibapi's way, on both paths): a stray
    # backslash in a generated value makes Python warn, as it would in production
    pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning"),
]

TEXT_VERSIONS = (100, 152, 153, 178)  # below 153 tickString text is UTF-8, from 153 escaped
BINARY_VERSIONS = (201, 226)


class _ImmediateLoop:
    """The loop as the wrapper sees it: runs each hand-over at once and counts them."""

    def __init__(self) -> None:
        self.wakeups = 0

    def call_soon_threadsafe(self, callback: Callable[[Any], None], arg: Any) -> None:
        self.wakeups += 1
        callback(arg)


class Outcome:
    def __init__(self) -> None:
        self.events: list[IbEvent] = []
        self.skipped: list[tuple[int, int, str]] = []
        self.loop = _ImmediateLoop()

    def skip(self, msg_id: int, field_count: int, exc: Exception) -> None:
        self.skipped.append((msg_id, field_count, type(exc).__name__))


def run(version: int, payloads: list[bytes], *, fast: bool) -> Outcome:
    """One batch through the decoder thread's loop (on this thread), ibapi's or the fast path."""
    out = Outcome()
    wrapper = EventWrapper(out.loop, out.events.append)  # type: ignore[arg-type]
    batches: queue.Queue[list[bytes] | None] = queue.Queue()
    batches.put(payloads)
    batches.put(None)
    ticks = TickDecoder(version, wrapper.post_ticks, MAX_HELD) if fast else None
    decoder = BridgeDecoder(wrapper, version)
    decoder_loop(decoder, version, batches, lambda: False, out.skip, wrapper, ticks)
    return out


def assert_same(version: int, payloads: list[bytes]) -> Outcome:
    ibapi, fast = run(version, payloads, fast=False), run(version, payloads, fast=True)
    assert [repr(e) for e in fast.events] == [repr(e) for e in ibapi.events]
    assert fast.skipped == ibapi.skipped
    return fast


# --- message builders ----------------------------------------------------------------------------


def text(*fields: bytes, terminated: bool = True) -> bytes:
    body = b"\0".join(fields)
    return body + b"\0" if terminated else body


def binary(msg_id: int, body: bytes) -> bytes:
    return msg_id.to_bytes(4, "big") + body


def as_era(version: int, payload: bytes) -> bytes:
    """A text message (id first) as `version` frames it: from 201 the id is 4 bytes."""
    if version < 201:
        return payload
    msg_id, _, rest = payload.partition(b"\0")
    return binary(int(msg_id), rest)


NEXT_VALID_ID = b"9\x001\x00%d\x00"
UNKNOWN_MESSAGE = b"999\x001\x00"

# --- strategies: edge values first, then anything ------------------------------------------------

ints = st.one_of(
    st.sampled_from([b"0", b"1", b"-1", b"2147483647", b"9223372036854775807", b"", b" 7", b"+3"]),
    st.integers(-(2**63), 2**63).map(lambda n: b"%d" % n),
    st.sampled_from([b"abc", b"1.5", b"1_0", b"\xff", b"0x10"]),
)
tick_types = st.one_of(
    st.sampled_from([0, 1, 2, 3, 4, 5, 8, 9, 45, 46, 48, 66, 67, 68, 69, 88, 111, 999, -1]),
    st.integers(-5, 120),
).map(lambda n: b"%d" % n)
prices = st.one_of(
    st.sampled_from(
        [
            b"-1",
            b"0",
            b"-0",
            b"0.0",
            b"",
            b"Infinity",
            b"-Infinity",
            b"inf",
            b"nan",
            b"1e308",
            b"1.7976931348623157E308",
            b"100.250",
            b"1e-320",
            b"abc",
            b" 1.5 ",
            b"1,5",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).encode()),
    st.decimals(allow_nan=False, places=4, min_value=-1e6, max_value=1e6).map(
        lambda d: str(d).encode()
    ),
)
sizes = st.one_of(
    st.sampled_from(
        [
            b"",
            b"0",
            b"100",
            b"2147483647",
            b"9223372036854775807",
            b"1.7976931348623157E308",
            b"-9223372036854775808",
            b"1e400",
            b"1E+299",
            b"1E+300",
            b"sNaN",
            b"NaN",
            b"-5",
            b"abc",
            b"0.00000001",
            b"123456789012345678901234567890",
            b" 12 ",
            b"\xff",
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(lambda d: str(d).encode()),
)
values = st.one_of(
    st.sampled_from([b"", b"1700000000", b"\\u00e9t\\u00e9", b"\\x", b"caf\xc3\xa9", b"\xff\xfe"]),
    st.binary(max_size=12).map(lambda b: b.replace(b"\0", b"")),
    st.floats().map(lambda f: repr(f).encode()),
)


@st.composite
def text_tick(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from([b"1", b"2", b"45", b"46"]))
    version = draw(st.sampled_from([b"6", b"1", b"", b"x"]))
    if kind == b"1":
        fields = [draw(ints), draw(tick_types), draw(prices), draw(sizes), draw(ints)]
    elif kind == b"2":
        fields = [draw(ints), draw(tick_types), draw(sizes)]
    else:
        fields = [draw(ints), draw(tick_types), draw(values if kind == b"46" else prices)]
    shape = draw(st.sampled_from(["whole", "whole", "whole", "short", "long", "unterminated"]))
    if shape == "short":
        fields = fields[: draw(st.integers(0, len(fields) - 1))]
    elif shape == "long":
        fields.append(draw(ints))
    return text(kind, version, *fields, terminated=shape != "unterminated")


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


int32s = st.one_of(
    st.sampled_from([0, -1, 1, 2**31 - 1, -(2**31)]), st.integers(-(2**31), 2**31 - 1)
)
tick_type_ints = st.one_of(st.sampled_from([0, 1, 2, 4, 66, 67, 68, 111, 45, -1]), int32s)
doubles = st.one_of(
    st.sampled_from([0.0, -0.0, -1.0, UNSET_DOUBLE, float("inf"), float("nan"), 100.25, 1e-320]),
    st.floats(),
)
size_texts = st.one_of(sizes.map(lambda b: b.decode("latin-1")), st.text(max_size=8))


def _proto(message: Any, **fields: Any) -> bytes:
    for name, value in fields.items():
        if value is not None:
            setattr(message, name, value)
    return bytes(message.SerializeToString())


@st.composite
def proto_tick(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from([201, 202, 245, 246]))
    common = {"reqId": draw(maybe(int32s)), "tickType": draw(maybe(tick_type_ints))}
    if kind == 201:
        body = _proto(
            TickPrice(), price=draw(maybe(doubles)), size=draw(maybe(size_texts)),
            attrMask=draw(maybe(st.integers(-1, 7))), **common,
        )
    elif kind == 202:
        body = _proto(TickSize(), size=draw(maybe(size_texts)), **common)
    elif kind == 246:
        body = _proto(TickString(), value=draw(maybe(st.text(max_size=8))), **common)
    else:
        body = _proto(TickGeneric(), value=draw(maybe(doubles)), **common)
    if draw(st.integers(0, 9)) == 0:  # no protobuf at all, or one cut short
        body = draw(st.sampled_from([b"\xff\xff\xff", body[: len(body) // 2], b"\x08"]))
    return binary(kind, body)


def others(version: int) -> st.SearchStrategy[bytes]:
    """Messages that are not ticks: they flush the burst before them, or fail ibapi's way."""
    return st.one_of(
        st.integers(1, 99).map(lambda n: as_era(version, NEXT_VALID_ID % n)),
        st.just(as_era(version, UNKNOWN_MESSAGE)),
        st.just(as_era(version, b"3\x00not-an-id\x00")),
    )


# --- equivalence ---------------------------------------------------------------------------------


@given(
    version=st.sampled_from(TEXT_VERSIONS + BINARY_VERSIONS),
    data=st.data(),
)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_text_ticks_yield_what_ibapi_yields(version: int, data: st.DataObject) -> None:
    messages = st.one_of(text_tick().map(lambda p: as_era(version, p)), others(version))
    assert_same(version, data.draw(st.lists(messages, max_size=30)))


@given(
    version=st.sampled_from(BINARY_VERSIONS),
    data=st.data(),
)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_protobuf_ticks_yield_what_ibapi_yields(version: int, data: st.DataObject) -> None:
    messages = st.one_of(
        proto_tick(), text_tick().map(lambda p: as_era(version, p)), others(version)
    )
    assert_same(version, data.draw(st.lists(messages, max_size=30)))


@given(st.lists(st.sampled_from([b"100.25", b"-0", b"0", b"0.0", b"nan", b"7"]), max_size=20))
@example([b"-0", b"0", b"-0"])
def test_memoized_prices_keep_their_exact_decimal(prices: list[bytes]) -> None:
    """The fast path remembers conversions; -0 and 0 (equal as floats) stay apart."""
    payloads = [text(b"1", b"6", b"1", b"1", p, b"1", b"0") for p in prices]
    payloads += [binary(201, _proto(TickPrice(), reqId=1, tickType=1, price=float(p)))
                 for p in prices]  # fmt: skip
    for version in (178, 226):
        assert_same(version, payloads)


def test_a_tick_flood_arrives_whole_in_order_with_one_hand_over_per_batch() -> None:
    payloads = [text(b"1", b"6", b"%d" % n, b"1", b"100.5", b"200", b"0") for n in range(500)]
    payloads.insert(250, NEXT_VALID_ID % 7)
    out = assert_same(178, payloads)
    assert [type(e) for e in out.events[:2]] == [TickPriceEvent, TickSizeEvent]
    assert out.events[2 * 250] == NextValidIdEvent(7)
    prices = [e for e in out.events if isinstance(e, TickPriceEvent)]
    assert [e.req_id for e in prices] == list(range(500))
    assert {e.price for e in prices} == {Decimal("100.5")}
    assert out.loop.wakeups == 2  # the ticks before nextValidId with it, then the rest


def test_malformed_ticks_are_skipped_and_reported_and_the_next_one_decodes() -> None:
    good = text(b"1", b"6", b"5", b"2", b"10.5", b"3", b"0")
    bad = [
        text(b"1", b"6", b"5", b"abc", b"1.0", b"1", b"0"),  # a text tick type
        text(b"1", b"6", b"5", b"2", b"10.5"),  # cut short
        text(b"2", b"6", b"5", b"0", b"many"),  # a size that is no number
        text(b"46", b"6", b"5", b"45"),  # tickString without its value
    ]
    out = assert_same(178, [good, *bad, good])
    assert out.skipped == [(1, 6, "ValueError"), (1, 4, "TypeError"), (2, 4, "InvalidOperation")]
    assert out.events == 2 * [
        TickPriceEvent(5, 2, Decimal("10.5")),
        TickSizeEvent(5, 3, Decimal(3)),
    ]
    proto_bad = [binary(201, b"\xff\xff\xff"), binary(202, _proto(TickSize(), size="x"))]
    out = assert_same(226, [as_era(226, good), *proto_bad, as_era(226, good)])
    assert out.skipped == [(201, 0, "DecodeError"), (202, 0, "InvalidOperation")]
    assert len(out.events) == 4


def test_protobuf_ticks_read_absent_fields_as_ibapi_does() -> None:
    out = assert_same(
        226,
        [
            binary(201, _proto(TickPrice(), reqId=3, tickType=1, price=1.5)),  # no size
            binary(201, _proto(TickPrice(), tickType=2, price=0.0, size="0")),  # no req id
            binary(202, _proto(TickSize(), reqId=3, size="7")),  # no tick type
            binary(246, _proto(TickString(), reqId=3, tickType=45)),  # no value
            binary(246, _proto(TickString(), reqId=3, tickType=111, value="x")),  # NOT_SET
        ],
    )
    assert out.events == [
        TickPriceEvent(3, 1, Decimal("1.5")),
        TickPriceEvent(-1, 2, Decimal("0.0")),
        TickSizeEvent(-1, 3, Decimal(0)),
        TickSizeEvent(3, 2147483647, Decimal(7)),
        TickStringEvent(3, 45, ""),
    ]


@pytest.mark.parametrize("event_class", [TickPriceEvent, TickSizeEvent])
def test_the_tick_events_own_init_makes_the_same_frozen_dataclass(event_class: type) -> None:
    """TickPriceEvent and TickSizeEvent write their fields in their own __init__ (for speed):
    still frozen dataclasses whose fields, keywords, equality, hash and repr are as declared."""
    names = [f.name for f in dataclasses.fields(event_class)]
    event = event_class(7, 2, Decimal("1.50"))
    assert [getattr(event, n) for n in names] == [7, 2, Decimal("1.50")]
    assert event == event_class(**dict(zip(names, (7, 2, Decimal("1.50")), strict=True)))
    assert hash(event) == hash(event_class(7, 2, Decimal("1.50")))
    assert event != event_class(7, 3, Decimal("1.50"))
    value = f"{names[2]}=Decimal('1.50')"
    assert repr(event) == f"{event_class.__name__}(req_id=7, tick_type=2, {value})"
    assert dataclasses.replace(event, req_id=8) == event_class(8, 2, Decimal("1.50"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.req_id = 9
