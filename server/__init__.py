"""The gRPC broker server: one ibapi session to TWS served over grpc.aio.

Layers (imports only go down; docs/architecture.md): domain <- session <- ib / trading <- api
<- app.
"""
