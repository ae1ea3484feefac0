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
from .functions import ALIASES, FUNCTIONS, HELPERS, OPS
from .graph import Graph
from .names import input_names
from .parser import RESERVED
from .pyrewrite import rewrite

_NOT_USER = tuple(os.path.normcase(os.path.dirname(os.path.abspath(m.__file__))) + os.sep
                  for m in (sys.modules[__package__], np))   # symdiff's and NumPy's frames
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
        return _apply("floor", _apply("div", self, other))

    def __rfloordiv__(self, other):
        return _apply("floor", _apply("div", other, self))

    def __mod__(self, other):
        return _apply("mod", self, other)

    def __rmod__(self, other):
        return _apply("mod", other, self)

    def __divmod__(self, other):
        raise _unsupported("divmod()", "write a // b and a % b")

    __rdivmod__ = __divmod__

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

    # comparisons are conditions: 1.0 or 0.0 with no gradient (np.where, a if c else b),
    # refused only where Python needs their truth (if, while)
    def __lt__(self, other):
        return _apply("lt", self, other)

    def __le__(self, other):
        return _apply("le", self, other)

    def __gt__(self, other):
        return _apply("gt", self, other)

    def __ge__(self, other):
        return _apply("ge", self, other)

    def __eq__(self, other):
        return _apply("eq", self, other)

    def __ne__(self, other):
        return _apply("ne", self, other)

    __hash__ = object.__hash__

    # a traced number is a real scalar
    shape = ()
    ndim = 0
    size = 1

    @property
    def real(self):
        return self

    @property
    def imag(self):
        return Tracer(self.graph, self.graph.const(0.0))

    def conj(self):
        return self

    conjugate = conj

    # NumPy elementwise functions
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            raise _unsupported(f"np.{ufunc.__name__}.{method}" if method != "__call__"
                               else f"np.{ufunc.__name__}(..., {', '.join(kwargs)}=...)",
                               "call NumPy functions on the values only")
        name = ufunc.__name__
        if name in ("positive", "conjugate"):
            return inputs[0]
        if name == "reciprocal":
            return _apply("div", 1, inputs[0])
        if f"np.{name}" not in ALIASES:
            raise _unsupported(f"np.{name}", "supported NumPy functions: "
                               + ", ".join(sorted(a for a in ALIASES if a.startswith("np."))))
        return _call(ALIASES[f"np.{name}"], *inputs)

    def __array__(self, *args, **kwargs):
        raise _conversion("a NumPy array (np.asarray, np.array or a non-elementwise function)")


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


def _call(name, *args):
    """``name`` (a formula function: an op or a composed one) of tracers and numbers."""
    graph = next(a.graph for a in args if isinstance(a, Tracer))
    if name == "where":   # a constant condition may be a bool
        args = (float(args[0]) if isinstance(args[0], (bool, np.bool_)) else args[0],) + args[1:]
    lo, hi = (FUNCTIONS.get(name) or OPS[name]).takes
    if len(args) < lo or (hi is not None and len(args) > hi):
        raise _unsupported(f"{name}() of {len(args)} argument(s)")
    nodes = [_node(graph, a) for a in args]
    return Tracer(graph, graph.call(name, nodes, _position()))


def _math_log(x, base=None):
    y = _apply("log", x)
    return y if base is None else _apply("div", y, _apply("log", base) if isinstance(base, Tracer) else math.log(base))


_MATH = {alias[5:]: name for alias, name in ALIASES.items() if alias.startswith("math.")}


def _flatten(items):
    """The numbers of a (nested) literal list or tuple, or None if it is something else."""
    out, stack = [], [items]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(reversed(x))
        elif isinstance(x, (Tracer, int, float, np.integer, np.floating)) and not isinstance(x, bool):
            out.append(x)
        elif isinstance(x, np.ndarray) and x.dtype.kind in "iuf":
            out.extend(x.ravel().tolist())
        else:
            return None
    return out


