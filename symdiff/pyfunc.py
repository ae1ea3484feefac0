"""Python functions as formulas: ``differentiate(f)`` traces ``f`` into a graph.

``f`` is called once with one tracer per parameter. A tracer stands for a value in the
graph: arithmetic on it (``+ - * / **``, unary ``-``, ``abs``) adds nodes, and so do
``math.*`` calls (``f``'s ``math`` is swapped for a shim that accepts tracers), NumPy's
elementwise functions (``np.exp(t)`` reaches ``Tracer.__array_ufunc__``) and the builtins
``max``/``min``/``abs``/``pow``. The result is the same graph a formula string gives.

Names are kept: while ``f`` runs, a trace function watches its local variables, so
``q = a*x + b`` makes the node for ``a*x + b`` be called ``q`` in the generated code
(a variable assigned again gets ``q_2``, ``q_3``, as in formula programs).

What cannot become one formula is refused with the line it happens on: branching on a
traced value (``if x > 0``, ``while``, ``and``/``or``), converting it to a number
(``float(x)``, ``math.*`` from another module), indexing with it.
Keyword-only parameters are not inputs: they keep their defaults (constants).
"""
import ast
import builtins
import inspect
import keyword
import linecache
import math
import os
import sys
import textwrap
import types
from dataclasses import dataclass

import numpy as np

from .errors import FormulaError
from .functions import FUNCTIONS, HELPERS
from .graph import Graph
from .parser import RESERVED

_THIS_FILE = os.path.normcase(os.path.abspath(__file__))
# names a generated variable must not take (they are called inside generated functions)
_NOT_A_NAME = set(RESERVED) | set(FUNCTIONS) | set(HELPERS) | {"value", "value_and_grad", "abs"}


@dataclass
class Traced:
    """Like ``parser.Parsed``: what ``differentiate`` needs from a traced function."""
    graph: Graph
    root: int
    output_name: str
    text: str
    taken: set
    outputs: tuple = None   # a function returning a tuple: ((name, printed name, node id), ...)


