"""The public API of second-order and multi-output derivatives: ``hessian``, ``jacobian``,
``jvp`` and ``hvp``.

Each builds the first-order program with the reverse pass, then a program of the same
operations from it (``symdiff/second.py``), and wraps it in a ``Derivative`` subclass: the
same readable source, compiled kernels, tape, plain-Python run, ``show``, ``trace``,
``stats``, ``export`` and notebook reprs as a gradient; only what a call returns differs.
"""
import numpy as np

from .api import KERNELS, Derivative, read_formula
from .errors import FormulaError
from .expr import Ex
from .parser import closest
from .reverse import Line, Program, reverse
from .second import check_outputs, hessian_program, hvp_program, jacobian_program, jvp_program


def _wrt_list(wrt):
    if isinstance(wrt, str):
        return [w.strip() for w in wrt.split(",") if w.strip()]
    return None if wrt is None else list(wrt)


def _first_order(formula, wrt, kernel):
    if kernel not in KERNELS:
        raise FormulaError(f"unknown kernel {kernel!r}", hint="kernel is one of: " + ", ".join(KERNELS))
    graph, root, text, output_name, taken, _ = read_formula(formula)
    program = reverse(graph, root, text, _wrt_list(wrt), output_name, taken)
    return graph, root, program, taken


def hessian(formula, wrt=None, kernel="auto"):
    """Value, gradient and Hessian of a formula (text, program, ``sympy.Expr`` or Python
    function), elementwise over broadcast arrays: ``value, grad, hess = h(**inputs)`` with
    ``grad[a]`` and ``hess[a][b] == hess[b][a]``. Forward-over-reverse: one tangent sweep of
    the gradient program per input; each symmetric entry is computed once."""
    graph, root, base, taken = _first_order(formula, wrt, kernel)
    h = Hessian(hessian_program(base, taken), graph, root, kernel)
    h.first_order_lines = len(base.backward)
    return h


def hvp(formula, wrt=None, kernel="auto"):
    """Hessian-vector product: ``f(primals, vector) -> (value, grad, hv)`` with ``hv[a]`` =
    sum over b of ``hess[a][b]*vector[b]`` (one forward-over-reverse sweep)."""
    graph, root, base, taken = _first_order(formula, wrt, kernel)
    h = HVP(hvp_program(base, taken), graph, root, kernel)
    h.first_order_lines = len(base.backward)
    return h


def jvp(formula, wrt=None, kernel="auto"):
    """Forward mode: ``f(primals, tangents) -> (value, directional)``, the derivative along
    ``tangents`` (one tangent sweep of the forward lines)."""
    graph, root, base, taken = _first_order(formula, wrt, kernel)
    return JVP(jvp_program(base, taken), graph, root, kernel)


def jacobian(formula, outputs=None, wrt=None, kernel="auto"):
    """Values and Jacobian of several outputs: ``values, jac = j(**inputs)`` with
    ``values[o]`` and ``jac[o][a]``. ``outputs``: a list or a comma-separated string of names
    the program assigns; by default the final statement's tuple (``r, c, s``), or the tuple a
    Python function returns. One forward-mode sweep per input."""
    if kernel not in KERNELS:
        raise FormulaError(f"unknown kernel {kernel!r}", hint="kernel is one of: " + ", ".join(KERNELS))
    graph, root, text, output_name, taken, outs, parsed = read_formula(formula, outputs=True)
    if outputs is None:
        keys = [o[0] for o in outs] if outs else [output_name or "f"]
        nodes = [o[2] for o in outs] if outs else [root]
    else:
        available = _named_values(graph, getattr(parsed, "env", None), outs, output_name, root)
        keys = check_outputs(outputs, available)
        nodes = [available[k] for k in keys]
    for key, n in zip(keys, nodes):     # a bare expression's value gets the output's name
        if graph.nodes[n].op not in ("input", "const") and not graph.nodes[n].names:
            graph.name(n, key if key not in graph.inputs else f"{key}_out")
    program, variables = _forward_program(graph, nodes, text, _wrt_list(wrt), taken)
    j = Jacobian(jacobian_program(program, variables, taken), graph, root, kernel)
    j.outputs = tuple(keys)
    return j


