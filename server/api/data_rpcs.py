"""The data RPCs of BrokerService (historical and live bars, PnL, market depth), mixed into
`BrokerServicer`: validate, call the session, translate."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import common_pb2, feeds_pb2

from ..domain import errors
from ..domain.feeds import DepthBook, DepthChange, FeedStatus, LiveBarKey, PnlKey
from ..domain.history import BarQuery
from ..domain.model import Contract
from ..session.broker_session import BrokerSession
from ..session.depth import DepthKey
from ..session.fan_out import Signal
from ..session.feeds import Mailbox
from ..trading.trader import Trader
from . import data_convert as dc
from . import proto_convert as cv
from . import validate as v
from .errors import streaming, unary

# How long a historical request without a gRPC deadline may wait for IB's pacing.
DEFAULT_HISTORY_WAIT = 30.0
DEFAULT_DEPTH_ROWS, MAX_DEPTH_ROWS = 10, 50
MAX_DEPTH_BATCH = 500  # depth changes per message


class DataRpcs:
    session: BrokerSession
    trader: Trader
    draining: Signal
    _wait_wake: Callable[[Signal], Awaitable[bool]]

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

    # --- live streams -------------------------------------------------------------------------

    async def _mail(self, mailbox: Mailbox) -> AsyncIterator[list[Any] | None]:
        """The mailbox's items as they come; None after heartbeat_interval without any. Ends
        when the server drains."""
        while not self.draining.is_set():
            items = mailbox.take()
            if items:
                yield items
                continue
            if not await self._wait_wake(mailbox.wake) and not self.draining.is_set():
                yield None

    @streaming
    async def StreamPnL(
        self, request: pb.StreamPnLRequest, context: Any
    ) -> AsyncIterator[pb.StreamPnLResponse]:
        accounts = self._pnl_accounts(request)
        keys = [PnlKey(a) for a in accounts]
        if request.include_positions:
            held = await self.session.queries.positions()
            keys += [
                PnlKey(p.account_id, p.contract.con_id) for p in held if p.account_id in accounts
            ]
        hub = self.session.feeds.pnl.hub
        mailbox = Mailbox()
        feeds = []
        sequence = 0
        try:
            for key in keys:
                feeds.append(await hub.subscribe(key, mailbox))
            async for items in self._mail(mailbox):
                if items is None:
                    sequence += 1
                    yield pb.StreamPnLResponse(sequence=sequence, heartbeat=_heartbeat())
                    continue
                for item in items:
                    sequence += 1
                    if isinstance(item, FeedStatus):
                        status = dc.feed_status_to_proto(item)
                        yield pb.StreamPnLResponse(sequence=sequence, status=status)
                    else:
                        yield pb.StreamPnLResponse(sequence=sequence, pnl=dc.pnl_to_proto(item))
                if all(f.ended is not None for f in feeds):
                    return
        finally:
            for feed in feeds:
                await hub.unsubscribe(feed, mailbox)

    def _pnl_accounts(self, request: pb.StreamPnLRequest) -> list[str]:
        managed = self.session.accounts
        accounts = []
        for i, account in enumerate(request.account_ids):
            name = v.text(f"account_ids[{i}]", account, required=True, limit=32)
            if managed and name not in managed:
                raise errors.InvalidArgument(f"account_ids[{i}]", f"{name} is not managed")
            accounts.append(name)
        self.session.require_ready()
        return accounts or list(managed)

    async def _resolve_one(self, msg: Any) -> Contract:
        if not msg.HasField("contract"):
            raise errors.InvalidArgument("contract", "required")
        spec = cv.contract_from_proto(msg.contract)
        if spec.is_combo:
            raise errors.InvalidArgument("contract.security_type", "not for a combo")
        return spec

    @streaming
    async def StreamBars(
        self, request: pb.StreamBarsRequest, context: Any
    ) -> AsyncIterator[pb.StreamBarsResponse]:
        spec = await self._resolve_one(request)
        kind, bar_size, source, rth = dc.live_bar_terms(request)
        self.session.require_ready()
        contract = await self.trader.resolve_one(spec)
        hub = self.session.feeds.bars.hub
        mailbox = Mailbox()
        feed = await hub.subscribe(
            LiveBarKey(contract.con_id, kind, bar_size, source, rth), mailbox, contract
        )
        sequence = 0
        try:
            async for items in self._mail(mailbox):
                if items is None:
                    sequence += 1
                    yield pb.StreamBarsResponse(sequence=sequence, heartbeat=_heartbeat())
                    continue
                for item in items:
                    sequence += 1
                    if isinstance(item, FeedStatus):
                        status = dc.feed_status_to_proto(item)
                        yield pb.StreamBarsResponse(sequence=sequence, status=status)
                        if item.final:
                            return
                    else:
                        bar = dc.live_bar_to_proto(contract.con_id, item)
                        yield pb.StreamBarsResponse(sequence=sequence, bar=bar)
        finally:
            await hub.unsubscribe(feed, mailbox)

    @streaming
    async def StreamMarketDepth(
        self, request: pb.StreamMarketDepthRequest, context: Any
    ) -> AsyncIterator[pb.StreamMarketDepthResponse]:
        spec = await self._resolve_one(request)
        rows = request.rows or DEFAULT_DEPTH_ROWS
        if not 1 <= rows <= MAX_DEPTH_ROWS:
            raise errors.InvalidArgument("rows", f"1 to {MAX_DEPTH_ROWS} rows per side")
        self.session.require_ready()
        contract = await self.trader.resolve_one(spec)
        hub = self.session.feeds.depth.hub
        mailbox = Mailbox()
        key = DepthKey(contract.con_id, rows, smart=contract.exchange == "SMART")
        feed = await hub.subscribe(key, mailbox, contract)
        try:
            async for message in self._depth_messages(feed, mailbox):
                yield message
                if message.HasField("status") and feed.ended is not None:
                    return
        finally:
            await hub.unsubscribe(feed, mailbox)

    async def _depth_messages(
        self, feed: Any, mailbox: Mailbox
    ) -> AsyncIterator[pb.StreamMarketDepthResponse]:
        sequence = 0
        dropped = 0
        async for items in self._mail(mailbox):
            if items is None:
                sequence += 1
                yield pb.StreamMarketDepthResponse(sequence=sequence, heartbeat=_heartbeat())
                continue
            if mailbox.dropped != dropped:  # changes were lost: start again from the book
                dropped = mailbox.dropped
                items = [i for i in items if isinstance(i, FeedStatus)] + [feed.book()]
            changes: list[DepthChange] = []
            for item in [*items, None]:
                if isinstance(item, DepthChange):
                    changes.append(item)
                    continue
                for start in range(0, len(changes), MAX_DEPTH_BATCH):
                    sequence += 1
                    batch = [
                        dc.depth_change_to_proto(c)
                        for c in changes[start : start + MAX_DEPTH_BATCH]
                    ]
                    updates = feeds_pb2.DepthUpdates(changes=batch)
                    yield pb.StreamMarketDepthResponse(sequence=sequence, updates=updates)
                changes = []
                if isinstance(item, DepthBook):
                    sequence += 1
                    book = dc.depth_book_to_proto(item)
                    yield pb.StreamMarketDepthResponse(sequence=sequence, book=book)
                elif isinstance(item, FeedStatus):
                    sequence += 1
                    status = dc.feed_status_to_proto(item)
                    yield pb.StreamMarketDepthResponse(sequence=sequence, status=status)


def _heartbeat() -> common_pb2.Heartbeat:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC))
    return common_pb2.Heartbeat(server_time=stamp)
