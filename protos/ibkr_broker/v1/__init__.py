"""Generated Python for the ibkr_broker.v1 protobuf package (run `make proto` to regenerate)."""
