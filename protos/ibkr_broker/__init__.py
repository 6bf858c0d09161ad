"""ibkr-broker: a gRPC broker gateway for Interactive Brokers, with a TWS simulator."""

__version__ = "0.1.0"
