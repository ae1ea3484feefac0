"""Generated kernel modules and their Numba compilation.

A kernel module holds, for one program, plain Python that Numba compiles:

- the helpers it calls (``sigmoid``...), ``value`` (forward only) and ``value_and_grad``
  (the readable source, the scalar entry point);
- for one pattern of which inputs are arrays (``mask``), elementwise loops
  ``grad_loop``/``value_loop`` and their ``prange`` twins ``grad_ploop``/``value_ploop``.
  Scalar inputs stay scalars inside the loop, so nothing is broadcast into memory.

Every function is compiled with ``error_model="numpy"`` (division by zero gives inf/nan;
Numba's default Python error model adds a check that stops vectorization) and
``cache=True``; the module is a real file in the content-hashed cache (``codegen.cache``).
The same module text runs as plain Python (``prange = range``), which is how the tests
compare Numba against Python on the very same source.
"""
import functools
import threading
import warnings

import numpy as np

from symdiff.functions import HELPERS
from symdiff.version import KERNELS

from . import buffers, cache, loops_blocked, vnumpy
from .codenames import for_code
from .compiled import Compiled, build_stamp
from .forksafe import parallel_allowed
from .printer import function_source, header, helpers_used

PARALLEL_MIN = 1 << 17   # points per call before the prange loop is worth its threads
INLINE_MAX_LINES = 160   # programs up to this size are inlined whole into their loops
INLINE_MAX_SECONDS = 2.0 # ... when their estimated compile time is at most this
WARN_LINES = 2000        # kernels bigger than this take Numba minutes to compile: say so
# Weight of an inlined call in a loop's compile time (tanh, sigmoid: a reduction, a
# polynomial and a division; sqrt, abs... are one instruction or one libm call): see
# compile_estimate. Fitted before vtanh/vsigmoid became one-division (2026-12-03; both
# shorter now, so the estimates err on the long side).
CALL_SECONDS = {"tanh": 0.45, "softplus": 0.45, "sigmoid": 0.35, "exp": 0.2, "log": 0.2,
                "sin": 0.17, "cos": 0.17}


def compile_estimate(program):
    """Seconds of CPU Numba takes to compile the program's inlined loop (after its first
    compile in the process): it grows with each inlined transcendental call, and a little
    with length. Fitted on CPU seconds measured inlined (after a first compile in the
    process): exp(x)*exp(y)*exp(x*y) 0.84, sin(x)*sin(y) 0.88, tanh(x)*tanh(y) 0.98,
    benchmarks/bench_tiers.py's 20-node formula 1.86, sigmoid(x)*softplus(y)*tanh(x*y)
    2.08, the benchmarks' transcendental mix 2.65 (the last two: tape, under "auto")."""
    lines = program.forward + program.backward
    calls = [e.args[0] for line in lines for e in line.expr.walk() if e.op == "call"]
    return 0.2 + 1.3 * (0.003 * len(lines) + sum(CALL_SECONDS.get(c, 0.02) for c in calls))


def inline_policy(program):
    """Whether to inline at Numba's IR level (fast, vectorized loops; compile time grows
    steeply with size and calls) or leave inlining to LLVM (big programs compile in
    reasonable time): inline when the program is short and its compile estimated at no
    more than INLINE_MAX_SECONDS."""
    lines = len(program.forward) + len(program.backward)
    return lines <= INLINE_MAX_LINES and compile_estimate(program) <= INLINE_MAX_SECONDS


LOOP_NAMES = {"value", "value_and_grad", "range", "prange"} | loops_blocked.CALLS   # what the loops call


def _fresh(base, used):
    name = base
    k = 1
    while name in used:
        name = f"{base}_{k}"
        k += 1
    used.add(name)
    return name


