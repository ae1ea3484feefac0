"""Looking inside a ``Derivative``: show, trace, graph, stats, export, notebook reprs.

``InspectMixin`` is the part of ``symdiff.Derivative`` that explains what was generated:

- ``show()``      the readable source, coloured on a terminal;
- ``trace(...)``  every forward line with its value, then every backward line with its
                  local gradient, the upstream gradient and their product (CS231n's
                  "local gradient times upstream gradient", gate by gate);
- ``graph(...)``  Graphviz DOT of the computation graph, values and gradients on the nodes;
- ``stats()``     the cost report, with SymPy's own derivative size under a time limit;
- ``export(p)``   a standalone module that needs only NumPy (Numba when present).

The numbers come from the math layer (``functions.evaluate`` on the program's lines, and
the operation table's rules on graph nodes); printing lives in ``codegen``.
"""
import json
import math
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .errors import FormulaError
from .expr import var, num
from .functions import OPS, evaluate
from .functions import evaluate as _numpy_evaluate
from .graph import Graph

SYMPY_TIME_LIMIT = 10.0     # seconds stats() gives SymPy's diff + cse of the whole formula
STARTUP_LIMIT = 120.0      # seconds the child may take to import SymPy (a loaded machine)
DOT_MAX_NODES = 200         # pictures of bigger graphs show the nodes nearest the output
CHEAP_GRADIENT_BOUND = 3    # reverse mode costs at most a small constant times the forward pass


def headline(text, limit=90):
    """A formula or program on one line: statements joined by '; ', a Python function by
    its ``def`` line; cut at ``limit`` characters."""
    lines = [l.split("#")[0].strip() for l in text.strip().splitlines()]
    lines = [l for l in lines if l]
    if lines and lines[0].startswith(("def ", "async def ")):
        one = lines[0].rstrip(":")
    else:
        one = "; ".join(" ".join(l.split()) for l in lines)
    return one if len(one) <= limit else one[:limit - 3] + "..."


# -- numbers --------------------------------------------------------------------------------
def fmt(value, digits=2):
    """A number for people: fixed point in a readable range, else scientific."""
    v = float(value)
    if math.isnan(v) or math.isinf(v):
        return str(v)
    if v == 0:
        return f"{0:.{digits}f}"
    if 10.0 ** -digits <= abs(v) < 1e6:
        return f"{v:.{digits}f}"
    return f"{v:.{digits}e}"


def _scalar_point(inputs, point, what):
    """name -> float64 for every input; a clear error for unknown, missing, or array values."""
    unknown = [k for k in point if k not in inputs]
    if unknown:
        import difflib
        close = difflib.get_close_matches(unknown[0], inputs, 1)
        raise FormulaError(f"unknown input {unknown[0]!r}",
                           hint=(f"did you mean {close[0]!r}? " if close else "")
                           + "inputs: " + ", ".join(inputs))
    missing = [k for k in inputs if k not in point]
    if missing:
        raise FormulaError(f"{what} needs a value for every input; {missing[0]!r} is missing",
                           hint=f"{what}(" + ", ".join(f"{k}=..." for k in inputs) + ")")
    env = {}
    for k in inputs:
        try:
            a = np.asarray(point[k], dtype=np.float64)
        except (TypeError, ValueError):
            raise FormulaError(f"input {k!r} is not a number: {point[k]!r:.60}") from None
        if a.ndim:
            raise FormulaError(f"{what} takes one point: {k!r} is an array of shape {a.shape}",
                               hint="give one number per input")
        env[k] = np.float64(a)
    return env


# -- trace: the program's own lines, evaluated one by one ------------------------------------
@dataclass
class Step:
    target: str
    code: str                 # the generated line, e.g. "dt4 = -f/t4*df"
    value: float              # the target's value after this line
    accumulate: bool = False  # a "+=" line
    term: float = None        # backward: what this line adds (local * upstream)
    rule: str = ""
    gate: str = None          # backward: the forward line it differentiates
    local: str = None         # backward: local gradient, as code
    local_value: float = None
    upstream: str = None
    upstream_value: float = None


