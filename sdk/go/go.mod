module github.com/ibkr-broker/ibkr-broker/sdk/go

go 1.19

require (
	google.golang.org/genproto/googleapis/rpc v0.0.0-20250707201910-8d1bb00bc6a7
	google.golang.org/grpc v1.75.1
	google.golang.org/protobuf v1.36.6
)
