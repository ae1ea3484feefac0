"""A trainer's tiers: its first steps at once as NumPy code, the compiled trainer shortly after.

A new trainer has no compiled code: Numba must compile it (seconds, cold) or at least
start and load it from the cache (a few tenths of a second). Meanwhile ``fit`` and
``predict`` run the NumPy tier (``codegen.mlp_numpy``: the same network as whole-array
NumPy code, no Numba import), and the first of them starts the compile in a child process
that fills the cache (``codegen.compile_process``: no GIL shared with the user's steps, no
LLVM running here at exit); a background thread (``codegen.background``) loads the result.
``fit`` checks before every step whether the compiled trainer is ready and hands it the
remaining steps (``train(..., start=step)``: the same step numbers, learning rates and
minibatches); later calls run it directly.

- **Numbers**: each activation and loss value takes the same float operations on both
  tiers; the products and the sums over samples run in another order (BLAS, NumPy's
  pairwise sums, against the compiled loops), so losses and parameters agree to about
  1e-12 relative, not bit for bit.
- **Waiting for compiled code**: ``Trainer.compile()`` queues the compile and waits for it
  (benchmarks, servers); ``SYMDIFF_TIERS=off`` makes every call compile first, in the
  calling thread, as before.
- A compile that fails in the background is reported once (RuntimeWarning) and the
  trainer keeps running the NumPy tier. A fork loses the queued compile; it is queued again.
"""
import threading
import warnings

import numpy as np

from codegen import background
from codegen.tiers import enabled


def _like(a):
    """A tiny array Numba types like ``a`` (dtype, dimensions, C or Fortran layout)."""
    fortran = a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous
    return np.zeros((2,) * a.ndim, a.dtype, order="F" if fortran else "C")


def _template(value):
    if isinstance(value, np.ndarray):
        return _like(value)
    if isinstance(value, tuple):
        return tuple(_template(v) for v in value)
    return value


class TrainerTiers:
    """The NumPy tier and the background-compiled trainer of one ``Trainer``."""

    def __init__(self, trainer):
        self.trainer = trainer
        self._jobs = {}          # "C"/"F" (train, by the layout of X), "predict" -> Job
        self._numpy = None
        self._compiled = None
        self._lock = threading.Lock()
        self._warned = False

    def __getstate__(self):   # a copied or pickled trainer starts its tiers afresh
        return {"trainer": self.trainer}

    def __setstate__(self, state):
        self.__init__(state["trainer"])

    # -- the tiers ------------------------------------------------------------------------
    def numpy_module(self):
        if self._numpy is None:
            from codegen import mlp_numpy
            self._numpy = mlp_numpy.load(mlp_numpy.module_source(self.trainer.config))
        return self._numpy

    def _job(self, key):
        job = self._jobs.get(key)
        return job if job is not None and job.usable() else None   # lost to a fork: queue it again

    def ready(self, key):
        job = self._job(key)
        if job is not None and job.done() and job.error is not None:
            self._warn(job)
        return job is not None and job.ok()

    def queue(self, key, train_args):
        """The background compile for train's arguments ``train_args`` (their types: the
        arrays' dtypes and layouts), queued once per layout of X, in a child process
        (``codegen.compile_process``) that then compiles ``predict``; two jobs here load
        them from the cache it fills: train's first, predict's after (fit's switch does not
        wait for predict)."""
        from codegen.compile_process import Child
        with self._lock:
            job = self._job(key)
            source = self.trainer.source
            if job is None:
                template = _template(tuple(train_args))
                predict = (_template(tuple(train_args[0])), np.zeros((2, 2)))
                child = Child(source, template, predict)
                child.begin()   # here, not in the background thread: an exit cannot beat it

                def load_train():
                    child.train_ready()
                    return child.load(train=True)

                def load_predict():
                    child.finished()
                    return child.load(train=False, predict=True)
                # they mostly wait for the child; their loads guard the exit themselves
                job = self._jobs[key] = background.submit(f"trainer train {key}", load_train,
                                                          wait_at_exit=False)
                if self._job("predict") is None:
                    self._jobs["predict"] = background.submit("trainer predict", load_predict,
                                                              wait_at_exit=False)
        return job

    def compiled(self):
        """The compiled module: the background compile's (waited for), else compiled here."""
        if self._compiled is None:
            for key in list(self._jobs):
                job = self._job(key)
                if job is not None:
                    job.wait()
                    if job.ok():
                        self._compiled = job.result
                        return self._compiled
            from codegen.mlp import compile_module
            self._compiled = compile_module(self.trainer.source)
        return self._compiled

    def _warn(self, job):
        if not self._warned:
            self._warned = True
            warnings.warn(f"symdiff: the trainer's background compile failed "
                          f"({type(job.error).__name__}: {job.error}); it keeps running as NumPy code",
                          RuntimeWarning, stacklevel=4)

    # -- calls ------------------------------------------------------------------------------
    def train(self, params, state, XT, Y, order, bs, steps, t0, losses, bar, report_every):
        """Every step of a fit on the fastest ready tier; returns the steps done (as the
        generated ``train``)."""
        key = "F" if XT.ndim > 1 and XT.flags.f_contiguous and not XT.flags.c_contiguous else "C"
        args = (params, *state, XT, Y, order, bs, steps, t0, losses, report_every if bar else 0, 0)
        step = 0
        forced = self.trainer._module
        if forced is None and enabled() and not self.ready(key):
            from codegen import mlp_numpy
            job = self.queue(key, args)
            step, diverged = mlp_numpy.train(self.numpy_module(), params, state, XT, Y, order, bs,
                                             steps, t0, losses, bar, report_every if bar else 0,
                                             switch=lambda: self.ready(key))
            if diverged or step == steps:
                return step
            self._compiled = job.result
        module = forced or self.compiled()
        module.REPORT[0] = bar
        try:
            return module.train(*args[:-1], step)
        finally:
            module.REPORT[0] = None

    def predict(self, params, XT):
        if self.trainer._module is not None:
            return self.trainer._module.predict(params, XT)
        if not enabled():
            return self.compiled().predict(params, XT)
        if self.ready("predict"):
            return self._job("predict").result.predict(params, XT)
        from codegen import mlp_numpy
        return mlp_numpy.predict(self.numpy_module(), params, XT)

    def compile(self, key, train_args):
        """Queue the compile for these arguments and wait; the compiled module."""
        if enabled():
            job = self.queue(key, train_args)
            for other in (job, self._job("predict")):
                other.wait()
                if other.error is not None:
                    raise other.error
            self._compiled = job.result
        else:   # tiers off: here, now
            from codegen.compile_process import warm
            self._compiled = warm(self.trainer.source, _template(tuple(train_args)),
                                  (_template(tuple(train_args[0])), np.zeros((2, 2))))
        return self.compiled()
