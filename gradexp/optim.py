"""Learning-rate schedules and layer-wise update rules. Filled in by its issue."""

__all__: list[str] = []
