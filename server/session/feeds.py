"""The shared machinery of the data feeds (PnL, live bars, depth): one IB subscription per key,
shared by every stream that asks for the same key, each stream reading its own bounded mailbox.

A `Feed` is one IB subscription (a req_id) and the streams' mailboxes on it; the last mailbox to
leave cancels it at IB. A feed keeps what a late subscriber needs at once (`latest`: the newest
PnL, the forming bar; depth keeps its book). IB errors end a feed with a `FeedStatus` pushed to
every mailbox (the stream reports it, never ends silently); a lost connection pushes
INTERRUPTED, and `restore` re-subscribes every feed after a reconnect.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from ..domain import errors
from ..domain.errors import Unavailable
from ..domain.feeds import FeedStatus
from ..domain.model import Contract, IbError, SubscriptionState
from .fan_out import Signal

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
MAILBOX_LIMIT = 10_000


class Mailbox:
    """A stream's queue of feed items. Bounded: on overflow the oldest item is dropped and
    counted in `dropped` (a depth stream then starts again from a snapshot)."""

    def __init__(self, limit: int = MAILBOX_LIMIT) -> None:
        self.items: deque[Any] = deque()
        self.limit = limit
        self.dropped = 0
        self.wake = Signal()  # the stream waits on it with the server's drain (wait_any)

    def put(self, item: Any) -> None:
        if len(self.items) >= self.limit:
            self.items.popleft()
            self.dropped += 1
        self.items.append(item)
        self.wake.set()

    def take(self) -> list[Any]:
        items = list(self.items)
        self.items.clear()
        self.wake.clear()
        return items


class Feed(Generic[K]):
    """One IB subscription and the mailboxes reading it."""

    def __init__(self, key: K, req_id: int) -> None:
        self.key = key
        self.req_id = req_id
        self.mailboxes: set[Mailbox] = set()
        self.latest: Any = None  # what a late subscriber gets first; None = nothing yet
        self.ended: FeedStatus | None = None  # set when IB ended the subscription
        self.contract: Contract | None = None  # the resolved contract, for feeds of one

    def publish(self, item: Any) -> None:
        for mailbox in self.mailboxes:
            mailbox.put(item)

    def greet(self, mailbox: Mailbox) -> None:
        """What a new subscriber gets at once (the newest value, a book)."""
        if self.latest is not None:
            mailbox.put(self.latest)


StateForCode = Callable[[int], SubscriptionState]


class FeedHub(Generic[K]):
    """The feeds of one kind, by key and by IB req_id."""

    def __init__(
        self,
        next_id: Callable[[], int],
        start: Callable[[Any], Awaitable[None]],
        stop: Callable[[Any], Awaitable[None]],
        make: Callable[[K, int], Feed[K]] = Feed,
        state_for_code: StateForCode = lambda code: SubscriptionState.ERROR,
    ) -> None:
        self._next_id = next_id
        self._start = start
        self._stop = stop
        self._make = make
        self._state_for_code = state_for_code
        self.feeds: dict[K, Feed[K]] = {}
        self._by_req: dict[int, Feed[K]] = {}

    def get(self, req_id: int) -> Feed[K] | None:
        return self._by_req.get(req_id)

    async def subscribe(
        self, key: K, mailbox: Mailbox, contract: Contract | None = None
    ) -> Feed[K]:
        """Join the feed of `key`, starting it at IB when it is the first (for `contract`)."""
        feed = self.feeds.get(key)
        if feed is not None:
            feed.mailboxes.add(mailbox)
            feed.greet(mailbox)
            return feed
        feed = self._make(key, self._next_id())
        feed.contract = contract
        self.feeds[key] = feed
        self._by_req[feed.req_id] = feed
        feed.mailboxes.add(mailbox)
        feed.greet(mailbox)
        try:
            await self._start(feed)
        except BaseException:
            self._forget(feed)
            raise
        return feed

    async def unsubscribe(self, feed: Feed[K], mailbox: Mailbox) -> None:
        feed.mailboxes.discard(mailbox)
        if feed.mailboxes or self.feeds.get(feed.key) is not feed:
            return
        self._forget(feed)
        if feed.ended is None:
            with contextlib.suppress(Unavailable):  # gone with the connection
                await self._stop(feed)

    def _forget(self, feed: Feed[K]) -> None:
        if self.feeds.get(feed.key) is feed:
            del self.feeds[feed.key]
        self._by_req.pop(feed.req_id, None)

    def on_error(self, req_id: int, code: int, message: str) -> bool:
        """An IB error about one of these feeds: the feed ends with a status (informational
        codes pass through as a notice). False when `req_id` is not one of ours."""
        feed = self._by_req.get(req_id)
        if feed is None:
            return False
        if errors.is_informational(code):
            log.info("TWS notice %d on feed %r: %s", code, feed.key, message)
            return True
        status = FeedStatus(self._state_for_code(code), IbError(code, message), feed.key)
        feed.ended = status
        self._forget(feed)
        feed.publish(status)
        return True

    def on_connection_lost(self, reason: str) -> None:
        for feed in self.feeds.values():
            feed.publish(FeedStatus(SubscriptionState.INTERRUPTED, IbError(0, reason), feed.key))

    async def restore(self) -> int:
        """After a reconnect: every feed again, under a fresh req_id."""
        restored = 0
        for feed in list(self.feeds.values()):
            self._by_req.pop(feed.req_id, None)
            feed.req_id = self._next_id()
            self._by_req[feed.req_id] = feed
            try:
                await self._start(feed)
            except errors.BrokerError as exc:  # this feed is lost; the others go on
                error = IbError(exc.ib_code, str(exc))
                feed.ended = FeedStatus(SubscriptionState.ERROR, error, feed.key)
                self._forget(feed)
                feed.publish(feed.ended)
                continue
            feed.publish(FeedStatus(SubscriptionState.SUBSCRIBED, key=feed.key))
            restored += 1
        return restored
