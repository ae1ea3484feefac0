"""The Hacker's guide neuron: f = sigmoid(a*x + b*y + c).

Prints the generated forward/backward code, the gradient at the guide's point
(a=1, b=2, c=-3, x=-1, y=3 -> [-0.105, 0.315, 0.105, 0.105, 0.210]), a finite-difference
check, and the same kernel run over a million points.

    python examples/neuron.py
"""
import time

import numpy as np

import symdiff

d = symdiff.differentiate("q = a*x + b*y + c\nf = sigmoid(q)")
print(d.source)

value, grad = d(a=1.0, b=2.0, c=-3.0, x=-1.0, y=3.0)
print(f"f = {value:.4f}")
print("gradient [a, b, c, x, y] =", [round(grad[k], 3) for k in "abcxy"])
symdiff.check(d, a=1.0, b=2.0, c=-3.0, x=-1.0, y=3.0)

rng = np.random.default_rng(0)
x, y = rng.normal(size=10**6), rng.normal(size=10**6)
d(a=1.0, b=2.0, c=-3.0, x=x, y=y)            # first call compiles (or loads the cache)
start = time.perf_counter()
values, grads = d(a=1.0, b=2.0, c=-3.0, x=x, y=y)
print(f"\n10^6 points, value + 5 gradients: {1e3 * (time.perf_counter() - start):.1f} ms; "
      f"mean df/da = {grads['a'].mean():.6f}")
