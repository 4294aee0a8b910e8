"""Generated gRPC contracts (by `make proto`); never edit by hand."""
