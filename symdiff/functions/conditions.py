"""Comparisons, logic, ``where``, ``max``/``min`` and ``clip``.

A condition is a number, 0.0 or 1.0 (any nonzero number, nan too, counts as true, as in
``np.where``), with no gradient. ``where(c, a, b)`` sends the gradient to the branch it
takes; ``a if c else b`` in formulas and traced functions is ``where``.
"""
import operator

import numpy as np

from ..expr import where
from .record import composed, op, sympy

_INVERT = {"gt": "le", "ge": "lt", "lt": "ge", "le": "gt", "eq": "ne", "ne": "eq"}


def _flat(n):
    return lambda g, *args: (None,) * n


def _piecewise(condition):
    return lambda *args: sympy.Piecewise((1, condition(*args)), (0, True))


def _truth(x):
    return sympy.Ne(x, 0)


def _comparison(name, symbol, python, numpy, sym):
    op(name, 2, _flat(2), f"{name}: a condition has no gradient", _piecewise(sym),
       lambda a, b: np.where(numpy(a, b), 1.0, 0.0),
       printed=f"(1.0 if {{0}} {symbol} {{1}} else 0.0)",
       python=lambda a, b: 1.0 if python(a, b) else 0.0, label=symbol, formula=False,
       aliases=(f"np.{numpy.__name__}",),
       edges=f"a {symbol} b is 1.0 or 0.0, with gradient 0; a comparison with nan is "
             f"{'1.0' if name == 'ne' else '0.0'}", kink=True)


_comparison("gt", ">", operator.gt, np.greater, lambda a, b: a > b)
_comparison("ge", ">=", operator.ge, np.greater_equal, lambda a, b: a >= b)
_comparison("lt", "<", operator.lt, np.less, lambda a, b: a < b)
_comparison("le", "<=", operator.le, np.less_equal, lambda a, b: a <= b)
_comparison("eq", "==", operator.eq, np.equal, lambda a, b: sympy.Eq(a, b))
_comparison("ne", "!=", operator.ne, np.not_equal, lambda a, b: sympy.Ne(a, b))

op("and", 2, _flat(2), "and: a condition has no gradient",
   _piecewise(lambda a, b: sympy.And(_truth(a), _truth(b))),
   lambda a, b: np.where(np.logical_and(a, b), 1.0, 0.0), printed="(1.0 if {0} and {1} else 0.0)",
   python=lambda a, b: 1.0 if a and b else 0.0, aliases=("np.logical_and",), formula=False,
   edges="1.0 when both are nonzero (nan counts as true), else 0.0", kink=True)
op("or", 2, _flat(2), "or: a condition has no gradient",
   _piecewise(lambda a, b: sympy.Or(_truth(a), _truth(b))),
   lambda a, b: np.where(np.logical_or(a, b), 1.0, 0.0), printed="(1.0 if {0} or {1} else 0.0)",
   python=lambda a, b: 1.0 if a or b else 0.0, aliases=("np.logical_or",), formula=False,
   edges="1.0 when either is nonzero (nan counts as true), else 0.0", kink=True)
op("not", 1, _flat(1), "not: a condition has no gradient", _piecewise(lambda a: sympy.Eq(a, 0)),
   lambda a: np.where(np.logical_not(a), 1.0, 0.0), printed="(0.0 if {0} else 1.0)",
   python=lambda a: 0.0 if a else 1.0, aliases=("np.logical_not",), formula=False,
   edges="1.0 when the operand is 0, else 0.0", kink=True)

op("where", 3, lambda g, y, c, a, b: (None, where(c, g, 0.0), where(c, 0.0, g)),
   ("where: a condition has no gradient", "where: to a where c holds", "where: to b elsewhere"),
   lambda c, a, b: sympy.Piecewise((a, _truth(c)), (b, True)),
   lambda c, a, b: np.where(c, a, b), printed="({1} if {0} else {2})",
   python=lambda c, a, b: a if c else b, aliases=("np.where",),
   edges="where(c, a, b) is a where c is nonzero (or nan), else b; the gradient goes to the "
         "branch taken only (PyTorch, JAX); `a if c else b` is the same", kink=True)


# max/min: a tie goes to the FIRST argument: max(a, b) with a == b gives da = g, db = 0
def _np_max(a, b):
    return np.where((a >= b) | (a != a), a, b)


def _np_min(a, b):
    return np.where((a <= b) | (a != a), a, b)


op("max", 2, lambda g, y, a, b: (where(a >= b, g, 0.0), where(a >= b, 0.0, g)),
   ("max: to a if a >= b (a tie goes to a)", "max: to b if b > a"),
   lambda a, b: sympy.Max(a, b), _np_max, call="maximum", helper='''def maximum(a, b):
    """The larger of a and b; a tie gives a; NaN propagates."""
    return a if (a >= b or a != a) else b''', commutative=True,
   aliases=("np.maximum", "np.fmax", "np.amax", "max"), sympy_classes=("Max",),
   edges="nan if either is nan; at a tie the gradient goes to the first argument (as "
         "PyTorch's clamp at its bounds; PyTorch and JAX split a maximum's tie 0.5/0.5)", kink=True)
op("min", 2, lambda g, y, a, b: (where(a <= b, g, 0.0), where(a <= b, 0.0, g)),
   ("min: to a if a <= b (a tie goes to a)", "min: to b if b < a"),
   lambda a, b: sympy.Min(a, b), _np_min, call="minimum", helper='''def minimum(a, b):
    """The smaller of a and b; a tie gives a; NaN propagates."""
    return a if (a <= b or a != a) else b''', commutative=True,
   aliases=("np.minimum", "np.fmin", "np.amin", "min"), sympy_classes=("Min",),
   edges="as max", kink=True)


def _fold(name):
    def build(b, *args):
        acc = args[0]
        for a in args[1:]:
            acc = b(name, acc, a)
        return acc
    return build


composed("max", (2, None), _fold("max"), aliases=("np.maximum", "np.fmax", "max"),
         edges="max(a, b, c) is max(max(a, b), c): a tie goes to the earliest argument")
composed("min", (2, None), _fold("min"), aliases=("np.minimum", "np.fmin", "min"),
         edges="as max")
composed("clip", (3, 3), lambda b, x, lo, hi: b("min", b("max", x, lo), hi),
         aliases=("np.clip",),
         edges="min(max(x, lo), hi), as np.clip; at a bound the gradient goes to x "
               "(PyTorch's clamp; JAX splits it 0.5/0.5)")
