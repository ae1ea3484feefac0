"""Numba kernels against plain-Python execution of the very same generated source,
broadcasting, the prange variant, and the on-disk cache."""
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import symdiff
from codegen import cache

SAMPLE = [  # a sample compiled with Numba; test_properties runs many more as plain Python
    "sigmoid(a*x + b*y + c)",
    "log(1 + exp(sin(x*y) + cos(x)/(1 + y*y)))*tanh(x - y)",
    "c = a + b; d = a*b + b**3; c += c + 1; c += 1 + c + (-a); d += d*2 + relu(b + a); "
    "d += 3*d + relu(b - a); e = c - d; f = e**2; g = f/2.0; g += 10.0/f",
    "max(x, y)*abs(x) - min(x, softplus(y)) + sqrt(x*x + 1)**1.5 + 2**x",
]


def python_run(d, point):
    """Plain Python, point by point, on the same module source."""
    arrays = np.broadcast_arrays(*(np.asarray(point[k], dtype=float) for k in d.inputs))
    flat = [a.ravel() for a in arrays]
    rows = [d.python.value_and_grad(*(float(a[i]) for a in flat)) for i in range(flat[0].size)]
    rows = np.array(rows, dtype=float).reshape(flat[0].size, -1)
    shape = arrays[0].shape
    return rows[:, 0].reshape(shape), {w: rows[:, k + 1].reshape(shape) for k, w in enumerate(d.wrt)}


@pytest.mark.parametrize("formula", SAMPLE)
def test_numba_equals_plain_python(formula):
    d = symdiff.differentiate(formula)
    assert d.compile() and d.tiers.state() == "compiled"   # calls below run the Numba loops
    rng = np.random.default_rng(0)
    point = {k: rng.normal(size=50) for k in d.inputs}
    value, grad = d(**point)
    want_value, want_grad = python_run(d, point)
    np.testing.assert_array_equal(value, want_value)        # to the bit: same math, same powers
    for k in d.wrt:
        np.testing.assert_array_equal(grad[k], want_grad[k])
    # the compiled scalar entry point, and the tiered first scalar call (plain Python)
    scalar = d.kernels.scalar(*(float(point[k][3]) for k in d.inputs))
    assert scalar == tuple(float(x) for x in [want_value[3]] + [want_grad[k][3] for k in d.wrt])
    fresh = symdiff.differentiate(formula)
    v, g = fresh(**{k: float(point[k][3]) for k in d.inputs})
    assert (v, *g.values()) == scalar


def test_scalar_calls_run_plain_python_until_compiled():
    d = symdiff.differentiate("sin(x)*y")
    first = d(x=0.5, y=2.0)
    second = d(x=0.5, y=2.0)
    assert second == first and d.tiers.state() == "python"   # nothing compiled, nothing queued
    assert d.compile()
    assert d.tiers.ready(("scalar", True)) and d(x=0.5, y=2.0) == first


def test_broadcasting_and_shapes():
    d = symdiff.differentiate("a*x + b*y")
    x = np.linspace(0, 1, 4)[:, None]
    y = np.linspace(1, 2, 3)[None, :]
    value, grad = d(a=2.0, b=np.array([3.0]), x=x, y=y)
    assert value.shape == (4, 3) and grad["a"].shape == (4, 3)
    np.testing.assert_allclose(value, 2 * x + 3 * y)
    np.testing.assert_allclose(grad["a"], np.broadcast_to(x, (4, 3)))
    np.testing.assert_allclose(grad["b"], np.broadcast_to(y, (4, 3)))
    np.testing.assert_allclose(grad["y"], np.full((4, 3), 3.0))
    # 0-d arrays behave as scalars; empty arrays give empty results
    v, g = d(a=np.float64(2.0), b=1.0, x=np.array(1.0), y=1.0)
    assert isinstance(v, float) and v == 3.0
    v, g = d(a=1.0, b=1.0, x=np.empty(0), y=1.0)
    assert v.shape == (0,) and g["x"].shape == (0,)
    # non-contiguous inputs
    big = np.arange(20.0)[::2]
    v, _ = d(a=1.0, b=0.0, x=big, y=0.0)
    np.testing.assert_array_equal(v, big)


def test_prange_variant_equals_the_serial_loop():
    d = symdiff.differentiate(SAMPLE[0])
    x = np.random.default_rng(1).normal(size=1000)
    args = (1.0, x, 2.0, x[::-1].copy(), -3.0)
    mask = (False, True, False, True, False)
    serial = d.kernels.arrays(mask, args, [np.empty(1000) for _ in range(6)], parallel=False)
    parallel = d.kernels.arrays(mask, args, [np.empty(1000) for _ in range(6)], parallel=True)
    for s, p in zip(serial, parallel):
        np.testing.assert_array_equal(s, p)


