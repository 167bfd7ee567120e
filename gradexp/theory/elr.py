"""Effective-learning-rate model (Mehmeti-Göpel & Wand). Filled in by its issue."""

__all__: list[str] = []
