"""The computation graph: one node per operation, shared subexpressions computed once.

Nodes are stored in creation order, which is a topological order (operands are always
created before the node that uses them). Every algorithm here is iterative, so a formula
nested 10,000 deep is as easy as a flat one.

Each node is backed by a shallow SymPy expression over symbols that stand for its
operands (``node_sympy``); ``to_sympy`` assembles the whole formula for small graphs,
for comparisons with ``sympy.diff``.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from .errors import FormulaError
from .functions import (COMPOSED, CONSTANTS, FUNCTIONS, OPS, Build, expand_definitions,
                        sympy, sympy_functions)
from .names import input_names, normalize

_MAX_EXACT_INT = 2 ** 53


@dataclass
class Node:
    id: int
    op: str                      # "input", "const", or a key of functions.OPS
    args: tuple = ()             # operand node ids
    value: object = None         # constant value (int or float)
    text: str = None             # how a constant prints ("np.pi"), or an input's name
    names: list = field(default_factory=list)   # user names given to this value
    pos: tuple = (None, None)    # (line, column) of the operator in the text


class Graph:
    def __init__(self):
        self.nodes = []
        self._index = {}
        self.inputs = {}          # input name -> node id, in order of first appearance

    def __len__(self):
        return len(self.nodes)

    def _add(self, key, node):
        found = self._index.get(key)
        if found is not None:
            return found
        node.id = len(self.nodes)
        self.nodes.append(node)
        self._index[key] = node.id
        return node.id

    def input(self, name):
        if name not in self.inputs:
            self.inputs[name] = self._add(("input", name), Node(0, "input", text=name))
        return self.inputs[name]

    def const(self, value, text=None):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _MAX_EXACT_INT:
            value, text = _big_int(value), None   # a float, as NumPy would make it
        key = ("const", type(value).__name__, repr(value), text)
        return self._add(key, Node(0, "const", value=value, text=text))

    def apply(self, op, args, pos=(None, None)):
        """The node for ``op(*args)``, folding constants and sharing equal nodes."""
        args = tuple(args)
        if all(self.nodes[a].op == "const" for a in args):
            return self.const(_fold(op, [self.nodes[a].value for a in args]))
        # A negative integer exponent is kept as a float: compiled, x**-2 would be 1/(x*x) by
        # Numba's integer power, which raises ZeroDivisionError at 0 whatever the error model;
        # x**-2.0 is pow(), inf at 0, as NumPy gives.
        if op == "pow" and self.nodes[args[1]].op == "const":   # exact: x**0 is 1 even for nan
            exponent = self.nodes[args[1]].value
            if exponent == 0:
                return self.const(1)
            if exponent == 1:
                return args[0]
            if isinstance(exponent, int) and exponent < 0:   # x**-2 -> x**-2.0: see below
                args = (args[0], self.const(float(exponent)))
        key = (op, args)
        if OPS[op].commutative:   # a*b and b*a are one node ...
            key = (op, tuple(sorted(args)))
            found = self._index.get(key)
            if found is not None and self.nodes[found].names and self.nodes[found].args != args:
                key = ("as written", op, args)   # ... unless the user named a*b: b*a stays b*a
        return self._add(key, Node(0, op, args, pos=pos))

    def call(self, name, args, pos=(None, None)):
        """The node for the function ``name`` called on ``args`` (node ids): an op, or a
        composed function built from ops. The caller has checked the argument count."""
        composed = COMPOSED.get(name)
        if composed is not None:
            return composed.build(Build(self, pos), *args)
        return self.apply(name, args, pos)

    def name(self, node_id, name):
        """Record a user's name for a value (the latest name is printed)."""
        node = self.nodes[node_id]
        if name not in node.names:
            node.names.append(name)

    # -- SymPy views -------------------------------------------------------------------
    def node_sympy(self, node_id, symbol=None):
        """The node as a shallow SymPy expression over one symbol per operand."""
        symbol = symbol or (lambda i: sympy.Symbol(f"n{i}"))
        node = self.nodes[node_id]
        if node.op == "input":
            return sympy.Symbol(node.text)
        if node.op == "const":
            return _sympy_const(node)
        return OPS[node.op].sympy(*(symbol(a) for a in node.args))

    def to_sympy(self, root, expand=False):
        """The whole formula under ``root`` as one SymPy expression (small graphs only:
        SymPy's own traversals recurse). ``expand`` rewrites sigmoid/softplus/relu."""
        built = {}
        for node in self.nodes[: root + 1]:
            if node.op == "input":
                built[node.id] = sympy.Symbol(node.text)
            elif node.op == "const":
                built[node.id] = _sympy_const(node)
            else:
                built[node.id] = OPS[node.op].sympy(*(built[a] for a in node.args))
        expr = built[root]
        return expand_definitions(expr) if expand else expr

    @classmethod
    def from_sympy(cls, expr):
        """Build a graph from a SymPy expression, iteratively. Returns (graph, root)."""
        import sympy
        symbols = sorted(expr.free_symbols, key=sympy.default_sort_key)
        names = input_names([s.name for s in symbols], "symbol", strict=False)   # lambda: printed lambda_
        if len(set(names)) < len(names):
            from collections import Counter
            twice = Counter(names).most_common(1)[0][0]
            raise FormulaError(f"two different SymPy symbols are named {twice!r}",
                               hint="give distinct symbols distinct names")
        g = cls()
        done = {}
        stack = [(expr, False)]
        while stack:
            e, ready = stack.pop()
            if e in done:
                continue
            if not ready:
                stack.append((e, True))
                stack.extend((a, False) for a in reversed(e.args) if a not in done
                             and isinstance(a, sympy.Basic)
                             and not (isinstance(e, sympy.Pow) and a is e.exp and a.is_Number))
                continue
            done[e] = _sympy_node(g, e, done)
        return g, done[expr]

    def live(self, root):
        """Ids of nodes that ``root`` depends on (including itself)."""
        seen = {root}
        stack = [root]
        while stack:
            for a in self.nodes[stack.pop()].args:
                if a not in seen:
                    seen.add(a)
                    stack.append(a)
        return seen