def _named_values(graph, env, outs, output_name, root):
    """Every name a user may list as an output -> its node (the latest value of a name)."""
    available = {}
    if env is not None:      # program text: what each name holds at the end
        available.update(env)
    else:                    # a traced function: the names its variables gave to values
        for node in graph.nodes:
            for n in node.names:
                available.setdefault(n, node.id)
    for o in outs or ():
        available[o[0]] = o[2]
    if output_name and output_name not in available:
        available[output_name] = root
    available.update(graph.inputs)
    return available


def _forward_program(graph, nodes, text, wrt, taken):
    """A program whose forward lines compute every node in ``nodes``, and the variable of
    each: the reverse pass run on a sum of them (that last line is then dropped)."""
    lines = [n for n in nodes if graph.nodes[n].op not in ("input", "const")]
    extra_const = [n for n in nodes if graph.nodes[n].op == "const"]
    root = lines[0] if lines else None
    for n in lines[1:]:
        root = graph.apply("add", (root, n))
    if root is None:      # only inputs and constants: no forward line needed
        root = nodes[0] if not extra_const else extra_const[0]
    program = reverse(graph, root, text, wrt, None, taken)
    forward = program.forward
    if len(lines) > 1:
        forward = forward[:-1]     # the sum itself
    variables, names = [], {l.target for l in forward} | set(program.inputs) | set(taken)
    by_node = {}
    for n in nodes:
        node = graph.nodes[n]
        if node.op == "input":
            variables.append(node.text)
        elif node.op == "const":
            if n not in by_node:
                k = 0
                while f"c{k}" in names:
                    k += 1
                names.add(f"c{k}")
                value = Ex("num", node.value, node.text) if node.text else Ex("num", node.value)
                forward = forward + (Line(f"c{k}", value),)
                by_node[n] = f"c{k}"
            variables.append(by_node[n])
        else:
            variables.append(node.names[0])
    return Program(text, program.inputs, program.wrt, variables[0], forward, (), ()), variables


class _Second(Derivative):
    first_order_lines = 0    # backward lines of the gradient itself (before the sweeps)

    """What the four objects share: ``value``, ``check``, and output arrays reused between
    calls once the caller has let go of them (see ``_pooled``)."""

    @property
    def kernels(self):
        if self._kernels is None:
            from codegen.kernels import Kernels
            self._kernels = _pooled(Kernels(self.program, self.kernel))
        return self._kernels

    def __repr__(self):
        return f"<symdiff.{type(self).__name__} of {self.program.output}: {self.formula!r} wrt {', '.join(self.wrt)}>"

    def value(self, **inputs):
        """The formula's value only (no derivatives)."""
        return self._run(inputs, grad=False)[0]

    def stats(self, time_limit=0):
        """Op counts: forward, the gradient (Hessian, HVP), and the tangent sweeps, with the
        cost relative to the forward pass. ``time_limit`` > 0 adds SymPy's size of the
        first-order derivative, as ``Derivative.stats`` does."""
        from .inspection import stats
        from .second_stats import SecondStats
        base = stats(self.program, self.graph, self.root, time_limit, self.kernels)
        return SecondStats(base, type(self).__name__, self.first_order_lines)

    def check_report(self, point):
        """``symdiff.check``'s report: central differences of the gradient (Hessian, HVP)
        or of the values (Jacobian, JVP)."""
        from .check_second import check_report
        return check_report(self, point)


def _pooled(kernels):
    """``kernels`` whose ``outputs`` hands back the previous call's arrays when nothing else
    refers to them any more (a dropped result): a Hessian over 10**6 points returns 21
    arrays (168 MB), and fresh memory costs a page fault per 4 KB on every call. Arrays the
    caller still holds (or any view of them: NumPy views keep their owner alive) are never
    reused."""
    fresh = kernels.outputs
    pool = {}

    def outputs(n, size):
        owners = pool.get((n, size))
        if owners is not None and _unheld(owners):
            return list(owners) if len(owners) == n else list(owners[0])
        outs = fresh(n, size)
        if all(o.base is None for o in outs):            # separate arrays (straight kernels)
            pool[(n, size)] = list(outs)
        elif all(o.base is outs[0].base for o in outs):  # rows of one block (the tape)
            pool[(n, size)] = [outs[0].base]
        return outs

    kernels.outputs = outputs
    return kernels


def _unheld(owners):
    """Whether nothing but the pool refers to these arrays: three references each (the
    pool's list, the loop variable, getrefcount's argument); a result the caller kept, or
    any view of it, adds one."""
    import sys
    for o in owners:
        if sys.getrefcount(o) > 3:
            return False
    return True


