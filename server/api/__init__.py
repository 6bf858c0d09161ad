"""gRPC servicers: check the caller, validate, call the session, translate."""
