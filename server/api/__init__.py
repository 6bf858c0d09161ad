"""gRPC servicers: check the caller, validate, call the trader or the session,
translate; one error boundary (errors.py)."""
