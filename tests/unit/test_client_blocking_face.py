"""BrokerClient, the blocking face of the async core: what a caller of a blocking client expects.

No event loop of the caller's is touched; it works from any thread and inside a running loop;
close() (or dropping the client) ends its private loop thread; Ctrl-C is not swallowed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import inspect
import signal
import sys
import threading
from typing import Any

import pytest
from ibkr_broker.client import BrokerClient, ClientClosedError, order_spec, stock
from ibkr_broker.client.loop_thread import BlockingIterator, LoopThread

from tests.unit.client_fake import FakeServer, quote, quote_batch
from tests.waiting import wait_until_sync

pytestmark = pytest.mark.timeout(20)

THREAD_NAME = "ibkr-broker-client"
_FUTURES = concurrent.futures._base.__file__


def client_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == THREAD_NAME}


def test_close_ends_the_private_thread_and_later_calls_say_the_client_is_closed(
    server: FakeServer,
) -> None:
    before = client_threads()
    client = BrokerClient(config=server.config())
    [thread] = client_threads() - before
    assert client.status().paper_trading
    client.close()
    assert not thread.is_alive()
    with pytest.raises(ClientClosedError):
        client.status()
    client.close()  # idempotent


def test_a_client_dropped_without_close_still_ends_its_thread(server: FakeServer) -> None:
    before = client_threads()
    client = BrokerClient(config=server.config())
    assert client.status().paper_trading
    [thread] = client_threads() - before
    del client
    gc.collect()
    wait_until_sync(lambda: not thread.is_alive(), 10, "the loop thread of a collected client")


def test_a_bad_setting_raises_and_leaves_no_thread(server: FakeServer) -> None:
    before = client_threads()
    with pytest.raises(ValueError, match="ca_cert"):
        BrokerClient(server.target, ca_cert="/nonexistent/ca.pem")
    with pytest.raises(TypeError, match="colour"):
        BrokerClient(server.target, colour="blue")  # type: ignore[call-arg]
    wait_until_sync(lambda: client_threads() <= before, 10, "no thread left behind")


def test_the_callers_thread_gets_no_event_loop(server: FakeServer) -> None:
    seen: dict[str, Any] = {}

    def use_the_client() -> None:
        with BrokerClient(config=server.config()) as client:
            seen["ready"] = client.status().paper_trading
            seen["placed"] = client.place_order("AAPL", order_spec("buy", 1)).order.order_id
        try:
            asyncio.get_event_loop()
        except RuntimeError:
            seen["loop"] = None
        else:
            seen["loop"] = "an event loop was set in the caller's thread"

    worker = threading.Thread(target=use_the_client)
    worker.start()
    worker.join(15)
    assert seen == {"ready": True, "placed": "ord-1", "loop": None}


async def test_it_works_inside_a_running_event_loop(server: FakeServer) -> None:
    running = asyncio.get_running_loop()
    with BrokerClient(config=server.config()) as client:
        assert client.status().paper_trading
        assert client.resolve_contract("AAPL")[0].long_name == "APPLE INC"
    assert asyncio.get_running_loop() is running and not running.is_closed()


def test_many_threads_share_one_client(server: FakeServer) -> None:
    with BrokerClient(config=server.config()) as client:
        placed: list[str] = []
        lock = threading.Lock()

        def place_five() -> None:
            for _ in range(5):
                order_id = client.place_order("AAPL", order_spec("buy", 1)).order.order_id
                with lock:
                    placed.append(order_id)

        workers = [threading.Thread(target=place_five) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(15)
    assert len(set(placed)) == 40 and server.broker.placed == 40


def test_closing_the_client_ends_its_open_stream(server: FakeServer) -> None:
    server.broker.quote_messages = [quote_batch(1, quote("AAPL", "1", "2", "1.5"))]
    server.broker.hold_streams_open = True
    client = BrokerClient(config=server.config())
    stream = client.stream_quotes(["AAPL"])
    assert next(stream).sequence == 1  # type: ignore[union-attr]
    client.close()
    assert list(stream) == []
    wait_until_sync(lambda: server.broker.holding == 0, 10, "the server saw the stream end")


def _waiting_for_a_result(thread_id: int) -> bool:
    """True while the thread waits in LoopThread.run for a call's result (in threading)."""
    frame = sys._current_frames().get(thread_id)
    if frame is None or frame.f_code.co_filename != threading.__file__:
        return False
    while frame is not None and frame.f_code.co_filename in (threading.__file__, _FUTURES):
        frame = frame.f_back
    return frame is not None and frame.f_code is LoopThread.run.__code__


