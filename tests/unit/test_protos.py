"""The v1 contract: generated code is fresh, every message round-trips, the style rules hold."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, json_format
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ibkr_broker.v1 import (
    account_pb2,
    broker_service_pb2,
    common_pb2,
    contract_pb2,
    market_data_pb2,
    order_pb2,
)

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "protos" / "ibkr_broker" / "v1"
MODULES = [account_pb2, broker_service_pb2, common_pb2, contract_pb2, market_data_pb2, order_pb2]
MESSAGES: list[Descriptor] = [
    d for m in MODULES for d in m.DESCRIPTOR.message_types_by_name.values()
]
ENUMS: list[EnumDescriptor] = [e for m in MODULES for e in m.DESCRIPTOR.enum_types_by_name.values()]

sys.path.insert(0, str(ROOT / "scripts"))
import gen_protos  # noqa: E402


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    gen_protos.generate(tmp_path)
    fresh = tmp_path / "ibkr_broker" / "v1"
    generated = sorted(p.name for p in fresh.iterdir())
    committed = sorted(
        p.name for p in PROTO_DIR.iterdir() if p.suffix in (".py", ".pyi") and "_pb2" in p.name
    )
    assert generated == committed, "generated file set differs: run `make proto`"
    _, mismatch, errors = filecmp.cmpfiles(fresh, PROTO_DIR, generated, shallow=False)
    assert not mismatch and not errors, (
        f"stale generated code {mismatch + errors}: run `make proto`"
    )


def test_stale_check_detects_a_change(tmp_path: Path) -> None:
    """The freshness check can fail: renaming one field changes the generated module."""
    protos = tmp_path / "protos"
    shutil.copytree(ROOT / "protos", protos, ignore=shutil.ignore_patterns("*.py", "*.pyi"))
    common = protos / "ibkr_broker" / "v1" / "common.proto"
    common.write_text(common.read_text().replace("string message = 2;", "string text = 2;", 1))
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{protos}",
            f"-I{resources.files('grpc_tools') / '_proto'}",
            f"--python_out={out}",
            "ibkr_broker/v1/common.proto",
        ],
        check=True,
        capture_output=True,
    )
    assert not filecmp.cmp(
        out / "ibkr_broker/v1/common_pb2.py", PROTO_DIR / "common_pb2.py", shallow=False
    )


# --- every message encodes and decodes -------------------------------------------------------

SCALARS = {
    FieldDescriptor.TYPE_STRING: st.text(max_size=12),
    FieldDescriptor.TYPE_BOOL: st.booleans(),
    FieldDescriptor.TYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: st.integers(0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: st.integers(0, 2**64 - 1),
}


def message_strategy(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    cls = resources_message_class(descriptor)
    if descriptor.full_name == "google.protobuf.Timestamp":  # only valid times serialize to JSON
        return st.builds(cls, seconds=st.integers(0, 253402300799), nanos=st.integers(0, 10**9 - 1))

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        msg = cls()
        for field in descriptor.fields:
            if field.containing_oneof is not None and draw(st.booleans()):
                continue
            values = (
                draw(st.lists(field_value(field, depth), max_size=2 if depth < 2 else 0))
                if field.is_repeated
                else [draw(field_value(field, depth))]
            )
            for value in values:
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    target = getattr(msg, field.name)
                    (target.add() if field.is_repeated else target).CopyFrom(value)
                elif field.is_repeated:
                    getattr(msg, field.name).append(value)
                else:
                    setattr(msg, field.name, value)
        return msg

    return build()


def field_value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[object]:
    if field.type == FieldDescriptor.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values])
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if depth >= 3:
            return st.just(resources_message_class(field.message_type)())
        return message_strategy(field.message_type, depth + 1)
    return SCALARS[field.type]


def resources_message_class(descriptor: Descriptor) -> type[Message]:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor)


@pytest.mark.parametrize("descriptor", MESSAGES, ids=lambda d: d.name)
def test_every_message_round_trips(descriptor: Descriptor) -> None:
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(message_strategy(descriptor))
    def round_trip(msg: Message) -> None:
        wire = msg.SerializeToString()
        decoded = type(msg).FromString(wire)
        assert decoded == msg
        via_json = json_format.Parse(json_format.MessageToJson(msg), type(msg)())
        assert via_json == msg

    round_trip()


@settings(max_examples=300, deadline=None)
@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None),
    st.decimals(
        allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=10**9, places=8
    ),
)
def test_decimals_survive_exactly(quantity: Decimal, price: Decimal) -> None:
    spec = order_pb2.OrderSpec(quantity=str(quantity), limit_price=str(price))
    back = order_pb2.OrderSpec.FromString(spec.SerializeToString())
    assert Decimal(back.quantity) == quantity and str(Decimal(back.quantity)) == str(quantity)
    assert Decimal(back.limit_price) == price and back.limit_price == str(price)


def test_no_float_fields_anywhere() -> None:
    floats = [
        f"{d.full_name}.{f.name}"
        for d in MESSAGES
        for f in d.fields
        if f.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)
    ]
    assert floats == [], "prices and quantities are decimal strings"


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.name)
def test_enum_zero_value_is_unspecified(enum: EnumDescriptor) -> None:
    prefix = "".join("_" + c if c.isupper() else c.upper() for c in enum.name).lstrip("_")
    assert enum.values_by_number[0].name == f"{prefix}_UNSPECIFIED"
    assert all(v.name.startswith(prefix + "_") for v in enum.values)


def test_times_are_timestamps_named_time() -> None:
    for d in MESSAGES:
        for f in d.fields:
            if f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type.full_name == (
                "google.protobuf.Timestamp"
            ):
                assert f.name.endswith("_time"), f"{d.name}.{f.name}"


def test_every_field_enum_and_method_is_commented(tmp_path: Path) -> None:
    out = tmp_path / "set.pb"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{ROOT / 'protos'}",
            f"-I{resources.files('grpc_tools') / '_proto'}",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            *(f"ibkr_broker/v1/{p.name}" for p in sorted(PROTO_DIR.glob("*.proto"))),
        ],
        check=True,
        capture_output=True,
    )
    fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    missing = []
    for file in fds.file:
        commented = {
            tuple(loc.path)
            for loc in file.source_code_info.location
            if loc.leading_comments.strip()
        }
        for i, msg in enumerate(file.message_type):
            if (4, i) not in commented:
                missing.append(msg.name)
            missing += [
                f"{msg.name}.{f.name}"
                for j, f in enumerate(msg.field)
                if (4, i, 2, j) not in commented
            ]
        for i, enum in enumerate(file.enum_type):
            missing += [
                f"{enum.name}.{v.name}"
                for j, v in enumerate(enum.value)
                if (5, i, 2, j) not in commented
            ]
        for i, svc in enumerate(file.service):
            missing += [
                f"{svc.name}.{m.name}"
                for j, m in enumerate(svc.method)
                if (6, i, 2, j) not in commented
            ]
    assert missing == []


def test_service_has_the_v1_methods() -> None:
    service = broker_service_pb2.DESCRIPTOR.services_by_name["BrokerService"]
    assert service.full_name == "ibkr_broker.v1.BrokerService"
    required = {
        "GetStatus",
        "ResolveContract",
        "GetOptionChain",
        "PlaceOrder",
        "ModifyOrder",
        "CancelOrder",
        "CancelAllOrders",
        "GetOrder",
        "ListOrders",
        "StreamOrderEvents",
        "GetAccount",
        "ListPositions",
        "GetQuote",
        "StreamQuotes",
        "GetHistoricalBars",
        "StreamBars",
        "StreamPnL",
        "StreamMarketDepth",
    }
    assert required <= set(service.methods_by_name)
    streams = {m.name for m in service.methods if m.server_streaming}
    assert streams == {
        "StreamOrderEvents",
        "StreamQuotes",
        "StreamBars",
        "StreamPnL",
        "StreamMarketDepth",
    }
    assert not any(m.client_streaming for m in service.methods)


def test_buf_lint_is_clean() -> None:
    buf = Path(sys.executable).parent / "buf"
    result = subprocess.run(
        [str(buf), "lint"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