# -- tracers -----------------------------------------------------------------------------------
class Tracer:
    """A value of the traced function: a node of ``graph``."""

    __slots__ = ("graph", "node")
    __array_priority__ = 1000   # NumPy defers to our operators: np.float64(2)*t is t.__rmul__

    def __init__(self, graph, node):
        self.graph = graph
        self.node = node

    def __repr__(self):
        node = self.graph.nodes[self.node]
        name = node.text if node.op == "input" else (node.names[0] if node.names else f"#{self.node}")
        return f"<symdiff tracer {name}: {node.op}>"

    # arithmetic
    def __add__(self, other):
        return _apply("add", self, other)

    def __radd__(self, other):
        return _apply("add", other, self)

    def __sub__(self, other):
        return _apply("sub", self, other)

    def __rsub__(self, other):
        return _apply("sub", other, self)

    def __mul__(self, other):
        return _apply("mul", self, other)

    def __rmul__(self, other):
        return _apply("mul", other, self)

    def __truediv__(self, other):
        return _apply("div", self, other)

    def __rtruediv__(self, other):
        return _apply("div", other, self)

    def __pow__(self, other, modulo=None):
        if modulo is not None:
            raise _unsupported("pow(x, y, modulo)")
        return _apply("pow", self, other)

    def __rpow__(self, other):
        return _apply("pow", other, self)

    def __neg__(self):
        return _apply("neg", self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _apply("abs", self)

    def __floordiv__(self, other):
        raise _unsupported("'//'", "use / and, if you must round, do it outside the function")

    __rfloordiv__ = __floordiv__

    def __mod__(self, other):
        raise _unsupported("'%'")

    __rmod__ = __divmod__ = __rdivmod__ = __mod__

    def __matmul__(self, other):
        raise _unsupported("'@'", "symdiff traces scalar functions; write the sum of products out")

    __rmatmul__ = __matmul__

    # values a formula cannot have
    def __bool__(self):
        raise _control_flow()

    def __float__(self):
        raise _conversion("float()")

    def __int__(self):
        raise _conversion("int()")

    def __index__(self):
        raise _conversion("an index or int()")

    def __complex__(self):
        raise _conversion("complex()")

    def __round__(self, ndigits=None):
        raise _conversion("round()")

    def __iter__(self):
        raise _unsupported("iterating over an input", "inputs are numbers, not sequences")

    def __len__(self):
        raise _unsupported("len() of an input", "inputs are numbers, not sequences")

    # comparisons give conditions, which can only be refused when used
    def __lt__(self, other):
        return _Condition()

    __le__ = __gt__ = __ge__ = __eq__ = __ne__ = __lt__
    __hash__ = object.__hash__

    # NumPy elementwise functions
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            raise _unsupported(f"np.{ufunc.__name__}.{method}" if method != "__call__"
                               else f"np.{ufunc.__name__}(..., {', '.join(kwargs)}=...)",
                               "call NumPy functions on the values only")
        rule = _UFUNCS.get(ufunc.__name__)
        if rule is None:
            raise _unsupported(f"np.{ufunc.__name__}", "supported NumPy functions: np."
                               + ", np.".join(sorted(_UFUNCS)))
        return rule(*inputs)

    def __array__(self, *args, **kwargs):
        raise _conversion("a NumPy array (np.asarray, np.array or a non-elementwise function)")


class _Condition:
    """The result of comparing a tracer: refused when Python needs its truth."""

    def __bool__(self):
        raise _control_flow()


def _node(graph, x):
    if isinstance(x, Tracer):
        if x.graph is not graph:
            raise FormulaError("a tracer from another traced function was used here")
        return x.node
    if isinstance(x, (bool, np.bool_)):
        raise _unsupported("a bool in arithmetic", "write 1.0 or 0.0")
    if isinstance(x, (int, np.integer)):
        return graph.const(int(x))
    if isinstance(x, (float, np.floating)):
        return graph.const(float(x))
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
        return _node(graph, x[()])
    raise _unsupported(f"a value of type {type(x).__name__} in arithmetic with an input",
                       "traced functions compute with numbers only")


def _apply(op, *args):
    graph = next(a.graph for a in args if isinstance(a, Tracer))
    nodes = [_node(graph, a) for a in args]
    if op in ("add", "sub", "mul", "div", "pow"):   # exact identities keep code readable
        a, b = (graph.nodes[n] for n in nodes)
        if b.op == "const" and (b.value == 0 and op in ("add", "sub") or b.value == 1 and op in ("mul", "div", "pow")):
            return Tracer(graph, nodes[0])
        if a.op == "const" and (a.value == 0 and op == "add" or a.value == 1 and op == "mul"):
            return Tracer(graph, nodes[1])
        if a.op == "const" and a.value == 0 and op == "sub":
            return Tracer(graph, graph.apply("neg", (nodes[1],), _position()))
    return Tracer(graph, graph.apply(op, nodes, _position()))


def _position():
    frame = _user_frame()
    return (frame.f_lineno, None) if frame is not None else (None, None)


def _lift(graph, x):
    return x if isinstance(x, Tracer) else Tracer(graph, _node(graph, x))


def _unary(name):
    return lambda x: _apply(name, x)


def _log_base(base):
    return lambda x: _apply("div", _apply("log", x), math.log(base))


_UFUNCS = {
    "add": lambda a, b: _apply("add", a, b), "subtract": lambda a, b: _apply("sub", a, b),
    "multiply": lambda a, b: _apply("mul", a, b), "true_divide": lambda a, b: _apply("div", a, b),
    "divide": lambda a, b: _apply("div", a, b), "power": lambda a, b: _apply("pow", a, b),
    "float_power": lambda a, b: _apply("pow", a, b), "negative": _unary("neg"),
    "positive": lambda x: x, "absolute": _unary("abs"), "fabs": _unary("abs"),
    "sign": _unary("sign"), "maximum": lambda a, b: _apply("max", a, b),
    "minimum": lambda a, b: _apply("min", a, b), "fmax": lambda a, b: _apply("max", a, b),
    "fmin": lambda a, b: _apply("min", a, b), "square": lambda x: _apply("pow", x, 2),
    "reciprocal": lambda x: _apply("div", 1, x), "log1p": lambda x: _apply("log", _apply("add", 1, x)),
    "expm1": lambda x: _apply("sub", _apply("exp", x), 1), "exp2": lambda x: _apply("pow", 2, x),
    "log2": _log_base(2), "log10": _log_base(10),
    "hypot": lambda a, b: _apply("sqrt", _apply("add", _apply("mul", a, a), _apply("mul", b, b))),
}
_UFUNCS.update({n: _unary(n) for n in ("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh")})


# -- shims: math and builtins that accept tracers ----------------------------------------------
class _MathShim(types.ModuleType):
    """Stands in for ``math`` inside the traced function: tracers build nodes, numbers go to
    the real ``math``."""

    def __init__(self):
        super().__init__("math", "symdiff's stand-in for math while tracing")

    def __getattr__(self, name):
        real = getattr(math, name)
        rule = _MATH.get(name)
        if rule is None:
            return real

        def shim(*args):
            if any(isinstance(a, Tracer) for a in args):
                return rule(*args)
            return real(*args)
        shim.__name__ = name
        return shim


def _math_log(x, base=None):
    y = _apply("log", x)
    return y if base is None else _apply("div", y, _apply("log", base) if isinstance(base, Tracer) else math.log(base))


_MATH = {"exp": _unary("exp"), "log": _math_log, "sqrt": _unary("sqrt"), "sin": _unary("sin"),
         "cos": _unary("cos"), "tan": _unary("tan"), "sinh": _unary("sinh"), "cosh": _unary("cosh"),
         "tanh": _unary("tanh"), "fabs": _unary("abs"), "pow": lambda a, b: _apply("pow", a, b),
         "log1p": _UFUNCS["log1p"], "expm1": _UFUNCS["expm1"], "log2": _log_base(2),
         "log10": _log_base(10), "hypot": _UFUNCS["hypot"]}


def _builtin_extreme(op, real):
    def shim(*args, **kwargs):
        items = args[0] if len(args) == 1 and not isinstance(args[0], Tracer) else args
        if kwargs or not isinstance(items, (tuple, list)) or not any(isinstance(a, Tracer) for a in items):
            return real(*args, **kwargs)
        if not items:
            return real(*args)
        acc = items[0]
        for a in items[1:]:
            acc = _apply(op, acc, a)
        return _lift(next(a.graph for a in items if isinstance(a, Tracer)), acc)
    shim.__name__ = real.__name__
    return shim


def _builtin_pow(a, b, mod=None):
    if mod is None and (isinstance(a, Tracer) or isinstance(b, Tracer)):
        return _apply("pow", a, b)
    return builtins.pow(a, b) if mod is None else builtins.pow(a, b, mod)


_BUILTINS = {"max": _builtin_extreme("max", builtins.max), "min": _builtin_extreme("min", builtins.min),
             "pow": _builtin_pow}


def _with_shims(f):
    """A copy of ``f`` whose globals see the math shim and tracer-aware max/min/pow."""
    shim = _MathShim()
    scope = dict(f.__globals__)
    by_identity = {id(getattr(math, n)): n for n in _MATH}
    for name, value in f.__globals__.items():
        if value is math:
            scope[name] = shim
        elif id(value) in by_identity and getattr(math, by_identity[id(value)]) is value:
            scope[name] = getattr(shim, by_identity[id(value)])   # from math import exp [as e]
    for name, fn in _BUILTINS.items():
        if name not in scope:
            scope[name] = fn
    copy = types.FunctionType(f.__code__, scope, f.__name__, f.__defaults__, f.__closure__)
    copy.__kwdefaults__ = f.__kwdefaults__
    return copy


# -- errors that point at the user's line ---------------------------------------------------------
def _user_frame():
    frame = sys._getframe(1)
    while frame is not None and os.path.normcase(os.path.abspath(frame.f_code.co_filename)) == _THIS_FILE:
        frame = frame.f_back
    return frame


def _where():
    frame = _user_frame()
    if frame is None:
        return ""
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    where = f"line {frame.f_lineno} of {frame.f_code.co_name}()"
    return f"{where}: `{line}`: " if line else f"{where}: "


def _control_flow():
    return FormulaError(
        _where() + "the function branches on the value of an input (data-dependent control flow: "
        "if/while/and/or/comparisons), so it is not one formula",
        hint="write the branch as max(a, b), min(a, b), abs(x), relu(x) or np.maximum/np.minimum; "
             "branches on constants are fine")


def _conversion(what):
    return FormulaError(
        _where() + f"an input was turned into a plain number by {what}, so symdiff cannot follow it",
        hint="use math.* or np.* functions in the function itself (math.exp(x), np.exp(x)), "
             "not float(), int() or helpers from other modules")


def _unsupported(what, hint=None):
    return FormulaError(_where() + f"{what} is not supported in a traced function",
                        hint=hint or "use + - * / ** and math/np functions: exp, log, sqrt, sin, cos, tanh, ...")


# -- naming: watch the function's locals ---------------------------------------------------------
class _Namer:
    def __init__(self, code, graph, params):
        self.code = code
        self.graph = graph
        self.params = set(params)
        self.bound = {}          # local name -> node id it was last seen holding
        self.taken = set(params) | set(code.co_varnames) | set(code.co_cellvars)
        self.count = {}
        self.given = set()       # local names already given to a node

    def __enter__(self):
        self.previous = sys.gettrace()
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc):
        sys.settrace(self.previous)
        return False

    def _global(self, frame, event, arg):
        if frame.f_code is self.code:
            return self._local
        return None

    def _local(self, frame, event, arg):
        if event in ("line", "return"):
            self.look(frame.f_locals)
        return self._local

    def look(self, scope):
        for name, value in scope.items():
            if not isinstance(value, Tracer) or value.graph is not self.graph:
                continue
            if self.bound.get(name) == value.node:
                continue
            again = name in self.given or name in self.params
            self.bound[name] = value.node
            node = self.graph.nodes[value.node]
            if node.op in ("input", "const") or node.names or not _usable(name):
                continue
            display = name
            if again:
                k = self.count.get(name, 1)
                while True:
                    k += 1
                    display = f"{name}_{k}"
                    if display not in self.taken:
                        break
                self.count[name] = k
                self.taken.add(display)
            self.given.add(name)
            self.graph.name(value.node, display)


