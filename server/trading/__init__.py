"""Order commands above the session: the trader, pre-trade risk limits, the kill switch."""
