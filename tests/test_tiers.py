"""Tiered calls: the array tier (generated module over NumPy arrays) against the compiled
kernels and the plain-Python scalar run, switching to the compiled tier, d.compile(), and a
background compile that fails, races with other threads or meets a fork."""
import os
import sys
import threading
import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import symdiff
from codegen import arraytier, background, kernels, tiers

from test_properties import expressions

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e300, 5e-324, 710.0, -745.5, 1e9, 22.5]
ALL_OPS = [   # every function and every kind of power the printer and the rewrite know
    "tanh(a*x + y)*exp(-(x*x + y*y)/2) + log(1 + a*a*x*x)*sin(a*y) + cos(x)",
    "sigmoid(x*a) + softplus(y) + relu(x - y) + max(x, y) + min(a, y) + abs(x)*sign(y)",
    "sinh(x) + cosh(y) + tan(a*x) + x**3 + y**2.0 + abs(x)**0.5 + 8**x + x**y + x**-1.0 "
    "+ sqrt(abs(y)) + 2.0**y + x**-2",
    "c = x + y; d = x*y + y**3; c += c + 1; c += 1 + c + (-x); d += d*2 + relu(y + x); "
    "e = c - d; f = e**2; g = f/2.0; g += 10.0/f",
    "erf(x) + erfc(y) + atan2(x, y) + hypot(x, y) + cbrt(x) + asin(x/4) + acosh(abs(y) + 1) "
    "+ floor(x) + mod(x, y) + log2(abs(x)) + exp2(y) + expm1(y) + log1p(abs(x))",
    "where(x > y, x, y) + (x >= 1 and y < 2) + (not x) + (x == y) + logaddexp(x, y) + max(x, y, 1)",
]


def _points(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(size=n) * 3, SPECIAL, rng.normal(size=len(SPECIAL))])
    y = np.concatenate([rng.normal(size=n) * 3, rng.normal(size=len(SPECIAL)), SPECIAL[::-1]])
    return {"a": 0.7, "x": x, "y": y}