def _loop_source(program, mask, kind, loop):
    """Elementwise loop over the inputs flagged in mask (others are scalars). One output
    array per result: separate arrays stay below the allocator's mmap threshold, so they
    are reused between calls instead of page-faulting fresh memory each time."""
    used = set(program.inputs) | LOOP_NAMES
    # a loop parameter must not hide what the loop calls (an input named range or value_and_grad)
    params = [_fresh(x + "_", used) if x in LOOP_NAMES else x for x in program.inputs]
    i = _fresh("i", used)
    names = [program.output] + (list(program.grads) if kind == "grad" else [])
    results = [_fresh(r, used) for r in names]
    outs = [_fresh(f"{r}_out", used) for r in names]
    args = ", ".join(f"{x}[{i}]" if is_array else x for x, is_array in zip(params, mask))
    call = "value_and_grad" if kind == "grad" else "value"
    rng = "prange" if loop == "ploop" else "range"
    lines = [f"def {kind}_{loop}({', '.join(params + outs)}):",
             f'    """{call} at every point {i}; results go to {", ".join(outs)}."""']
    if len(results) >= loops_blocked.MIN_RESULTS:   # many outputs: blocks that vectorize
        return "\n".join(lines + loops_blocked.blocked_loop_source(
            params, mask, results, outs, call, loop, lambda b: _fresh(b, used))) + "\n"
    lines += [f"    for {i} in {rng}({outs[0]}.shape[0]):",
             f"        {', '.join(results)}{',' if kind == 'grad' and len(results) == 1 else ''} = {call}({args})"]
    lines += [f"        {o}[{i}] = {r}" for o, r in zip(outs, results)]
    return "\n".join(lines) + "\n"


def module_source(program, mask=None):
    """The whole kernel module for a program and (optionally) an array mask."""
    program = for_code(program)   # keywords, clashing and over-long names (codegen/codenames.py)
    inline = "inline" if inline_policy(program) else "no-inline"
    parts = ['"""symdiff kernel module (generated; edit the formula, not this file)."""\n'
             f"# build {build_stamp()} {inline}: symdiff version, compile options, math library\n"
             f"{header(program)}\nprange = range  # numba.prange when compiled\n"]
    parts += [HELPERS[h] + "\n" for h in helpers_used(program)]
    parts.append(function_source(program, "value", with_grad=False))
    parts.append(function_source(program, "value_and_grad"))
    if mask is not None:
        mask_text = ", ".join(f"{x}={'array' if m else 'scalar'}" for x, m in zip(program.inputs, mask))
        parts.append(f"# loops for: {mask_text}\n")
        if blocked(program):
            parts.append(loops_blocked.PLAIN)
        for kind in ("grad", "value"):
            for loop in ("loop", "ploop"):
                parts.append(_loop_source(program, mask, kind, loop))
    return "\n\n".join(parts)


def blocked(program, grad=True):
    """Whether the program's gradient loops run in blocks (codegen/loops_blocked.py)."""
    return grad and 1 + len(program.grads) >= loops_blocked.MIN_RESULTS


def parallel_pays(program, size, grad=True):
    """Whether a call over ``size`` points takes the ``prange`` loop. Never for blocked
    loops: they are write-bound (a second thread gains little) and Numba's parallel passes
    over their inlined blocks are slow: the neuron Hessian's prange loop took 41 s to
    compile against 6.7 s for its serial loop, and calls meanwhile ran the array tier."""
    return size >= PARALLEL_MIN and not blocked(program, grad)


def compile_program(program, mask=None):
    """The program's kernel module (with loops for ``mask``), compiled lazily."""
    inline = inline_policy(program)
    names = helpers_used(program) + ["value", "value_and_grad"]
    loops = [f"{k}_{l}" for k in ("grad", "value") for l in ("loop", "ploop")] if mask is not None else []
    bound = loops_blocked.compiled_calls() if mask is not None and blocked(program) else None
    return Compiled(module_source(program, mask), names + loops, names if inline else (), inline, bound)


def plain_module(program):
    """The scalar kernel module run as plain Python, with the same math as the compiled
    one (``vnumpy.plain``) and its powers computed as compiled code computes them
    (``powers.rewrite``), so both give bit-identical results."""
    from . import powers
    module = cache.load_plain(module_source(program), powers.PLAIN, powers.rewrite)
    module.np = vnumpy.plain()
    module.math = vnumpy.plain_math()
    vnumpy.bind_helpers(module, "plain")
    for name in ("value", "value_and_grad"):
        setattr(module, name, _float64_arguments(getattr(module, name)))
    return module


