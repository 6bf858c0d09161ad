"""Checks the connection: the gateway's session with TWS, its accounts, paper or live.

    IBKR_BROKER_ADDR=127.0.0.1:50051 python sdk/python/examples/status.py
"""

import os

from ibkr_broker.client import BrokerClient, BrokerError
from ibkr_broker.v1 import common_pb2

ADDR = os.environ.get("IBKR_BROKER_ADDR") or "127.0.0.1:50051"


def main() -> None:
    with BrokerClient(ADDR) as client:
        status = client.status()
        print("connection:", common_pb2.ConnectionState.Name(status.connection_state))
        print(f"accounts: {list(status.accounts)} (paper trading: {status.paper_trading})")
        print("trading enabled:", status.trading_enabled, status.trading_disabled_reason)


if __name__ == "__main__":
    try:
        main()
    except BrokerError as error:
        raise SystemExit(f"error: cannot reach ibkr-broker at {ADDR}: {error.one_line()}") from None
