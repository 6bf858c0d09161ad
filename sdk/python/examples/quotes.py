"""Streams live quotes of two stocks and stops after a few updates.

    python sdk/python/examples/quotes.py
"""

import os

from ibkr_broker.client import BrokerClient, BrokerError, StreamReconnected
from ibkr_broker.v1 import market_data_pb2

WANTED = 5

ADDR = os.environ.get("IBKR_BROKER_ADDR") or "127.0.0.1:50051"


def main() -> None:
    with BrokerClient(ADDR) as client:
        seen = 0
        stream = client.stream_quotes(["AAPL", "MSFT"])
        for message in stream:
            if isinstance(message, StreamReconnected):
                continue  # the stream re-opened by itself after a dropped connection
            if message.HasField("status"):
                state = market_data_pb2.SubscriptionState.Name(message.status.state)
                print(f"#{message.sequence} {message.status.contract.symbol}: {state}")
            for q in message.quotes.quotes:
                print(f"#{message.sequence} {q.symbol} bid {q.bid} ask {q.ask} last {q.last}")
                seen += 1 if q.bid else 0  # the first quote of a contract may have no bid yet
            if seen >= WANTED:
                stream.cancel()
                break


if __name__ == "__main__":
    try:
        main()
    except BrokerError as error:
        raise SystemExit(f"error: {error.one_line()}") from None
