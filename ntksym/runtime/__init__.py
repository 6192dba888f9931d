"""Runtime stage: evaluate generated functions on data."""
