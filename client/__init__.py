"""Python client of the broker API: BrokerClient, BrokerAdapter, IBKRAdapter, the CLI.

Needs grpcio and protobuf only (never ibapi, never the server). The pieces:

- `AsyncBrokerClient` (the one core) / `BrokerClient` (its blocking face): typed wrappers over
  the gRPC stub (protos in and out), with deadlines, retries that reuse the request_id,
  self-healing streams, and live order handles (`place()`: `OrderHandle`);
- `stock`, `option`, `combo`, `contract`, `order_spec`, `bracket`: request builders;
- `BrokerAdapter` / `IBKRAdapter`: the dict-in, dict-out interface for agents;
- `AdapterManager`: adapters by name from config/broker_adapters.json;
- `BrokerError` and its subclasses (see `errors`).
"""

import logging

from .adapter import IBKRAdapter
from .aio import AsyncBrokerClient
from .broker_adapter import BrokerAdapter
from .broker_client import BrokerClient
from .connection import ClientConfig
from .contracts import combo, contract, option, stock
from .errors import (
    AmbiguousContractError,
    AuthenticationError,
    BrokerError,
    ContractNotFoundError,
    DeadlineExceededError,
    DuplicateRequestError,
    InvalidOrderError,
    NotFoundError,
    OrderNotFoundError,
    OrderRejectedError,
    OutOfRangeError,
    PermissionDeniedError,
    RateLimitedError,
    RiskLimitError,
    TradingHaltedError,
    UnavailableError,
)
from .loop_thread import ClientClosedError
from .manager import AdapterConfigError, AdapterManager, BrokerManager
from .order_handle import AsyncOrderHandle, OrderHandle
from .orders import bracket, order_from_dict, order_spec
from .streams import StreamReconnected

# A library logs, the application decides where to (the CLI shows them with --verbose).
logging.getLogger("ibkr_broker.client").addHandler(logging.NullHandler())

__all__ = [
    "AdapterConfigError",
    "AdapterManager",
    "AmbiguousContractError",
    "AsyncBrokerClient",
    "AsyncOrderHandle",
    "AuthenticationError",
    "BrokerAdapter",
    "BrokerClient",
    "BrokerError",
    "BrokerManager",
    "ClientClosedError",
    "ClientConfig",
    "ContractNotFoundError",
    "DeadlineExceededError",
    "DuplicateRequestError",
    "IBKRAdapter",
    "InvalidOrderError",
    "NotFoundError",
    "OrderHandle",
    "OrderNotFoundError",
    "OrderRejectedError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RiskLimitError",
    "StreamReconnected",
    "TradingHaltedError",
    "UnavailableError",
    "bracket",
    "combo",
    "contract",
    "option",
    "order_from_dict",
    "order_spec",
    "stock",
]