def _reduction(name):
    """np.<name> over a traced number or a literal list/tuple of them (axis None only)."""
    def reduce(a, axis=None, *rest, **kwargs):
        items = _flatten(a)
        if items is None or not items or axis is not None or rest or \
                any(v is not None and k not in ("keepdims", "dtype") for k, v in kwargs.items()) or \
                kwargs.get("keepdims"):
            raise _unsupported(f"np.{name} of {type(a).__name__}",
                               "symdiff reduces a literal list or tuple of traced numbers: np.mean([x, y])")
        graph = next(x.graph for x in items if isinstance(x, Tracer))
        items = [_lift(graph, x) for x in items]
        n = len(items)
        if name in ("sum", "mean", "prod"):
            acc = items[0]
            for x in items[1:]:
                acc = _apply("mul" if name == "prod" else "add", acc, x)
            return _apply("div", acc, n) if name == "mean" else acc
        if name in ("max", "min", "amax", "amin"):
            return items[0] if n == 1 else _call(name.lstrip("a"), *items)
        mean = _reduction("mean")(items)
        var = _reduction("mean")([_apply("pow", _apply("sub", x, mean), 2) for x in items])
        return _apply("sqrt", var) if name == "std" else var
    reduce.__name__ = name
    return reduce


_NUMPY = {alias[3:]: (lambda name: lambda *args: _call(name, *args))(name)
          for alias, name in ALIASES.items()
          if alias.startswith("np.") and not isinstance(getattr(np, alias[3:], None), np.ufunc)}
_NUMPY.update({name: _reduction(name) for name in ("sum", "mean", "prod", "max", "min", "amax", "amin",
                                                   "std", "var")})
def _dot(a, b, *rest):
    """np.dot/np.inner/np.vdot of two literal lists (or numbers) of traced numbers."""
    xs, ys = _flatten(a), _flatten(b)
    if xs is None or ys is None or rest or (len(xs) != len(ys) and 1 not in (len(xs), len(ys))):
        raise _unsupported("np.dot of these arguments", "symdiff takes the dot product of two "
                           "literal lists of the same length: np.dot([x, y], [1.0, 2.0])")
    if len(xs) == 1 or len(ys) == 1:
        return _reduction("sum")([_apply("mul", p, q) for p in xs for q in ys])
    return _reduction("sum")([_apply("mul", p, q) for p, q in zip(xs, ys)])


_NUMPY.update(dot=_dot, inner=_dot, vdot=_dot)
_NUMPY["angle"] = lambda x, deg=False: _call("where", _apply("lt", x, 0), 180.0 if deg else math.pi, 0.0)


def _has_tracer(args):
    stack = list(args)
    while stack:
        x = stack.pop()
        if isinstance(x, Tracer):
            return True
        if isinstance(x, (list, tuple)):
            stack.extend(x)
    return False


# -- shims: math, numpy and builtins that accept tracers ----------------------------------------
class _MathShim(types.ModuleType):
    """Stands in for ``math`` inside the traced function: tracers build nodes, numbers go to
    the real ``math``; a math function symdiff lacks is refused by name."""

    def __init__(self):
        super().__init__("math", "symdiff's stand-in for math while tracing")

    def __getattr__(self, name):
        real = getattr(math, name)
        if not callable(real):
            return real
        ours = _MATH.get(name)

        def shim(*args):
            if not any(isinstance(a, Tracer) for a in args):
                return real(*args)
            if name == "log":
                return _math_log(*args)
            if ours is None:
                raise _unsupported(f"math.{name}", "supported math functions: math."
                                   + ", math.".join(sorted(_MATH)))
            return _call(ours, *args)
        shim.__name__ = name
        return shim


class _NumpyShim(types.ModuleType):
    """Stands in for ``numpy`` inside the traced function: reductions over literal lists of
    tracers (np.mean([x, y])), np.where, np.clip...; everything else is NumPy's own."""

    def __init__(self):
        super().__init__("numpy", "symdiff's stand-in for numpy while tracing")

    def __getattr__(self, name):
        real = getattr(np, name)
        ours = _NUMPY.get(name)
        if ours is None:
            return real

        def shim(*args, **kwargs):
            if _has_tracer(args) or _has_tracer(kwargs.values()):
                return ours(*args, **kwargs)
            return real(*args, **kwargs)
        shim.__name__ = name
        return shim


def _builtin_extreme(op, real):
    def shim(*args, **kwargs):
        items = args[0] if len(args) == 1 and not isinstance(args[0], Tracer) else args
        if kwargs or not isinstance(items, (tuple, list)) or not any(isinstance(a, Tracer) for a in items):
            return real(*args, **kwargs)
        if len(items) == 1:
            return items[0]
        return _call(op, *items)
    shim.__name__ = real.__name__
    return shim


def _builtin_sum(items, start=0):
    items = list(items) if isinstance(items, (list, tuple)) else items
    if not isinstance(items, list) or not any(isinstance(a, Tracer) for a in items):
        return builtins.sum(items, start)
    acc = start
    for a in items:
        acc = acc + a
    return acc


