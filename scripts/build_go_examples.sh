#!/bin/sh
# Build Go programs into OUT_DIR (default build/go) offline: GOPATH mode against the Go packages
# Debian installs under /usr/share/gocode (grpc-go, protobuf-go, genproto), so no module proxy is
# needed. Users with the proxy use go.mod instead (see sdk/go/README.md).
#
#   scripts/build_go_examples.sh [OUT_DIR [PROGRAM_DIR...]]
#
# Without PROGRAM_DIRs it builds the Go SDK's examples (sdk/go/examples/*); with them, those
# directories (relative to the repository, e.g. bench/go/quote_readers, the benchmarks' Go quote
# reader), each into OUT_DIR/<directory name>.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "${1:-$ROOT/build/go}" && cd "${1:-$ROOT/build/go}" && pwd)
[ $# -gt 0 ] && shift
MODULE=github.com/ibkr-broker/ibkr-broker/sdk/go
GOPATH_DIR="$OUT/gopath"
mkdir -p "$GOPATH_DIR/src/$(dirname "$MODULE")"
ln -sfn "$ROOT/sdk/go" "$GOPATH_DIR/src/$MODULE"
build() { # build PACKAGE (an import path, or . in the current directory) into OUT/NAME
	GO111MODULE=off GOPATH="$GOPATH_DIR:/usr/share/gocode" GOFLAGS= go build -o "$OUT/$2" "$1"
}
if [ $# -eq 0 ]; then
	for example in "$ROOT"/sdk/go/examples/*/; do
		build "$MODULE/examples/$(basename "$example")" "$(basename "$example")"
	done
fi
for dir in "$@"; do
	[ -d "$ROOT/$dir" ] || { echo "build_go_examples.sh: no directory $ROOT/$dir" >&2; exit 2; }
	(cd "$ROOT/$dir" && build . "$(basename "$dir")")
done
