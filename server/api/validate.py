"""Field checks for incoming requests: each failure names the field (INVALID_ARGUMENT)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TypeVar

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from ..domain.decimals import UnboundedDecimal, bounded
from ..domain.errors import InvalidArgument

E = TypeVar("E")

MAX_DECIMAL_CHARS = 32
MAX_TEXT = 128
MAX_ID = 64
MAX_QUANTITY = Decimal("1e9")
MAX_PRICE = Decimal("1e9")


def decimal(
    field: str,
    text: str,
    *,
    required: bool = False,
    positive: bool = False,
    non_negative: bool = False,
    maximum: Decimal = MAX_PRICE,
) -> Decimal | None:
    """An exact, bounded, normalised decimal from a decimal string; empty -> None unless
    required. The bounds are checked before any arithmetic (domain/decimals.py)."""
    if text == "":
        if required:
            raise InvalidArgument(field, "required")
        return None
    if len(text) > MAX_DECIMAL_CHARS:
        raise InvalidArgument(field, f"longer than {MAX_DECIMAL_CHARS} characters")
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidArgument(field, f"{text!r} is not a decimal number") from None
    try:
        value = bounded(value)
    except UnboundedDecimal as exc:
        raise InvalidArgument(field, f"{text!r}: {exc}") from None
    if positive and value <= 0:
        raise InvalidArgument(field, f"must be positive, got {text}")
    if non_negative and value < 0:
        raise InvalidArgument(field, f"must not be negative, got {text}")
    if abs(value) > maximum:
        raise InvalidArgument(field, f"{text} is out of range (at most {maximum})")
    return value


def percent(field: str, text: str) -> Decimal | None:
    """A percentage above 0 and below 100 (a trailing stop of 100% trails to zero)."""
    value = decimal(field, text, positive=True, maximum=Decimal(100))
    if value == 100:
        raise InvalidArgument(field, "must be below 100")
    return value


def required_decimal(field: str, text: str, **kw: object) -> Decimal:
    value = decimal(field, text, required=True, **kw)  # type: ignore[arg-type]
    assert value is not None
    return value


def text(field: str, value: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    if required and not value:
        raise InvalidArgument(field, "required")
    if len(value) > limit:
        raise InvalidArgument(field, f"longer than {limit} characters")
    if any(ord(c) < 32 for c in value):
        raise InvalidArgument(field, "contains control characters")
    return value


def enum_value(field: str, wrapper: EnumTypeWrapper, number: int, *, required: bool) -> int:
    """A known enum number; 0 (UNSPECIFIED) only when not required."""
    if number not in wrapper.DESCRIPTOR.values_by_number:
        raise InvalidArgument(field, f"unknown value {number}")
    if required and number == 0:
        raise InvalidArgument(field, "required")
    return number


def request_id(field: str, value: str) -> str:
    value = text(field, value, required=True, limit=MAX_ID)
    if not value.isprintable() or value != value.strip():
        raise InvalidArgument(field, "must be printable without surrounding spaces")
    return value


PAGE_TOKEN_PREFIX = "p"
MAX_PAGE_OFFSET = 10**9


def page_token(offset: int) -> str:
    """The opaque token of the page starting at `offset` (clients pass it back unchanged)."""
    return f"{PAGE_TOKEN_PREFIX}{offset}"


def page_offset(field: str, token: str) -> int:
    """The offset a page token stands for; 0 for no token. Anything not made by `page_token`
    (other digits such as '²', signs, exponents, huge numbers) is INVALID_ARGUMENT."""
    if not token:
        return 0
    digits = token[len(PAGE_TOKEN_PREFIX) :]
    if (
        not token.startswith(PAGE_TOKEN_PREFIX)
        or not (digits.isascii() and digits.isdigit())
        or len(digits) > 10
        or int(digits) > MAX_PAGE_OFFSET
    ):
        raise InvalidArgument(field, "not a token from a previous page")
    return int(digits)
