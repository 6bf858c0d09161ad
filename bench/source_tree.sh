#!/usr/bin/env bash
# A tree of another commit's code under its import names, for bench_order_path.py --before:
#   bench/source_tree.sh main /tmp/before   ->  PYTHONPATH=/tmp/before/tree runs main's server
set -euo pipefail
ref=$1 out=$2
cd "$(dirname "$0")/.."
rm -rf "$out" && mkdir -p "$out/src" "$out/tree/ibkr_broker"
git archive "$ref" | tar -x -C "$out/src"
for entry in "$out"/src/protos/ibkr_broker/*; do ln -s "$entry" "$out/tree/ibkr_broker/"; done
for pkg in server client simulator; do ln -s "$out/src/$pkg" "$out/tree/ibkr_broker/$pkg"; done
echo "$out/tree"