def _builtin_pow(a, b, mod=None):
    if mod is None and (isinstance(a, Tracer) or isinstance(b, Tracer)):
        return _apply("pow", a, b)
    return builtins.pow(a, b) if mod is None else builtins.pow(a, b, mod)


def _sd_if(condition, a, b):
    if isinstance(condition, Tracer):
        return _call("where", condition, a(), b())
    return a() if condition else b()


def _logical(name, short):
    def combine(*thunks):
        value = thunks[0]()
        for thunk in thunks[1:]:
            if isinstance(value, Tracer):
                value = _call(name, value, thunk())
            elif bool(value) is short:
                return value
            else:
                value = thunk()
        return value
    return combine


def _sd_not(value):
    return _apply("not", value) if isinstance(value, Tracer) else not value


_RUNTIME = {"_sd_if": _sd_if, "_sd_and": _logical("and", False), "_sd_or": _logical("or", True),
            "_sd_not": _sd_not}

_RUNTIME_CODES = {_sd_if.__code__, _sd_not.__code__, _RUNTIME["_sd_and"].__code__}
_BUILTINS = {"max": _builtin_extreme("max", builtins.max), "min": _builtin_extreme("min", builtins.min),
             "pow": _builtin_pow, "sum": _builtin_sum}


def _with_shims(f):
    """A copy of ``f`` whose globals see the math shim and tracer-aware max/min/pow."""
    shim, np_shim = _MathShim(), _NumpyShim()
    scope = dict(f.__globals__)
    math_names = {id(getattr(math, n)): n for n in dir(math) if callable(getattr(math, n))}
    np_names = {id(getattr(np, n)): n for n in _NUMPY if hasattr(np, n)}
    for name, value in f.__globals__.items():
        if value is math:
            scope[name] = shim
        elif value is np:
            scope[name] = np_shim
        elif id(value) in math_names and getattr(math, math_names[id(value)]) is value:
            scope[name] = getattr(shim, math_names[id(value)])   # from math import exp [as e]
        elif id(value) in np_names and getattr(np, np_names[id(value)]) is value:
            scope[name] = getattr(np_shim, np_names[id(value)])  # from numpy import mean
    for name, fn in _BUILTINS.items():
        if name not in scope:
            scope[name] = fn
    rewritten = rewrite(f, scope, _RUNTIME)    # a if c else b, and, or, not: symdiff/pyrewrite.py
    if rewritten is not None:
        return rewritten
    copy = types.FunctionType(f.__code__, scope, f.__name__, f.__defaults__, f.__closure__)
    copy.__kwdefaults__ = f.__kwdefaults__
    return copy


# -- errors that point at the user's line ---------------------------------------------------------
def _user_frame():
    """The innermost frame of the user's code that runs inside the traced function (not
    symdiff's or NumPy's), or None outside of it."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is trace_function.__code__:
            return None
        path = os.path.normcase(os.path.abspath(frame.f_code.co_filename))
        if not path.startswith(_NOT_USER) and not frame.f_code.co_filename.startswith(("<frozen", "<__array")):
            return frame
        frame = frame.f_back
    return None


def _where():
    frame = _user_frame()
    if frame is None:
        return ""
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    owner = frame   # a branch of `a if c else b` runs as a lambda (symdiff/pyrewrite.py): name its function
    while owner.f_code.co_name == "<lambda>" and owner.f_back is not None \
            and owner.f_back.f_code in _RUNTIME_CODES and owner.f_back.f_back is not None:
        owner = owner.f_back.f_back
    where = f"line {frame.f_lineno} of {owner.f_code.co_name}()"
    return f"{where}: `{line}`: " if line else f"{where}: "


def _control_flow():
    return FormulaError(
        _where() + "the function branches on the value of an input (data-dependent control flow: "
        "if/while statements), so it is not one formula",
        hint="write the branch as an expression: a if c else b, np.where(c, a, b), max(a, b), "
             "min(a, b) or abs(x); branches on constants are fine")


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
        if not p.name.isidentifier() or p.name.startswith(("__", "_sd_")):
            raise FormulaError(f"parameter {p.name!r} of {label}() cannot be an input name",
                               hint=f"rename it (e.g. {p.name.lstrip('_')}); names starting with __ or _sd_ "
                                    "are kept for Python and generated code")
        inputs.append(p.name)
    # NFKC, as Python reads them; a name generated code uses (sigmoid, np, range) is renamed there
    inputs = input_names(inputs, f"parameter of {label}()", _NOT_A_NAME, strict=False)

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
