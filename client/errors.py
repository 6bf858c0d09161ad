"""The client's error tree, and the one boundary that turns a gRPC error into it.

    BrokerError                     every failure reported by the broker or the transport
    ├── NotFoundError               NOT_FOUND
    │   ├── ContractNotFoundError   reason CONTRACT_NOT_FOUND
    │   └── OrderNotFoundError      reason ORDER_NOT_FOUND
    ├── AmbiguousContractError      reason AMBIGUOUS_CONTRACT (a spec matched several contracts)
    ├── OrderRejectedError          reason ORDER_REJECTED (by the server's checks or by IB),
    │   │                           or ORDER_NOT_CANCELLABLE (a cancel of a finished order)
    │   ├── RiskLimitError          reason RISK_* (a pre-trade limit; nothing reached TWS)
    │   └── TradingHaltedError      reason TRADING_HALTED (the kill switch is engaged)
    ├── InvalidOrderError           INVALID_ARGUMENT (`field` names the bad field when known)
    ├── DuplicateRequestError       ALREADY_EXISTS / reason DUPLICATE_REQUEST
    ├── UnavailableError            UNAVAILABLE / reason NOT_CONNECTED        (retryable)
    ├── RateLimitedError            RESOURCE_EXHAUSTED / reason RATE_LIMITED  (retryable)
    ├── PermissionDeniedError       PERMISSION_DENIED
    │   └── AuthenticationError     UNAUTHENTICATED (missing or wrong token)
    ├── DeadlineExceededError       DEADLINE_EXCEEDED (the outcome of a mutating call is unknown:
    │                               retry it with the same request_id, or look it up)
    └── OutOfRangeError             OUT_OF_RANGE (e.g. an order-event resume point too old)

The server attaches a `google.rpc.ErrorInfo` (reason, domain "ibkr-broker", metadata "ib_code"
and "field") to a `google.rpc.Status` in the `grpc-status-details-bin` trailer. It is decoded
here with message classes built from a private descriptor pool (wire-compatible with
`google.rpc`), so reading it needs protobuf only, not grpcio-status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

DOMAIN = "ibkr-broker"
DETAILS_KEY = "grpc-status-details-bin"
RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})


class BrokerError(Exception):
    """A call failed. `code` is the gRPC status code (None for failures before any call)."""

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        reason: str = "",
        ib_code: int | None = None,
        field: str | None = None,
        metadata: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.ib_code = ib_code
        self.field = field
        self.metadata: dict[str, str] = dict(metadata or {})
        #: The idempotency key of the mutating call that failed; retry with it to be safe.
        self.request_id = request_id

    @property
    def retryable(self) -> bool:
        """True for UNAVAILABLE and RESOURCE_EXHAUSTED, the only codes worth retrying (but not
        gRPC's own "message larger than max" RESOURCE_EXHAUSTED: the same request fails again)."""
        if self.code is grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in self.message:
            return False
        return self.code in RETRYABLE_CODES

    @property
    def retry_after(self) -> float | None:
        """Seconds until a retry can succeed, when the server said (IB's pacing); else None."""
        millis = _parse_int(self.metadata.get("retry_after_ms"))
        return None if millis is None else millis / 1000

    def one_line(self) -> str:
        """`REASON (IB 201, field quantity): message` on one line, for logs and the CLI."""
        label = self.reason or (self.code.name if self.code is not None else "ERROR")
        extras = []
        if self.ib_code is not None:
            extras.append(f"IB {self.ib_code}")
        if self.field:
            extras.append(f"field {self.field}")
        suffix = f" ({', '.join(extras)})" if extras else ""
        text = " ".join(self.message.split()) or "(no message)"
        return f"{label}{suffix}: {text}"

    def __repr__(self) -> str:
        code = self.code.name if self.code is not None else None
        return (
            f"{type(self).__name__}({self.message!r}, code={code}, reason={self.reason!r}, "
            f"ib_code={self.ib_code!r}, field={self.field!r})"
        )


class NotFoundError(BrokerError):
    """Something named in the request does not exist."""


class ContractNotFoundError(NotFoundError):
    """No contract matches the spec."""


class OrderNotFoundError(NotFoundError):
    """No order with that id (or request_id) is known to the server."""


class AmbiguousContractError(BrokerError):
    """The spec matches several contracts where exactly one is needed."""


class OrderRejectedError(BrokerError):
    """The order was refused by the server's checks or by IB (`ib_code` tells why)."""


class RiskLimitError(OrderRejectedError):
    """A pre-trade risk limit of the server refused the order; nothing reached TWS. `reason`
    names the limit (e.g. RISK_MAX_ORDER_NOTIONAL); `metadata` has "limit" and "attempted"."""


class TradingHaltedError(OrderRejectedError):
    """The kill switch is engaged: no new orders until an admin resumes trading."""


class InvalidOrderError(BrokerError):
    """A request field is invalid (INVALID_ARGUMENT); `field` names it when the server did."""


class DuplicateRequestError(BrokerError):
    """The request_id was already used for a different request."""


class UnavailableError(BrokerError):
    """The server, or its connection to TWS, is unavailable. Retryable."""


class RateLimitedError(BrokerError):
    """Too many requests (RESOURCE_EXHAUSTED). Retryable after a pause."""


class PermissionDeniedError(BrokerError):
    """The caller may not do this (e.g. trading disabled, or paper/live mismatch)."""


class AuthenticationError(PermissionDeniedError):
    """The token is missing or wrong (UNAUTHENTICATED)."""


class DeadlineExceededError(BrokerError):
    """The call did not finish in time; for a mutating call the outcome is unknown."""


class OutOfRangeError(BrokerError):
    """A value is outside what the server keeps, e.g. an order-event resume point too old."""


_BY_REASON: dict[str, type[BrokerError]] = {
    "CONTRACT_NOT_FOUND": ContractNotFoundError,
    "ORDER_NOT_FOUND": OrderNotFoundError,
    "AMBIGUOUS_CONTRACT": AmbiguousContractError,
    "ORDER_REJECTED": OrderRejectedError,
    "ORDER_NOT_CANCELLABLE": OrderRejectedError,
    "TRADING_HALTED": TradingHaltedError,
    "INVALID_ARGUMENT": InvalidOrderError,
    "DUPLICATE_REQUEST": DuplicateRequestError,
    "NOT_CONNECTED": UnavailableError,
    "RATE_LIMITED": RateLimitedError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "UNAUTHENTICATED": AuthenticationError,
}

_BY_CODE: dict[grpc.StatusCode, type[BrokerError]] = {
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidOrderError,
    grpc.StatusCode.ALREADY_EXISTS: DuplicateRequestError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: RateLimitedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRangeError,
}


def error_class(code: grpc.StatusCode | None, reason: str) -> type[BrokerError]:
    """The exception class for a status: the ErrorInfo reason decides, then the code."""
    by_reason = _BY_REASON.get(reason)
    if by_reason is not None:
        return by_reason
    if reason.startswith("RISK_"):
        return RiskLimitError
    if code is None:
        return BrokerError
    return _BY_CODE.get(code, BrokerError)


def from_rpc_error(exc: grpc.RpcError, *, request_id: str | None = None) -> BrokerError:
    """Map a `grpc.RpcError` (sync) or `grpc.aio.AioRpcError` to the right BrokerError."""
    code = _call_attr(exc, "code")
    message = _call_attr(exc, "details") or ""
    status_code = code if isinstance(code, grpc.StatusCode) else None
    info = error_info_from_metadata(_call_attr(exc, "trailing_metadata"))
    reason, metadata = info if info is not None else ("", {})
    return error_class(status_code, reason)(
        str(message) or (status_code.name if status_code is not None else str(exc)),
        code=status_code,
        reason=reason,
        ib_code=_parse_int(metadata.get("ib_code")),
        field=metadata.get("field") or None,
        metadata=metadata,
        request_id=request_id,
    )


def error_info_from_metadata(
    trailing_metadata: Iterable[tuple[str, str | bytes]] | None,
) -> tuple[str, dict[str, str]] | None:
    """(reason, metadata) of the first ErrorInfo in the status details trailer, if any."""
    for key, value in trailing_metadata or ():
        if key == DETAILS_KEY and isinstance(value, bytes):
            return error_info_from_status_bytes(value)
    return None


def error_info_from_status_bytes(data: bytes) -> tuple[str, dict[str, str]] | None:
    """Decode a serialized google.rpc.Status and return its first ErrorInfo, if any."""
    status_cls, info_cls = _rpc_classes()
    try:
        status: Any = status_cls.FromString(data)
        for detail in status.details:
            if detail.type_url.rsplit("/", 1)[-1] == "google.rpc.ErrorInfo":
                info: Any = info_cls.FromString(detail.value)
                return str(info.reason), {str(k): str(v) for k, v in info.metadata.items()}
    except DecodeError:
        return None
    return None


def _call_attr(exc: grpc.RpcError, name: str) -> Any:
    method = getattr(exc, name, None)
    if not callable(method):
        return None
    try:
        return method()
    except Exception:  # a half-built error object must not hide the original failure
        return None


def _parse_int(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return None


_CLASSES: tuple[type[Message], type[Message]] | None = None


def _rpc_classes() -> tuple[type[Message], type[Message]]:
    """Status and ErrorInfo message classes, wire-compatible with google/rpc/*.proto."""
    global _CLASSES
    if _CLASSES is None:
        f = descriptor_pb2.FieldDescriptorProto
        proto = descriptor_pb2.FileDescriptorProto(
            name="ibkr_broker_client/rpc_status.proto",
            package="ibkr_broker_client.rpc",
            syntax="proto3",
        )
        any_msg = proto.message_type.add(name="AnyDetail")
        any_msg.field.add(name="type_url", number=1, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
        any_msg.field.add(name="value", number=2, type=f.TYPE_BYTES, label=f.LABEL_OPTIONAL)
        status = proto.message_type.add(name="Status")
        status.field.add(name="code", number=1, type=f.TYPE_INT32, label=f.LABEL_OPTIONAL)
        status.field.add(name="message", number=2, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
        status.field.add(
            name="details",
            number=3,
            type=f.TYPE_MESSAGE,
            label=f.LABEL_REPEATED,
            type_name=".ibkr_broker_client.rpc.AnyDetail",
        )
        info = proto.message_type.add(name="ErrorInfo")
        info.field.add(name="reason", number=1, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
        info.field.add(name="domain", number=2, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
        entry = info.nested_type.add(name="MetadataEntry")
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
        entry.field.add(name="value", number=2, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
        info.field.add(
            name="metadata",
            number=3,
            type=f.TYPE_MESSAGE,
            label=f.LABEL_REPEATED,
            type_name=".ibkr_broker_client.rpc.ErrorInfo.MetadataEntry",
        )
        pool = descriptor_pool.DescriptorPool()
        pool.Add(proto)
        _CLASSES = (
            message_factory.GetMessageClass(
                pool.FindMessageTypeByName("ibkr_broker_client.rpc.Status")
            ),
            message_factory.GetMessageClass(
                pool.FindMessageTypeByName("ibkr_broker_client.rpc.ErrorInfo")
            ),
        )
    return _CLASSES
