"""Tiered calls: an answer at once, compiled speed shortly after, nothing to do for the user.

A derivative's calls run on the fastest tier that is ready, like a JIT:

- **arrays**: until the compiled kernel for a call's pattern (which inputs are arrays,
  value or gradient, serial or parallel loop) is ready, array calls run the generated
  module over whole NumPy arrays (``codegen.arraytier``: nothing to compile, not even
  Numba to import), and the first such call queues the kernel's compile in the
  background (``codegen.background``). Calls after it has finished run the kernel.
  When an array-tier call took ``WAIT_AFTER`` seconds or more (big arrays, a big
  program), the next call of that pattern waits for the compile instead: running the
  array tier again beside the compile, both needing the GIL, would take longer still.
- **scalars**: one point costs about as much in plain Python as the compiled kernel's
  call overhead, so scalar calls run the generated module as plain Python
  (``kernels.plain_module``) and only queue a compile after ``SCALAR_COMPILE_AFTER``
  calls, when it pays; a compiled scalar entry that is ready (``compile()``) is used.
- **compile(wait=True)** queues every compile this derivative has needed so far (at
  least the scalar entry and, for a tape program, the interpreter), and waits: for
  benchmarks and servers that want compiled speed from the first timed call.

``SYMDIFF_TIERS=off`` in the environment turns tiering off: every call then runs compiled
code, compiling first (in the calling thread) when needed.

Every tier gives the same numbers, bit for bit (the array tier's NaNs may differ in sign
or payload: NumPy's ``where`` and Numba's ``select`` keep different NaN operands).
A compile that fails in the background is reported once (RuntimeWarning) and the
derivative keeps running the array tier.
"""
import os
import threading
import time
import warnings

import numpy as np

from . import background, cache

SCALAR_COMPILE_AFTER = 20000   # scalar calls before compiling the scalar entry pays
WAIT_AFTER = 0.2               # seconds: after an array-tier call this slow, the next call
                               # of its pattern waits for the running compile instead
WAIT_LIMIT = 60.0              # seconds such a call waits at most (then the array tier)
QUICK_STRAIGHT_LINES = 600     # a tape program this short compiles straight (not inlined)
                               # in about 2 s: quicker than a first tape interpreter compile


def interpreter_cached():
    """Whether the tape interpreter is compiled on this machine (Numba's cache index for
    its loop is beside its module file), without importing Numba."""
    from . import tape
    path = cache.store(tape.interpreter_source())
    stem = os.path.splitext(os.path.basename(path))[0]
    try:
        names = os.listdir(os.path.join(os.path.dirname(path), "__pycache__"))
    except OSError:
        return False
    return any(n.startswith(stem + ".tape_loop") and n.endswith(".nbi") for n in names)


def enabled():
    return os.environ.get("SYMDIFF_TIERS", "on").lower() not in ("off", "0", "no", "false")


def _compile_only(compiled, name, *args):
    """Compile ``compiled.module.<name>`` for these arguments' types, without running it."""
    import numba
    getattr(compiled.module, name).compile(tuple(numba.typeof(a) for a in args))


