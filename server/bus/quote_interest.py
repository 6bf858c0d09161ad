"""The gateway's quote lines for the bus: one hub subscriber per contract an edge wants,
published as Quote protobufs, and dropped when no edge has renewed its interest for a while."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from ibkr_broker.v1 import broker_service_pb2 as pb

from ..api import proto_convert as cv
from ..domain import errors
from ..session.broker_session import BrokerSession
from ..session.market_data import MarketDataHub, Subscriber
from ..trading.trader import Trader

INTEREST_TTL = 30.0  # seconds a line lives after the last edge asked for it
MAX_CONTRACTS = 500

Publish = Callable[[int, bytes], Awaitable[None]]


class QuoteInterest:
    def __init__(self, hub: MarketDataHub, publish: Publish) -> None:
        self.hub = hub
        self.publish = publish
        self._lines: dict[int, Subscriber] = {}
        self._wanted: dict[int, float] = {}
        self._wake = asyncio.Event()

    async def want(self, data: bytes, trader: Trader, session: BrokerSession) -> list[int]:
        """Resolve a StreamQuotesRequest's contracts, keep their lines open, give their con ids."""
        request = pb.StreamQuotesRequest.FromString(data)
        if not request.contracts:
            raise errors.InvalidArgument("contracts", "give at least one contract")
        if len(request.contracts) > MAX_CONTRACTS:
            raise errors.InvalidArgument("contracts", f"at most {MAX_CONTRACTS}")
        session.require_ready()
        con_ids = []
        for i, proto in enumerate(request.contracts):
            spec = cv.contract_from_proto(proto, f"contracts[{i}]")
            if spec.is_combo:
                raise errors.InvalidArgument(f"contracts[{i}]", "combos are not streamed")
            contract = await trader.resolve_one(spec)
            con_ids.append(contract.con_id)
            self._wanted[contract.con_id] = time.monotonic()
            if contract.con_id not in self._lines:
                line = Subscriber()
                self._lines[contract.con_id] = line
                await self.hub.subscribe(line, [contract])
        self._wake.set()
        return con_ids

    async def run(self) -> None:
        """Publish every line's news; close the lines nobody wants any more."""
        while True:
            self._wake.clear()
            for con_id, line in list(self._lines.items()):
                _, quotes, _ = line.take()
                for quote in quotes:
                    await self.publish(con_id, cv.quote_to_proto(quote).SerializeToString())
            await self._expire()
            waits = [asyncio.ensure_future(line.wake.wait()) for line in self._lines.values()]
            waits.append(asyncio.ensure_future(self._wake.wait()))
            try:
                await asyncio.wait(waits, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()

    async def _expire(self) -> None:
        now = time.monotonic()
        for con_id, when in list(self._wanted.items()):
            if now - when > INTEREST_TTL:
                del self._wanted[con_id]
                line = self._lines.pop(con_id, None)
                if line is not None:
                    await self.hub.unsubscribe(line)

    async def close(self) -> None:
        for line in self._lines.values():
            with contextlib.suppress(Exception):
                await self.hub.unsubscribe(line)
        self._lines.clear()
