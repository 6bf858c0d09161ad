#!/bin/sh
# Build the Go SDK's examples into OUT_DIR (default build/go) offline: GOPATH mode against the
# Go packages Debian installs under /usr/share/gocode (grpc-go, protobuf-go, genproto), so no
# module proxy is needed. Users with the proxy use go.mod instead (see sdk/go/README.md).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "${1:-$ROOT/build/go}" && cd "${1:-$ROOT/build/go}" && pwd)
MODULE=github.com/ibkr-broker/ibkr-broker/sdk/go
GOPATH_DIR="$OUT/gopath"
mkdir -p "$GOPATH_DIR/src/$(dirname "$MODULE")"
ln -sfn "$ROOT/sdk/go" "$GOPATH_DIR/src/$MODULE"
for example in "$ROOT"/sdk/go/examples/*/; do
	name=$(basename "$example")
	GO111MODULE=off GOPATH="$GOPATH_DIR:/usr/share/gocode" GOFLAGS= \
		go build -o "$OUT/$name" "$MODULE/examples/$name"
done
