"""Compiles in the background: one worker thread, jobs run one at a time, in order.

A job is a function (build and warm up a kernel); ``submit`` queues it and returns a
``Job`` to poll (``job.done()``) or wait for (``job.wait()``). The worker is a daemon
thread started on the first job, so nothing runs at import and a script that ends does
not wait for the compiles still queued; it waits for the one running (``_at_exit``: an
exit in the middle of LLVM can abort the process).

- **Errors stay in the job.** An exception inside a job (a Numba error, a full disk...) is
  kept in ``job.error``; the caller decides (the tiers keep running the array tier and
  warn once). Nothing is raised in the user's thread by the worker.
- **Fork.** A fork waits for the job being compiled to finish (Numba's compiler lock and
  LLVM's state are then free in the child), and the worker takes no new job until the fork
  is done. The child has no worker thread: its unfinished jobs are marked as lost
  (``job.lost``; the tiers queue them again and answer from the array tier meanwhile),
  and the next ``submit`` there starts a new worker (with fresh compiler locks, should a
  job have been taken but not started).
- **Numba's coloured messages are off** (``_plain_numba_messages``): formatting them swaps
  ``sys.stdout``/``sys.stderr``, which a thread must not do behind the user's back.
- **Why a thread, not a process.** Numba's compiler spends most of its time in LLVM, which
  llvmlite runs without the GIL, so the user's thread keeps running meanwhile (on another
  core when there is one; ``benchmarks/bench_tiers.py`` measures the slowdown). A separate
  process would have to import Numba and compile, and this one load the result from the
  cache afterwards (another Numba import and cache load, 0.5 s in this thread).
"""
import collections
import logging   # noqa: F401  (imported first: its fork hook must run after ours, see the end)
import os
import sys
import threading
import time


class Job:
    """One queued compile: ``done()``, ``wait(timeout)``, then ``result`` or ``error``."""

    def __init__(self, name, work, wait_at_exit=True):
        self.name = name
        self.work = work
        self.wait_at_exit = wait_at_exit
        self.result = None
        self.error = None
        self.lost = False
        self.pid = os.getpid()
        self._event = threading.Event()

    def done(self):
        return self._event.is_set()

    def wait(self, timeout=None):
        """Wait until the job has run (True) or ``timeout`` seconds have passed (False)."""
        return self._event.wait(timeout)

    def ok(self):
        return self.done() and self.error is None and not self.lost

    def _run(self):
        try:
            self.result = self.work()
        except BaseException as exc:   # kept for the caller: never raised in the worker
            self.error = exc
        finally:
            self.work = None
            self._event.set()

    def usable(self):
        """False once the job is lost to a fork or belongs to another process (a fork's
        parent): whoever holds it should queue the work again."""
        return not self.lost and self.pid == os.getpid()

    def __repr__(self):
        state = "lost" if self.lost else "failed" if self.error else "done" if self.done() else "pending"
        return f"<background job {self.name}: {state}>"


_queue = collections.deque()
_lock = threading.Lock()          # guards _queue and _worker
_busy = threading.Lock()          # held by the worker while a job runs (and by a fork)
_wake = threading.Condition(_lock)
_worker = None
_current = None                   # the job taken from the queue, until it has run


def submit(name, work, wait_at_exit=True):
    """Queue ``work`` (a function of no arguments) and return its Job. ``wait_at_exit``: an
    ending interpreter waits for it if it is running (``_at_exit``); False for work that
    mostly waits on something else and guards its own LLVM part (the trainer's loads)."""
    global _worker
    job = Job(name, work, wait_at_exit)
    with _lock:
        if _closed:       # the exit handler holds the worker: a job queued now never runs
            _refuse(job)
            return job
        _queue.append(job)
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_loop, name="symdiff-compile", daemon=True)
            _worker.start()
        _wake.notify()
    return job


def _loop():
    global _worker, _current
    while True:
        with _lock:
            while not _queue:
                if not _wake.wait(timeout=30.0) and not _queue:
                    _worker = None      # idle: let the thread end; submit starts a new one
                    return
            job = _current = _queue.popleft()
        with _busy:
            _plain_numba_messages()
            job._run()
        _current = None


def _plain_numba_messages():
    """Numba colours its error messages through colorama, whose init/deinit swap
    ``sys.stdout`` and ``sys.stderr`` while a message is formatted; done in this thread, that
    races with the user's own redirections (a notebook cell's, pytest's capsys) and can leave
    them pointing at a closed stream. Compiles format such messages internally, so
    highlighting is switched off for the process (plain text, the same words)."""
    errors = sys.modules.get("numba.core.errors")
    if errors is None:    # read when Numba is imported (the job below may import it)
        os.environ.setdefault("NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING", "1")
    elif not isinstance(errors._termcolor_inst, _PlainScheme.of(errors)):
        plain = errors._termcolor_inst = _PlainScheme.of(errors)()
        # modules that took the scheme when they were imported (before us) keep their own
        for name in _SCHEME_HOLDERS:
            module = sys.modules.get(name)
            if module is not None and hasattr(module, "_termcolor"):
                module._termcolor = plain
        if hasattr(errors, "ColorShell"):   # and any instance left: no stream swapping
            errors.ColorShell = _NoColorShell


