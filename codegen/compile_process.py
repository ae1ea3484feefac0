"""A trainer's compile in a child process that fills the kernel cache.

A trainer's cold Numba compile takes seconds (5-7 s of CPU for MLP(2,[64,64,1])). Run in a
thread of the user's process it has three costs: Numba's Python passes hold the GIL, so
the user's NumPy-tier steps and the compile share one core (measured: the compile took
11 s instead of 6.5 s while the user trained); a process that ends mid-compile can crash
at exit (LLVM still running while the interpreter shuts down: a segfault in about one
exit of three, measured); and a short script that exits first never fills the cache.
So the compile runs in a child process (``python -c``, the same ``sys.path`` and cache
directory): it compiles ``train``, says so on its stdout, then ``predict``, and keeps
going if this process ends (its cache files are written whole, temporary file and
rename). This process then only loads the result from the cache, in its compile thread
(``Child.load``), a short step that an exit waits for (``atexit``).

If the child cannot run or fails, ``Child.load`` compiles here, as before.
"""
import atexit
import json
import os
import subprocess
import sys
import threading

import numpy as np


def spec(value):
    """What Numba's typing needs of an argument, as JSON: arrays' dtype, dimensions and
    layout; tuples element by element; numbers as they are."""
    if isinstance(value, np.ndarray):
        fortran = value.ndim > 1 and value.flags.f_contiguous and not value.flags.c_contiguous
        return {"array": [value.dtype.str, value.ndim, "F" if fortran else "C"]}
    if isinstance(value, tuple):
        return {"tuple": [spec(v) for v in value]}
    if isinstance(value, (bool, np.bool_)):
        raise TypeError("no booleans in train's arguments")
    if isinstance(value, (int, np.integer)):
        return {"int": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"float": float(value)}
    raise TypeError(f"cannot describe {type(value).__name__}")


def rebuild(data):
    """A tiny value Numba types like the one ``spec`` described."""
    if "array" in data:
        dtype, ndim, order = data["array"]
        return np.zeros((2,) * ndim, np.dtype(dtype), order=order)
    if "tuple" in data:
        return tuple(rebuild(d) for d in data["tuple"])
    return data["int"] if "int" in data else data["float"]


def warm(source, train_args=None, predict_args=None):
    """Compile (or load from the cache) the trainer module ``source`` and its ``train``
    and ``predict`` for these arguments' types, without running them."""
    import numba
    from .mlp import compile_module
    module = compile_module(source)
    if train_args is not None:
        module.train.compile(tuple(numba.typeof(a) for a in train_args))
    if predict_args is not None:
        module.predict.compile(tuple(numba.typeof(a) for a in predict_args))
    return module


# -- in this process ---------------------------------------------------------------------------
_loads = 0
_loads_done = threading.Condition()


class Child:
    """One child compile: ``train_ready()`` waits for its train, ``finished()`` for all of
    it; ``load(...)`` then takes the result from the cache (or compiles here)."""

    def __init__(self, source, train_args, predict_args):
        self.source = source
        self.train_args = train_args
        self.predict_args = predict_args
        self.proc = None
        self.started = False
        self.lines = []
        self._lock = threading.Lock()

    def start(self):
        self.started = True
        from . import cache
        request = json.dumps({"source": self.source, "train": spec(self.train_args),
                              "predict": spec(self.predict_args)})
        env = dict(os.environ, SYMDIFF_CACHE_DIR=cache._writable_dir(),
                   PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
                   NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING="1")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from codegen.compile_process import child; child()"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                env=env, text=True)
            self.proc.stdin.write(request)
            self.proc.stdin.close()
        except (OSError, ValueError, TypeError):   # no interpreter to start: compile here
            self.proc = None

    def begin(self):
        """Start the child now, in the caller's thread, unless Numba's cache already holds
        ``train``. Started later (by the background thread that waits for it), a script
        that ends at once could end before the child is started: nothing compiled, nothing
        cached for the next run."""
        if not self.started and not cached(self.source, "train"):
            self.start()

    def _read_until(self, word):
        with self._lock:
            if self.proc is None:
                return False
            while word not in self.lines:
                line = self.proc.stdout.readline()
                if not line:
                    return False
                self.lines.append(line.strip())
            return True

    def train_ready(self):
        """Wait until the child has compiled ``train`` (True), or ended without (False).
        No child when Numba's cache already holds it: loading here is quicker."""
        if not self.started:
            if cached(self.source, "train"):
                return True
            self.start()
        return self._read_until("train")

    def finished(self):
        """Wait until the child has compiled ``predict`` too (one is started if needed)."""
        if not self.started:
            if cached(self.source, "predict"):
                return True
            self.start()
        ok = self._read_until("predict")
        if self.proc is not None:
            self.proc.wait()
        return ok

    def load(self, train=True, predict=False):
        """The compiled module from the cache the child filled (compiled here if it did
        not); an exit meanwhile waits for this step."""
        global _loads
        with _loads_done:
            _loads += 1
        try:
            return warm(self.source, self.train_args if train else None,
                        self.predict_args if predict else None)
        finally:
            with _loads_done:
                _loads -= 1
                _loads_done.notify_all()


def cached(source, function):
    """Whether Numba's cache has an index for ``function`` of the module ``source`` (some
    signature of it compiled on this machine), without importing Numba."""
    from . import cache
    path = cache.store(source)
    stem = os.path.splitext(os.path.basename(path))[0]
    try:
        names = os.listdir(os.path.join(os.path.dirname(path), "__pycache__"))
    except OSError:
        return False
    return any(n.startswith(f"{stem}.{function}-") and n.endswith(".nbi") for n in names)


def _wait_for_loads():
    """At exit: let a load from the cache (Numba linking machine code: LLVM running in the
    compile thread) finish before the interpreter shuts down."""
    with _loads_done:
        _loads_done.wait_for(lambda: _loads == 0, timeout=60)


atexit.register(_wait_for_loads)


# -- in the child ------------------------------------------------------------------------------
def child():
    """The child's work: the request on stdin, a line on stdout after each function."""
    request = json.loads(sys.stdin.read())
    source = request["source"]
    warm(source, train_args=rebuild(request["train"]))
    _say("train")
    warm(source, predict_args=rebuild(request["predict"]))
    _say("predict")


def _say(word):
    try:
        print(word, flush=True)
    except (BrokenPipeError, OSError):   # the parent has gone: the cache is what matters
        pass
