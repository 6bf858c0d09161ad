"""The simulator's TWS API codec: wire framing, request parsers, reply builders and the
per-connection protocol state. Pure: nothing here opens a socket, runs a loop or reads a clock.
"""