class Trace:
    """Forward values and backward local/upstream/product, line by line (``str()`` prints it)."""

    def __init__(self, program, point, forward, backward):
        self.program = program
        self.point = point
        self.forward = forward      # [Step]
        self.backward = backward    # [Step]
        self.values = dict(point)      # an output may be an input itself ("y = x")
        self.values.update({s.target: s.value for s in forward + backward})
        self.value = self.values[program.output]
        self.grad = {w: self.values[g] for w, g in zip(program.wrt, program.grads)}

    def __repr__(self):
        return (f"<Trace of {self.program.output} at "
                + ", ".join(f"{k}={fmt(v, 4)}" for k, v in self.point.items()) + ">")

    def __str__(self):
        return self.format()

    def format(self, digits=2, arrow="→"):
        p = self.program
        at = ", ".join(f"{k}={v:g}" for k, v in self.point.items())
        out = [f"trace of {headline(p.text)}" + (f"  at {at}" if at else "")]
        out.append("")
        out.append("forward: each line's value")
        width = min(max((len(s.code) for s in self.forward), default=0), 48)
        for s in self.forward:
            out.append(f"  {s.code.ljust(width)}  = {fmt(s.value, digits)}")
        out.append("")
        out.append("backward: local gradient × upstream gradient → gradient")
        width = min(max((len(s.code) for s in self.backward), default=0), 40)
        gate = None
        for s in self.backward:
            if s.gate is not None and s.gate != gate:
                gate = s.gate
                kinds = {b.rule.split(":")[0] for b in self.backward if b.gate == gate and ":" in b.rule}
                out.append(f"  {gate}" + (f"   ({kinds.pop()} gate)" if len(kinds) == 1 else ""))
            if s.upstream is None:
                out.append(f"  {s.code.ljust(width)}  = {fmt(s.value, digits)}" +
                           (f"   # {s.rule}" if s.rule else ""))
                continue
            product = (f"local {s.local} = {fmt(s.local_value, digits)}, upstream {s.upstream} = "
                       f"{fmt(s.upstream_value, digits)} {arrow} {fmt(s.term, digits)}")
            if s.accumulate:
                product += f", {s.target} = {fmt(s.value, digits)}"
            out.append(f"    {s.code.ljust(width)}  {product}   # {s.rule}")
        out.append("")
        label = "gradient" if p.returns is None else "results"   # second order: not only a gradient
        out.append(f"{label}: " + ", ".join(f"{g} = {fmt(self.values[g], digits)}" for g in p.grads))
        return "\n".join(out)


def trace(program, point, module=None):
    """Evaluate ``program`` line by line at ``point`` (name -> number): a ``Trace``.
    With ``module`` (``Derivative.python``) the lines run with its math, so the numbers are
    the ones the kernels give to the bit; without, with NumPy's (``functions.evaluate``)."""
    from codegen.printer import pyexpr
    if module is not None:
        from codegen.evaluate import plain_value

        def evaluate(ex, env):
            with np.errstate(all="ignore"):
                return plain_value(ex, env, module)
    else:
        evaluate = _numpy_evaluate
    env = _scalar_point(program.inputs, point, "trace")
    forward = []
    for line in program.forward:
        env[line.target] = np.float64(evaluate(line.expr, env))
        forward.append(Step(line.target, f"{line.target} = {pyexpr(line.expr)}", float(env[line.target])))
    backward = []
    for line in program.backward:
        term = float(evaluate(line.expr, env))
        total = float(env[line.target]) + term if line.accumulate else term
        op = "+=" if line.accumulate else "="
        step = Step(line.target, f"{line.target} {op} {pyexpr(line.expr)}", total, line.accumulate,
                    term, line.rule)
        if line.upstream is not None:
            fwd = program.forward[line.of]
            step.gate = f"{fwd.target} = {pyexpr(fwd.expr)}"
            step.local = pyexpr(line.local)
            step.local_value = float(evaluate(line.local, env))
            step.upstream = line.upstream
            step.upstream_value = float(env[line.upstream])
        env[line.target] = np.float64(total)
        backward.append(step)
    return Trace(program, {k: float(env[k]) for k in program.inputs}, forward, backward)


