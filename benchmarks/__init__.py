"""Benchmarks for symdiff against hand-written Numba kernels and peer AD tools.

``common`` is imported first on purpose: it pins every numeric library to one
thread, which only works before numpy / torch / jax are imported.
"""

from . import common  # noqa: F401  (side effect: one thread, float64)
