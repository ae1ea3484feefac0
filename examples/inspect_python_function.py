"""A plain Python function, differentiated and traced with its own variable names.

    python examples/inspect_python_function.py

The Hacker's guide neuron written as Python: symdiff calls it once on symbolic inputs,
keeps the names `q` and `f`, and prints the backward code a "backprop ninja" would write
(gradients at a=1, b=2, c=-3, x=-1, y=3: [-0.105, 0.315, 0.105, 0.105, 0.210]).
"""
import math

import symdiff


def neuron(a, b, c, x, y):
    q = a*x + b*y + c
    f = 1.0/(1.0 + math.exp(-q))
    return f


d = symdiff.differentiate(neuron)
d.show()
t = d.trace(a=1, b=2, c=-3, x=-1, y=3)
assert [round(t.grad[k], 3) for k in "abcxy"] == [-0.105, 0.315, 0.105, 0.105, 0.210]


def branchy(x):
    if x > 0:            # data-dependent control flow: not one formula
        return x
    return -x


try:
    symdiff.differentiate(branchy)
except symdiff.FormulaError as exc:
    print(f"\nbranchy: {exc}")
