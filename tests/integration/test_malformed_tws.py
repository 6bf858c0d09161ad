"""1,000 malformed frames from a hostile TWS over many connections (issue 10, "Done when").

TWS is a proxy in front of the simulator (tws_proxy.py): the session is real, and on every
connection the proxy slips malformed messages between the simulator's: known message ids with
wrong, missing, extra or absurd fields, unknown ids, empty and binary payloads, messages that
decode but lie (connectivity notices, a live account, foreign order ids), and sometimes a length
prefix beyond IB's maximum (which must reset that one link) or a corrupt handshake reply.
Throughout, the server stays up and answers; afterwards it trades normally against the
simulator, through the same process and again after a restart on the same data directory.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from ibkr_broker.server.domain.model import OrderStatus
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import common_pb2

from tests.waiting import wait_until

from .hostile_env import proxied_env
from .server_env import AAPL, BUY, SELL, ServerEnv, market, place
from .tws_proxy import PROTOBUF_ID, TwsProxy, fields, frame

# Runs in both protocol eras (tests/conftest.py --tws-era).
pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("tws_era")]

FRAMES = 1000
CONNECTIONS = 20
# Message ids TWS sends at server version 178 (tws-protocol.md, section 3).
KNOWN_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 17, 45, 46, 49, 52, 53, 54, 55, 57, 58,
             59, 61, 62, 63, 64, 75, 76, 81, 101, 102]  # fmt: skip
FIELDS = [
    "", "0", "-1", "1", "2", "2147483647", "2147483648", "9223372036854775808", "-2147483649",
    "1e999", "nan", "inf", "-inf", "1.5", "-0", "abc", "DU1234567", "U999", "Filled",
    "Cancelled", "Submitted", "AAPL", "STK", "SMART", "USD", "265598", "x" * 300, "ÿþ", "\x01",
    "20261218", "1100", "1101", "1102", "2110",
]  # fmt: skip


def malformed(rng: random.Random, proxy: TwsProxy) -> bytes:
    """One malformed (or lying) message, framed in the connection's era."""
    kind = rng.randrange(11)
    if kind == 0:
        return frame(b"")
    if kind == 1:
        return frame(rng.randbytes(rng.randrange(1, 200)))
    if kind == 2:  # unknown ids, or no id at all
        return proxy.message(rng.choice([0, 199, 999999, -5, "x", ""]), *rng.choices(FIELDS, k=3))
    if kind == 3:  # a connectivity notice or any error code, for the session or a request
        return proxy.message(
            4,
            2,
            rng.choice([-1, 0, 1, 2_000_000_001]),
            rng.choice([1100, 1101, 1102, 1300, 2110, 502, 504, 10147, 200, 0, -7]),
            "lie",
            "",
        )
    if kind == 4:  # accounts TWS does not have (a live one among them)
        return proxy.message(15, 1, rng.choice(["U999", "", "DU1234567,U999", ",,,", "x" * 500]))
    if kind == 5:  # order ids that are not ours, or absurd
        oid = rng.choice([2**63, 2**31, -1, 0, 10**30, 7])
        return proxy.message(3, oid, rng.choice(FIELDS), *rng.choices(FIELDS, k=rng.randrange(12)))
    if kind == 6 and proxy.server_version > 178:  # a protobuf message that is no protobuf
        msg_id = PROTOBUF_ID + rng.choice(KNOWN_IDS)
        return frame(msg_id.to_bytes(4, "big") + rng.randbytes(rng.randrange(0, 60)))
    return proxy.message(rng.choice(KNOWN_IDS), *rng.choices(FIELDS, k=rng.randrange(0, 40)))


async def answers(env: ServerEnv) -> None:
    """The server answers (whatever the state of its TWS link)."""
    status = await env.stub.GetStatus(pb.GetStatusRequest(), timeout=10)
    assert status.server_software_version
    await env.stub.ListOrders(pb.ListOrdersRequest(), timeout=10)


async def fill(env: ServerEnv, action: int, key: str) -> None:
    placed = await env.stub.PlaceOrder(place(AAPL, market(action, "1"), request_id=key), timeout=15)
    assert env.app is not None
    book = env.app.session.orders
    order_id = placed.order.order_id
    await wait_until(
        lambda: (o := book.get(order_id)) is not None and o.status is OrderStatus.FILLED,
        15,
        f"{key} filled",
    )
    assert 0 < placed.order.ib_order_id < 2**31


async def campaign(env: ServerEnv, proxy: TwsProxy, rng: random.Random) -> dict[str, int]:
    assert env.app is not None
    session = env.app.session
    sent = {"frames": 0, "framing resets": 0, "corrupt handshakes": 0}
    per_connection = FRAMES // CONNECTIONS
    link = 0
    for n in range(CONNECTIONS):
        connections = proxy.connections
        await wait_until(
            lambda li=link: session.ready and session.connection_number > li,
            30,
            f"a new link ready for round {n}",
        )
        link = session.connection_number
        for _ in range(per_connection):
            assert proxy.inject(malformed(rng, proxy)) == 1, (n, proxy.failures)
        sent["frames"] += per_connection
        await answers(env)
        if n % 5 == 4:  # broken framing: only this link resets
            proxy.inject(struct.pack(">I", 0xFFFFFFF0) + b"junk")
            sent["framing resets"] += 1
        else:
            proxy.drop_all()
        if n % 7 == 3:  # the next connection gets a corrupt handshake reply, then a good one
            proxy.rewrite_handshake = lambda _reply: fields("abc", "garbage")
            await wait_until(lambda c=connections: proxy.connections > c + 1, 30, "new link")
            proxy.rewrite_handshake = None
            sent["corrupt handshakes"] += 1
        await wait_until(lambda c=connections: proxy.connections > c, 30, "a new connection")
        await answers(env)
    return sent


async def test_a_thousand_malformed_frames_over_many_connections(tmp_path: Path) -> None:
    rng = random.Random(2026)
    async with proxied_env(tmp_path) as (env, proxy):
        await fill(env, BUY, "before")
        sent = await campaign(env, proxy, rng)
        assert sent["frames"] == FRAMES
        # The same process trades on a fresh link (a lying managedAccounts is forgotten).
        assert env.app is not None
        session = env.app.session
        link = session.connection_number
        proxy.drop_all()
        await wait_until(
            lambda: session.ready and session.connection_number > link, 30, "a clean link"
        )
        status = await env.stub.GetStatus(pb.GetStatusRequest(), timeout=10)
        assert status.connection_state == common_pb2.CONNECTION_STATE_READY
        assert status.trading_enabled, status.trading_disabled_reason
        await fill(env, SELL, "after-same-process")
        # And again after a restart on the same data directory, straight to the simulator.
        env.tws["port"] = env.sim.port
        await env.restart_server()
        await fill(env, BUY, "after-restart")
        listed = await env.stub.ListOrders(pb.ListOrdersRequest(), timeout=10)
        assert {o.request_id for o in listed.orders} >= {
            "before", "after-same-process", "after-restart"
        }  # fmt: skip
        print(f"\nmalformed TWS: {sent}, {proxy.connections} connections")