# -- node by node: values and gradients on the graph (for pictures) --------------------------
def node_values(graph, root, point):
    """node id -> value for every node ``root`` depends on."""
    env = _scalar_point(list(graph.inputs), point, "graph")
    live = sorted(graph.live(root))
    values = {}
    with np.errstate(all="ignore"):
        for i in live:
            node = graph.nodes[i]
            if node.op == "input":
                values[i] = env[node.text]
            elif node.op == "const":
                values[i] = np.float64(node.value)
            else:
                values[i] = np.float64(OPS[node.op].numpy(*(values[a] for a in node.args)))
    return values


def node_grads(graph, root, values):
    """node id -> d(root)/d(node), by the operation table's own rules, node by node."""
    grads = {i: np.float64(0.0) for i in values}
    grads[root] = np.float64(1.0)
    for i in sorted(values, reverse=True):
        node = graph.nodes[i]
        if node.op in ("input", "const"):
            continue
        env = {"g": grads[i], "y": values[i]}
        operands = []
        for k, a in enumerate(node.args):
            if graph.nodes[a].op == "const":
                operands.append(num(graph.nodes[a].value))
            else:
                env[f"a{k}"] = values[a]
                operands.append(var(f"a{k}"))
        for a, contribution in zip(node.args, OPS[node.op].grad(var("g"), var("y"), *operands)):
            if contribution is not None and graph.nodes[a].op != "const":
                grads[a] = grads[a] + np.float64(evaluate(contribution, env))
    return grads


# -- stats: the cost report ---------------------------------------------------------------------
class Stats:
    """Node and operation counts, the backward/forward ratio, and SymPy's size (``str()``)."""

    def __init__(self, program, nodes, forward_ops, backward_ops, sympy_result, kernel=None):
        self.program = program
        self.kernel = kernel                # how calls run compiled (text), or None
        self.nodes = nodes                  # Counter: "input", "const", op names
        self.forward_lines = len(program.forward)
        self.backward_lines = len(program.backward)
        self.forward_ops = forward_ops
        self.backward_ops = backward_ops
        self.ratio = backward_ops / forward_ops if forward_ops else math.inf if backward_ops else 0.0
        self.sympy = sympy_result           # dict: ops, seconds | gave_up | error

    @property
    def node_count(self):
        return sum(self.nodes.values())

    @property
    def sympy_ops(self):
        return self.sympy.get("ops")

    def __repr__(self):
        return (f"<Stats of {self.program.output}: forward {self.forward_ops} ops, "
                f"backward {self.backward_ops} ops, ratio {self.ratio:.2f}>")

    def __str__(self):
        p = self.program
        n = self.nodes
        ops = {k: v for k, v in n.items() if k not in ("input", "const")}
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(ops.items(), key=lambda kv: (-kv[1], kv[0])))
        rows = [f"cost of {headline(p.text)}",
                f"  graph     {_count(self.node_count, 'node')}: {_count(n['input'], 'input')}, "
                f"{_count(n['const'], 'constant')}, {_count(sum(ops.values()), 'operation')}"
                + (f" ({kinds})" if kinds else ""),
                f"  forward   {_count(self.forward_lines, 'line')}, {_count(self.forward_ops, 'op')}",
                f"  backward  {_count(self.backward_lines, 'line')}, {_count(self.backward_ops, 'op')}"
                f" for {_count(len(p.wrt), 'gradient')}",
                f"  ratio     backward/forward = {self.ratio:.2f}  (cheap-gradient bound: "
                f"{CHEAP_GRADIENT_BOUND}{'; within' if self.ratio <= CHEAP_GRADIENT_BOUND else '; above'})"]
        if self.kernel:
            rows.append(f"  kernel    {self.kernel}")
        s = self.sympy
        if "skipped" in s:
            rows.append("  SymPy     comparison skipped (time limit 0)")
            return "\n".join(rows)
        what = f"  SymPy     diff of the whole formula for {len(p.wrt)} input{'s' if len(p.wrt) != 1 else ''}, then cse: "
        if "ops" in s:
            rel = f", {s['ops'] / self.backward_ops:.1f}x symdiff's backward" if self.backward_ops else ""
            rows.append(what + f"{s['ops']} ops ({s['seconds']:.1f} s{rel})")
        elif "gave_up" in s:
            rows.append(what + f"gave up after {s['gave_up']:g} s")
        else:
            rows.append(what + f"failed ({s['error']})")
        return "\n".join(rows)


