#!/usr/bin/env bash
# mypy over the import names (ibkr_broker.server, ...): the source directories are mapped to
# them by pyproject, which mypy cannot follow, so a tree of symlinks gives it the real layout.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=.lint/tree
rm -rf "$tree" && mkdir -p "$tree/ibkr_broker"
for entry in protos/ibkr_broker/*; do ln -s "../../../$entry" "$tree/ibkr_broker/"; done
for pkg in server client simulator; do ln -s "../../../$pkg" "$tree/ibkr_broker/$pkg"; done
MYPYPATH="$tree" exec .venv/bin/mypy --explicit-package-bases -p ibkr_broker.server -p ibkr_broker.client "$@"
