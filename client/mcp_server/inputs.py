"""Tool arguments to validated client requests, and broker answers to concise results.

Pure functions (no I/O, no `mcp` import): the tools module calls them. Every ValueError names
the argument that is wrong, so the model can correct exactly that.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from ibkr_broker.v1 import broker_service_pb2 as bs
from ibkr_broker.v1 import contract_pb2, order_pb2

from .. import contracts
from ..contracts import positive_decimal
from ..message_dicts import order_to_dict, place_order_response_to_dict, to_jsonable
from ..orders import bracket, order_spec, positive_quantity
from ..wire_values import parse_time_in_force

# Keys of an order dict that add little for a model (the contract is summarised by symbol).
_ORDER_NOISE = ("contract", "what_if", "is_terminal", "bracket_orders")


@dataclass(frozen=True)
class ContractArgs:
    """Which instrument: a stock by default; an option needs expiry, strike and right."""

    symbol: str
    sec_type: str = "STK"
    exchange: str = "SMART"
    currency: str = "USD"
    expiry: str | None = None
    strike: Decimal | None = None
    right: str | None = None
    con_id: int | None = None

    def to_proto(self) -> contract_pb2.Contract:
        return contracts.contract(
            self.symbol,
            self.sec_type,
            exchange=self.exchange,
            currency=self.currency,
            last_trade_date=self.expiry,
            strike=self.strike,
            right=self.right,
            con_id=self.con_id,
        )


@dataclass(frozen=True)
class OrderArgs:
    """A new order as the tools take it (decimals already parsed by the input schema)."""

    contract: ContractArgs
    side: str
    quantity: Decimal
    type: str = "market"
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_amount: Decimal | None = None
    trailing_percent: Decimal | None = None
    tif: str = "day"
    account: str = ""
    outside_rth: bool = False
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None

    def to_request(self) -> tuple[contract_pb2.Contract, order_pb2.OrderSpec, Any]:
        """(contract, spec, bracket or None); ValueError naming the argument when invalid."""
        spec = order_spec(
            self.side,
            self.quantity,
            self.type,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            trailing_amount=self.trailing_amount,
            trailing_percent=self.trailing_percent,
            tif=self.tif,
            account=self.account,
            outside_rth=self.outside_rth,
        )
        return self.contract.to_proto(), spec, bracket(self.take_profit, self.stop_loss)

    def fingerprint(self) -> str:
        """The arguments as canonical JSON: a confirmation is valid for exactly these."""
        return json.dumps(to_jsonable(asdict(self)), sort_keys=True)


@dataclass(frozen=True)
class ModifyArgs:
    """Changes to a working order; only the values given change."""

    order_id: str
    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_amount: Decimal | None = None
    trailing_percent: Decimal | None = None
    tif: str | None = None

    def changes(self) -> dict[str, Any]:
        values = asdict(self)
        del values["order_id"]
        changed = {key: value for key, value in values.items() if value is not None}
        if not changed:
            raise ValueError(
                "quantity, limit_price, stop_price, trailing_amount, trailing_percent or tif: "
                "give at least one change"
            )
        return changed

    def fingerprint(self) -> str:
        return json.dumps(to_jsonable(asdict(self)), sort_keys=True)

    def modified_spec(self, current: order_pb2.OrderSpec) -> order_pb2.OrderSpec:
        """The order's spec with the changes applied (for a what-if preview of the result)."""
        spec = order_pb2.OrderSpec()
        spec.CopyFrom(current)
        for key, value in self.changes().items():
            if key == "quantity":
                spec.quantity = positive_quantity(value)
            elif key == "tif":
                spec.time_in_force = parse_time_in_force(value)
            else:
                setattr(spec, key, positive_decimal(value, key))
        return spec


# --- results ------------------------------------------------------------------------------


def compact(value: Any) -> Any:
    """JSON-ready and without empty values (None, "", [], {}): short answers for a model."""
    if isinstance(value, Mapping):
        items = ((str(k), compact(v)) for k, v in value.items())
        return {k: v for k, v in items if v not in (None, "", [], {})}
    if isinstance(value, list | tuple):
        return [compact(v) for v in value]
    return to_jsonable(value)


def order_result(order: order_pb2.Order) -> dict[str, Any]:
    result = {k: v for k, v in order_to_dict(order).items() if k not in _ORDER_NOISE}
    if order.contract.security_type != contract_pb2.SECURITY_TYPE_STOCK:
        result["contract"] = order_to_dict(order)["contract"]
    out: dict[str, Any] = compact(result)
    return out


def placed_result(response: bs.PlaceOrderResponse, request_id: str) -> dict[str, Any]:
    """The placed order (and its bracket children) with the request_id to retry with."""
    result = order_result(response.order)
    result["request_id"] = request_id
    if response.bracket_orders:
        result["bracket_orders"] = [order_result(o) for o in response.bracket_orders]
    return result


def preview_result(response: bs.PlaceOrderResponse) -> dict[str, Any]:
    preview: dict[str, Any] = compact(place_order_response_to_dict(response).get("preview", {}))
    return preview
