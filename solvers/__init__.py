"""Solver back-ends: no gRPC, only matcher domain models."""
