"""BrokerSession: all mutable broker state, on the asyncio loop, over an `IbPort` to IB."""
