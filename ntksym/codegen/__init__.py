"""Codegen stage: Derivation -> readable, standalone JAX module text -> imported module."""
