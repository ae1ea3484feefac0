"""Functions of two arguments: atan2, hypot, logaddexp, mod."""
import numpy as np

from ..expr import Ex, call, num, where
from .record import custom, op, sympy, sympy_class


def _atan2_grad(g, y, a, b):
    """d atan2(a, b) = (b, -a)/(a*a + b*b); 0 at the origin, as PyTorch (JAX gives nan)."""
    den = a * a + b * b
    zero = Ex("eq", den, num(0))
    return (where(zero, 0.0, b / den * g), where(zero, 0.0, -(a / den * g)))


op("atan2", 2, _atan2_grad, ("atan2: b/(a*a + b*b)", "atan2: -a/(a*a + b*b)"),
   lambda a, b: sympy.atan2(a, b), np.arctan2, call="np.arctan2", vmath="vatan2",
   aliases=("math.atan2", "np.arctan2"), sympy_classes=("atan2",), domain=(0.2, 3.0),
   edges="atan2(y, x) is the angle of (x, y), in [-pi, pi]; its gradient at (0, 0) is 0 "
         "(PyTorch; JAX gives nan)", kink=True)

op("hypot", 2, lambda g, y, a, b: (a / y * g, b / y * g), ("hypot: a/y", "hypot: b/y"),
   lambda a, b: sympy_class("hypot")(a, b), np.hypot, call="hypot", helper='''def hypot(x, y):
    """sqrt(x*x + y*y) without overflow or underflow: inf if x or y is, else nan if one is."""
    a = abs(x)
    b = abs(y)
    if a == np.inf or b == np.inf:
        return np.inf
    if a < b:
        a, b = b, a
    if a == 0.0 or a != a or b != b:
        return a + b
    r = b/a
    return a*np.sqrt(1.0 + r*r)''', aliases=("math.hypot", "np.hypot"), sympy_classes=("hypot",),
   edges="hypot(1e308, 1e308) is finite; hypot(inf, nan) is inf; its gradient at (0, 0) "
         "is nan (PyTorch; JAX gives 0.5)", kink=True)

op("logaddexp", 2, lambda g, y, a, b: (call("exp", a - y) * g, call("exp", b - y) * g),
   ("logaddexp: exp(a - y)", "logaddexp: exp(b - y)"),
   custom("logaddexp", 2, lambda a, b: sympy.log(sympy.exp(a) + sympy.exp(b)),
          "log(exp(a) + exp(b))."),
   np.logaddexp, call="logaddexp", helper='''def logaddexp(a, b):
    """log(exp(a) + exp(b)) without overflow, as np.logaddexp computes it."""
    if a == b:
        return a + 0.6931471805599453
    d = a - b
    if d > 0.0:
        return a + np.log1p(np.exp(-d))
    if d <= 0.0:
        return b + np.log1p(np.exp(d))
    return d''', aliases=("np.logaddexp",), sympy_classes=("logaddexp",),
   edges="stable: logaddexp(1000, 999) is finite; logaddexp(-inf, -inf) is -inf and its "
         "gradient nan (PyTorch, JAX)")

op("mod", 2, lambda g, y, a, b: (g, -(call("floor", a / b) * g)),
   ("mod: gradient passes through", "mod: -floor(a/b)"),
   lambda a, b: sympy.Mod(a, b), np.mod, call="mod", helper='''def mod(a, b):
    """a - floor(a/b)*b, with the sign of b (Python's % and np.mod)."""
    r = np.fmod(a, b)
    if b == 0.0:
        return r
    if r != 0.0:
        if (b < 0.0) != (r < 0.0):
            r += b
    else:
        r = np.copysign(0.0, b)
    return r''', aliases=("np.remainder", "np.mod"), sympy_classes=("Mod",), domain=(0.5, 3.0),
   label="%", edges="a % b takes the sign of b; a % 0 is nan; at the jumps (a a multiple of b) "
                    "the gradient is (1, -floor(a/b)) (PyTorch, JAX)", kink=True)

op("fmod", 2, lambda g, y, a, b: (g, -(call("trunc", a / b) * g)),
   ("fmod: gradient passes through", "fmod: -trunc(a/b)"),
   lambda a, b: a - b * sympy.Piecewise((sympy.floor(a / b), a / b >= 0), (sympy.ceiling(a / b), True)),
   np.fmod, call="np.fmod", aliases=("math.fmod", "np.fmod"), domain=(0.5, 3.0),
   edges="a - trunc(a/b)*b, with the sign of a (C's fmod); fmod(a, 0) is nan; at the jumps "
         "the gradient is (1, -trunc(a/b)) (PyTorch, JAX)", kink=True)
