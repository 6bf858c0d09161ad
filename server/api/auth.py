"""Who may call what: bearer tokens with roles, the client allowlist and read-only mode.

One grpc.aio server interceptor guards every call. For a BrokerService method it checks, in
order: the client address against `security.allowed_clients` (CLIENT_NOT_ALLOWED), the bearer
token (UNAUTHENTICATED), read-only mode (READ_ONLY) and the token's role against METHOD_ROLES
(PERMISSION_DENIED). Refusals are gRPC statuses with a google.rpc.ErrorInfo (domain
"ibkr-broker"), and are written to the audit log, as is every mutating call with its result.
Health and reflection need no token (the allowlist still applies to them).

The caller of the call being handled is published through a ContextVar, set around the handler
(streams included): handlers read it with current_principal(). With no token configured,
authentication is off and current_principal() is None.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import hmac
import inspect
import ipaddress
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol
from urllib.parse import unquote

import grpc

from ..audit import AuditLog
from ..trading.limits import RiskLimits
from .errors import status
from .observe import call_result

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: the token's name, its role and its optional risk overrides."""

    name: str
    role: str  # "read" | "trade" | "admin"
    risk: RiskLimits | None = None


_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "ibkr_broker_principal", default=None
)


def current_principal() -> Principal | None:
    """The caller of the RPC being handled; None when authentication is off."""
    return _principal.get()


