"""Helpers of the security tests: tokens of each role, generic calls of any method, raw HTTP/2.

async with ServerEnv(tmp_path, sections=with_tokens(read_only=True)) as env:
    code, info = await outcome(call(env.channel, "PlaceOrder", bearer("admin")))
"""

from __future__ import annotations

import hashlib
import secrets
import socket
import struct
from typing import Any

import grpc
from google.protobuf import message_factory
from google.rpc import error_details_pb2, status_pb2
from ibkr_broker.v1 import broker_service_pb2

SERVICE = broker_service_pb2.DESCRIPTOR.services_by_name["BrokerService"]
METHODS = {m.name: m for m in SERVICE.methods}
# One token per role, made afresh for each test run; the audit log must never show them.
TOKENS = {role: f"{role}-{secrets.token_urlsafe(24)}" for role in ("read", "trade", "admin")}
NAMES = {"read": "dashboard", "trade": "algo-1", "admin": "ops"}


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def with_tokens(**security: Any) -> dict[str, dict[str, Any]]:
    """ServerEnv sections: the three tokens plus other [security] settings."""
    tokens = [
        {"name": NAMES[role], "role": role, "sha256": sha256(token)}
        for role, token in TOKENS.items()
    ]
    return {"security": {"tokens": tokens, **security}}


def bearer(role: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {TOKENS[role]}"),)


def request_of(method: str, **fields: Any) -> Any:
    return message_factory.GetMessageClass(METHODS[method].input_type)(**fields)


def call(
    channel: grpc.aio.Channel,
    method: str,
    metadata: Any = None,
    request: Any = None,
    timeout: float = 10,
) -> Any:
    """Start a call of any BrokerService method (an empty request unless given)."""
    desc = METHODS[method]
    response = message_factory.GetMessageClass(desc.output_type)
    kind = channel.unary_stream if desc.server_streaming else channel.unary_unary
    stub = kind(
        f"/{SERVICE.full_name}/{method}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response.FromString,
    )
    return stub(request or request_of(method), metadata=metadata, timeout=timeout)


async def outcome(rpc: Any) -> tuple[grpc.StatusCode, error_details_pb2.ErrorInfo | None]:
    """The status code of a finished (or refused) call and its ErrorInfo, if any."""
    code = await rpc.code()
    return code, error_info(await rpc.trailing_metadata())


def error_info(trailing: Any) -> error_details_pb2.ErrorInfo | None:
    for key, value in trailing or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return info
    return None


# --- a bare HTTP/2 client: sends header bytes that grpc's own clients refuse to send ----------


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    header = struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream)
    return header + payload


def _int7(n: int) -> bytes:
    if n < 127:
        return bytes([n])
    out, n = [127], n - 127
    while n >= 128:
        out.append((n & 127) | 128)
        n >>= 7
    return bytes([*out, n])


def _literal(name: bytes, value: bytes) -> bytes:
    """HPACK literal header field without indexing, no Huffman coding."""
    return b"\x00" + _int7(len(name)) + name + _int7(len(value)) + value


def raw_unary_call(port: int, method: str, authorization: bytes, timeout: float = 10) -> bytes:
    """Call a method with an empty request over plaintext HTTP/2 with the raw header bytes;
    returns the header block that ends the stream (the trailers, with grpc-status)."""
    headers = b"".join(
        _literal(k, v)
        for k, v in (
            (b":method", b"POST"),
            (b":scheme", b"http"),
            (b":path", f"/{SERVICE.full_name}/{method}".encode()),
            (b":authority", f"127.0.0.1:{port}".encode()),
            (b"content-type", b"application/grpc"),
            (b"te", b"trailers"),
            (b"authorization", authorization),
        )
    )
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + _frame(4, 0, 0, b"")
    end_headers, end_stream = 0x4, 0x1
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(
            preface
            + _frame(1, end_headers, 1, headers)
            + _frame(0, end_stream, 1, b"\x00\x00\x00\x00\x00")  # an empty gRPC message
        )
        buffer = b""
        while True:
            while len(buffer) >= 9:
                length = int.from_bytes(buffer[:3], "big")
                if len(buffer) < 9 + length:
                    break
                kind, flags = buffer[3], buffer[4]
                stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
                payload, buffer = buffer[9 : 9 + length], buffer[9 + length :]
                if kind == 1 and stream == 1 and flags & end_stream:
                    return payload
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection without trailers")
            buffer += chunk
