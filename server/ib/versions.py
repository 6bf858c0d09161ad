"""The TWS API server versions the gateway offers in its handshake.

The gateway offers ibapi's lowest client version up to a ceiling (`[tws] max_server_version`);
TWS answers the lower of its own maximum and that ceiling. From 201 on every message carries a
binary id and, from 201 to 213 step by step, requests and replies travel as protobuf
(reference/tws-protocol.md, section 2.1).

`PROVEN_MAX_SERVER_VERSION` is the newest version the server's integration suite runs against
(its protobuf era, tests/integration/server_env.py `TWS_ERAS`): the default ceiling. A test
keeps the two equal.
"""

from __future__ import annotations

from ibapi.server_versions import MAX_CLIENT_VER, MIN_CLIENT_VER, MIN_SERVER_VER_PROTOBUF

OFFERED_MIN = MIN_CLIENT_VER  # 100 in ibapi 10.50
SUPPORTED_MAX = MAX_CLIENT_VER  # 226 in ibapi 10.50: the most ibapi can decode
PROTOBUF_MIN = MIN_SERVER_VER_PROTOBUF  # 201: binary message ids, protobuf messages
PROVEN_MAX_SERVER_VERSION = 226


def check_max_server_version(value: int) -> int:
    """`value` if ibapi can speak it as a ceiling; ValueError naming the range otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be an integer, not {value!r}")
    if not OFFERED_MIN <= value <= SUPPORTED_MAX:
        raise ValueError(
            f"{value} is outside the versions ibapi speaks ({OFFERED_MIN}..{SUPPORTED_MAX})"
        )
    return value


def era_name(server_version: int) -> str:
    """'protobuf era' from 201 (binary ids), 'text era' below."""
    return "protobuf era" if server_version >= PROTOBUF_MIN else "text era"
