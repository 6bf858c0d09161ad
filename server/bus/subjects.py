"""The names on the bus: one place for every subject, stream and bucket.

ibkr.gw.<account>.rpc             request/reply: a BrokerService unary call (header `method`)
ibkr.gw.<account>.quotes.want     request/reply: keep quotes of these contracts flowing
ibkr.gw.<account>.stream.open     request/reply: run a stream, publish it to the edge's inbox
ibkr.gw.<account>.stream.keep     request/reply: the edge still reads these streams (JSON)
ibkr.gw.<account>.stream.cancel   the edge's client cancelled this stream (its inbox)
ibkr.quotes.<account>.<con_id>    a Quote (protobuf) of one contract, as the gateway sees it
ibkr.orders.<account>             an OrderEvent (protobuf); captured by the IBKR_ORDERS stream
ibkr.account.<account>.positions  a Position (protobuf) each time TWS updates the portfolio
KV ibkr_gateways <account>        the gateway that serves an account (JSON, refreshed)
"""

from __future__ import annotations

ORDERS_STREAM = "IBKR_ORDERS"
ORDERS_WILDCARD = "ibkr.orders.>"
GATEWAYS_BUCKET = "ibkr_gateways"
GATEWAY_TTL = 10.0  # seconds an entry of ibkr_gateways lives without a refresh


def token(account: str) -> str:
    """An account as one subject token (NATS tokens hold no '.', '*', '>' or spaces)."""
    bad = set(". *>\t\r\n")
    if not account or bad & set(account):
        raise ValueError(f"account {account!r} cannot be a NATS subject token")
    return account


def rpc(account: str) -> str:
    return f"ibkr.gw.{token(account)}.rpc"


def quotes_want(account: str) -> str:
    return f"ibkr.gw.{token(account)}.quotes.want"


def stream_open(account: str) -> str:
    return f"ibkr.gw.{token(account)}.stream.open"


def stream_keep(account: str) -> str:
    return f"ibkr.gw.{token(account)}.stream.keep"


def stream_cancel(account: str) -> str:
    return f"ibkr.gw.{token(account)}.stream.cancel"


def quotes(account: str, con_id: int) -> str:
    return f"ibkr.quotes.{token(account)}.{con_id}"


def orders(account: str) -> str:
    return f"ibkr.orders.{token(account)}"


def positions(account: str) -> str:
    return f"ibkr.account.{token(account)}.positions"
