"""Infix arithmetic: ``+ - * / **``, unary minus, and ``%``."""
import numpy as np

from ..expr import Ex, call, num, where
from .record import op, sympy


def _pow_grad(g, y, a, b):
    if b.op == "num":  # constant exponent: n*a**(n-1), no log needed
        n = b.args[0]
        if n == 0:
            return (None, None)
        m = n - 1
        if isinstance(m, int) and m < 0:
            m = float(m)       # as Graph.apply keeps negative integer exponents (graph.py)
        return ((n * a ** m if m != 0 else b) * g, None)
    # d(a**b)/da = b*a**(b-1), taken as 0 where b == 0 (a**0 is 1 everywhere; 0*0**-1 would
    # be nan); d(a**b)/db = y*log(a), taken as 0 where a == 0 (as PyTorch and autograd do)
    return (where(Ex("eq", b, num(0)), 0.0, b * a ** (b - 1) * g),
            where(Ex("eq", a, num(0)), 0.0, y * call("log", a) * g))


op("add", 2, lambda g, y, a, b: (g, g), "add: gradient passes through",
   lambda a, b: a + b, np.add, symbol=" + ", precedence=2, commutative=True, inline=True,
   formula=False, label="+", aliases=("np.add",))
op("sub", 2, lambda g, y, a, b: (g, -g), ("sub: gradient passes through", "sub: minus the gradient"),
   lambda a, b: a - b, np.subtract, symbol=" - ", precedence=2, inline=True, formula=False,
   label="-", aliases=("np.subtract",))
op("mul", 2, lambda g, y, a, b: (b * g, a * g), "mul: times the other factor",
   lambda a, b: a * b, np.multiply, symbol="*", precedence=3, commutative=True, inline=True,
   formula=False, label="*", aliases=("np.multiply",))
op("div", 2, lambda g, y, a, b: (g / b, -(y / b) * g), ("div: d(a/b)/da = 1/b", "div: d(a/b)/db = -y/b"),
   lambda a, b: a / b, np.true_divide, symbol="/", precedence=3, formula=False, label="/",
   aliases=("np.true_divide", "np.divide"), edges="a/0 is ±inf (nan for 0/0), as NumPy")
op("pow", 2, _pow_grad, ("pow: d(a**b)/da = b*a**(b-1)", "pow: d(a**b)/db = y*log(a)"),
   lambda a, b: a ** b, np.power, symbol="**", precedence=5, inline=True, label="**",
   aliases=("math.pow", "np.power", "np.float_power"), domain=(0.5, 3.0),
   edges="pow(x, y) is x**y. d/dx is 0 where y == 0 and d/dy is 0 where x == 0 "
         "(PyTorch, autograd; JAX 0.10 gives nan for d(x**0.0)/dx at 0); "
         "a negative base with a fractional exponent is nan")
op("neg", 1, lambda g, y, a: (-g,), "neg: -gradient",
   lambda a: -a, np.negative, inline=True, formula=False, label="neg", aliases=("np.negative",))
