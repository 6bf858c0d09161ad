"""Resolves a contract from a partial spec, then shows how an unknown symbol fails.

    python sdk/python/examples/resolve.py
"""

import os

from ibkr_broker.client import BrokerClient, BrokerError, ContractNotFoundError

ADDR = os.environ.get("IBKR_BROKER_ADDR") or "127.0.0.1:50051"


def main() -> None:
    with BrokerClient(ADDR) as client:
        for match in client.resolve_contract("AAPL"):
            c = match.contract
            where = f"{c.currency} on {c.primary_exchange}"
            print(f"AAPL: con_id {c.con_id}, {match.long_name}, {where}, tick {match.min_tick}")
        try:
            client.resolve_contract("NOSUCH")
            raise SystemExit("NOSUCH: expected a not-found error")
        except ContractNotFoundError as error:
            print(f"NOSUCH: {error.one_line()} (reason {error.reason}, IB code {error.ib_code})")


if __name__ == "__main__":
    try:
        main()
    except BrokerError as error:
        raise SystemExit(f"error: {error.one_line()}") from None
