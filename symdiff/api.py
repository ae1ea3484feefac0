"""The public API: ``differentiate`` and ``check``.

``differentiate`` parses (or converts a SymPy expression), runs the reverse pass and
returns a ``Derivative``. Its ``.source`` is printed without Numba; calling it compiles the
kernels on first use (``codegen`` is imported lazily, so ``import symdiff`` stays light and
the math layer never imports Numba).
"""
import math
import sys
import warnings

import numpy as np

from .errors import FormulaError, FormulaWarning
from .graph import Graph
from .inspection import InspectMixin   # show/trace/graph/stats/export/notebook reprs
from .names import normalize
from .parser import closest, parse
from .points import flatten_points
from .reverse import reverse
from .version import KERNELS


def differentiate(formula, wrt=None, kernel="auto", reduce=None):
    """Differentiate a formula: text, program text, a ``sympy.Expr``, or a plain Python
    function of floats (traced symbolically).

    ``wrt``: input names (a list, or a comma-separated string); ``None`` means all inputs.
    ``kernel``: how calls run compiled. "straight" compiles the program's own lines with
    Numba (the fastest code for small programs; compile time grows steeply with length),
    "tape" runs them on one shared interpreter compiled once per machine (nothing to
    compile per formula), "auto" (default) takes "straight" for programs of up to 160
    lines whose compile is estimated at two seconds at most (``kernels.compile_estimate``:
    mostly their transcendental calls), the tape above. Either way the first array calls
    do not wait for a compile (``Derivative``: tiers).
    ``reduce``: None (values and gradients per point), "sum" or "mean": the formula
    reduced over the points in one fused pass (symdiff/reduction.py).
    """
    if reduce not in (None, "sum", "mean"):
        raise FormulaError(f"unknown reduce {reduce!r}", hint='reduce is None, "sum" or "mean"')
    if kernel not in KERNELS:
        raise FormulaError(f"unknown kernel {kernel!r}", hint="kernel is one of: " + ", ".join(KERNELS))
    graph, root, text, output_name, taken, _ = read_formula(formula)
    if isinstance(wrt, str):
        wrt = [w.strip() for w in wrt.split(",") if w.strip()]
    if wrt is not None:
        wrt = [normalize(w) if isinstance(w, str) else w for w in wrt]   # as the inputs are
    program = reverse(graph, root, text, wrt, output_name, taken)
    if isinstance(formula, str):
        _warn_dead_statements(graph, root, program.output)
    return Derivative(program, graph, root, kernel, reduce)


def read_formula(formula, outputs=False):
    """(graph, root, text, output name, taken names, outputs) of text, a ``sympy.Expr`` or a
    Python function; ``outputs`` (several outputs, for ``jacobian``) is None unless allowed
    and the formula ends in a tuple (``r, c, s``) or the function returns one. With
    ``outputs``, the parsed object comes last (its ``env``: the names a program assigns)."""
    sympy = sys.modules.get("sympy")   # a SymPy expression means SymPy is already imported
    if sympy is not None and isinstance(formula, sympy.Basic):
        if not isinstance(formula, sympy.Expr):
            raise FormulaError(f"expected a sympy.Expr, got {type(formula).__name__}")
        graph, root = Graph.from_sympy(formula)
        taken = set(graph.inputs)   # the normalized names (symdiff/names.py)
        return graph, root, str(formula), None, taken, None, *((None,) if outputs else ())
    if isinstance(formula, str):
        parsed = parse(formula, outputs)
    elif callable(formula):   # a plain Python function, traced symbolically (symdiff/pyfunc.py)
        from .pyfunc import trace_function
        parsed = trace_function(formula, outputs)
    else:
        raise FormulaError(f"a formula must be a string or a sympy.Expr, not {type(formula).__name__}",
                           hint='write it as text: "sigmoid(a*x + b)"')
    return (parsed.graph, parsed.root, parsed.text, parsed.output_name, parsed.taken, parsed.outputs,
            *((parsed,) if outputs else ()))


