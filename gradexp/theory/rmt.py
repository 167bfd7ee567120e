"""Products of random matrices: the Fuss–Catalan law (Bjorck et al.). Filled in by its issue."""

__all__: list[str] = []