def _usable(name):
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_") \
        and name not in _NOT_A_NAME


# -- the entry point ------------------------------------------------------------------------------------
def trace_function(f, outputs=False):
    """Trace a Python function of floats into a graph (a ``Traced``). ``outputs``: whether
    it may return a tuple (several outputs, for ``symdiff.jacobian``)."""
    label = getattr(f, "__name__", type(f).__name__)
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):
        raise FormulaError(f"cannot read the parameters of {label!r}",
                           hint="pass a Python function like: def f(x, y): return x*y") from None
    inputs = []
    for p in signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise FormulaError(f"{label}() takes *{p.name}; symdiff needs one named parameter per input",
                               hint="write the inputs out: def f(x, y, z): ...")
        if p.kind == p.KEYWORD_ONLY:
            if p.default is p.empty:
                raise FormulaError(f"keyword-only parameter {p.name!r} of {label}() has no default",
                                   hint="keyword-only parameters are constants: give them a default")
            continue
        if not p.name.isidentifier() or p.name.startswith(("__", "_sd_")) or p.name in _NOT_A_NAME:
            raise FormulaError(f"parameter {p.name!r} of {label}() cannot be an input name",
                               hint=f"rename it (e.g. {p.name}_); these names are used by generated code: "
                                    + ", ".join(sorted(RESERVED | {"value", "value_and_grad"})) + " and function names")
        inputs.append(p.name)

    graph = Graph()
    tracers = [Tracer(graph, graph.input(name)) for name in inputs]
    func = _with_shims(f) if isinstance(f, types.FunctionType) else f
    code = getattr(func, "__code__", None)
    namer = _Namer(code, graph, inputs) if code is not None else None
    try:
        if namer is not None:
            with namer:
                result = func(*tracers)
        else:
            result = func(*tracers)
    except FormulaError:
        raise
    except Exception as exc:
        exc.add_note(f"(while symdiff traced {label}({', '.join(inputs)}) with symbolic inputs)")
        raise
    if outputs and isinstance(result, (tuple, list)):
        return _traced_outputs(f, label, inputs, graph, namer, result)
    if isinstance(result, Tracer):
        if result.graph is not graph:
            raise FormulaError(f"{label}() returned a value traced elsewhere")
        root = result.node
    else:
        try:
            root = _node(graph, result)
        except FormulaError:
            raise FormulaError(f"{label}() must return one number; it returned {type(result).__name__}",
                               hint="differentiate one output at a time") from None
    text = _source_text(f, label, inputs)
    taken = set(inputs) | (namer.taken if namer else set()) | {n for node in graph.nodes for n in node.names}
    node = graph.nodes[root]
    output_name = None
    if not node.names and node.op not in ("input", "const") and _usable(label) and label not in taken:
        output_name = label     # def loss(...): return ...  ->  loss = ...; dloss = 1.0
    return Traced(graph, root, output_name, text, taken)


