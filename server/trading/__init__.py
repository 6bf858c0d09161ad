"""Order commands above the session: the trader, pre-trade risk limits, the kill switch.

Uses the session (`BrokerSession`); the session never calls back into this package.
"""
