"""gRPC service (see issue: service)."""