# Numba modules holding ``_termcolor = errors.termcolor()`` from their import
_SCHEME_HOLDERS = ("numba.core.types.functions", "numba.core.typing.typeof",
                   "numba.core.compiler_machinery", "numba.core.ir", "numba.core.typeinfer")


class _NoColorShell:
    """Stands in for Numba's ColorShell (colorama's init/reinit/deinit): touches no stream."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _PlainScheme:
    @staticmethod
    def of(errors):
        """A colour scheme for numba.core.errors that returns messages unchanged."""
        cls = getattr(errors, "_symdiff_plain_scheme", None)
        if cls is None:
            identity = {name: (lambda self, msg: msg)
                        for name in ("code", "errmsg", "filename", "indicate", "highlight", "reset")}
            cls = type("PlainColorScheme", (errors._DummyColorScheme,), identity)
            errors._symdiff_plain_scheme = cls
        return cls


def wait_idle(timeout=None):
    """Wait until no job is queued or running; False if ``timeout`` seconds passed first
    (for tests that watch the process while they run)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _lock:
            if not _queue and _current is None:
                return True
        if deadline is not None and time.monotonic() > deadline:
            return False
        time.sleep(0.01)


def pending():
    """Jobs queued and not yet started (for tests and ``stats``)."""
    with _lock:
        return list(_queue)


def _after_fork_child():
    global _lock, _busy, _wake, _worker, _current, _closed
    _closed = False                # a fork during exit: the child's own exit decides again
    _lock = threading.Lock()
    _busy = threading.Lock()
    _wake = threading.Condition(_lock)
    _worker = None
    running = _current is not None and not _current.done()
    lost = list(_queue) + ([_current] if running else [])
    _queue.clear()
    _current = None
    for job in lost:
        job.lost = True
        job._event.set()
    if running:
        _free_compiler_locks()


def _free_compiler_locks():
    """The fork came while the worker was compiling: in the child the worker is gone, and
    the locks it held (Numba's compiler lock, llvmlite's) would never be released. Fresh
    ones let the child compile (its own jobs, or the user's direct calls)."""
    compiler_lock = sys.modules.get("numba.core.compiler_lock")
    if compiler_lock is not None:
        compiler_lock.global_compiler_lock._lock = threading.RLock()
    ffi = sys.modules.get("llvmlite.binding.ffi")
    if ffi is not None and hasattr(getattr(ffi, "lib", None), "_lock"):
        ffi.lib._lock._lock = threading.RLock()


def _before_fork():
    _busy.acquire()      # wait for a running job; the worker takes no new one meanwhile


def _after_fork_parent():
    _busy.release()


EXIT_WAIT = 600.0                 # seconds an ending interpreter waits for a running compile


def _at_exit():
    """The interpreter is ending: drop the queued jobs and wait for the running one. A compile
    left running inside LLVM while the process finalizes (C++ static destructors run at
    exit) can abort the process ("Assertion ... failed", exit status 134) after
    the script itself has finished. Registered with ``threading._register_atexit``, which
    runs before every ``atexit`` handler (llvmlite's included), as concurrent.futures does."""
    global _closed
    with _lock:
        dropped = list(_queue)
        _queue.clear()
        job = _current
        wait = job is not None and job.wait_at_exit
        _closed = _closed or wait   # the worker stops after this job: refuse new ones
    for j in dropped:     # finished, so that a thread still running and waiting on one returns
        _refuse(j)
    if wait and _busy.acquire(timeout=EXIT_WAIT) and not job.done():
        _refuse(job)      # kept: a job taken but not started never starts


_closed = False                   # set at exit when it waits for a running job: no job starts after


def _refuse(job):
    job.error = RuntimeError(f"background job {job.name} not run: the interpreter is exiting")
    job.work = None
    job._event.set()


try:
    threading._register_atexit(_at_exit)
except (AttributeError, RuntimeError):   # no such hook, or first imported by a thread still
    import atexit                        # running after the main script ended
    atexit.register(_at_exit)

if hasattr(os, "register_at_fork"):
    # "before" hooks run in reverse order of registration: logging's (imported above, it
    # takes logging's lock, which a compile importing Numba needs) runs after ours, so
    # waiting here for a running compile cannot deadlock against it.
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_parent,
                        after_in_child=_after_fork_child)
