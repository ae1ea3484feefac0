"""The record of one operation, and the registry every other list is read from.

An ``Op`` is a node of the graph: it has a local derivative rule and a printed form. A
``Composed`` function is built from ops when it is called (``gelu``, ``mean``, ``clip``):
it has no rule or printed form of its own, so every path (kernels, tape, trace, export,
graph) runs it with nothing added.
"""
import functools
from dataclasses import dataclass, field
from typing import Callable, Optional

OPS = {}        # graph op name -> Op, in the order the tape numbers its branches
COMPOSED = {}   # formula name -> Composed
HELPERS = {}    # helper name -> its source, emitted into generated modules that call it


class _LazySympy:
    """SymPy, imported on first use: parsing and printing text never needs it."""

    def __getattr__(self, name):
        import sympy as module
        return getattr(module, name)


sympy = _LazySympy()


@dataclass(frozen=True)
class Op:
    name: str                 # graph op name; also its name in formulas unless formula=False
    arity: int
    grad: Callable            # (g, y, *args) -> one Ex (or None: no gradient) per operand
    rule: object              # backward-line comment: one str, or one per operand
    sympy: Callable           # SymPy form from SymPy operands
    numpy: Callable           # NumPy float64 evaluation (folding constants, d.trace without kernels)
    printed: Optional[str] = None   # "np.arctan({0})", "(1.0 if {0} > {1} else 0.0)"; None: infix
    namespace: Optional[str] = None # "np" or "math": the module the printed call goes through
    func: Optional[str] = None      # the function the printed form calls (in ``namespace``, a helper or a builtin)
    helper: Optional[str] = None    # name of the HELPERS entry the printed form calls
    imports: tuple = ()             # modules the printed form needs besides numpy ("math",)
    vmath: Optional[str] = None     # codegen.vmath's vectorizable version (codegen binds it)
    libm: Optional[str] = None      # the C library function Numba's compiled call reaches (math.<libm>)
    python: Optional[Callable] = None  # plain-Python value of a printed form that is not a call
    sympy_classes: tuple = ()       # SymPy classes that become this op (names in sympy or cfunctions)
    aliases: tuple = ()             # "math.atan", "np.arctan": names in traced Python functions
    symbol: Optional[str] = None    # infix arithmetic: " + ", "*" ...
    precedence: int = 6             # infix arithmetic: binding strength when printed
    commutative: bool = False       # a*b and b*a are one node
    inline: bool = False            # may be folded into a sum/product line (rule never needs y)
    formula: bool = True            # callable by name in formulas
    domain: tuple = (-3.0, 3.0)     # where tests draw random points
    edges: str = ""                 # domain edges and kinks, as the docs table shows them
    label: Optional[str] = None     # dot label (default: the name)
    kink: bool = False              # not smooth inside its domain (a kink or a jump): gradient
                                    # methods stall there (Dask fits polish such losses)

    @property
    def takes(self):
        return (self.arity, self.arity)

    def rules(self):
        return self.rule if isinstance(self.rule, tuple) else (self.rule,) * self.arity


@dataclass(frozen=True)
class Composed:
    name: str
    takes: tuple              # (fewest, most) arguments; most None: any number
    build: Callable           # (Build, *operand node ids) -> node id
    sympy: Callable = None    # SymPy form (for docs and tests); default: from the built nodes
    aliases: tuple = ()
    edges: str = ""
    doc: str = ""
    domain: tuple = (-3.0, 3.0)


class Build:
    """What a ``Composed`` function builds with: ``b("mul", x, y)``, ``b.const(0.5)``."""

    def __init__(self, graph, pos):
        self.graph = graph
        self.pos = pos

    def __call__(self, name, *args):
        if name in OPS:       # an op itself (max of two), not the composed form (max of n)
            return self.graph.apply(name, args, self.pos)
        return COMPOSED[name].build(self, *args)

    def const(self, value):
        return self.graph.const(value)


def op(name, arity, grad, rule, sym, npf, *, call=None, helper=None, **fields):
    """Register an Op. ``call``: "np.arctan" / "math.erf" / a helper or builtin name: the
    printed form is then ``call(args)``; ``helper``: the source of that helper."""
    if call is not None:
        namespace, _, func = call.rpartition(".")
        fields.update(namespace=namespace or None, func=func,
                      printed=f"{call}(" + ", ".join(f"{{{k}}}" for k in range(arity)) + ")")
    if helper is not None:
        HELPERS[fields["func"]] = helper
        fields["helper"] = fields["func"]
    OPS[name] = Op(name, arity, grad, rule, sym, npf, **fields)
    return OPS[name]


def composed(name, takes, build, **fields):
    COMPOSED[name] = Composed(name, takes, build, **fields)
    return COMPOSED[name]


# -- SymPy forms of the functions SymPy does not have ------------------------------------
_DEFINITIONS = {}


def custom(name, nargs, definition, doc):
    """A SymPy Function class for ``name`` (made on first use), with its definition in
    SymPy's own functions (``expand_definitions``)."""
    _DEFINITIONS[name] = (nargs, definition, doc)
    return lambda *args: custom_sympy()[name][0](*args)


@functools.lru_cache(maxsize=None)
def custom_sympy():
    """name -> (SymPy Function class, definition) for the functions SymPy lacks."""
    import sympy as sp
    out = {}
    for name, (nargs, definition, doc) in _DEFINITIONS.items():
        cls = type(name, (sp.Function,), {"__doc__": doc, "nargs": nargs})
        out[name] = (cls, definition)
    return out


def expand_definitions(expr):
    """Rewrite the functions SymPy lacks (sigmoid, softplus...) in SymPy's own terms."""
    for cls, definition in custom_sympy().values():
        expr = expr.replace(cls, definition)
    return expr


@functools.lru_cache(maxsize=None)
def sympy_class(name):
    """A SymPy class by name, from sympy or sympy.codegen.cfunctions (log1p, hypot...)."""
    import sympy as sp
    from sympy.codegen import cfunctions
    return getattr(sp, name, None) or getattr(cfunctions, name)
