"""Value + all gradients of three formulas at N = 10**6 points, one thread, float64.

Implementations: hand-written fused Numba loop (the reference, ratio 1), a
hand-written forward-only Numba loop (gradient-cost ratio), SymPy lambdify
(numpy, cse=True), torch autograd, JAX jit(vmap(value_and_grad)), CasADi SX
(map over N), micrograd (the micrograd formula only, on a subset of the points),
and symdiff through its public API.  Every peer is checked against the
hand-written kernel before it is timed.

Also: symdiff's gradient cost (``d(...)`` value+gradient vs ``d.value(...)``),
symdiff cold/warm first call in fresh subprocesses, and the neuron formula with
numba threads=2 vs 1 (symdiff's ``d(...)`` switches to its prange loop).

    python -m benchmarks.bench_formulas [--quick]
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

from .common import (Mismatch, Row, Table, Timing, check_close, peer,
                     symdiff_api, timeit, versions_markdown)
from . import kernels_formulas as K

import numba
import numpy as np

N = 10**6
QUICK_N = 10**5      # --quick
MICROGRAD_POINTS = 2000   # micrograd builds a Python graph per point: timed on a subset
GRADIENT_COST_TARGET = 2.5
RTOL = 1e-8          # peers vs the hand-written kernel (float64, reordered ops)
ATOL = 1e-12         # relative to max|ref|
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- the formulas, written once against a math namespace ``m`` ------------------
def neuron(m, a, b, c, x, y):
    return m.sigmoid(a * x + b * y + c)


def micrograd_expr(m, a, b):
    # `c += t` is spelled `c = c + t`: torch's in-place += would mutate the graph.
    c = a + b
    d = a * b + b**3
    c = c + (c + 1)
    c = c + (1 + c + (-a))
    d = d + (d * 2 + m.relu(b + a))
    d = d + (3 * d + m.relu(b - a))
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    return g


def transcendental(m, x, y):
    return m.log(1 + m.exp(m.sin(x * y) + m.cos(x) / (1 + y * y))) * m.tanh(x - y)


def special(m, x, y):
    return m.atan(x * y) + m.erf(x - y) * m.log1p(x * x) + m.asinh(y)


def sines(m, x, y):
    total = 0
    for k in range(1, K.SINE_TERMS + 1):
        total = total + m.sin(k * x + y) * (k % 7 + 1)
    return total


SINES_SOURCE = " + ".join(f"sin({k}*x + y)*{k % 7 + 1}" for k in range(1, K.SINE_TERMS + 1))
SINES_N = 10**5      # 200 sin/cos per point: N = 10**6 would take seconds per call


@dataclass
class Formula:
    name: str
    source: str                    # symdiff program text
    wrt: tuple[str, ...]
    scalars: tuple[str, ...]       # inputs that are Python floats, not arrays
    build: Callable                # build(m, **inputs) -> value
    make_inputs: Callable          # rng, n -> dict of inputs
    fused: Callable                # hand-written: (*inputs) -> (value, *grads)
    forward: Callable              # hand-written: (*inputs) -> value
    n: int | None = None           # points, when not the table's N (at most it)


def _uniform(lo, hi):
    return lambda rng, n: rng.uniform(lo, hi, n)


FORMULAS = [
    Formula("neuron", "sigmoid(a*x + b*y + c)", ("a", "b", "c", "x", "y"), ("a", "b", "c"),
            neuron,
            lambda rng, n: dict(a=1.0, b=2.0, c=-3.0, x=rng.normal(size=n), y=rng.normal(size=n)),
            K.neuron_fused, K.neuron_forward),
    # Ranges keep e = c - d away from 0 (10/f blows up there) and make relu(b + a)
    # active on ~90% of the points.
    Formula("micrograd", textwrap.dedent("""\
                c = a + b; d = a*b + b**3; c += c + 1; c += 1 + c + (-a)
                d += d*2 + relu(b + a); d += 3*d + relu(b - a)
                e = c - d; f = e**2; g = f/2.0; g += 10.0/f"""),
            ("a", "b"), (), micrograd_expr,
            lambda rng, n: dict(a=rng.uniform(0.5, 2.0, n), b=rng.uniform(-1.0, -0.2, n)),
            K.micrograd_fused, K.micrograd_forward),
    Formula("transcendental", "log(1 + exp(sin(x*y) + cos(x)/(1 + y*y)))*tanh(x - y)",
            ("x", "y"), (), transcendental,
            lambda rng, n: dict(x=rng.uniform(-2, 2, n), y=rng.uniform(-2, 2, n)),
            K.transcendental_fused, K.transcendental_forward),
    Formula("special functions", "atan(x*y) + erf(x - y)*log1p(x*x) + asinh(y)",
            ("x", "y"), (), special,
            lambda rng, n: dict(x=rng.uniform(-2, 2, n), y=rng.uniform(-2, 2, n)),
            K.special_fused, K.special_forward),
    # symdiff runs this one on its tape (too big to inline: 100 sin calls)
    Formula(f"sum of {K.SINE_TERMS} sines (N = {SINES_N:,})", SINES_SOURCE, ("x", "y"), (),
            sines, lambda rng, n: dict(x=rng.uniform(-2, 2, n), y=rng.uniform(-2, 2, n)),
            K.sines_fused, K.sines_forward, n=SINES_N),
]


def inputs_for(f: Formula, n: int = N, seed: int = 0) -> dict:
    return f.make_inputs(np.random.default_rng(seed), n)


def args_of(f: Formula, inputs: dict) -> list:
    return [inputs[k] for k in f.wrt]


# --- checking the hand-written kernels ---------------------------------------------
def check_hand_kernels(f: Formula, n: int = 2000) -> None:
    """Fused value == forward value; fused grads == central finite differences."""
    inputs = inputs_for(f, n, seed=1)
    v, *grads = f.fused(*args_of(f, inputs))
    check_close(f"{f.name} fused value vs forward", v, f.forward(*args_of(f, inputs)),
                rtol=1e-13)
    for name, g in zip(f.wrt, grads):
        h = 1e-6 * max(1.0, float(np.max(np.abs(inputs[name]))))
        plus, minus = dict(inputs), dict(inputs)
        plus[name] = inputs[name] + h
        minus[name] = inputs[name] - h
        fd = (f.forward(*args_of(f, plus)) - f.forward(*args_of(f, minus))) / (2 * h)
        check_close(f"{f.name} d/d{name} vs finite differences", g, fd, rtol=1e-5, atol=1e-7)


def check_peer(label: str, f: Formula, value, grads: dict, ref) -> None:
    """Compare a peer's (value, {name: grad}) with the hand kernel's output.

    A scalar gradient for a scalar input is taken as the sum over points
    (torch's sum-of-outputs backward); arrays are compared point by point.
    """
    ref_v, *ref_g = ref
    check_close(f"{label} value", value, ref_v, RTOL, ATOL)
    for name, rg in zip(f.wrt, ref_g):
        g = np.asarray(grads[name], dtype=np.float64)
        if g.size == 1 and rg.size > 1 and name in f.scalars:
            check_close(f"{label} d/d{name} (summed)", g.reshape(()), rg.sum(), 1e-8,
                        1e-12 * float(np.abs(rg).sum()) / max(float(abs(rg.sum())), 1e-300))
        else:
            check_close(f"{label} d/d{name}", g, rg, RTOL, ATOL)


# --- peers: each returns a zero-argument callable giving (value, {name: grad}) -------
def sympy_impl(f: Formula, inputs: dict):
    sp = peer("sympy")
    if sp is None:
        return None
    syms = {k: sp.Symbol(k, real=True) for k in f.wrt}
    m = SimpleNamespace(exp=sp.exp, log=sp.log, sin=sp.sin, cos=sp.cos, tanh=sp.tanh,
                        atan=sp.atan, erf=sp.erf, log1p=lambda z: sp.log(1 + z), asinh=sp.asinh,
                        sigmoid=lambda z: 1 / (1 + sp.exp(-z)),
                        relu=lambda z: sp.Max(z, 0))
    expr = f.build(m, **syms)
    exprs = [expr] + [sp.diff(expr, syms[k]) for k in f.wrt]
    modules = ["scipy", "numpy"] if peer("scipy") is not None else "numpy"   # scipy: erf on arrays
    fn = sp.lambdify([syms[k] for k in f.wrt], exprs, modules=modules, cse=True)
    args = args_of(f, inputs)

    def run():
        v, *gs = fn(*args)
        return v, dict(zip(f.wrt, gs))
    return run


def torch_impl(f: Formula, inputs: dict):
    torch = peer("torch")
    if torch is None:
        return None
    m = SimpleNamespace(exp=torch.exp, log=torch.log, sin=torch.sin, cos=torch.cos,
                        tanh=torch.tanh, sigmoid=torch.sigmoid, relu=torch.relu,
                        atan=torch.atan, erf=torch.erf, log1p=torch.log1p, asinh=torch.asinh)
    data = {k: torch.tensor(v, dtype=torch.float64) if k in f.scalars else torch.from_numpy(v)
            for k, v in inputs.items()}

    def run():
        leaves = {k: t.detach().requires_grad_() for k, t in data.items()}
        out = f.build(m, **leaves)
        out.sum().backward()
        return (out.detach().numpy(),
                {k: leaves[k].grad.numpy() for k in f.wrt})
    return run


def jax_impl(f: Formula, inputs: dict):
    jax = peer("jax")
    if jax is None:
        return None
    jnp = jax.numpy
    m = SimpleNamespace(exp=jnp.exp, log=jnp.log, sin=jnp.sin, cos=jnp.cos, tanh=jnp.tanh,
                        sigmoid=jax.nn.sigmoid, relu=jax.nn.relu, atan=jnp.arctan,
                        erf=importlib.import_module("jax.scipy.special").erf, log1p=jnp.log1p,
                        asinh=jnp.arcsinh)

    def point(*args):
        return f.build(m, **dict(zip(f.wrt, args)))

    in_axes = tuple(None if k in f.scalars else 0 for k in f.wrt)
    vg = jax.jit(jax.vmap(jax.value_and_grad(point, argnums=tuple(range(len(f.wrt)))),
                          in_axes=in_axes))
    args = [jnp.asarray(inputs[k], dtype=jnp.float64) for k in f.wrt]

    def run():
        v, gs = jax.block_until_ready(vg(*args))
        return v, dict(zip(f.wrt, gs))
    return run


def casadi_impl(f: Formula, inputs: dict):
    ca = peer("casadi")
    if ca is None:
        return None
    syms = [ca.SX.sym(k) for k in f.wrt]
    m = SimpleNamespace(exp=ca.exp, log=ca.log, sin=ca.sin, cos=ca.cos, tanh=ca.tanh,
                        atan=ca.atan, erf=ca.erf, log1p=lambda z: ca.log(1 + z), asinh=ca.asinh,
                        sigmoid=lambda z: 1 / (1 + ca.exp(-z)),
                        relu=lambda z: ca.fmax(z, 0))
    expr = f.build(m, **dict(zip(f.wrt, syms)))
    grad = ca.gradient(expr, ca.vertcat(*syms))
    n = len(next(v for v in inputs.values() if np.ndim(v)))
    name = "_".join(re.findall(r"[A-Za-z0-9]+", f.name))   # CasADi wants an identifier
    fm = ca.Function(name, syms, [expr, grad]).map(n)   # scalar inputs broadcast
    args = [inputs[k] if k in f.scalars else inputs[k].reshape(1, -1) for k in f.wrt]

    def run():
        v, g = fm(*args)
        g = np.asarray(g)
        return np.asarray(v).ravel(), {k: g[i] for i, k in enumerate(f.wrt)}
    return run


NOT_APPLICABLE = "not applicable"


def micrograd_impl(f: Formula, inputs: dict, points: int = MICROGRAD_POINTS):
    """micrograd's scalar Value graph, one graph per point, on the first ``points``
    points (``run.points``); its Value has +, *, ** and relu only, so it runs the
    micrograd formula alone."""
    if f.name != "micrograd":
        return NOT_APPLICABLE
    if peer("micrograd") is None:
        return None
    from micrograd.engine import Value
    m = SimpleNamespace(relu=lambda z: z.relu())
    n = min(points, len(next(v for v in inputs.values() if np.ndim(v))))
    cols = [np.broadcast_to(inputs[k], (n,)).tolist() if k in f.scalars else
            inputs[k][:n].tolist() for k in f.wrt]

    def run():
        value = np.empty(n)
        grads = np.empty((len(f.wrt), n))
        for i in range(n):
            leaves = [Value(col[i]) for col in cols]
            out = f.build(m, **dict(zip(f.wrt, leaves)))
            out.backward()
            value[i] = out.data
            for j, leaf in enumerate(leaves):
                grads[j, i] = leaf.grad
        return value, {k: grads[j] for j, k in enumerate(f.wrt)}
    run.points = n
    return run


def symdiff_derivative(f: Formula, inputs: dict):
    """The derivative, with the kernels for these inputs compiled: the first calls of a
    derivative run its array tier while the kernels compile in the background (issue 12);
    the benchmark times the compiled kernels."""
    sd = symdiff_api()
    if sd is None:
        return None
    d = sd.differentiate(f.source, wrt=list(f.wrt))
    d(**inputs)
    d.value(**inputs)
    d.compile()   # waits for the kernels those two calls asked for
    return d


def symdiff_impl(f: Formula, inputs: dict):
    d = symdiff_derivative(f, inputs)
    if d is None:
        return None
    return lambda: d(**inputs)


PEER_IMPLS = [("SymPy lambdify(cse=True)", sympy_impl),
              ("torch autograd", torch_impl),
              ("JAX jit(vmap(value_and_grad))", jax_impl),
              ("CasADi SX map", casadi_impl),
              ("micrograd", micrograd_impl),
              ("symdiff", symdiff_impl)]

PEER_NOTES = {
    "torch autograd": "scalar-param grads are sums over points (sum-of-outputs backward)",
    "CasADi SX map": "SX virtual machine, Function.map(N), DM->numpy included",
    "symdiff": "time of d(**inputs) after a warm-up call",
}


def add_impl_rows(table: Table, f: Formula, inputs: dict, ref, ref_timing: Timing | None,
                  impls=None, n: int | None = None) -> dict[str, Timing]:
    """Build, check and time each ``(label, make)`` of ``impls`` (default PEER_IMPLS).

    ``make(f, inputs)`` returns a zero-argument run() giving ``(value, {name: grad})``,
    None (peer not installed: a "skipped" row) or NOT_APPLICABLE (no row).  A run() with
    a ``points`` attribute covers only the first ``points`` points: it is checked there
    and its times are scaled to all ``n`` points.  Failures become rows, never aborts.
    """
    n = n or len(np.atleast_1d(ref[0]))
    timings = {}
    for label, make in impls or PEER_IMPLS:
        try:
            run = make(f, inputs)
        except Exception as exc:  # a peer that cannot even build is reported, not fatal
            table.add(Row(f.name, label, note=f"FAILED to build: {type(exc).__name__}: {exc}"))
            continue
        if run is None:
            table.add(Row(f.name, label, note="skipped (not installed / not available)"))
            continue
        if isinstance(run, str):
            continue
        points = getattr(run, "points", n)
        sub_ref = ref if points >= n else tuple(np.asarray(r)[:points] for r in ref)
        try:
            value, grads = run()        # also the warm-up / compile call
            check_peer(label, f, value, grads, sub_ref)
        except Mismatch as exc:
            table.add(Row(f.name, label, note=f"WRONG, not timed: {exc}"))
            continue
        except Exception as exc:
            table.add(Row(f.name, label, note=f"FAILED: {type(exc).__name__}: {exc}"))
            continue
        note = PEER_NOTES.get(label, "")
        t = timeit(run)
        if points < n:
            scale = n / points
            t = Timing(t.best * scale, t.median * scale, t.cpu * scale, t.repeats)
            note = "; ".join(filter(None, [note, f"measured on the first {points:,} points, "
                                                 f"times x{scale:g} (linear in N)"]))
        table.add(Row.timed(f.name, label, t, ref=ref_timing, note=note))
        timings[label] = t
    return timings


def bench_formula(f: Formula, table: Table, cost: Table | None = None, n: int = N) -> None:
    print(f"[{f.name}] checking hand-written kernels against finite differences", flush=True)
    check_hand_kernels(f)
    inputs = inputs_for(f, n)
    args = args_of(f, inputs)
    ref = f.fused(*args)
    t_fused = timeit(lambda: f.fused(*args))
    table.add(Row.timed(f.name, "hand-written Numba fused (value+grads)", t_fused, ref=t_fused))
    t_fwd = timeit(lambda: f.forward(*args))
    table.add(Row.timed(f.name, "hand-written Numba forward only", t_fwd, ref=t_fused,
                        note=f"gradient-cost ratio fused/forward = {t_fused.cpu / t_fwd.cpu:.2f}"))
    add_impl_rows(table, f, inputs, ref, t_fused, n=n)
    if cost is not None:
        bench_gradient_cost(f, inputs, t_fwd, t_fused, cost)


# --- gradient cost: value + gradient vs value only ---------------------------------------
def _interleaved(fns, rounds: int = 2) -> list[Timing]:
    """timeit each of ``fns`` in turn, ``rounds`` times; per fn the round with the best
    CPU time (alternating keeps a burst of load from hitting only one of them)."""
    best: list[Timing | None] = [None] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t = timeit(fn)
            if best[i] is None or t.cpu < best[i].cpu:
                best[i] = t
    return best


def bench_gradient_cost(f: Formula, inputs: dict, t_fwd: Timing, t_fused: Timing,
                        table: Table) -> None:
    table.add(Row.timed(f.name, "hand-written Numba forward only", t_fwd))
    table.add(Row.timed(f.name, "hand-written Numba fused (value+grads)", t_fused, ref=t_fwd))
    d = symdiff_derivative(f, inputs)
    if d is None:
        table.add(Row(f.name, "symdiff", note="skipped: symdiff API missing"))
        return
    args = args_of(f, inputs)
    try:
        check_close(f"{f.name} symdiff d.value()", d.value(**inputs), f.forward(*args),
                    RTOL, ATOL)
        check_peer("symdiff d()", f, *d(**inputs), f.fused(*args))
    except Exception as exc:
        table.add(Row(f.name, "symdiff", note=f"FAILED: {type(exc).__name__}: {exc}"))
        return
    t_value, t_grad = _interleaved([lambda: d.value(**inputs), lambda: d(**inputs)])
    ratio = t_grad.cpu / t_value.cpu
    table.add(Row.timed(f.name, "symdiff d.value() (forward only)", t_value))
    table.add(Row.timed(f.name, "symdiff d() (value+grads)", t_grad, ref=t_value,
                        note=("within" if ratio <= GRADIENT_COST_TARGET else "ABOVE")
                        + f" the {GRADIENT_COST_TARGET}x target"))


# --- symdiff cold / warm first call in fresh subprocesses ----------------------------
FIRST_CALL_FORMULA = "tanh(a*x + b*y + c)*exp(-(x*x + y*y)/2) + log(1 + a*a*x*x)*sin(b*y)"
FIRST_CALL_SCRIPT = textwrap.dedent("""\
    import json, time
    c0 = time.process_time()
    t0 = time.perf_counter()
    import numpy as np
    import symdiff
    t1 = time.perf_counter()
    d = symdiff.differentiate({formula!r}, wrt=["a", "b", "c", "x", "y"])
    t2 = time.perf_counter()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=1000), rng.normal(size=1000)
    value, grad = d(a=0.5, b=-1.5, c=0.25, x=x, y=y)
    t3 = time.perf_counter()
    print(json.dumps(dict(import_s=t1 - t0, differentiate_s=t2 - t1, first_call_s=t3 - t2,
                          total_s=t3 - t0, cpu_s=time.process_time() - c0)))
    """)


def bench_first_call(table: Table) -> None:
    if symdiff_api() is None:
        table.add(Row("first call", "symdiff cold / warm", note="skipped: symdiff API missing"))
        return
    script = FIRST_CALL_SCRIPT.format(formula=FIRST_CALL_FORMULA)
    with tempfile.TemporaryDirectory(prefix="symdiff-cache-") as cache:
        env = dict(os.environ, SYMDIFF_CACHE_DIR=cache, SYMDIFF_TIERS="on",
                   PYTHONPATH=os.pathsep.join(filter(None, [REPO_ROOT,
                                                            os.environ.get("PYTHONPATH")])))
        for label in ("cold (empty cache)", "warm (same cache)"):
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO_ROOT,
                                  capture_output=True, text=True, timeout=600)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                table.add(Row("first call", f"symdiff {label}",
                              note="FAILED: " + proc.stderr.strip().splitlines()[-1][:200]))
                return
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            table.add(Row("first call", f"symdiff {label}", best=r["total_s"] * 1e3,
                          cpu=r["cpu_s"] * 1e3,
                          note=(f"import {r['import_s'] * 1e3:.0f} ms + differentiate "
                                f"{r['differentiate_s'] * 1e3:.0f} ms + first call "
                                f"{r['first_call_s'] * 1e3:.0f} ms (wall); whole subprocess "
                                f"wall {wall * 1e3:.0f} ms")))


# --- two threads vs one ----------------------------------------------------------------
# Runs in a subprocess: the benchmark process is pinned to one CPU, and numba's
# worker threads inherit that mask.  Ratios here are wall-clock speedups.
THREADS_N = 10**6     # >= codegen.kernels.PARALLEL_MIN (2**17): d(...) may use prange


def _thread_timings(fn, after=None, rounds: int = 2) -> dict[int, Timing]:
    """1 and 2 threads, alternating for ``rounds`` rounds (a burst of load elsewhere
    then hits both counts); per thread count the round with the best wall time."""
    times: dict[int, Timing] = {}
    for _ in range(rounds):
        for threads in (1, 2):
            numba.set_num_threads(threads)
            try:
                t = timeit(fn, min_repeats=10)
                if threads not in times or t.best < times[threads].best:
                    times[threads] = t
                if after is not None:
                    after(threads)
            finally:
                numba.set_num_threads(1)
    return times


def loops_run_by(d, call) -> list[str]:
    """Names of the kernel functions ``call()`` runs through Derivative ``d``'s array path
    (``grad_loop`` or its prange twin ``grad_ploop``), seen by wrapping ``d.kernels.get``
    for this one call."""
    call()          # a first call may run the array tier (codegen/tiers.py) ...
    d.compile()     # ... until the kernels it queued are compiled
    kernels = d.kernels
    ran: list[str] = []
    original = kernels.get

    def get(mask=None):
        compiled = original(mask)
        return lambda name, *args: (ran.append(name), compiled(name, *args))[1]
    kernels.get = get
    try:
        call()
    finally:
        del kernels.get              # back to the class's method
    return ran


def threads_probe() -> dict:
    """{"timings": {label: {threads: Timing}}, "loops": {label: {threads: [kernel names]}}}.

    neuron: the hand-written prange kernel and symdiff's default ``d(**inputs)``, which
    runs its prange loop (``grad_ploop``) for N >= 2**17 when numba has more than one
    thread.  neuron moves ~64 MB per call in ~2.5 ms (memory-bound); the transcendental
    formula is compute-bound, so it shows what a second thread can give.
    """
    out = {"timings": {}, "loops": {}}
    for f in FORMULAS:
        if f.name not in ("neuron", "transcendental"):
            continue
        inputs = inputs_for(f, THREADS_N)
        args = args_of(f, inputs)
        if f.name == "neuron":
            out["timings"]["neuron: hand-written Numba prange"] = \
                _thread_timings(lambda: K.neuron_fused_parallel(*args))
        d = symdiff_derivative(f, inputs)
        if d is None:
            continue
        run = lambda d=d, inputs=inputs: d(**inputs)      # noqa: E731
        check_peer("symdiff", f, *run(), f.fused(*args))
        label = f"{f.name}: symdiff d()"
        loops = out["loops"][label] = {}

        def after(threads, d=d, run=run, loops=loops):   # still at this thread count
            loops[threads] = loops_run_by(d, run)
        out["timings"][label] = _thread_timings(run, after)
    return out


def bench_threads(table: Table) -> None:
    env = dict(os.environ, BENCHMARKS_CPU="all")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    cmd = [sys.executable, "-m", "benchmarks.bench_formulas", "--threads-probe"]
    from . import common
    if common.QUICK:
        cmd.append("--quick")
    proc = subprocess.run(cmd, env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        table.add(Row("neuron threads", "threads probe",
                      note="FAILED: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:200]))
        return
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    for label, times in probe["timings"].items():
        bench, impl = label.split(": ", 1)
        loops = probe["loops"].get(label, {})
        one = Timing(**times["1"])
        for threads, t in sorted(times.items()):
            row = Row.timed(f"{bench} threads", f"{impl}, {threads} thread(s)", Timing(**t))
            row.ratio = one.best / row.best * 1e3      # speedup: higher is better
            notes = []
            if threads in loops:
                notes.append("ran " + (", ".join(loops[threads]) or "?"))
            if threads == "2" and load > 0.5:
                notes.append(f"load average {load:.1f} when started: another process holds "
                             "a core, so this speedup is not meaningful")
            row.note = "; ".join(notes)
            table.add(row)
    if not any("symdiff" in label for label in probe["timings"]):
        table.add(Row("neuron threads", "symdiff", note="skipped: symdiff API missing"))


def main(quick: bool = False) -> list[Table]:
    n = QUICK_N if quick else N
    formulas = Table(f"Formulas: value + all gradients, N = {n:,}, float64, one thread")
    formulas.notes += [
        "ratio = best CPU time / best CPU time of the hand-written fused Numba loop "
        "(lower is faster).",
        "Every peer's value and gradients were checked against the hand-written kernel "
        f"(rtol {RTOL:g}) before timing; the hand-written kernels against central finite "
        "differences.",
        "Hand-written kernels and JAX/SymPy/CasADi/micrograd/symdiff return per-point "
        "gradients for the scalar parameters a, b, c; torch returns their sums.",
        "micrograd's Value has +, *, ** and relu only (no exp, log, sin, tanh): it runs the "
        "micrograd formula alone, one Python graph per point.",
        "The hand-written kernels call `math.exp`/`sin`/`cos`/`log`/`tanh`: scalar libm calls "
        "(pip's Numba has no SVML), which keep LLVM from vectorizing their loops. symdiff's "
        "kernels bind these names to `codegen.vmath` (vectorizable, within ~2 ulp of libm), "
        "so symdiff can beat the hand-written \"reference\" on transcendental formulas.",
    ]
    cost = Table(f"Gradient cost: value + all gradients vs value only, N = {n:,}",
                 ratio_label="ratio (CPU) value+grads / value only",
                 target=GRADIENT_COST_TARGET)
    cost.notes += [
        f"symdiff: `d(**inputs)` (value and gradient) vs `d.value(**inputs)` (forward loop "
        f"only), measured alternately twice, best CPU time of each; target <= "
        f"{GRADIENT_COST_TARGET}x.",
        "Hand-written: the fused kernel vs the forward-only kernel (the same timings as in "
        "the formulas table).",
    ]
    for f in FORMULAS:
        bench_formula(f, formulas, cost, min(n, f.n or n))
    extra = Table("symdiff first call and threads", ratio_label="ratio", chart=False)
    extra.notes += [
        f"First call: fresh `python -c` subprocess, formula `{FIRST_CALL_FORMULA}` with "
        "N = 1000, SYMDIFF_CACHE_DIR set to an empty temp dir for the cold run and reused for "
        "the warm run; best = import + differentiate + first call, measured inside the "
        "subprocess.",
        f"Threads: neuron and transcendental at N = {THREADS_N:,}, numba.set_num_threads(1) "
        "vs (2) in a "
        "subprocess that is not pinned to one CPU, alternating 1, 2, 1, 2 threads; ratio = "
        "wall-clock speedup (best of >= 10 per round, best round). The CPU column undercounts "
        "the worker threads on millisecond calls (seen: a trivial 2-thread prange loop read "
        "CPU = wall; a running thread's time is likely only folded in at scheduler ticks), "
        "so only the wall times mean anything here. "
        "symdiff's `d(**inputs)` picks its prange loop (`grad_ploop`) by itself when N >= "
        "2**17 and numba has more than one thread; 'ran' names the kernel loop one extra "
        "call made at that thread count (seen by wrapping `d.kernels.get`). neuron is "
        "memory-bound for symdiff (~64 MB of inputs and outputs per call in ~2.5 ms), so a "
        "second thread can give little there; transcendental is compute-bound.",
    ]
    bench_first_call(extra)
    bench_threads(extra)
    return [formulas, cost, extra]


if __name__ == "__main__":
    argv = sys.argv[1:]
    quick = "--quick" in argv
    if quick:
        from . import common
        common.set_quick(True)
    if "--threads-probe" in argv:
        probe = threads_probe()
        print(json.dumps({"timings": {label: {n: vars(t) for n, t in times.items()}
                                      for label, times in probe["timings"].items()},
                          "loops": probe["loops"]}))
        sys.exit()
    tables = main(quick)
    print()
    for t in tables:
        print(t.markdown())
    print(versions_markdown())
