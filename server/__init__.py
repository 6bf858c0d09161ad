"""The gRPC broker server: one ibapi session to TWS served over grpc.aio."""
