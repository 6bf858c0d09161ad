"""`ibkr-broker token NAME ROLE`: make a bearer token and the config block that admits it.

The token is printed once, to give to the client (IBKR_BROKER_TOKEN or --token); the server's
config keeps only its SHA-256. `--stdin` hashes an existing token read from standard input
instead (so it never appears in a command line or shell history).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import sys
from collections.abc import Sequence

from .config import ROLES


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The hex SHA-256 of the token's UTF-8 bytes: what [[security.tokens]] sha256 holds."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def config_block(name: str, role: str, token: str) -> str:
    # json.dumps quotes a string the way a TOML basic string reads it
    return (
        "[[security.tokens]]\n"
        f"name = {json.dumps(name)}\n"
        f"role = {json.dumps(role)}\n"
        f'sha256 = "{token_hash(token)}"\n'
    )


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        prog="ibkr-broker token",
        description="Generate a bearer token and print the [[security.tokens]] block for it.",
    )
    p.add_argument("name", help="the token's name (shown in the audit log and the kill switch)")
    p.add_argument("role", choices=ROLES, help="read, trade or admin")
    p.add_argument(
        "--stdin", action="store_true", help="hash a token read from standard input instead"
    )
    args = p.parse_args(list(argv))
    if not args.name.strip():
        p.error("the name must not be empty")
    if args.stdin:
        token = sys.stdin.readline().strip()
        if not token:
            p.error("no token on standard input")
    else:
        token = new_token()
        print("token (shown only now; give it to the client as IBKR_BROKER_TOKEN or --token):")
        print(f"    {token}")
        print()
    print("server config (add to the TOML file; it holds only the hash):")
    print()
    print(config_block(args.name, args.role, token), end="")
    return 0