def _waiting_in_next(thread_id: int) -> bool:
    """True while the thread waits in a blocking iterator's next() for the next item."""
    lines, first = inspect.getsourcelines(BlockingIterator.__next__)
    waiting_line = first + next(i for i, text in enumerate(lines) if "self._queue.get()" in text)
    frame = sys._current_frames().get(thread_id)
    return (
        frame is not None
        and frame.f_code is BlockingIterator.__next__.__code__
        and frame.f_lineno == waiting_line
    )


def test_ctrl_c_while_a_stream_waits_is_not_swallowed_and_cancels_the_call(
    server: FakeServer,
) -> None:
    server.broker.hold_streams_open = True  # no message: the first next() blocks
    main = threading.main_thread()
    assert threading.current_thread() is main
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupt() -> None:
        wait_until_sync(lambda: server.broker.holding == 1, 10, "the stream is open")
        wait_until_sync(lambda: _waiting_in_next(main.ident or 0), 10, "next() is waiting")
        signal.pthread_kill(main.ident or 0, signal.SIGINT)

    try:
        with BrokerClient(config=server.config()) as client:
            stream = client.stream_quotes(["AAPL"])
            helper = threading.Thread(target=interrupt)
            helper.start()
            with pytest.raises(KeyboardInterrupt):
                next(stream)
            helper.join(10)
            wait_until_sync(lambda: server.broker.holding == 0, 10, "the server saw the cancel")
            with pytest.raises(StopIteration):
                next(stream)
            assert client.status().paper_trading  # the client itself goes on working
            assert client.place_order(stock("AAPL"), order_spec("buy", 1)).order.order_id
    finally:
        signal.signal(signal.SIGINT, previous)


def test_cancel_ends_the_iteration_at_once_even_with_messages_read_ahead(
    server: FakeServer,
) -> None:
    server.broker.quote_messages = [quote_batch(i, quote("AAPL", "1", "2", "1")) for i in (1, 2, 3)]
    server.broker.hold_streams_open = True
    with BrokerClient(config=server.config()) as client:
        stream = client.stream_quotes(["AAPL"])
        assert next(stream).sequence == 1  # type: ignore[union-attr]
        wait_until_sync(lambda: server.broker.holding == 1, 10, "all three sent")
        stream.cancel()
        assert list(stream) == []
        wait_until_sync(lambda: server.broker.holding == 0, 10, "the server saw the cancel")


def test_ctrl_c_during_a_call_is_not_swallowed_and_cancels_the_call(server: FakeServer) -> None:
    server.broker.hold_status = True
    main = threading.main_thread()
    assert threading.current_thread() is main
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupt() -> None:
        wait_until_sync(lambda: server.broker.holding == 1, 10, "the call reached the server")
        wait_until_sync(lambda: _waiting_for_a_result(main.ident or 0), 10, "status() waits")
        signal.pthread_kill(main.ident or 0, signal.SIGINT)

    try:
        with BrokerClient(config=server.config()) as client:
            helper = threading.Thread(target=interrupt)
            helper.start()
            with pytest.raises(KeyboardInterrupt):
                client.status()
            helper.join(10)
            wait_until_sync(lambda: server.broker.holding == 0, 10, "the server saw the cancel")
            server.broker.hold_status = False
            assert client.status().paper_trading  # the client goes on working
    finally:
        signal.signal(signal.SIGINT, previous)