def _traced_outputs(f, label, inputs, graph, namer, result):
    """A function returning a tuple: each item an output, named by the variable that held it
    (``return r, c, s``) or ``out0``, ``out1``... for an unnamed expression."""
    if not result:
        raise FormulaError(f"{label}() returned an empty tuple", hint="return one or more numbers")
    taken = set(inputs) | (namer.taken if namer else set()) | {n for node in graph.nodes for n in node.names}
    outs, seen = [], set()
    for k, item in enumerate(result):
        if isinstance(item, Tracer) and item.graph is not graph:
            raise FormulaError(f"{label}() returned a value traced elsewhere")
        try:
            node = item.node if isinstance(item, Tracer) else _node(graph, item)
        except FormulaError:
            raise FormulaError(f"{label}() returned {type(item).__name__} as output {k}; outputs are numbers",
                               hint="return a tuple of numbers: return r, c, s") from None
        n = graph.nodes[node]
        name = n.text if n.op == "input" else (n.names[-1] if n.names else None)
        if name is None or name in seen:
            name = next(c for c in (f"out{j}" for j in range(k, k + len(taken) + 2)) if c not in taken)
            if n.op not in ("input", "const") and not n.names:
                graph.name(node, name)
        taken.add(name)
        seen.add(name)
        outs.append((name, name if n.op == "input" or not n.names else n.names[0], node))
    text = _source_text(f, label, inputs)
    return Traced(graph, outs[-1][2], outs[-1][1], text, taken, tuple(outs))


