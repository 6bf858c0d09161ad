"""BrokerSession: all mutable broker state, on the asyncio loop, over a `Gateway` to IB."""
