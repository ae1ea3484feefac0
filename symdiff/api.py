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
from .parser import closest, parse
from .reverse import reverse
from .version import KERNELS


def differentiate(formula, wrt=None, kernel="auto"):
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
    """
    if kernel not in KERNELS:
        raise FormulaError(f"unknown kernel {kernel!r}", hint="kernel is one of: " + ", ".join(KERNELS))
    sympy = sys.modules.get("sympy")   # a SymPy expression means SymPy is already imported
    if sympy is not None and isinstance(formula, sympy.Basic):
        if not isinstance(formula, sympy.Expr):
            raise FormulaError(f"expected a sympy.Expr, got {type(formula).__name__}")
        graph, root = Graph.from_sympy(formula)
        text, output_name = str(formula), None
        taken = {s.name for s in formula.free_symbols}
    elif isinstance(formula, str):
        parsed = parse(formula)
        graph, root, text = parsed.graph, parsed.root, parsed.text
        output_name, taken = parsed.output_name, parsed.taken
    elif callable(formula):   # a plain Python function, traced symbolically (symdiff/pyfunc.py)
        from .pyfunc import trace_function
        parsed = trace_function(formula)
        graph, root, text = parsed.graph, parsed.root, parsed.text
        output_name, taken = parsed.output_name, parsed.taken
    else:
        raise FormulaError(f"a formula must be a string or a sympy.Expr, not {type(formula).__name__}",
                           hint='write it as text: "sigmoid(a*x + b)"')
    if isinstance(wrt, str):
        wrt = [w.strip() for w in wrt.split(",") if w.strip()]
    program = reverse(graph, root, text, wrt, output_name, taken)
    if isinstance(formula, str):
        _warn_dead_statements(graph, root, program.output)
    return Derivative(program, graph, root, kernel)


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

    def __init__(self, program, graph, root, kernel="auto"):
        self.program = program
        self.kernel = kernel
        self.graph = graph
        self.root = root
        self.formula = program.text
        self.inputs = program.inputs
        self.wrt = program.wrt
        self._source = None
        self._kernels = None
        self._python = None
        self._tiers = None

    def __repr__(self):
        return f"<symdiff.Derivative of {self.program.output}: {self.formula!r} wrt {', '.join(self.wrt)}>"

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
        unknown = [k for k in inputs if k not in self.inputs]
        if unknown:
            close = closest(unknown[0], self.inputs)
            raise FormulaError(f"unknown input {unknown[0]!r}",
                               hint=(f"did you mean {close!r}? " if close else "")
                               + "inputs: " + ", ".join(self.inputs))
        missing = [k for k in self.inputs if k not in inputs]
        if missing:
            raise FormulaError(f"missing input {missing[0]!r}",
                               hint="call with every input: d(" + ", ".join(f"{k}=..." for k in self.inputs) + ")")
        values = []
        for k in self.inputs:
            v = inputs[k]
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
        values = self._arguments(inputs)
        n_out = 1 + len(self.wrt) if grad else 1
        if all(a.ndim == 0 for a in values):
            floats = [float(a) for a in values]
            result = self.tiers.scalar(floats, grad)
            if result is None:   # plain Python raised (a literal 0.0 divides): compiled gives inf/nan
                result = self.kernels.scalar(*floats, grad=grad)
            if not grad:
                return float(result)
            return float(result[0]), {w: float(g) for w, g in zip(self.wrt, result[1:])}
        try:
            shape = np.broadcast_shapes(*(a.shape for a in values))
        except ValueError:
            shapes = ", ".join(f"{k}: {a.shape}" for k, a in zip(self.inputs, values) if a.ndim)
            raise FormulaError(f"input arrays do not broadcast together ({shapes})",
                               hint="give arrays of one shape, or shapes NumPy can broadcast") from None
        size = math.prod(shape)
        mask, args = [], []
        for a in values:
            if a.size == 1:
                mask.append(False)
                args.append(float(a.reshape(())))
            else:
                mask.append(True)
                flat = a if a.shape == shape else np.broadcast_to(a, shape)
                args.append(np.ascontiguousarray(flat).reshape(size))
        outs = self.kernels.outputs(n_out, size)
        if size:
            self.tiers.arrays(tuple(mask), args, outs, grad)
        if not grad:
            return outs[0].reshape(shape)
        return outs[0].reshape(shape), {w: outs[k + 1].reshape(shape) for k, w in enumerate(self.wrt)}


def check(d, /, **point):
    """Compare d's gradient with central finite differences at ``point``; print and return
    a report (``report.ok``, ``report.errors[name]`` = max relative error)."""
    from .gradcheck import gradient_check
    report = gradient_check(d, point)
    print(report)
    return report
