"""pyproject.toml gives users compatible ranges, constraints.txt gives CI exact pins, and the
generated code's own version requirements sit inside both."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "protos" / "ibkr_broker" / "v1"


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    reqs = [Requirement(r) for r in [*project["dependencies"], *(r for e in extras for r in e)]]
    return [r for r in reqs if canonicalize_name(r.name) != "ibkr-broker"]


def pins() -> dict[str, Version]:
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"constraints.txt: {line!r} is not an exact pin"
        pinned[canonicalize_name(req.name)] = Version(spec.version)
    return pinned


def base(name: str) -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (req,) = [Requirement(r) for r in project["dependencies"] if Requirement(r).name == name]
    return req


def test_the_client_install_gives_ranges_not_exact_pins() -> None:
    for name in ("grpcio", "protobuf"):
        operators = {s.operator for s in base(name).specifier}
        assert operators == {">=", "<"}, f"{name}: {base(name).specifier}"


def test_ranges_admit_what_the_generated_code_needs_and_nothing_older() -> None:
    text = "\n".join(p.read_text() for p in GENERATED.glob("*_pb2*.py"))
    protobuf_needs = set(re.findall(r"# Protobuf Python Version: (\S+)", text))
    grpc_needs = set(re.findall(r"GRPC_GENERATED_VERSION = '([^']+)'", text))
    assert len(protobuf_needs) == 1 and len(grpc_needs) == 1, (protobuf_needs, grpc_needs)
    for name, needed in (("protobuf", protobuf_needs.pop()), ("grpcio", grpc_needs.pop())):
        spec = base(name).specifier
        lower = Version(next(s.version for s in spec if s.operator == ">="))
        upper = Version(next(s.version for s in spec if s.operator == "<"))
        assert lower == Version(needed), f"{name}: the generated code needs >= {needed}"
        assert upper.major == Version(needed).major + 1, f"{name}: a range within one major"


def test_every_requirement_is_pinned_within_its_range() -> None:
    pinned = pins()
    for req in requirements():
        name = canonicalize_name(req.name)
        assert name in pinned, f"constraints.txt has no pin for {req.name}"
        assert req.specifier.contains(pinned[name]), f"{req.name}=={pinned[name]} not in {req}"


def test_the_development_environment_has_the_pinned_versions() -> None:
    for name, version in pins().items():
        assert Version(metadata.version(name)) == version, f"{name}: make venv again"
