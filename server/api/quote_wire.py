"""StreamQuotes on the wire, encoded once for every subscriber (issue 13).

Protobuf fields concatenate: a `StreamQuotesResponse` carrying quotes is the stream's own
`sequence` field (a few bytes) followed by the `quotes` field, and a `QuoteBatch` is one
`quotes` field per quote followed by `coalesced_updates`. So each contract's quote is encoded
once per version however many subscribers receive it (`QuoteFields`), and a subscriber's
message is a concatenation of shared bytes: a copy, not an encode, per subscriber. The bytes are
exactly what `SerializeToString` would give for the same message (fields in number order), and
pass through the method's serializer (`serialize`) untouched.
"""

from __future__ import annotations

from typing import Any

from ..domain.model import Quote
from . import proto_convert as cv

# Tags: (field number << 3) | wire type (0 varint, 2 length-delimited).
RESPONSE_SEQUENCE = 1 << 3 | 0  # StreamQuotesResponse.sequence
RESPONSE_QUOTES = 2 << 3 | 2  # StreamQuotesResponse.quotes (QuoteBatch)
BATCH_QUOTES = 1 << 3 | 2  # QuoteBatch.quotes (repeated Quote)
BATCH_COALESCED = 2 << 3 | 0  # QuoteBatch.coalesced_updates


_ONE_BYTE = [bytes((value,)) for value in range(0x80)]  # every varint below 128, made once


def varint(value: int) -> bytes:
    if value < 0x80:
        return _ONE_BYTE[value]
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, payload."""
    return _ONE_BYTE[tag] + varint(len(payload)) + payload


class QuoteFields:
    """Each contract's newest quote as an encoded `QuoteBatch.quotes` field, made once per
    version of the quote (the hub hands out one Quote object per version)."""

    def __init__(self) -> None:
        self._by_con_id: dict[int, tuple[Quote, bytes]] = {}
        self.encoded = 0  # quotes encoded, ever (for tests and benchmarks)

    def get(self, quote: Quote) -> bytes:
        cached = self._by_con_id.get(quote.con_id)
        if cached is not None and cached[0] is quote:
            return cached[1]
        self.encoded += 1
        encoded = field(BATCH_QUOTES, cv.quote_to_proto(quote).SerializeToString())
        self._by_con_id[quote.con_id] = (quote, encoded)
        return encoded

    def forget(self, con_id: int) -> None:
        self._by_con_id.pop(con_id, None)


def quotes_response(sequence: int, quote_fields: list[bytes], coalesced: int) -> bytes:
    """The bytes of StreamQuotesResponse(sequence=..., quotes=QuoteBatch(...))."""
    batch = b"".join(quote_fields)
    if coalesced:
        batch += _ONE_BYTE[BATCH_COALESCED] + varint(coalesced)
    head = _ONE_BYTE[RESPONSE_SEQUENCE] + varint(sequence) if sequence else b""
    return head + field(RESPONSE_QUOTES, batch)


def serialize(message: Any) -> bytes:
    """The response serializer of StreamQuotes: bytes encoded above pass through unchanged,
    messages are serialized as usual."""
    if isinstance(message, bytes):
        return message
    data: bytes = message.SerializeToString()
    return data