class Hessian(_Second):
    """``value, grad, hess = h(**inputs)``; ``hess[a][b]`` (the same object for ``[b][a]``'s
    number: each symmetric entry is computed once)."""
    kind = "hessian"

    def __call__(self, **inputs):
        r = self._run(inputs, grad=True)
        n = len(self.wrt)
        grad = dict(zip(self.wrt, r[1:1 + n]))
        hess = {w: {} for w in self.wrt}
        k = 1 + n
        for j, wj in enumerate(self.wrt):        # entries (i, j) with i <= j, column by column
            for i in range(j + 1):
                hess[self.wrt[i]][wj] = hess[wj][self.wrt[i]] = r[k]
                k += 1
        return r[0], grad, {w: {v: hess[w][v] for v in self.wrt} for w in self.wrt}


class Jacobian(_Second):
    """``values, jac = j(**inputs)``: ``values[o]``, ``jac[o][a]``."""
    kind = "jacobian"
    outputs = ()

    def __repr__(self):
        return (f"<symdiff.Jacobian of {', '.join(self.outputs)}: {self.formula!r} "
                f"wrt {', '.join(self.wrt)}>")

    def __call__(self, **inputs):
        r = self._run(inputs, grad=True)
        m = len(self.outputs)
        values = dict(zip(self.outputs, r[:m]))
        jac, k = {}, m
        for o in self.outputs:
            jac[o] = dict(zip(self.wrt, r[k:k + len(self.wrt)]))
            k += len(self.wrt)
        return values, jac


class _Directional(_Second):
    """A function of (primals, vector): the vector's components are inputs ``x_dot``."""

    @property
    def primals(self):
        return self.inputs[:len(self.inputs) - len(self.wrt)]

    def value(self, **inputs):
        """The formula's value at the primals: the vector (``x_dot``...) may be left out."""
        for name in self.inputs[len(self.primals):]:
            inputs.setdefault(name, 0.0)
        return super().value(**inputs)

    def _inputs(self, primals, vector, what):
        if not isinstance(primals, dict) or not isinstance(vector, dict):
            raise FormulaError(f"call with two dicts: f(primals, {what})",
                               hint="f({'x': 0.3, 'y': -0.8}, {'x': 1.0, 'y': 0.5})")
        unknown = [k for k in primals if k not in self.primals]
        if unknown:
            close = closest(unknown[0], self.primals)
            raise FormulaError(f"unknown input {unknown[0]!r}",
                               hint=(f"did you mean {close!r}? " if close else "")
                               + "inputs: " + ", ".join(self.primals))
        absent = [k for k in self.primals if k not in primals]
        if absent:     # (else the hint would name the generated x_dot inputs)
            raise FormulaError(f"missing input {absent[0]!r} in primals",
                               hint="give every input in primals: " + ", ".join(self.primals))
        for k in vector:
            if k not in self.wrt:
                close = closest(k, self.wrt)
                why = "is not an input" if k not in self.primals else "is not in wrt"
                raise FormulaError(f"{what} for unknown input {k!r} ({k!r} {why})",
                                   hint=(f"did you mean {close!r}? " if close else "")
                                   + f"{what} are given for: " + ", ".join(self.wrt))
        missing = [w for w in self.wrt if w not in vector]
        if missing:
            raise FormulaError(f"missing {what[:-1] if what.endswith('s') else what} for {missing[0]!r}",
                               hint=f"give one for every wrt input: " + ", ".join(self.wrt)
                               + " (0.0 for a direction that does not move it)")
        names = self.inputs[len(self.primals):]
        return dict(primals, **{n: vector[w] for n, w in zip(names, self.wrt)})


class JVP(_Directional):
    """``value, directional = f(primals, tangents)``."""
    kind = "jvp"

    def __call__(self, primals, tangents):
        r = self._run(self._inputs(primals, tangents, "tangents"), grad=True)
        return r[0], r[1]


class HVP(_Directional):
    """``value, grad, hv = f(primals, vector)``; ``hv[a]`` = sum over b of hess[a][b]*vector[b]."""
    kind = "hvp"

    def __call__(self, primals, vector):
        r = self._run(self._inputs(primals, vector, "vector"), grad=True)
        n = len(self.wrt)
        return r[0], dict(zip(self.wrt, r[1:1 + n])), dict(zip(self.wrt, r[1 + n:1 + 2 * n]))
