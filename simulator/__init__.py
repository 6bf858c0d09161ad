"""A TWS simulator speaking the TWS API socket protocol (server version 178)."""