def test_numpy_error_model_no_exceptions():
    d = symdiff.differentiate("x/y + sqrt(y)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grad = d(x=1.0, y=0.0)
    assert np.isnan(value) or np.isinf(value)
    values, _ = d(x=np.ones(3), y=np.array([0.0, -1.0, 1.0]))
    assert np.isinf(values[0]) and np.isnan(values[1]) and values[2] == 2.0


def test_kernels_use_error_model_numpy_and_live_in_real_files(cache_dir):
    d = symdiff.differentiate("x*y")
    d.kernels.scalar(1.0, 2.0)
    compiled = d.kernels.get()
    path = compiled.module.__file__
    assert path.startswith(str(cache_dir)) and path.endswith(".py")
    assert os.path.basename(path).startswith("sd_")
    assert compiled.module.value_and_grad.targetoptions["error_model"] == "numpy"


def _run(code, env):
    """Run code in a new process whose calls run compiled code (tiers off: compile first)."""
    env = dict(env, SYMDIFF_TIERS="off")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=300)


def test_new_process_uses_the_numba_cache(cache_dir):
    env = dict(os.environ, SYMDIFF_CACHE_DIR=str(cache_dir))
    code = """
        import numpy as np, symdiff
        d = symdiff.differentiate("sigmoid(w*x + b)")
        v, g = d(w=2.0, x=np.linspace(0, 1, 10), b=0.5)
        k = d.kernels.get((False, True, False)).module.grad_loop
        s = k.stats
        print(sum(s.cache_hits.values()), sum(s.cache_misses.values()), round(float(v.sum()), 12))
    """
    first = _run(code, env)
    assert first.returncode == 0, first.stderr
    hits, misses, total = first.stdout.split()
    assert hits == "0" and misses == "1"
    second = _run(code, env)
    assert second.returncode == 0, second.stderr
    hits2, misses2, total2 = second.stdout.split()
    assert (hits2, misses2, total2) == ("1", "0", total)


def test_damaged_cache_files_are_rebuilt(cache_dir):
    d = symdiff.differentiate("x*y + sin(x)")
    want = d(x=0.5, y=2.0)
    path = d.kernels.get().module.__file__
    for damage in ["", "def value_and_grad(", "garbage \x00\xff", open(path).read()[:-30]]:
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(damage)
        with pytest.warns(RuntimeWarning, match="rebuilding damaged cache file"):
            fresh = symdiff.differentiate("x*y + sin(x)")
            got = fresh(x=0.5, y=2.0)
        assert got == want
        assert open(path).read() == cache.file_text(fresh.kernels.get().source)


def test_damaged_numba_index_is_recompiled(cache_dir):
    env = dict(os.environ, SYMDIFF_CACHE_DIR=str(cache_dir))
    code = """
        import symdiff
        d = symdiff.differentiate("x*exp(y)")
        print(d(x=2.0, y=0.0), d(x=2.0, y=0.0), d(x=[2.0], y=[0.0]))
    """
    first = _run(code, env)
    assert first.returncode == 0, first.stderr
    pycache = cache_dir / "__pycache__"
    damaged = 0
    for name in os.listdir(pycache):
        if name.endswith((".nbi", ".nbc")):
            (pycache / name).write_bytes(b"not a pickle")
            damaged += 1
    assert damaged
    second = _run(code, env)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout


def test_short_hash_collisions_never_load_the_wrong_module(cache_dir, monkeypatch):
    monkeypatch.setattr(cache, "HASH_CHARS", 0)       # every module collides on "sd_"
    f = symdiff.differentiate("x*y")
    g = symdiff.differentiate("x + y")
    assert f(x=2.0, y=3.0) == (6.0, {"x": 3.0, "y": 2.0})
    assert g(x=2.0, y=3.0) == (5.0, {"x": 1.0, "y": 1.0})
    names = sorted(p.name for p in cache_dir.glob("sd_*.py"))
    assert names == ["sd_.py", "sd__1.py"]


def test_unwritable_cache_dir_falls_back_with_a_warning(tmp_path, monkeypatch):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    monkeypatch.setenv("SYMDIFF_CACHE_DIR", str(blocked / "cache"))
    monkeypatch.setattr(cache, "_fallback_dir", None)
    with pytest.warns(RuntimeWarning, match="not usable"):
        assert symdiff.differentiate("x*x")(x=3.0) == (9.0, {"x": 6.0})


def test_concurrent_processes_share_one_cache(cache_dir):
    env = dict(os.environ, SYMDIFF_CACHE_DIR=str(cache_dir))
    code = """
        import sys, numpy as np, symdiff
        formula = ["tanh(a*x) + b", "tanh(a*x) + b", "a*exp(-x*x) + b", "tanh(a*x) + b"][int(sys.argv[1])]
        v, g = symdiff.differentiate(formula)(a=1.5, x=np.linspace(-1, 1, 7), b=0.25)
        print(repr(float(v.sum())), repr(float(g["a"].sum())))
    """
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(k)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    x = np.linspace(-1, 1, 7)
    want_tanh = f"{float((np.tanh(1.5 * x) + 0.25).sum())!r}"
    assert outs[0][0].split()[0] == outs[1][0].split()[0] == outs[3][0].split()[0]
    assert float(outs[0][0].split()[0]) == pytest.approx(float(want_tanh), rel=1e-14)
    assert float(outs[2][0].split()[0]) == pytest.approx(float((1.5 * np.exp(-x * x) + 0.25).sum()), rel=1e-14)
