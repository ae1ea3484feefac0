"""A tiny expression tree for the right-hand sides of generated assignments.

The reverse pass builds its lines out of these, and ``codegen`` prints them. An ``Ex`` is
immutable and shallow: a line of generated code holds a handful of operations, never a
whole formula, so recursive helpers here are safe.

Light, exact simplifications keep the output readable: ``1*x -> x``, ``x + 0 -> x``,
``-(-x) -> x``. Nothing that changes a float result is ever done.
"""
import math


class Ex:
    """op is one of: var, num, add, sub, mul, div, pow, neg, call, where, gt, ge, lt, le, eq."""

    __slots__ = ("op", "args")

    def __init__(self, op, *args):
        self.op = op
        self.args = args

    # -- structure ---------------------------------------------------------------------
    def __eq__(self, other):
        return isinstance(other, Ex) and self.op == other.op and self.args == other.args

    def __hash__(self):
        return hash((self.op, self.args))

    def __repr__(self):
        return f"Ex({self.op!r}, {', '.join(map(repr, self.args))})"

    def is_num(self, value=None):
        if self.op != "num":
            return False
        return value is None or (self.args[0] == value and not isinstance(self.args[0], bool))

    # -- arithmetic with exact simplifications -------------------------------------------
    def __add__(self, other):
        other = lift(other)
        if other.is_num(0):
            return self
        if self.is_num(0):
            return other
        if other.op == "neg":
            return Ex("sub", self, other.args[0])
        return Ex("add", self, other)

    def __radd__(self, other):
        return lift(other) + self

    def __sub__(self, other):
        other = lift(other)
        if other.is_num(0):
            return self
        if self.is_num(0):
            return -other
        if other.op == "neg":
            return Ex("add", self, other.args[0])
        return Ex("sub", self, other)

    def __rsub__(self, other):
        return lift(other) - self

    def __mul__(self, other):
        other = lift(other)
        if other.is_num(1):
            return self
        if self.is_num(1):
            return other
        if other.is_num(-1):
            return -self
        if self.is_num(-1):
            return -other
        if self.op == "neg":
            return -(self.args[0] * other)
        if other.op == "neg":
            return -(self * other.args[0])
        if other.op == "mul":  # a*(b*c) -> a*b*c reads better; same source runs everywhere
            return (self * other.args[0]) * other.args[1]
        return Ex("mul", self, other)

    def __rmul__(self, other):
        return lift(other) * self

    def __truediv__(self, other):
        other = lift(other)
        if other.is_num(1):
            return self
        if self.op == "neg":
            return -(self.args[0] / other)
        return Ex("div", self, other)

    def __rtruediv__(self, other):
        return lift(other) / self

    def __pow__(self, other):
        other = lift(other)
        if other.is_num(1):
            return self
        return Ex("pow", self, other)

    def __neg__(self):
        if self.op == "neg":
            return self.args[0]
        if self.op == "num" and self.args[0] != 0 and math.isfinite(self.args[0]):
            return Ex("num", -self.args[0])
        return Ex("neg", self)

    def __gt__(self, other):
        return Ex("gt", self, lift(other))

    def __ge__(self, other):
        return Ex("ge", self, lift(other))

    def __lt__(self, other):
        return Ex("lt", self, lift(other))

    def __le__(self, other):
        return Ex("le", self, lift(other))

    # -- queries -------------------------------------------------------------------------
    def walk(self):
        """Every sub-expression, iteratively (pre-order)."""
        stack = [self]
        while stack:
            e = stack.pop()
            yield e
            stack.extend(reversed([a for a in e.args if isinstance(a, Ex)]))

    def variables(self):
        return {e.args[0] for e in self.walk() if e.op == "var"}

    def calls(self):
        return {e.args[0] for e in self.walk() if e.op == "call"}

    def count_ops(self):
        """Operations in the expression. A select counts once with its comparison, as a
        forward ``maximum(a, b)`` or ``relu(x)`` call (a compare and a select) counts once."""
        return sum(1 for e in self.walk() if e.op not in ("var", "num", "gt", "ge", "lt", "le", "eq"))

    def substitute(self, mapping):
        """Replace variables by name with expressions, re-simplifying arithmetic
        (so a local derivative is the line's expression with its upstream set to 1)."""
        if self.op == "var":
            return mapping.get(self.args[0], self)
        if self.op == "num":
            return self
        if self.op == "call":
            return Ex("call", self.args[0], *(a.substitute(mapping) for a in self.args[1:]))
        args = [a.substitute(mapping) for a in self.args]
        build = _BUILD.get(self.op)
        return build(*args) if build else Ex(self.op, *args)


def var(name):
    return Ex("var", name)


def num(value):
    return Ex("num", value)


def call(name, *args):
    return Ex("call", name, *map(lift, args))


def where(cond, a, b):
    """``a if cond else b``: a select, which keeps loops vectorizable."""
    return Ex("where", cond, lift(a), lift(b))


def lift(x):
    if isinstance(x, Ex):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return Ex("num", x)
    raise TypeError(f"cannot use {x!r} in an expression")


_BUILD = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "neg": lambda a: -a}