class Tiers:
    """The tiers of one ``codegen.kernels.Kernels``; ``plain()`` gives its plain-Python
    module (``kernels.plain_module``, built once by the caller)."""

    def __init__(self, kernels, plain):
        self.kernels = kernels
        self.plain = plain            # a function returning the plain-Python module
        self._jobs = {}               # key -> background.Job
        self._lock = threading.Lock()
        self._arrays = None
        self._warned = False
        self._straight = None
        self._tape_first = None
        self._slow = set()            # keys whose last array-tier call took WAIT_AFTER or more
        self.scalar_calls = 0

    # -- state ----------------------------------------------------------------------
    def use_tape(self):
        """Whether calls wait for the tape (a tape program, and the interpreter compiled on
        this machine or the program too long for a quick straight compile); otherwise a
        tape program compiles as a straight, not inlined kernel in the background."""
        if self._tape_first is None:
            self._tape_first = self.kernels.kind == "tape" and (
                self.kernels.lines() > QUICK_STRAIGHT_LINES or interpreter_cached())
        return self._tape_first

    def loops(self):
        """The Kernels whose straight-line loops calls run (a tape program's own, for the
        quick compile above)."""
        if self.kernels.kind != "tape":
            return self.kernels
        if self._straight is None:
            from .kernels import Kernels
            self._straight = Kernels(self.kernels.program, "straight")
        return self._straight

    def _key(self, mask, grad, size):
        if self.use_tape():
            return ("tape",)
        from .kernels import parallel_pays
        return ("loops", tuple(mask), bool(grad), parallel_pays(self.kernels.program, size, grad))

    def _job(self, key):
        job = self._jobs.get(key)
        return job if job is not None and job.usable() else None   # lost to a fork: queue it again

    def ready(self, key):
        job = self._job(key)
        return job is not None and job.ok()

    def state(self):
        """'python' (nothing compiled yet), 'compiling' or 'compiled' (every queued compile
        has finished), or 'failed' (a compile failed; the array tier keeps running)."""
        jobs = [j for j in (self._job(k) for k in list(self._jobs)) if j is not None]
        if not jobs:
            return "python"
        if any(j.done() and j.error is not None for j in jobs):
            return "failed"
        return "compiled" if all(j.done() for j in jobs) else "compiling"

    def _queue(self, key, work, now=False):
        """The job for ``key``, queued in the background if new (``now``: run here)."""
        with self._lock:
            job = self._job(key)
            if job is None and now:
                job = background.Job(f"{key!r}", work)
                job._run()
                self._jobs[key] = job
            elif job is None:
                job = self._jobs[key] = background.submit(f"{key!r}", work)
        if now and not job.done():
            job.wait()
        return job

    def _warn(self, job):
        if not self._warned:
            self._warned = True
            warnings.warn(f"symdiff: background compile failed ({type(job.error).__name__}: "
                          f"{job.error}); calls keep running as NumPy code", RuntimeWarning,
                          stacklevel=4)

    # -- compile jobs ---------------------------------------------------------------
    def _warm(self, key):
        """The work of a job: build, run the serial loop once on one point, and compile the
        prange loop without running it (Numba's threading layer must not be entered from two
        threads at once: the user's thread may be running a parallel kernel meanwhile)."""
        kernels = self.kernels if key[0] in ("tape", "scalar") else self.loops()
        if key[0] == "tape":
            def work():
                from . import tape
                lowered, interpreter = kernels.tape(True), tape.compiled()
                X = np.full((len(kernels.program.inputs), 16), 0.5)
                lowered.run(X, interpreter, parallel=False)
                out = np.empty((len(lowered.outs), 16))
                _compile_only(interpreter, "tape_ploop", lowered.code, lowered.consts, X, out,
                              lowered.outs, lowered.rows, 8, 2)
            return work
        if key[0] == "scalar":
            grad = key[1]

            def work():
                kernels.scalar(*(0.5 for _ in kernels.program.inputs), grad=grad)
            return work
        _, mask, grad, big = key

        def work():
            compiled = kernels.get(mask)
            args = [np.full(1, 0.5) if m else 0.5 for m in mask]
            outs = [np.empty(1) for _ in range(1 + len(kernels.program.grads) if grad else 1)]
            kind = "grad" if grad else "value"
            compiled(kind + "_loop", *args, *outs)
            if big:   # calls this size may take the prange loop
                _compile_only(compiled, kind + "_ploop", *args, *outs)
        return work

    def compile(self, wait=True, timeout=None):
        """Queue the compiles calls have asked for (at least the scalar entry point, and
        the tape interpreter for a tape program) and, with ``wait``, wait for them.
        Returns True when all are ready; raises a compile's error."""
        keys = list(self._jobs)
        if not keys:   # nothing called yet: all inputs arrays, and the scalar entry
            keys.append(self._key([True] * len(self.kernels.program.inputs), True, 1))
        if self.kernels.kind != "tape" and ("scalar", True) not in keys:
            keys.append(("scalar", True))
        jobs = [self._queue(k, self._warm(k)) for k in keys]
        if not wait:
            return all(j.ok() for j in jobs)
        for job in jobs:
            if not job.wait(timeout):
                return False
            if job.error is not None:
                raise job.error
        return all(j.ok() for j in jobs)

    # -- calls ----------------------------------------------------------------------
    def arrays(self, mask, args, outs, grad):
        """Fill ``outs`` (1-D, one per result) from ``args`` (floats or 1-D arrays)."""
        size = outs[0].shape[0]
        key = self._key(mask, grad, size)
        job = self._job(key)
        if job is not None and job.ok():
            if key[0] == "tape":
                return self.kernels.arrays(mask, args, outs, grad)
            return self.loops().arrays(mask, args, outs, grad)   # serial or prange: decided here
        if job is not None and job.done() and job.error is not None:
            self._warn(job)
        elif job is not None and key in self._slow:
            # the array tier took seconds for this pattern: running it again beside the
            # compile (both need the GIL) would take longer still and delay the compile
            if job.wait(WAIT_LIMIT):
                return self.arrays(mask, args, outs, grad)
            self._slow.discard(key)   # a compile still queued behind others: answer now
        if job is None and not enabled():
            job = self._queue(key, self._warm(key), now=True)
            if job.error is not None:
                raise job.error
            return self.arrays(mask, args, outs, grad)
        try:
            self.array_module()   # built once, not timed: only the call itself counts
        except Exception:
            pass                  # _run_arrays reports it
        started = time.perf_counter()
        ran = self._run_arrays(args, outs, grad)
        if time.perf_counter() - started >= WAIT_AFTER:
            self._slow.add(key)
        if not ran:   # the array tier cannot: compile now
            job = self._queue(key, self._warm(key), now=True)
            if job.error is not None:
                raise job.error
            return self.arrays(mask, args, outs, grad)
        if job is None:
            self._queue(key, self._warm(key))   # after the first answer: it is not slowed
        return outs

    def array_module(self):
        if self._arrays is None:
            from .arraytier import array_module
            from .kernels import module_source
            self._arrays = array_module(module_source(self.kernels.program), self.plain())
        return self._arrays

    def _run_arrays(self, args, outs, grad):
        try:   # anything the array tier cannot run (a literal 0.0 met by a division, code
            # that cannot run over arrays) runs compiled instead, compiled now
            module = self.array_module()
            fn = module.value_and_grad if grad else module.value
            with np.errstate(all="ignore"):
                results = fn(*(np.float64(a) if isinstance(a, float) else a for a in args))
        except Exception:
            return False
        if not grad:
            results = (results,)
        for out, r in zip(outs, results):
            out[...] = r
        return True

    def scalar(self, values, grad):
        """(value, *gradients) or value at one point, or None where plain Python raises."""
        key = ("tape",) if self.kernels.kind == "tape" else ("scalar", bool(grad))
        if self.ready(key) or not enabled():
            return self.kernels.scalar(*values, grad=grad)
        self.scalar_calls += 1
        if self.scalar_calls == SCALAR_COMPILE_AFTER:
            self._queue(key, self._warm(key))
        module = self.plain()
        try:   # the plain module's functions take float64 arguments under np.errstate
            return (module.value_and_grad if grad else module.value)(*values)
        except ArithmeticError:
            return None
