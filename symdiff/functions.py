"""The one table of operations symdiff knows.

Each entry holds everything about one operation: its name in formulas, its arity, its
local derivative rule, its printed Python form (with a helper function when the printed
form needs one), its SymPy form, and a NumPy evaluation used for constant folding and for
evaluating lines (``trace``). Adding a function is adding one entry here.

A rule takes the upstream gradient ``g``, the node's own output ``y`` and the operands, and
returns one contribution per operand (``None``: no gradient). Rules reuse forward values
where that is cheaper (``exp' = y``, ``tanh' = 1 - y*y``, ``sigmoid' = y*(1 - y)``).

Kinks follow PyTorch/JAX: ``relu'(0) = 0``, ``abs'(0) = 0``. ``max``/``min`` send a tie to
their FIRST argument: ``max(a, b)`` with ``a == b`` gives ``da = g, db = 0``.
"""
from dataclasses import dataclass
from typing import Callable, Optional

import functools

import numpy as np

from .expr import Ex, call, num, where


class _LazySympy:
    """SymPy, imported on first use: parsing and printing text never needs it."""

    def __getattr__(self, name):
        import sympy as module
        return getattr(module, name)


sympy = _LazySympy()


# -- SymPy forms of the functions SymPy does not have ------------------------------------
@functools.lru_cache(maxsize=None)
def custom_sympy():
    """SymPy Function classes for sigmoid, softplus and relu, with their definitions."""
    import sympy as sp

    def make(name, doc, definition):
        cls = type(name, (sp.Function,), {"__doc__": doc, "nargs": 1})
        return cls, definition

    return {
        "sigmoid": make("sigmoid", "Logistic function 1/(1 + exp(-x)).", lambda x: 1 / (1 + sp.exp(-x))),
        "softplus": make("softplus", "log(1 + exp(x)).", lambda x: sp.log(1 + sp.exp(x))),
        "relu": make("relu", "max(x, 0).", lambda x: sp.Max(x, 0)),
    }


def expand_definitions(expr):
    """Rewrite sigmoid/softplus/relu in terms of SymPy's own functions."""
    for cls, definition in custom_sympy().values():
        expr = expr.replace(cls, definition)
    return expr


def _custom(name):
    return lambda x: custom_sympy()[name][0](x)


# -- NumPy evaluation (float64, NumPy semantics: inf/nan, never an exception) ----------
def _np_sigmoid(x):
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, z) / (1.0 + z)


def _np_softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _np_max(a, b):
    return np.where((a >= b) | (a != a), a, b)


def _np_min(a, b):
    return np.where((a <= b) | (a != a), a, b)


# -- printed helpers: emitted into generated modules that use them --------------------
HELPERS = {
    "sigmoid": '''def sigmoid(x):
    """Logistic function, stable for large |x|: one exp of a non-positive number."""
    z = np.exp(-abs(x))
    return (1.0 if x >= 0.0 else z)/(1.0 + z)''',
    "softplus": '''def softplus(x):
    """log(1 + exp(x)), stable for large |x|."""
    return (x if x > 0.0 else 0.0) + np.log1p(np.exp(-abs(x)))''',
    "relu": '''def relu(x):
    """max(x, 0); NaN stays NaN."""
    return 0.0 if x <= 0.0 else x''',
    "maximum": '''def maximum(a, b):
    """The larger of a and b; a tie gives a; NaN propagates."""
    return a if (a >= b or a != a) else b''',
    "minimum": '''def minimum(a, b):
    """The smaller of a and b; a tie gives a; NaN propagates."""
    return a if (a <= b or a != a) else b''',
}


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    grad: Callable           # (g, y, *args) -> tuple of Ex or None, one per operand
    rule: object             # comment text for backward lines: one str, or one per operand
    printed: Optional[str]   # call template like "np.exp({0})"; None for infix arithmetic
    sympy: Callable          # SymPy form from SymPy operands
    numpy: Callable          # NumPy evaluation
    helper: Optional[str] = None   # name of a HELPERS entry the printed form calls
    inline: bool = False     # may be folded into a sum/product line (rule never needs y)


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
    # be nan); d(a**b)/db = y*log(a), taken as 0 where a == 0 (both as PyTorch and JAX do)
    return (where(Ex("eq", b, num(0)), 0.0, b * a ** (b - 1) * g),
            where(Ex("eq", a, num(0)), 0.0, y * call("log", a) * g))


OPS = {}


def _op(name, arity, grad, rule, printed, sym, npf, helper=None, inline=False):
    OPS[name] = Op(name, arity, grad, rule, printed, sym, npf, helper, inline)


# Arithmetic (infix; the printer knows their precedence)
_op("add", 2, lambda g, y, a, b: (g, g), "add: gradient passes through",
    None, lambda a, b: a + b, np.add, inline=True)
_op("sub", 2, lambda g, y, a, b: (g, -g), ("sub: gradient passes through", "sub: minus the gradient"),
    None, lambda a, b: a - b, np.subtract, inline=True)
_op("mul", 2, lambda g, y, a, b: (b * g, a * g), "mul: times the other factor",
    None, lambda a, b: a * b, np.multiply, inline=True)