def _float64_arguments(fn):
    """fn on NumPy float64 arguments, as the compiled kernels see them: with Python floats
    x/0 would raise and (-8)**1.5 be complex."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*(np.float64(a) for a in args), **{k: np.float64(v) for k, v in kwargs.items()})
    return call


class Kernels:
    """All compiled forms of one program: scalar entry point and per-mask loops.

    ``kernel``: "straight" compiles the program's own lines, "tape" runs it on the shared
    tape interpreter (``codegen.tape``: nothing to compile per program), "auto" takes
    "straight" for programs small enough to inline whole (``inline_policy``: the fastest
    code, compiled in at most about two seconds) and the tape for the rest. Past that size a
    straight kernel is both slow to compile (17 s at 2,500 lines, 10 minutes not enough
    at 100,000) and slower to run than the tape, since its transcendental calls are no
    longer inlined and its loops no longer vectorize (benchmarks/STRESS.md)."""

    def __init__(self, program, kernel="auto"):
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, not {kernel!r}")
        self.program = program
        self._modules = {}
        self._tapes = {}
        self._lock = threading.Lock()   # calls and background compiles (codegen.tiers) share it
        if kernel == "auto":
            kernel = "straight" if inline_policy(program) else "tape"
        self.kind = kernel

    def built(self):
        """Whether a kernel module or a tape has been built (scalar calls then use it)."""
        return bool(self._modules or self._tapes)

    def lines(self):
        return len(self.program.forward) + len(self.program.backward)

    def get(self, mask=None):
        """The straight-line kernel module for ``mask`` (None: scalar entry points only)."""
        mask = None if mask is None else tuple(bool(m) for m in mask)
        with self._lock:
            return self._modules.get(mask) or self._build(mask)

    def _build(self, mask):
        compiled = self._modules.get(mask)
        if compiled is None:
            size = self.lines()
            if size > WARN_LINES:
                warnings.warn(f"symdiff: compiling a {size}-line kernel with Numba; this can take "
                              "minutes (it is cached afterwards). kernel='tape' needs no compile.",
                              RuntimeWarning, stacklevel=4)
            compiled = compile_program(self.program, mask)
            self._modules[mask] = compiled
        return compiled

    def tape(self, grad=True):
        """The program lowered to a tape (``codegen.tape.Tape``)."""
        found = self._tapes.get(grad)
        if found is None:
            from . import tape
            found = self._tapes[grad] = tape.lower(self.program, grad)
        return found

    def run_tape(self, X, grad=True, parallel=None, python=False, out=None):
        """Results (value, gradients...) as rows, at every column of X (inputs x points)."""
        import numba
        from . import tape
        module = tape.plain() if python else tape.compiled()
        threads = 1 if python or not parallel_allowed() else numba.get_num_threads()
        return self.tape(grad).run(X, module, parallel and threads > 1, threads, out)

    def scalar(self, *args, grad=True):
        if self.kind == "tape":
            if len(args) != len(self.program.inputs):
                raise TypeError(f"expected {len(self.program.inputs)} arguments "
                                f"({', '.join(self.program.inputs)}), got {len(args)}")
            out = self.run_tape(np.array(args, dtype=np.float64).reshape(len(args), 1), grad)
            return tuple(float(r) for r in out[:, 0]) if grad else float(out[0, 0])
        return self.get()("value_and_grad" if grad else "value", *args)

    def outputs(self, n, size):
        """Arrays for ``n`` results of ``size`` points: separate ones for the straight loops
        (``codegen/buffers.py``: on 64-byte lines, their memory recycled between calls once
        the caller drops them), rows of one array for the tape (which writes them in one
        go, no copy)."""
        if self.kind == "tape":
            return list(buffers.empty((n, size)))
        return [buffers.empty(size) for _ in range(n)]

    def arrays(self, mask, args, outs, grad=True, parallel=None):
        """Run the loop for ``mask`` over ``args``, writing one 1-D array per result."""
        import numba
        size = outs[0].shape[0]
        if self.kind == "tape":
            X = np.empty((len(args), size))
            for k, a in enumerate(args):
                X[k] = a
            base = outs[0].base
            whole = base is not None and base.ndim == 2 and base.shape == (len(outs), size) \
                and base.flags.c_contiguous and all(o.base is base for o in outs)
            rows = self.run_tape(X, grad, parallel, out=base if whole else None)
            if not whole:
                for out, row in zip(outs, rows):
                    out[...] = row
            return outs
        if parallel is None:
            parallel = parallel_pays(self.program, size, grad) and numba.get_num_threads() > 1
        # not in a fork of a GNU OpenMP process; blocked loops always serial (parallel_pays)
        parallel = parallel and parallel_allowed() and not blocked(self.program, grad)
        name = ("grad" if grad else "value") + ("_ploop" if parallel else "_loop")
        self.get(mask)(name, *args, *outs)
        return outs
