"""The one table of operations symdiff knows, and every list read from it.

Each operation is one record (``record.Op``): its name in formulas and its aliases in
Python functions (``math.atan``, ``np.arctan``), its arity, its local derivative rule, its
printed Python form (with the helper function and imports it needs), its SymPy classes
(both directions), its NumPy evaluation, the name of its vectorized kernel version in
``codegen.vmath`` (codegen binds it; this package never imports codegen), and the text the
docs show for its domain edges and kinks. A ``record.Composed`` function (``gelu``,
``mean``, ``clip``) is built from operations when called. Adding a function is one entry
in one of the modules below (docs/differentiate.md shows one worked example):

- ``arithmetic``: ``+ - * / **``, unary minus, ``%`` (mod is in ``binary``);
- ``elementary``: exp, log, trigonometric, hyperbolic and their inverses, erf, rounding;
- ``activations``: sigmoid, softplus, relu, silu, gelu, elu, selu, softsign, log_sigmoid, leaky_relu;
- ``binary``: atan2, hypot, logaddexp, mod;
- ``conditions``: comparisons, and/or/not, where, max, min, clip;
- ``composed``: square, radians, degrees, sum, mean, logsumexp.

A rule takes the upstream gradient ``g``, the node's own output ``y`` and the operands, and
returns one contribution per operand (``None``: no gradient). Rules reuse forward values
where that is cheaper (``exp' = y``, ``tanh' = 1 - y*y``, ``sigmoid' = y*(1 - y)``).
Kinks follow PyTorch (``relu'(0) = 0``, ``abs'(0) = 0``), each op's ``edges`` says where.
"""
import numpy as np

from .record import (COMPOSED, HELPERS, OPS, Build, Composed, Op, custom_sympy,  # noqa: F401
                     expand_definitions, sympy, sympy_class)
from . import arithmetic, elementary, activations, binary, conditions, composed  # noqa: F401  (registers)

ARITHMETIC = tuple(name for name, op in OPS.items() if op.symbol)
# names callable in formulas: op name -> its record (an Op or, where one exists, a Composed)
FUNCTIONS = {name: op for name, op in OPS.items() if op.formula}
FUNCTIONS.update(COMPOSED)
CONSTANTS = {"pi": (float(np.pi), "np.pi"), "e": (float(np.e), "np.e")}
KINKS = frozenset(name for name, op in OPS.items() if op.kink)   # not smooth: a kink or a jump


def has_kink(graph):
    """Whether ``graph`` uses an op with a kink (abs in "absolute"/"huber", min, where...):
    gradient methods stall there, so fits polish with Nelder-Mead."""
    return any(node.op in KINKS for node in graph.nodes)


def aliases():
    """Python name ("math.atan", "np.arctan", "max") -> formula function name."""
    out = {}
    for name, entry in list(OPS.items()) + list(COMPOSED.items()):
        for alias in entry.aliases:
            out[alias] = name
    return out


ALIASES = aliases()


def imports_of(names):
    """Modules (besides numpy) that the printed forms of ops ``names`` need, sorted."""
    return sorted({m for n in names for m in OPS[n].imports})


def sympy_functions():
    """SymPy class -> op name, for reading SymPy expressions."""
    table = {}
    for name, op in OPS.items():
        for cls in op.sympy_classes:
            table[custom_sympy()[cls][0] if cls in custom_sympy() else sympy_class(cls)] = name
    return table


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


def markdown_table():
    """The docs' table of functions (docs/differentiate.md holds this text; a test checks it)."""
    rows = ["| function | arguments | also in Python functions as | domain edges and kinks |",
            "|---|---|---|---|"]
    for name, entry in FUNCTIONS.items():
        lo, hi = entry.takes
        takes = str(lo) if lo == hi else f"{lo} or more" if hi is None else f"{lo} to {hi}"
        py = ", ".join(f"`{a}`" for a in entry.aliases if "." in a)
        edges = entry.edges or (OPS[name].edges if name in OPS else "") \
            or getattr(entry, "doc", "")
        rows.append(f"| `{name}` | {takes} | {py} | {edges} |")
    return "\n".join(rows) + "\n"