@contextlib.contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Run a handler for a caller authenticated elsewhere (an edge, for a call over the bus)."""
    token = _principal.set(principal)
    try:
        yield
    finally:
        _principal.reset(token)


class TokenEntry(Protocol):
    """A configured bearer token (the app's TokenSettings fits): never the token itself."""

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def sha256(self) -> str: ...  # hex digest of the token's UTF-8 bytes

    @property
    def risk(self) -> RiskLimits | None: ...


class AccessSettings(Protocol):
    """What the interceptor needs of the security settings (the app's SecuritySettings fits)."""

    @property
    def tokens(self) -> Sequence[TokenEntry]: ...

    @property
    def allowed_clients(self) -> Sequence[str]: ...

    @property
    def read_only(self) -> bool: ...


# --- what each method needs ----------------------------------------------------------------------

SERVICE = "ibkr_broker.v1.BrokerService"
ROLE_RANK = {"read": 0, "trade": 1, "admin": 2}
#: The minimum role of every BrokerService method. Methods above "read" change state.
METHOD_ROLES: dict[str, str] = {
    "GetStatus": "read",
    "ResolveContract": "read",
    "GetOptionChain": "read",
    "GetQuote": "read",
    "StreamQuotes": "read",
    "GetAccount": "read",
    "ListPositions": "read",
    "GetOrder": "read",
    "ListOrders": "read",
    "StreamOrderEvents": "read",
    "GetHistoricalBars": "read",
    "StreamBars": "read",
    "StreamPnL": "read",
    "StreamMarketDepth": "read",
    "PlaceOrder": "trade",
    "ModifyOrder": "trade",
    "CancelOrder": "trade",
    "CancelAllOrders": "admin",
    "HaltTrading": "admin",
    "ResumeTrading": "admin",
}
MUTATING = frozenset(m for m, role in METHOD_ROLES.items() if role != "read")
#: A token longer than this is refused without hashing it (real ones are 43 characters).
MAX_TOKEN_CHARS = 512


def required_role(method: str) -> str:
    """The role a method needs; a method missing from the table (never expected) needs admin."""
    return METHOD_ROLES.get(method, "admin")


def is_mutating(method: str) -> bool:
    return method in MUTATING or method not in METHOD_ROLES


# --- refusals ----------------------------------------------------------------------------------


class Refused(Exception):
    """A call is refused before it reaches its handler."""

    def __init__(self, code: grpc.StatusCode, reason: str, message: str, **metadata: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.metadata = metadata
        self.token = ""  # name of the caller's token, when it was authenticated

    def status(self) -> grpc.Status:
        return status(self.code, self.reason, self.message, self.metadata)


def _unauthenticated(message: str) -> Refused:
    return Refused(grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED", message)


# --- tokens ------------------------------------------------------------------------------------


class TokenTable:
    """The configured tokens, by SHA-256 digest. Presented tokens are compared in constant time."""

    def __init__(self, tokens: Iterable[TokenEntry]) -> None:
        self._entries = [
            (bytes.fromhex(t.sha256), Principal(t.name, t.role, t.risk)) for t in tokens
        ]

    def __bool__(self) -> bool:
        return bool(self._entries)

    def authenticate(self, metadata: Sequence[tuple[str, str | bytes]] | None) -> Principal:
        """The principal of the `authorization: Bearer <token>` header; Refused otherwise."""
        values = [v for k, v in metadata or () if k.lower() == "authorization"]
        if not values:
            raise _unauthenticated("missing authorization metadata: Bearer <token>")
        if len(values) > 1:
            raise _unauthenticated("more than one authorization header")
        value = values[0]
        if isinstance(value, bytes):  # never for a non -bin key; be safe anyway
            value = value.decode("utf-8", "replace")
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise _unauthenticated("authorization must be: Bearer <token>")
        token = token.strip()
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise _unauthenticated("invalid token")
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        found: Principal | None = None
        for expected, principal in self._entries:  # no early exit: every hash is compared
            if hmac.compare_digest(digest, expected):
                found = principal
        if found is None:
            raise _unauthenticated("invalid token")
        return found


# --- client addresses --------------------------------------------------------------------------

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def peer_address(peer: str) -> Address | None:
    """The IP address of a gRPC peer string ("ipv4:1.2.3.4:5", "ipv6:[::1]:5"); None if none."""
    kind, _, rest = unquote(peer).partition(":")
    if kind == "ipv4":
        host = rest.rpartition(":")[0]
    elif kind == "ipv6":
        host = rest.rpartition(":")[0].strip("[]").partition("%")[0]
    else:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # an IPv4 client of a dual-stack listener
    return address


class Allowlist:
    """`security.allowed_clients`: IP addresses and networks; empty allows everyone."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks = [ipaddress.ip_network(e.strip(), strict=False) for e in entries]

    def __bool__(self) -> bool:
        return bool(self.networks)

    def allows(self, peer: str) -> bool:
        address = peer_address(peer)
        return address is not None and any(
            address.version == net.version and address in net for net in self.networks
        )


# --- the interceptor ---------------------------------------------------------------------------

Behavior = Callable[[Any, grpc.aio.ServicerContext], Any]


class AuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, security: AccessSettings, audit: AuditLog | None = None) -> None:
        self.tokens = TokenTable(security.tokens)
        self.allowlist = Allowlist(security.allowed_clients)
        self.read_only = security.read_only
        self.audit = audit

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler  # unknown method: gRPC answers UNIMPLEMENTED
        service, _, method = handler_call_details.method.lstrip("/").partition("/")
        if service != SERVICE:  # health and reflection: no token, but the allowlist holds
            return _wrap(handler, Gate(self, method, broker=False)) if self.allowlist else handler
        audited = self.audit is not None and is_mutating(method)
        if not (self.tokens or self.allowlist or self.read_only or audited):
            return handler  # the loopback default: nothing to check, no cost
        return _wrap(handler, Gate(self, method, broker=True, audited=audited))

    def admit(self, method: str, peer: str, context: grpc.aio.ServicerContext) -> Principal | None:
        """The caller of a BrokerService method, or Refused."""
        if self.allowlist and not self.allowlist.allows(peer):
            raise _not_allowed(peer)
        principal = self.tokens.authenticate(context.invocation_metadata()) if self.tokens else None
        refused = self._forbidden(method, principal)
        if refused is not None:
            refused.token = principal.name if principal else ""
            raise refused
        return principal

    def _forbidden(self, method: str, principal: Principal | None) -> Refused | None:
        if self.read_only and is_mutating(method):
            return Refused(
                grpc.StatusCode.PERMISSION_DENIED,
                "READ_ONLY",
                f"the server is in read-only mode: {method} is refused",
            )
        needed = required_role(method)
        if principal is not None and ROLE_RANK[principal.role] < ROLE_RANK[needed]:
            return Refused(
                grpc.StatusCode.PERMISSION_DENIED,
                "PERMISSION_DENIED",
                f"{method} needs role {needed!r}; token {principal.name!r} has {principal.role!r}",
                required_role=needed,
            )
        return None


class Gate:
    """The checks of one call: `enter` before the handler, `leave` (the audit) after it."""

    def __init__(
        self, owner: AuthInterceptor, method: str, *, broker: bool, audited: bool = False
    ) -> None:
        self.owner = owner
        self.method = method
        self.broker = broker
        self.audited = audited

    async def enter(self, context: grpc.aio.ServicerContext) -> Principal | None:
        peer = context.peer()
        try:
            if self.broker:
                return self.owner.admit(self.method, peer, context)
            if not self.owner.allowlist.allows(peer):
                raise _not_allowed(peer)
            return None
        except Refused as refused:
            await self._refuse(peer, context, refused)

    async def _refuse(
        self, peer: str, context: grpc.aio.ServicerContext, refused: Refused
    ) -> NoReturn:
        log.info("refused %s from %s: %s", self.method, peer, refused.reason)
        if self.owner.audit is not None:
            self.owner.audit.refused(
                method=self.method,
                token=refused.token,
                peer=peer,
                code=refused.code.name,
                reason=refused.reason,
            )
        await context.abort_with_status(refused.status())
        raise AssertionError("abort_with_status returned")  # pragma: no cover

    def leave(
        self,
        context: grpc.aio.ServicerContext,
        principal: Principal | None,
        request: Any,
        response: Any,
        error: BaseException | None,
    ) -> None:
        if not self.audited or self.owner.audit is None:
            return
        code, reason = call_result(context, error)
        self.owner.audit.call(
            method=self.method,
            token=principal.name if principal else "",
            peer=context.peer(),
            request=request,
            response=response,
            code=code,
            reason=reason,
        )


def _not_allowed(peer: str) -> Refused:
    return Refused(
        grpc.StatusCode.PERMISSION_DENIED,
        "CLIENT_NOT_ALLOWED",
        f"client {peer} is not in security.allowed_clients",
    )


def _wrap(handler: grpc.RpcMethodHandler, gate: Gate) -> grpc.RpcMethodHandler:
    """The same handler with the gate around its behavior."""
    kinds = {
        (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
        (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
        (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
        (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
    }
    attr, make = kinds[(handler.request_streaming, handler.response_streaming)]
    behavior: Behavior = getattr(handler, attr)
    wrapped = (
        _wrap_generator(behavior, gate)
        if inspect.isasyncgenfunction(behavior)
        else _wrap_coroutine(behavior, gate)
    )
    result: grpc.RpcMethodHandler = make(
        wrapped,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
    return result


def _wrap_coroutine(behavior: Behavior, gate: Gate) -> Behavior:
    async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        principal = await gate.enter(context)
        token = _principal.set(principal)
        response: Any = None
        error: BaseException | None = None
        try:
            response = await behavior(request, context)
            return response
        except BaseException as exc:
            error = exc
            raise
        finally:
            _principal.reset(token)
            gate.leave(context, principal, request, response, error)

    return call


def _wrap_generator(behavior: Behavior, gate: Gate) -> Behavior:
    async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        principal = await gate.enter(context)
        token = _principal.set(principal)
        try:
            async for item in behavior(request, context):
                yield item
        finally:
            with contextlib.suppress(ValueError):  # closed from another context (by the GC)
                _principal.reset(token)

    return stream
