"""Places a limit order far below the market, cancels it, then shows how a refused order reaches
the caller: a BrokerError with the reason, the field at fault and, when IB refused it, IB's code
(a limit price off the tick size is refused by the server before it reaches IB).

    python sdk/python/examples/order.py
"""

import os
from decimal import Decimal

from ibkr_broker.client import BrokerClient, BrokerError, order_spec
from ibkr_broker.v1 import order_pb2

ADDR = os.environ.get("IBKR_BROKER_ADDR") or "127.0.0.1:50051"


def main() -> None:
    with BrokerClient(ADDR) as client:
        bid = Decimal(client.quote("AAPL").bid)
        price = (bid / 2).quantize(Decimal("0.01"))
        order = client.place_order("AAPL", order_spec("buy", 1, "limit", limit_price=price)).order
        status = order_pb2.OrderStatus.Name(order.status)
        print(f"placed {order.order_id}: buy 1 AAPL at {price} (bid {bid}): {status}")
        cancelled = client.cancel_order(order.order_id)
        print(f"cancelled {order.order_id}: {order_pb2.OrderStatus.Name(cancelled.status)}")
        try:
            client.place_order("AAPL", order_spec("buy", 1, "limit", limit_price="100.001"))
            raise SystemExit("expected a refusal of a price off the tick size")
        except BrokerError as error:
            print(f"refused: {error.one_line()}")
            code = error.code.name if error.code else ""
            print(f"  code {code}, reason {error.reason}, field {error.field}, "
                  f"IB code {error.ib_code}")


if __name__ == "__main__":
    try:
        main()
    except BrokerError as error:
        raise SystemExit(f"error: {error.one_line()}") from None