def _same(a, b):
    """Equal to the bit; NaN equals NaN (its sign and payload may differ: see tiers)."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    return bool(np.all((a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))))


def _array_tier(d, point):
    module = d.tiers.array_module()
    with np.errstate(all="ignore"):
        return module.value_and_grad(*(np.float64(point[k]) if np.ndim(point[k]) == 0 else point[k]
                                       for k in d.inputs))


@pytest.mark.parametrize("formula", ALL_OPS)
def test_array_tier_equals_the_compiled_loops_to_the_bit(formula):
    d = symdiff.differentiate(formula, kernel="straight")
    point = _points()
    got = _array_tier(d, point)
    size = point["x"].size
    mask = tuple(np.ndim(point[k]) > 0 for k in d.inputs)
    outs = [np.empty(size) for _ in range(1 + len(d.wrt))]
    d.kernels.arrays(mask, [point[k] for k in d.inputs], outs)   # Numba, compiled here
    for k, (g, want) in enumerate(zip(got, outs)):
        assert _same(g, want), (formula, k)


@settings(max_examples=25, deadline=None)
@given(expressions, st.integers(0, 2**16))
def test_array_tier_equals_plain_python_on_random_formulas(expr, seed):
    text, _ = expr
    d = symdiff.differentiate(text)
    rng = np.random.default_rng(seed)
    point = {k: np.concatenate([rng.normal(size=6) * 2, [0.0, -0.0, np.inf, np.nan]]) for k in d.inputs}
    got = _array_tier(d, point)
    for i in range(10):
        want = d.python.value_and_grad(*(float(point[k][i]) for k in d.inputs))
        for g, w in zip(got, want):
            assert _same(np.broadcast_to(g, (10,))[i], w), (text, i)


def test_first_array_call_answers_then_switches_to_the_compiled_kernel():
    d = symdiff.differentiate("x*exp(-y*y) + sin(x*y)")
    x = np.linspace(-2, 2, 101)
    first = d(x=x, y=0.5)
    assert d.tiers.state() in ("compiling", "compiled")     # queued, not waited for
    assert d.compile() and d.tiers.state() == "compiled"
    ran = []
    real = d.kernels.arrays
    d.kernels.arrays = lambda *a, **k: ran.append(1) or real(*a, **k)
    second = d(x=x, y=0.5)
    assert ran, "the call after the compile ran the Numba loop"
    assert _same(first[0], second[0]) and all(_same(first[1][k], second[1][k]) for k in d.wrt)


def test_after_a_slow_array_tier_call_the_next_call_waits_for_the_compile(monkeypatch):
    """An array-tier call slower than WAIT_AFTER (here: any) makes the next call of that
    pattern wait for the running compile and run the kernel, with the same numbers."""
    monkeypatch.setattr(tiers, "WAIT_AFTER", 0.0)
    d = symdiff.differentiate("x*exp(-y*y) + cos(x - y)")
    x = np.linspace(-2, 2, 57)
    first = d(x=x, y=0.25)
    ran = []
    real = d.kernels.arrays
    d.kernels.arrays = lambda *a, **k: ran.append(1) or real(*a, **k)
    second = d(x=x, y=0.25)
    assert ran and d.tiers.state() == "compiled"
    assert _same(first[0], second[0]) and all(_same(first[1][k], second[1][k]) for k in d.wrt)


def test_compile_before_any_call_warms_the_loops_and_the_scalar_entry():
    d = symdiff.differentiate("x*y + tanh(x)")
    assert d.tiers.state() == "python"
    assert d.compile()
    assert d.tiers.ready(("scalar", True))
    assert d.tiers.ready(d.tiers._key((True, True), True, 10))
    assert d.compile(wait=False)       # already there: nothing new to wait for


def test_a_failing_background_compile_keeps_the_array_tier_and_warns_once(monkeypatch):
    d = symdiff.differentiate("x*x + 3*y")

    def broken(key):
        def work():
            raise RuntimeError("LLVM ran out of luck")
        return work
    monkeypatch.setattr(d.tiers, "_warm", broken)
    x = np.arange(5.0)
    v, g = d(x=x, y=1.0)
    for job in list(d.tiers._jobs.values()):
        job.wait(30)
    assert d.tiers.state() == "failed"
    with pytest.warns(RuntimeWarning, match="background compile failed"):
        v2, g2 = d(x=x, y=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d(x=x, y=1.0)                   # once only
    assert v.tolist() == v2.tolist() == (x * x + 3).tolist() and g2["x"].tolist() == (2 * x).tolist()
    with pytest.raises(RuntimeError, match="out of luck"):
        d.compile()                     # an explicit compile says what went wrong


def test_threads_calling_while_the_kernel_compiles_all_get_the_same_numbers():
    d = symdiff.differentiate("sigmoid(a*x + b)*x")
    x = np.linspace(-3, 3, 1000)
    want = d.python.value_and_grad
    results, errors = [], []

    def call():
        try:
            for _ in range(20):
                results.append(d(a=1.5, x=x, b=-0.5))
        except Exception as exc:   # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    d.compile()
    results.append(d(a=1.5, x=x, b=-0.5))
    first = results[0]
    for v, g in results:
        assert _same(v, first[0]) and all(_same(g[k], first[1][k]) for k in d.wrt)
    assert _same(first[0][7], want(1.5, x[7], -0.5)[0])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_fork_during_a_background_compile_leaves_a_working_child():
    d = symdiff.differentiate("x*cos(y) + y*y")
    x = np.linspace(0, 1, 50)
    want = d(x=x, y=0.25)        # queues the compile; the fork may come in the middle of it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: its unfinished jobs are lost and queued again
        code = 1
        try:
            v, g = d(x=x, y=0.25)
            ok = d.compile(timeout=120) and _same(v, want[0]) and _same(g["y"], want[1]["y"])
            v2, _ = d(x=x, y=0.25)
            code = 0 if ok and _same(v2, want[0]) else 1
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    status = os.read(read, 1)
    os.waitpid(pid, 0)
    os.close(read)
    assert status == b"\x00"
    assert d.compile() and _same(d(x=x, y=0.25)[0], want[0])


def test_jobs_lost_in_a_fork_are_marked_and_the_queue_starts_again(monkeypatch):
    freed = []
    monkeypatch.setattr(background, "_free_compiler_locks", lambda: freed.append(1))   # not in this process
    gate = threading.Event()
    first = background.submit("blocker", lambda: gate.wait(30))
    queued = background.submit("queued", lambda: 42)
    while background._current is not first:   # the blocker is running
        threading.Event().wait(0.01)
    background._after_fork_child()            # what the child sees (no worker thread)
    assert queued.lost and queued.done() and freed == [1]
    again = background.submit("again", lambda: 7)
    assert again.wait(30) and again.result == 7
    gate.set()
    assert first.wait(30)


def test_tiers_off_compiles_at_once(monkeypatch):
    monkeypatch.setenv("SYMDIFF_TIERS", "off")
    d = symdiff.differentiate("x*y - y")
    v, _ = d(x=np.arange(3.0), y=2.0)
    assert d.tiers.state() == "compiled" and v.tolist() == [-2.0, 0.0, 2.0]
    assert d(x=1.0, y=2.0) == (0.0, {"x": 2.0, "y": 0.0}) and None in d.kernels._modules   # compiled entry


def _program(terms):
    lines = [f"s{k} = tanh({k}*a*x + b*y/{k} + c)*exp(-(x*x + y*y)/{k} + a*c)" for k in range(1, terms + 1)]
    return "\n".join(lines + ["f = " + " + ".join(f"s{k}" for k in range(1, terms + 1))])


def test_auto_inlines_only_what_compiles_quickly():
    first_call = "tanh(a*x + b*y + c)*exp(-(x*x + y*y)/2) + log(1 + a*a*x*x)*sin(b*y)"
    assert symdiff.differentiate(first_call).kernels.kind == "straight"
    six = symdiff.differentiate(_program(6))          # 135 lines, 12 calls: 5-6 s inlined
    assert kernels.compile_estimate(six.program) > kernels.INLINE_MAX_SECONDS
    mix = symdiff.differentiate("log(1 + exp(sin(x*y) + cos(x)/(1 + y*y)))*tanh(x - y)")
    assert mix.kernels.kind == "tape"                 # 2.65 s of CPU inlined
    assert six.kernels.kind == "tape"


def test_a_tape_program_compiles_straight_until_the_interpreter_is_on_the_machine(monkeypatch):
    d = symdiff.differentiate(_program(10))
    assert d.kernels.kind == "tape" and d.kernels.lines() > kernels.INLINE_MAX_LINES   # 197 lines
    monkeypatch.setattr(tiers, "interpreter_cached", lambda: False)
    assert not d.tiers.use_tape() and d.tiers.loops().kind == "straight"
    fresh = symdiff.differentiate(_program(10))
    monkeypatch.setattr(tiers, "interpreter_cached", lambda: True)
    assert fresh.tiers.use_tape()
    point = {"a": 0.5, "b": -1.5, "c": 0.25, "x": np.linspace(-1, 1, 64), "y": 0.3}
    first = d(**point)
    assert d.compile(timeout=300)
    second = d(**point)
    assert _same(first[0], second[0]) and all(_same(first[1][k], second[1][k]) for k in d.wrt)


def test_nothing_compiles_or_imports_numba_before_the_first_array_answer():
    import subprocess
    code = ("import sys, numpy as np, symdiff\n"
            "d = symdiff.differentiate('x*exp(y)')\n"
            "v, g = d(x=np.ones(3), y=np.zeros(3))\n"
            "print('numba' in sys.modules, v.tolist())\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd()] + sys.path))
    # the worker may import Numba right after the answer: check what the answer needed
    code = code.replace("v, g = d(", "import codegen.background as b; b.submit = lambda *a: b.Job('x', lambda: 0)\nv, g = d(")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(None, 1) == ["False", "[1.0, 1.0, 1.0]\n"]


def test_a_script_that_ends_during_a_background_compile_waits_for_it(tmp_path):
    """The interpreter does not end while LLVM compiles in the worker thread (an exit there can
    abort the process): the compile the first array call started is finished and cached.
    (A compile still queued at exit is dropped: the script waits until the worker took it.)"""
    import subprocess
    script = tmp_path / "ends.py"
    script.write_text("import time, numpy as np, symdiff\n"
                      "from codegen import background\n"
                      "d = symdiff.differentiate('sin(a*x)*exp(b*y) + tanh(c*x*y)', wrt='a,b,c')\n"
                      "d(a=1.0, b=2.0, c=3.0, x=np.linspace(0, 1, 500), y=np.ones(500))\n"
                      "while background.pending():   # the worker has taken the compile: it runs\n"
                      "    time.sleep(0.001)\n"
                      "print('answered')\n")
    cache = tmp_path / "cache"
    env = dict(os.environ, SYMDIFF_CACHE_DIR=str(cache),
               PYTHONPATH=os.pathsep.join([os.getcwd()] + sys.path))
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout == "answered\n", out.stderr
    assert "Assertion" not in out.stderr
    compiled = [p.name for p in cache.rglob("*.nbi")]
    assert any(".grad_loop-" in name for name in compiled), compiled


def test_jobs_dropped_at_exit_finish_so_a_thread_still_running_never_hangs(tmp_path):
    """At exit the queued jobs are dropped and the worker stops after the running one; a
    non-daemon thread that outlives the main script and waits on a dropped job, or submits
    one then, gets it finished with an error at once instead of waiting forever (the process
    used to hang at exit: threading joins that thread after the exit handler ran)."""
    import subprocess
    script = tmp_path / "outlives.py"
    script.write_text(
        "import threading, time\n"
        "from codegen import background\n"
        "started = threading.Event()\n"
        "def slow():\n"
        "    started.set(); time.sleep(1.0)\n"
        "def user():\n"
        "    background.submit('slow', slow)\n"
        "    queued = background.submit('queued', lambda: 2)\n"
        "    print(queued.wait(30), type(queued.error).__name__, flush=True)\n"
        "    late = background.submit('late', lambda: 3)\n"
        "    print(late.wait(30), type(late.error).__name__, flush=True)\n"
        "threading.Thread(target=user).start()\n"
        "started.wait()\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd()] + sys.path))
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "True RuntimeError\nTrue RuntimeError\n", (out.stdout, out.stderr)
    assert time.monotonic() - t0 < 20


def test_background_imported_first_by_a_thread_outliving_the_script(tmp_path):
    """A thread still running after the main script ended may be the first to import
    codegen.background (threading refuses new exit handlers then): it imports and runs jobs."""
    import subprocess
    script = tmp_path / "late_import.py"
    script.write_text("import threading, time\n"
                      "def user():\n"
                      "    time.sleep(0.3)\n"
                      "    from codegen import background\n"
                      "    job = background.submit('late', lambda: 3)\n"
                      "    print(job.wait(30), job.result, flush=True)\n"
                      "threading.Thread(target=user).start()\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd()] + sys.path))
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout == "True 3\n", (out.stdout, out.stderr)


def test_big_calls_switch_to_the_prange_loop_compiled_in_the_background():
    d = symdiff.differentiate("x*sin(y) + y")
    n = kernels.PARALLEL_MIN + 5
    x, y = np.linspace(-1, 1, n), np.linspace(0, 2, n)
    first = d(x=x, y=y)
    assert d.compile()
    dispatcher = d.kernels.get((True, True)).module.grad_ploop
    assert dispatcher.signatures, "compiled in the background, not run there"
    second = d(x=x, y=y)
    assert _same(first[0], second[0]) and all(_same(first[1][k], second[1][k]) for k in d.wrt)


def test_a_tape_program_waits_for_the_interpreter_when_it_is_on_the_machine(monkeypatch):
    monkeypatch.setattr(tiers, "interpreter_cached", lambda: True)
    d = symdiff.differentiate(_program(10))
    point = {"a": 0.5, "b": -1.5, "c": 0.25, "x": np.linspace(-1, 1, 64), "y": 0.3}
    first = d(**point)
    assert d.tiers.use_tape() and d.compile(timeout=600) and d.tiers.ready(("tape",))
    second = d(**point)
    assert _same(first[0], second[0]) and all(_same(first[1][k], second[1][k]) for k in d.wrt)


def test_what_the_array_tier_cannot_run_runs_compiled(monkeypatch):
    d = symdiff.differentiate("x*y + 1")

    def broken():
        raise TypeError("not over arrays")
    monkeypatch.setattr(d.tiers, "array_module", broken)
    v, g = d(x=np.arange(3.0), y=2.0)        # compiled now, in this thread
    assert v.tolist() == [1.0, 3.0, 5.0] and g["y"].tolist() == [0.0, 1.0, 2.0]
    assert d.tiers.state() == "compiled"


def test_background_compiles_format_numba_messages_without_touching_sys_stdout():
    import contextlib
    import io
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        job = background.submit("typing error", lambda: __import__("numba").njit(lambda x: x + "a")(1.0))
        assert job.wait(120) and job.error is not None          # a TypingError, formatted
        assert sys.stdout is buffer                              # still the user's redirection
    errors = sys.modules["numba.core.errors"]
    assert errors.termcolor().errmsg("plain") == "plain"         # no colorama swap of streams