def _warn_dead_statements(graph, root, output):
    """A named value that never reaches the output is left out of the generated code: say
    so (``f = q*2; g = x`` computes g only), once per formula."""
    live = graph.live(root)
    dead = [n for n in graph.nodes if n.names and n.op != "input" and n.id not in live]
    if dead:
        where = ", ".join(f"{'/'.join(n.names)}" + (f" (line {n.pos[0]})" if n.pos[0] else "")
                          for n in dead[:5]) + (f" and {len(dead) - 5} more" if len(dead) > 5 else "")
        warnings.warn(f"symdiff: {where} never reach{'es' if len(dead) == 1 else ''} the output "
                      f"{output}, so {'it is' if len(dead) == 1 else 'they are'} left out; the output "
                      "is the last statement's value", FormulaWarning, stacklevel=3)




class Derivative(InspectMixin):
    """A differentiated formula: readable source, and value + gradient on call.

    Calls are tiered like a JIT (``codegen/tiers.py``): array calls answer at once by
    running the generated module over NumPy arrays while the Numba kernel compiles in the
    background, and switch to it once it is ready; scalar calls run the module as plain
    Python (as fast as a compiled call for one point). Every tier gives the same numbers,
    bit for bit. ``d.compile()`` waits for the compiled tier.
    """

    def __init__(self, program, graph, root, kernel="auto", reduce=None):
        self.program = program
        self.kernel = kernel
        self.reduce = reduce
        self.graph = graph
        self.root = root
        self.formula = program.text
        users = dict(program.renamed)     # inputs renamed in code (lambda -> lambda_) keep their names
        self.inputs = tuple(users.get(n, n) for n in program.inputs)
        self.wrt = tuple(users.get(n, n) for n in program.wrt)
        self._source = None
        self._kernels = None
        self._python = None
        self._tiers = None
        self._known = None

    def __getstate__(self):   # pickles as its program (e.g. to Dask workers); kernels reload from the cache
        return {k: (None if k in ("_kernels", "_python", "_tiers") else v) for k, v in self.__dict__.items()
                if k != "_reductions"}

    def __repr__(self):
        summed = f", reduce={self.reduce!r}" if self.reduce else ""
        return f"<symdiff.Derivative of {self.program.output}: {self.formula!r} wrt {', '.join(self.wrt)}{summed}>"

    @property
    def source(self):
        """Readable forward + backward Python (the same lines the kernels run)."""
        if self._source is None:
            from codegen.printer import readable_source
            self._source = readable_source(self.program)
        return self._source

    @property
    def kernels(self):
        if self._kernels is None:
            from codegen.kernels import Kernels
            self._kernels = Kernels(self.program, self.kernel)
        return self._kernels

    @property
    def python(self):
        """The generated module run as plain Python (no Numba): ``.value_and_grad(...)``."""
        if self._python is None:
            from codegen.kernels import plain_module
            self._python = plain_module(self.program)
        return self._python

    def _arguments(self, inputs):
        known = self._known
        if known is None:
            known = self._known = frozenset(self.inputs)
        if not all(type(k) is str and k.isascii() for k in inputs):   # as Python reads d(ｘ=1)
            inputs = {normalize(k) if isinstance(k, str) else k: v for k, v in inputs.items()}
        unknown = [k for k in inputs if k not in known]
        if unknown:
            close = closest(unknown[0], self.inputs)
            constant = unknown[0] in ("e", "pi") and any(
                n.op == "const" and n.text == f"np.{unknown[0]}" for n in self.graph.nodes)
            raise FormulaError(f"unknown input {unknown[0]!r}",
                               hint=(f"in this formula {unknown[0]} is the constant {unknown[0]} = "
                                     f"{math.e if unknown[0] == 'e' else math.pi!r}, not an input; "
                                     f"to make it an input, give it another name ({unknown[0]}_) "
                                     "or assign it first. " if constant else "")
                               + (f"did you mean {close!r}? " if close and not constant else "")
                               + "inputs: " + ", ".join(self.inputs))
        missing = [k for k in self.inputs if k not in inputs] if len(inputs) != len(known) else []
        if missing:
            raise FormulaError(f"missing input {missing[0]!r}",
                               hint="call with every input: d(" + ", ".join(f"{k}=..." for k in self.inputs) + ")")
        values = []
        for k in self.inputs:
            v = inputs[k]
            if type(v) is float:   # the common scalar case, without two array conversions
                values.append(np.asarray(v))
                continue
            if isinstance(v, np.ma.MaskedArray):
                raise FormulaError(f"input {k!r} is a masked array; symdiff would ignore its mask",
                                   hint="pass v.filled(np.nan) to compute through masked points as NaN, "
                                        "or v.compressed() to drop them")
            try:
                if isinstance(v, (str, bytes)) or np.asarray(v).dtype.kind not in "biuf":
                    raise TypeError
                a = np.asarray(v, dtype=np.float64)
            except (TypeError, ValueError):
                raise FormulaError(f"input {k!r} is not a number or numeric array: {v!r:.60}") from None
            values.append(a)
        return values

    @property
    def tiers(self):
        """Which tier runs calls (``codegen.tiers.Tiers``; ``d.tiers.state()``)."""
        if self._tiers is None:
            from codegen.tiers import Tiers
            self._tiers = Tiers(self.kernels, lambda: self.python)
        return self._tiers

    def compile(self, wait=True, timeout=None):
        """Compile the Numba kernels the calls so far have used (before any call: the loop
        with every input an array, and the scalar entry) and wait for them: later calls run
        compiled from the first one. With ``wait=False``, only queue them in the background.
        Returns True when they are ready (False: ``timeout`` seconds passed first); raises
        the error of a compile that failed."""
        return self.tiers.compile(wait, timeout)

    def __call__(self, **inputs):
        """Value and gradient: ``(value, {name: gradient})``, elementwise over arrays."""
        return self._evaluate(inputs, grad=True)

    def value(self, **inputs):
        """The formula's value only (no backward pass)."""
        return self._evaluate(inputs, grad=False)

    def _evaluate(self, inputs, grad):
        if any(type(v).__module__.startswith("dask.") for v in inputs.values()):
            from .dask_support import evaluate    # lazy Dask arrays in, lazy results out
            return evaluate(self, inputs, grad)
        if self.reduce:
            values = self._arguments(inputs)
            if any(a.ndim for a in values):
                from .reduction import reduced    # one fused pass, sums instead of arrays
                return reduced(self, values, grad)
        results = self._run(inputs, grad)
        if not grad:
            return results[0]
        return results[0], dict(zip(self.wrt, results[1:]))

    def _run(self, inputs, grad):
        """Every result of the program (value, then ``program.grads``; the value only
        without ``grad``): floats for scalar inputs, arrays of the broadcast shape else."""
        values = self._arguments(inputs)
        n_out = 1 + len(self.program.grads) if grad else 1
        if all(a.ndim == 0 for a in values):
            floats = [float(a) for a in values]
            result = self.tiers.scalar(floats, grad)
            if result is None:   # plain Python raised (a literal 0.0 divides): compiled gives inf/nan
                result = self.kernels.scalar(*floats, grad=grad)
            return [float(result)] if not grad else [float(r) for r in result]
        shape, size, mask, args = flatten_points(self.inputs, values)
        outs = self.kernels.outputs(n_out, size)
        if size:
            self.tiers.arrays(mask, args, outs, grad)
        return [out.reshape(shape) for out in outs]


def check(d, /, **point):
    """Compare d's gradient with central finite differences at ``point``; print and return
    a report (``report.ok``, ``report.errors[name]`` = max relative error)."""
    from .gradcheck import gradient_check
    report = d.check_report(point) if hasattr(d, "check_report") else gradient_check(d, point)
    print(report)
    return report