_op("div", 2, lambda g, y, a, b: (g / b, -(y / b) * g), ("div: d(a/b)/da = 1/b", "div: d(a/b)/db = -y/b"),
    None, lambda a, b: a / b, np.true_divide)
_op("pow", 2, _pow_grad, ("pow: d(a**b)/da = b*a**(b-1)", "pow: d(a**b)/db = y*log(a)"),
    None, lambda a, b: a ** b, np.power, inline=True)
_op("neg", 1, lambda g, y, a: (-g,), "neg: -gradient",
    None, lambda a: -a, np.negative, inline=True)

# Elementary functions
_op("exp", 1, lambda g, y, x: (y * g,), "exp: y",
    "np.exp({0})", lambda x: sympy.exp(x), np.exp)
_op("log", 1, lambda g, y, x: (g / x,), "log: 1/x",
    "np.log({0})", lambda x: sympy.log(x), np.log)
_op("sqrt", 1, lambda g, y, x: (g / (2 * y),), "sqrt: 1/(2*y)",
    "np.sqrt({0})", lambda x: sympy.sqrt(x), np.sqrt)
_op("sin", 1, lambda g, y, x: (call("cos", x) * g,), "sin: cos(x)",
    "np.sin({0})", lambda x: sympy.sin(x), np.sin)
_op("cos", 1, lambda g, y, x: (-(call("sin", x) * g),), "cos: -sin(x)",
    "np.cos({0})", lambda x: sympy.cos(x), np.cos)
_op("tan", 1, lambda g, y, x: ((1 + y * y) * g,), "tan: 1 + y*y",
    "np.tan({0})", lambda x: sympy.tan(x), np.tan)
_op("sinh", 1, lambda g, y, x: (call("cosh", x) * g,), "sinh: cosh(x)",
    "np.sinh({0})", lambda x: sympy.sinh(x), np.sinh)
_op("cosh", 1, lambda g, y, x: (call("sinh", x) * g,), "cosh: sinh(x)",
    "np.cosh({0})", lambda x: sympy.cosh(x), np.cosh)
_op("tanh", 1, lambda g, y, x: ((1 - y * y) * g,), "tanh: 1 - y*y",
    "np.tanh({0})", lambda x: sympy.tanh(x), np.tanh)
_op("sigmoid", 1, lambda g, y, x: (y * (1 - y) * g,), "sigmoid: y*(1 - y)",
    "sigmoid({0})", _custom("sigmoid"), _np_sigmoid, helper="sigmoid")
_op("softplus", 1, lambda g, y, x: (call("sigmoid", x) * g,), "softplus: sigmoid(x)",
    "softplus({0})", _custom("softplus"), _np_softplus, helper="softplus")
_op("relu", 1, lambda g, y, x: (where(x > 0, g, 0.0),), "relu: 1 if x > 0 else 0",
    "relu({0})", _custom("relu"), lambda x: np.where(x <= 0, 0.0, x), helper="relu")
_op("abs", 1, lambda g, y, x: (call("sign", x) * g,), "abs: sign(x), 0 at 0",
    "abs({0})", lambda x: sympy.Abs(x), np.abs)
_op("sign", 1, lambda g, y, x: (None,), "sign: flat",
    "np.sign({0})", lambda x: sympy.sign(x), np.sign)
_op("max", 2, lambda g, y, a, b: (where(a >= b, g, 0.0), where(a >= b, 0.0, g)),
    ("max: to a if a >= b (a tie goes to a)", "max: to b if b > a"), "maximum({0}, {1})",
    lambda a, b: sympy.Max(a, b), _np_max, helper="maximum")
_op("min", 2, lambda g, y, a, b: (where(a <= b, g, 0.0), where(a <= b, 0.0, g)),
    ("min: to a if a <= b (a tie goes to a)", "min: to b if b < a"), "minimum({0}, {1})",
    lambda a, b: sympy.Min(a, b), _np_min, helper="minimum")

ARITHMETIC = ("add", "sub", "mul", "div", "pow", "neg")
FUNCTIONS = {name: op for name, op in OPS.items() if name not in ARITHMETIC}
CONSTANTS = {"pi": (float(np.pi), "np.pi"), "e": (float(np.e), "np.e")}

_COMPARE = {"gt": np.greater, "ge": np.greater_equal, "lt": np.less, "le": np.less_equal,
            "eq": np.equal}


def evaluate(ex, env):
    """Value of an ``Ex`` under ``env`` (name -> number/array), with NumPy semantics."""
    with np.errstate(all="ignore"):
        return _evaluate(ex, env)


def _evaluate(ex, env):
    if ex.op == "var":
        return env[ex.args[0]]
    if ex.op == "num":
        return np.float64(ex.args[0])
    if ex.op == "call":
        args = [_evaluate(a, env) for a in ex.args[1:]]
        return OPS[ex.args[0]].numpy(*args)
    args = [_evaluate(a, env) for a in ex.args]
    if ex.op == "where":
        return np.where(args[0], args[1], args[2])
    if ex.op in _COMPARE:
        return _COMPARE[ex.op](*args)
    return OPS[ex.op].numpy(*args)