def _sympy_const(node):
    if node.text == "np.pi":
        return sympy.pi
    if node.text == "np.e":
        return sympy.E
    if isinstance(node.value, int):
        return sympy.Integer(node.value)
    return sympy.Float(node.value) if math.isfinite(node.value) else (
        sympy.nan if node.value != node.value else sympy.oo * (1 if node.value > 0 else -1))


def _big_int(value):
    try:
        return float(value)
    except OverflowError:
        digits = len(str(abs(value))) if value.bit_length() < 20000 else "thousands of"
        raise FormulaError(f"the integer constant with {digits} digits is too large for a float64 "
                           "(at most about 1.8e308)", hint="write it as a float, e.g. 1e300, "
                           "or rescale the formula") from None


def _fold(op, values):
    """Evaluate an operation on constants with NumPy float64 semantics."""
    if all(isinstance(v, int) for v in values):
        exact = None
        if op in ("add", "sub", "mul", "neg"):
            exact = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
                     "mul": lambda a, b: a * b, "neg": lambda a: -a}[op](*values)
        elif op == "pow" and 0 <= values[1] <= 64:
            exact = values[0] ** values[1]
        if exact is not None and abs(exact) < _MAX_EXACT_INT:
            return exact
    with np.errstate(all="ignore"):
        return float(OPS[op].numpy(*(np.float64(v) for v in values)))


def _sympy_node(g, e, done):
    import sympy
    if isinstance(e, sympy.Symbol):   # names checked and normalized in from_sympy
        return g.input(normalize(e.name))
    if e is sympy.pi:
        return g.const(*CONSTANTS["pi"])
    if e is sympy.E:
        return g.const(*CONSTANTS["e"])
    if e.is_Integer:
        return g.const(int(e))
    if e.is_Number:
        if e in (sympy.oo, -sympy.oo, sympy.nan, sympy.zoo):
            return g.const(float(e) if e is not sympy.zoo else math.nan)
        if e.is_Rational:
            return g.apply("div", (g.const(int(e.p)), g.const(int(e.q))))
        return g.const(float(e))
    if isinstance(e, sympy.Mul) and e.args[0] == -1:
        rest = e.func(*e.args[1:]) if len(e.args) > 2 else e.args[1]
        return g.apply("neg", (done[rest] if rest in done else _sympy_node(g, rest, done),))
    if isinstance(e, (sympy.Add, sympy.Mul)):
        op = "add" if isinstance(e, sympy.Add) else "mul"
        acc = done[e.args[0]]
        for a in e.args[1:]:
            acc = g.apply(op, (acc, done[a]))
        return acc
    if isinstance(e, sympy.Pow):
        base, exp = done[e.base], e.exp
        if exp == -1:
            return g.apply("div", (g.const(1), base))
        if exp == sympy.Rational(1, 2):
            return g.apply("sqrt", (base,))
        expo = done[exp] if exp in done else _sympy_node(g, exp, done)
        return g.apply("pow", (base, expo))
    if isinstance(e, sympy.Piecewise):
        return _piecewise(g, e, done)
    if type(e).__name__ == "ExprCondPair":     # read by its Piecewise
        return None
    if e is sympy.true or e is sympy.false:
        return g.const(1.0 if e is sympy.true else 0.0)
    name = _RELATIONS.get(type(e).__name__) or sympy_functions().get(e.func)
    if name is None:
        raise FormulaError(f"SymPy expression uses {e.func}, which symdiff does not support",
                           hint="supported functions: " + ", ".join(sorted(FUNCTIONS)))
    args = [done[a] for a in e.args]
    if name in ("max", "min", "and", "or") and len(args) > 2:
        return _chain(g, name, args)
    return g.apply(name, args)


_RELATIONS = {"StrictGreaterThan": "gt", "GreaterThan": "ge", "StrictLessThan": "lt",
              "LessThan": "le", "Equality": "eq", "Unequality": "ne", "And": "and", "Or": "or",
              "Not": "not", "ITE": "where"}


def _chain(g, name, args):
    acc = args[0]
    for a in args[1:]:
        acc = g.apply(name, (acc, a))
    return acc


def _piecewise(g, e, done):
    """Piecewise((a, c1), (b, c2), ..., (z, True)) -> where(c1, a, where(c2, b, ... z))."""
    import sympy
    pieces = list(e.args)
    if pieces[-1].cond != sympy.true:
        raise FormulaError("a SymPy Piecewise without a final (value, True) piece is undefined somewhere",
                           hint="end it with (value, True)")
    acc = done[pieces[-1].expr]
    for piece in reversed(pieces[:-1]):
        acc = g.apply("where", (done[piece.cond], done[piece.expr], acc))
    return acc

