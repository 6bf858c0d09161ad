"""Package discovery under pyproject's `[tool.setuptools.package-dir]` mapping.

setuptools' `packages.find` names what it finds after the directory it searched (`server/api`
would install as a top-level `api`), so it cannot discover `ibkr_broker.server.api` under
`server/`. This file does that: for every import root in the mapping it finds the packages in
the root's directory and prefixes them with the root's import name. Nothing is listed by hand, so
a new subpackage is in the wheel without a change here. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def discovered_packages() -> list[str]:
    with open(HERE / "pyproject.toml", "rb") as fh:
        package_dir: dict[str, str] = tomllib.load(fh)["tool"]["setuptools"]["package-dir"]
    packages = []
    for root, directory in package_dir.items():
        packages.append(root)
        packages += [f"{root}.{sub}" for sub in find_packages(where=str(HERE / directory))]
    # A root nested in another root's directory (none today) would be found twice.
    return sorted(set(packages))


setup(packages=discovered_packages())
