"""Experiments: the computations that claims, figures and tours share.

An experiment runs simulators (:mod:`gradexp.mc`) and models (:mod:`gradexp.theory`) at given
settings and returns plain data (floats, arrays, dicts with standard errors). It takes its
randomness as ``rng=`` (SPEC 7) and runs expensive calls through the result store
(:func:`gradexp.sweep.cache.cached_call`), so a claim and a figure that need the same
experiment compute it once. The ledger (:mod:`gradexp.claims`), the figures
(:mod:`gradexp.plots`) and the tours import experiments; they never import each other.
:mod:`gradexp.experiments.references` holds the independent references (mpmath, sympy) that
checks and tests compare the package with.
"""