def _count(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def stats(program, graph, root, time_limit=SYMPY_TIME_LIMIT, kernels=None):
    live = graph.live(root)
    nodes = Counter({"input": 0, "const": 0})
    nodes.update(graph.nodes[i].op for i in live)
    sympy_result = sympy_size(graph, root, program.wrt, time_limit) if time_limit else {"skipped": True}
    return Stats(program, nodes, program.forward_ops(), program.backward_ops(), sympy_result,
                 kernel_text(kernels) if kernels is not None else None)


def kernel_text(kernels):
    """One line on how calls run compiled (``codegen.kernels.Kernels``; nothing is compiled)."""
    if kernels.kind == "straight":
        return "straight: the lines compiled as they are, one Numba kernel per program"
    tape = kernels.tape()
    return (f"tape: {_count(len(tape), 'instruction')} over {_count(tape.rows, 'work row')}, "
            "run by the shared interpreter (codegen/tape.py)")


def sympy_size(graph, root, wrt, time_limit=SYMPY_TIME_LIMIT):
    """count_ops of ``cse([diff(formula, x) for x in wrt])``, in a child process that is
    killed after ``time_limit`` seconds: ``{"ops", "seconds"}``, ``{"gave_up"}`` or ``{"error"}``.

    SymPy's derivative of a whole formula can swell without bound (a depth-20 recurrence
    reaches 10 million operations), so it never runs in this process."""
    payload = pickle.dumps((graph, root, tuple(wrt)))
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = package_parent + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    lines = queue.Queue()
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [sys.executable, "-c", "from symdiff.inspection import _sympy_child; _sympy_child()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, env=env)
        reader = threading.Thread(target=_read_lines, args=(child.stdout, lines), daemon=True)
        reader.start()
        try:
            child.stdin.write(payload)
            child.stdin.close()
            # the clock starts once the child has imported SymPy and read the graph
            ready = lines.get(timeout=STARTUP_LIMIT)
            if ready == "ready":
                try:
                    answer = lines.get(timeout=time_limit)
                except queue.Empty:
                    return {"gave_up": time_limit}
            else:
                answer = ready
        except (queue.Empty, BrokenPipeError):
            answer = None
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
            reader.join(timeout=5)
        try:
            return json.loads(answer)
        except (TypeError, ValueError):
            errors.seek(0)
            last = (errors.read().decode(errors="replace").strip().splitlines() or ["no answer"])[-1]
            return {"error": last[:120]}


def _read_lines(stream, lines):
    for raw in stream:
        lines.put(raw.decode(errors="replace").strip())
    lines.put(None)


def _sympy_child():
    import sympy
    graph, root, wrt = pickle.loads(sys.stdin.buffer.read())
    print("ready", flush=True)
    start = time.perf_counter()
    try:
        sys.setrecursionlimit(100000)
        expr = graph.to_sympy(root, expand=True)
        grads = [sympy.diff(expr, sympy.Symbol(w)) for w in wrt]
        replacements, reduced = sympy.cse(grads)
        ops = sum(sympy.count_ops(e) for _, e in replacements) + sum(sympy.count_ops(e) for e in reduced)
        result = {"ops": int(ops), "seconds": time.perf_counter() - start}
    except Exception as exc:  # noqa: BLE001 - report whatever SymPy raised, in one line
        result = {"error": f"{type(exc).__name__}: {exc}"[:120]}
    print(json.dumps(result))


# -- the mixin ------------------------------------------------------------------------------------
class InspectMixin:
    """show / trace / graph / stats / export and notebook reprs for ``Derivative``.

    Expects ``self.program``, ``self.graph``, ``self.root`` and ``self.source``."""

    def show(self, color=None, file=None):
        """Print the readable source; coloured on a terminal (``color=None``), never when
        NO_COLOR is set or output is piped."""
        from codegen import highlight
        stream = sys.stdout if file is None else file
        if color is None:
            color = highlight.use_color(stream)
        print(highlight.ansi(self.source) if color else self.source, end="", file=stream)

    def trace(self, point=None, /, **inputs):
        """Print and return the ``Trace`` of the program at one point:
        ``d.trace(w0=2, x0=-1, ...)`` or ``d.trace({"w0": 2, ...})``."""
        code = {user: name for name, user in self.program.renamed}   # lambda -> lambda_
        t = trace(self.program, {code.get(k, k): v for k, v in {**(point or {}), **inputs}.items()},
                  self.python)
        text = t.format()
        encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
        try:
            text.encode(encoding)
        except UnicodeEncodeError:
            text = t.format(arrow="->").replace("×", "x")
        print(text)
        return t

    @property
    def graph(self):
        """The computation graph (a ``symdiff.graph.Graph``). Calling it draws it:
        ``d.graph(w0=2, ...)`` is ``DotGraph`` text with values and gradients on the nodes."""
        view = self.__dict__.get("_graph_view")
        if view is None:
            view = self.__dict__["_graph_view"] = GraphView(self.__dict__["_graph_data"], self)
        return view

    @graph.setter
    def graph(self, value):
        self.__dict__["_graph_data"] = value
        self.__dict__.pop("_graph_view", None)

    def dot(self, point=None, /, max_nodes=DOT_MAX_NODES, **inputs):
        """The computation graph as a ``DotGraph`` (``.source`` is DOT text, ``.render(path)``
        draws it with Graphviz). Given a point, nodes show their value and gradient;
        graphs larger than ``max_nodes`` show the nodes nearest the output and a summary
        (``max_nodes=None``: every node)."""
        from codegen.dot import DotGraph
        graph = self._graph
        point = {**(point or {}), **inputs}
        values = grads = None
        if point:
            values = node_values(graph, self.root, point)
            grads = node_grads(graph, self.root, values)
        return DotGraph(graph, self.root, values, grads, title=headline(self.program.text, 100),
                        output=self.program.output, max_nodes=max_nodes)

    def stats(self, time_limit=SYMPY_TIME_LIMIT):
        """Print and return the cost report (``Stats``). SymPy's derivative gets
        ``time_limit`` seconds in a child process (``0``: skip it)."""
        s = stats(self.program, self._graph, self.root, time_limit, self.kernels)
        print(s)
        return s

    def export(self, path, numba=None):
        """Write a standalone module (needs NumPy; uses Numba if installed, except for programs
        over 2,000 lines, whose straight-line code takes Numba minutes: ``numba=True``
        forces it, ``False`` never). Returns the path."""
        from codegen.export import write_module
        from .version import __version__
        return write_module(self.program, path, __version__, numba=numba)

    # -- notebooks --------------------------------------------------------------------------
    def _repr_html_(self):
        import html
        from codegen.highlight import html_pre
        p = self.program
        head = (f"<div><b>symdiff.{type(self).__name__}</b> of <code>{html.escape(p.output)}</code>"
                f" = <code>{html.escape(headline(p.text, 200))}</code>"
                f" with respect to <code>{html.escape(', '.join(p.wrt))}</code></div>")
        return head + html_pre(self.source)

    def _repr_markdown_(self):
        p = self.program
        return (f"**symdiff.{type(self).__name__}** of `{p.output}` = `{headline(p.text, 200)}` "
                f"with respect to `{', '.join(p.wrt)}`\n\n```python\n{self.source}```\n")

    @property
    def _graph(self):
        return self.__dict__["_graph_data"]


class GraphView(Graph):
    """The very same graph (it shares the Graph's state), plus ``__call__`` for pictures:
    ``d.graph.nodes`` is the graph, ``d.graph(x=1.0)`` its DOT drawing at a point."""
    __slots__ = ("_owner",)

    def __init__(self, graph, owner):   # no Graph.__init__: the state is shared, not copied
        self.__dict__ = graph.__dict__
        self._owner = owner

    def __call__(self, point=None, /, max_nodes=DOT_MAX_NODES, **inputs):
        return self._owner.dot(point, max_nodes=max_nodes, **inputs)

    def __reduce__(self):   # pickles as the plain Graph it views
        return (_plain_graph, (dict(self.__dict__),))


def _plain_graph(state):
    g = Graph.__new__(Graph)
    g.__dict__.update(state)
    return g
