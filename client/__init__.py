"""Python client of the broker API: BrokerClient, BrokerAdapter, IBKRAdapter, the CLI."""
