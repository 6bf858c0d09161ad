"""Converters for the protobuf-era replies whose absent fields mean "unset" (decoding.py).

A field the message does not carry becomes None (unset), never 0; a field it carries converts
as its text-era twin does (ibapi_convert.py), IB's UNSET_DOUBLE included.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ibapi.decoder_utils import decodeContract
from ibapi.protobuf.CommissionAndFeesReport_pb2 import CommissionAndFeesReport
from ibapi.protobuf.PortfolioValue_pb2 import PortfolioValue

from ..session.ib_port import CommissionEvent, PortfolioEvent
from .ibapi_convert import contract_from_ib, decimal_or_none, decimal_or_zero, float_to_decimal


def _double(message: Any, name: str) -> Decimal | None:
    return float_to_decimal(getattr(message, name)) if message.HasField(name) else None


def commission_from_proto(message: CommissionAndFeesReport) -> CommissionEvent:
    return CommissionEvent(
        exec_id=message.execId,
        commission=_double(message, "commissionAndFees") or Decimal(0),
        currency=message.currency,
        realized_pnl=_double(message, "realizedPNL"),
    )


def portfolio_from_proto(message: PortfolioValue) -> PortfolioEvent | None:
    """None for a message without a contract (ibapi's own decoder drops those too)."""
    if not message.HasField("contract"):
        return None
    position = decimal_or_none(message.position) if message.HasField("position") else None
    return PortfolioEvent(
        account=message.accountName,
        contract=contract_from_ib(decodeContract(message.contract)),
        position=decimal_or_zero(position),
        market_price=_double(message, "marketPrice"),
        market_value=_double(message, "marketValue"),
        average_cost=_double(message, "averageCost"),
        unrealized_pnl=_double(message, "unrealizedPNL"),
        realized_pnl=_double(message, "realizedPNL"),
    )