def _source_text(f, label, inputs):
    """The function's source (decorators and docstring left out), for docstrings and headers."""
    fallback = f"{label}({', '.join(inputs)})"
    try:
        source = textwrap.dedent(inspect.getsource(f))
    except (OSError, TypeError):
        return fallback
    if label == "<lambda>":
        return _lambda_text(source, inputs) or fallback
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source.strip()
    fn = tree.body[0] if tree.body and isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)) else None
    if fn is None:
        return source.strip()
    lines = source.splitlines()
    body = fn.body
    if fn.body[0].lineno == fn.lineno:          # def f(x): return x*x
        return "\n".join(lines[fn.lineno - 1: fn.end_lineno]).strip()
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str) and len(body) > 1:
        body = body[1:]                          # the docstring
    signature = lines[fn.lineno - 1: fn.body[0].lineno - 1]
    return "\n".join(signature + lines[body[0].lineno - 1: fn.end_lineno]).strip()


def _lambda_text(source, inputs):
    try:
        tree = ast.parse(source.strip())
    except SyntaxError:
        try:   # a lambda inside a call split over lines: take from "lambda" on
            at = source.index("lambda")
            tree = ast.parse(source[at:].strip().rstrip(",)"))
            source = source[at:].strip().rstrip(",)")
        except (ValueError, SyntaxError):
            return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda) and [a.arg for a in node.args.args] == inputs:
            return ast.get_source_segment(source.strip(), node)
    return None
