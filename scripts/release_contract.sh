#!/usr/bin/env bash
# Write the buf image of the API contract as released at a git ref, for `buf breaking`.
#
#   scripts/release_contract.sh REF OUT     e.g. scripts/release_contract.sh v0.2.0 protos/released/v1-0.2.0.binpb
#
# The image is committed, so the compatibility check (tests/unit/test_api_compatible.py, make
# lint) needs neither the network nor the git history. protos/released/v1-0.1.0.binpb is the
# contract of ibkr-broker 0.1.0, commit 95402f6.
set -euo pipefail
ref=${1:?usage: $0 REF OUT}
out=${2:?usage: $0 REF OUT}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$root" archive "$ref" protos buf.yaml | tar -x -C "$work"
(cd "$work" && "$root/.venv/bin/buf" build --exclude-source-info -o "$work/image.binpb")
cp "$work/image.binpb" "$out"
echo "wrote $out (the contract at $ref)"
