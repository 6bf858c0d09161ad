"""Beyond one process: the gateway's side of NATS JetStream (publish, answer, replicate) and
the edge's side (serve the gRPC API from the bus). Sits above server/api, below the app."""
