#!/bin/sh
# Regenerate the SDKs' committed code from protos/ with the tools `make test` installs:
#   go: sdk/go/ibkr_broker/v1 (buf.gen.yaml; Debian's protoc-gen-go and protoc-gen-go-grpc)
#   ts: sdk/ts/src/gen (buf.gen.ts.yaml; sdk/ts's protoc-gen-es), plus google.rpc.ErrorInfo from
#       the error_details.proto that googleapis-common-protos installs
# Usage: scripts/gen_sdk.sh go|ts [OUT_BASE]  (default: the repository; the staleness test
# passes a temporary directory and compares)
set -eu
cd "$(dirname "$0")/.."
BUF=.venv/bin/buf
OUT=${2:-.}
case "${1:-}" in
go)
	"$BUF" generate --template buf.gen.yaml -o "$OUT"
	;;
ts)
	"$BUF" generate --template buf.gen.ts.yaml -o "$OUT"
	rpc=$(mktemp -d)
	trap 'rm -rf "$rpc"' EXIT
	mkdir -p "$rpc/google/rpc"
	cp "$(.venv/bin/python -c 'import google.rpc.error_details_pb2 as m, pathlib
print(pathlib.Path(m.__file__).parent)')/error_details.proto" "$rpc/google/rpc/"
	"$BUF" generate "$rpc" --template buf.gen.ts.yaml -o "$OUT"
	;;
*)
	echo "usage: $0 go|ts [OUT_BASE]" >&2
	exit 2
	;;
esac
