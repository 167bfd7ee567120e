"""Doctest collection of gradexp.torch: skipped entirely when PyTorch is not installed."""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("torch") else ["*.py"]
