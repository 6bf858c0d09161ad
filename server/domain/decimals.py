"""Bounded exact decimals: the one rule for every price and quantity a client sends.

A short decimal string can stand for a huge number: "1E-4999999" is finite and 10 characters
long, but its plain form has five million digits, and "1e999999999" overflows the decimal
context at the first arithmetic. So a value is judged by its digits and exponent alone, with no
context arithmetic, before anything computes with it, and kept normalised (no trailing zeros, no
exponent): at most MAX_INTEGER_DIGITS before the point and MAX_SCALE after it, so nothing
derived from it can expand on the way out.
"""

from __future__ import annotations

from decimal import Decimal

MAX_SCALE = 10  # digits after the decimal point
MAX_INTEGER_DIGITS = 12  # digits before it


class UnboundedDecimal(ValueError):
    """A decimal outside the bounds; the message says which bound."""


def bounded(value: Decimal) -> Decimal:
    """`value` normalised (trailing zeros dropped, never an exponent); UnboundedDecimal if it
    is not finite or has more digits than the bounds allow."""
    if not value.is_finite():
        raise UnboundedDecimal("not a finite number")
    sign, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    digits = list(digit_tuple)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exponent += 1
    if digits == [0]:
        return Decimal(0)  # zero, whatever its sign and exponent
    if exponent < -MAX_SCALE:
        raise UnboundedDecimal(f"more than {MAX_SCALE} digits after the decimal point")
    if len(digits) + exponent > MAX_INTEGER_DIGITS:
        raise UnboundedDecimal(f"more than {MAX_INTEGER_DIGITS} digits before the decimal point")
    if exponent > 0:
        digits += [0] * exponent
        exponent = 0
    return Decimal((sign, tuple(digits), exponent))


PLAIN_LIMIT = 40  # a decimal whose magnitude is within 10**±40 is written in plain digits


def plain(value: Decimal) -> str:
    """The decimal string of a value: plain digits (never an exponent) for any sane magnitude;
    the short scientific form otherwise, so a value that came from elsewhere never expands
    into millions of digits on the way out. Cheap: it is on every quote's path."""
    if value.is_finite() and -PLAIN_LIMIT < value.adjusted() < PLAIN_LIMIT:
        return format(value, "f")
    return str(value)


def repaired(value: Decimal) -> Decimal:
    """A value from storage with a sane magnitude: itself; one too small to write in plain
    digits (below 10**-40): 0, which is also what it became as a float for TWS.
    UnboundedDecimal when it cannot be repaired (not finite, or 10**40 or more)."""
    if not value.is_finite():
        raise UnboundedDecimal("not a finite number")
    if value.adjusted() >= PLAIN_LIMIT:
        raise UnboundedDecimal(f"{PLAIN_LIMIT} or more digits before the decimal point")
    return value if value.adjusted() > -PLAIN_LIMIT else Decimal(0)
