"""Closed forms and deterministic models: pure, vectorised numpy/scipy."""
