"""Domain dataclasses to JSON and back, exactly (Decimal as strings, enums by value).

Stores written before a field was renamed still load: `RENAMED` maps the old key to the new
one, per class.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from ..domain.model import Contract, Execution, Order

T = TypeVar("T")


_PLAIN = (str, int, float, bool, type(None))
RENAMED: dict[type, dict[str, str]] = {  # old JSON key -> field (issue 9: the proto's names)
    Order: {"created": "create_time", "updated": "update_time"},
    Execution: {"time": "execution_time"},
    Contract: {"sec_type": "security_type"},
}
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def to_jsonable(value: Any) -> Any:
    """JSON-ready form of a domain value (on the order-save path: kept cheap)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    names = _FIELD_NAMES.get(kind)
    if names is None and dataclasses.is_dataclass(value):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: to_jsonable(getattr(value, name)) for name in names}
    if kind is Decimal:
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_jsonable(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return from_jsonable(inner, data)
    if origin is tuple:
        (item, _ellipsis) = typing.get_args(tp)
        return tuple(from_jsonable(item, v) for v in data)
    if origin is dict:
        _key, val = typing.get_args(tp)
        return {k: from_jsonable(val, v) for k, v in data.items()}
    if dataclasses.is_dataclass(tp):
        hints = _hints(typing.cast(type, tp))
        renamed = RENAMED.get(typing.cast(type, tp), {})
        fields = {renamed.get(k, k): v for k, v in data.items()}
        factory: Any = tp
        return factory(**{k: from_jsonable(hints[k], v) for k, v in fields.items() if k in hints})
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(data)
    if tp is Decimal:
        return Decimal(data)
    if tp is datetime:
        return datetime.fromisoformat(data)
    return data


def load(cls: type[T], data: Any) -> T:
    result: T = from_jsonable(cls, data)
    return result
