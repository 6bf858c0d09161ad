"""Which gateway takes a call at an edge with several gateways (one per IB login) behind it.

- A call that names an account (its `account`/`account_id`, its order's account, or the
  `ibkr-account` metadata) goes to that account's gateway.
- With one gateway, everything goes to it.
- Market data and contracts (ANY_GATEWAY) go to any gateway: they are the same for every login.
- Calls about the whole house (FAN_OUT) go to every gateway and their answers are merged;
  GetStatus lists each gateway (its `gateways` entry), one that did not answer as disconnected.
- Calls about one order (BY_ORDER) go to the gateway that has that order; an order id two
  gateways both know is refused as ambiguous (name the account).
- Anything else needs an account, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf.message import Message
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import common_pb2

ANY_GATEWAY = frozenset({"ResolveContract", "GetOptionChain", "GetQuote"})
FAN_OUT = frozenset(
    {"GetStatus", "GetAccount", "ListPositions", "CancelAllOrders", "HaltTrading", "ResumeTrading"}
)
BY_ORDER = frozenset({"GetOrder", "ModifyOrder", "CancelOrder"})
ACCOUNT_FIELDS = ("account", "account_id")
ACCOUNT_HEADER = "ibkr-account"


def account_of(request: Message, metadata: Sequence[tuple[str, str | bytes]] = ()) -> str:
    """The account a call names (in its request, its order or its metadata), or ""."""
    for name in ACCOUNT_FIELDS:
        if name in request.DESCRIPTOR.fields_by_name and getattr(request, name):
            return str(getattr(request, name))
    order = getattr(request, "order", None)
    if isinstance(order, Message) and "account" in order.DESCRIPTOR.fields_by_name:
        return str(getattr(order, "account", "")) or _from_metadata(metadata)
    return _from_metadata(metadata)


def _from_metadata(metadata: Sequence[tuple[str, str | bytes]]) -> str:
    for key, value in metadata or ():
        if key == ACCOUNT_HEADER:
            return value.decode() if isinstance(value, bytes) else value
    return ""


def order_lookup(method: str, request: Message) -> pb.GetOrderRequest:
    """The GetOrder that finds the gateway of a BY_ORDER call."""
    if method == "GetOrder":
        assert isinstance(request, pb.GetOrderRequest)
        return request
    return pb.GetOrderRequest(order_id=getattr(request, "order_id", ""))


WORST_FIRST = [
    common_pb2.CONNECTION_STATE_DISCONNECTED,
    common_pb2.CONNECTION_STATE_RECONNECTING,
    common_pb2.CONNECTION_STATE_CONNECTING,
    common_pb2.CONNECTION_STATE_UNSPECIFIED,
    common_pb2.CONNECTION_STATE_READY,
]


def merge(method: str, responses: list[Message]) -> Message:
    """One answer from every gateway's: repeated fields joined, the first for the rest; for
    GetStatus the worst connection state, and trading enabled only when enabled everywhere."""
    merged = type(responses[0])()
    merged.CopyFrom(responses[0])
    for other in responses[1:]:
        for field in other.DESCRIPTOR.fields:
            if field.is_repeated:
                getattr(merged, field.name).extend(getattr(other, field.name))
    if isinstance(merged, pb.GetStatusResponse):
        statuses = [r for r in responses if isinstance(r, pb.GetStatusResponse)]
        known = [s.connection_state for s in statuses if s.connection_state in WORST_FIRST]
        merged.connection_state = min(
            known, key=WORST_FIRST.index, default=common_pb2.CONNECTION_STATE_UNSPECIFIED
        )
        merged.trading_enabled = all(s.trading_enabled for s in statuses)
        merged.trading_disabled_reason = "; ".join(
            f"{','.join(s.accounts) or '?'}: {s.trading_disabled_reason}"
            for s in statuses
            if s.trading_disabled_reason
        )
        merged.read_only = any(s.read_only for s in statuses)
    return merged


def silent_gateway_status(
    gateway: str, announced: dict[str, Any], why: str
) -> pb.GetStatusResponse:
    """The status of a gateway that did not answer GetStatus: what it last announced on the
    bus, disconnected, and why."""
    accounts = [str(a) for a in announced.get("accounts", ())] or [gateway]
    reason = f"its gateway did not answer: {why}"
    entry = pb.GatewayStatus(
        accounts=accounts,
        connection_state=common_pb2.CONNECTION_STATE_DISCONNECTED,
        trading_disabled_reason=reason,
    )
    return pb.GetStatusResponse(
        connection_state=entry.connection_state,
        accounts=accounts,
        trading_disabled_reason=reason,
        gateways=[entry],
    )
