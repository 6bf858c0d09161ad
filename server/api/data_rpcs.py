"""The data RPCs of BrokerService (historical and live bars, PnL, market depth), mixed into
`BrokerServicer`: validate, call the session, translate."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from ibkr_broker.v1 import broker_service_pb2 as pb

from ..domain import errors
from ..domain.history import BarQuery
from ..session.broker_session import BrokerSession
from ..trading.trader import Trader
from . import data_convert as dc
from . import proto_convert as cv
from .errors import unary

# How long a historical request without a gRPC deadline may wait for IB's pacing.
DEFAULT_HISTORY_WAIT = 30.0


class DataRpcs:
    session: BrokerSession
    trader: Trader

    @unary
    async def GetHistoricalBars(
        self, request: pb.GetHistoricalBarsRequest, context: Any
    ) -> pb.GetHistoricalBarsResponse:
        if not request.HasField("contract"):
            raise errors.InvalidArgument("contract", "required")
        spec = cv.contract_from_proto(request.contract)
        if spec.is_combo:
            raise errors.InvalidArgument("contract.security_type", "combos have no bars here")
        end, duration, bar_size, source, rth = dc.bar_request_checked(request, datetime.now(UTC))
        remaining = context.time_remaining()
        wait = DEFAULT_HISTORY_WAIT if remaining is None else max(0.0, remaining - 0.05)
        deadline = time.monotonic() + wait
        contract = await self.trader.resolve_one(spec)
        query = BarQuery(contract, end, duration, bar_size, source, rth)
        series = await self.session.history.bars(query, deadline)
        return pb.GetHistoricalBarsResponse(
            contract=cv.contract_to_proto(contract),
            bars=[dc.bar_to_proto(b) for b in series.bars],
            shared=series.cached,
        )
