"""Cache faults: many processes at once, a cache that is read-only, full, deleted mid-run,
or holds truncated or garbage files. Always a correct result: at worst a recompile with a
warning, never a crash or a wrong kernel. (Single-process damage cases: test_kernels.py.)"""
import errno
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symdiff
from codegen import cache

WORKER = textwrap.dedent("""
    import sys, numpy as np, symdiff
    k = int(sys.argv[1])
    formula = ["tanh(a*x) + b", "a*exp(-x*x) + b", "sigmoid(a*x + b)", "log(1 + a*a*x*x) + b"][k % 4]
    x = np.linspace(-1, 1, 9)
    kernel = "tape" if k >= 4 else "straight"   # four processes build the tape interpreter at once
    v, g = symdiff.differentiate(formula, kernel=kernel)(a=1.5, x=x, b=0.25)
    s, gs = symdiff.differentiate(formula)(a=1.5, x=0.5, b=0.25)
    print(k % 4, repr(float(v.sum())), repr(float(g["a"].sum())), repr(s), repr(gs["x"]))
""")


def _expected(k):
    x = np.linspace(-1, 1, 9)
    a, b = 1.5, 0.25
    f = [lambda x: np.tanh(a * x) + b, lambda x: a * np.exp(-x * x) + b,
         lambda x: 1 / (1 + np.exp(-(a * x + b))), lambda x: np.log(1 + a * a * x * x) + b][k]
    return float(f(x).sum()), float(f(np.float64(0.5)))


def test_eight_processes_compile_same_and_different_formulas_at_once(cache_dir):
    env = dict(os.environ, SYMDIFF_CACHE_DIR=str(cache_dir), SYMDIFF_TIERS="off")   # compile first
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(k)], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for k in range(8)]
    results = [(p, *p.communicate(timeout=600)) for p in procs]
    for p, out, err in results:
        assert p.returncode == 0, err
        k, total, grad_a, scalar, grad_x = out.split()
        want_total, want_scalar = _expected(int(k))
        assert float(total) == pytest.approx(want_total, rel=1e-13)
        assert float(scalar) == pytest.approx(want_scalar, rel=1e-13)
    same = {}
    for p, out, err in results:     # same formula, straight or tape: the same to the last bit
        k, *numbers = out.split()
        assert same.setdefault(k, numbers) == numbers
    assert not list(cache_dir.glob(".tmp-*"))        # no half-written files left behind


def test_read_only_cache_falls_back_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMDIFF_CACHE_DIR", str(tmp_path / "ro"))
    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(cache, "_fallback_dir", None)

    def read_only(*args, **kwargs):
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(cache.tempfile, "NamedTemporaryFile", read_only)   # the probe
    with pytest.warns(RuntimeWarning, match="not usable"):
        assert symdiff.differentiate("x*x*x")(x=2.0) == (8.0, {"x": 12.0})


def test_full_disk_falls_back_with_a_warning(cache_dir, monkeypatch):
    monkeypatch.setattr(cache, "_fallback_dir", None)
    real = cache._atomic_write

    def full(path, text):
        if str(cache_dir) in path:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, text)

    monkeypatch.setattr(cache, "_atomic_write", full)
    with pytest.warns(RuntimeWarning, match="cannot write kernel cache file"):
        assert symdiff.differentiate("x*x + 2*x")(x=3.0) == (15.0, {"x": 8.0})


def test_cache_deleted_mid_run(cache_dir):
    d = symdiff.differentiate("x*sin(y)")
    assert d(x=2.0, y=0.0) == (0.0, {"x": 0.0, "y": 2.0})
    shutil.rmtree(cache_dir)
    values, grads = d(x=np.ones(3), y=np.zeros(3))   # the array tier writes its module again
    assert values.tolist() == [0.0] * 3 and grads["y"].tolist() == [1.0] * 3
    assert d.compile()                               # a new loop module after the deletion
    assert d(x=np.ones(3), y=np.zeros(3))[1]["y"].tolist() == [1.0] * 3
    assert symdiff.differentiate("x + y")(x=1.0, y=2.0)[0] == 3.0
    assert cache_dir.is_dir()


@pytest.mark.parametrize("damage", [b"", b"\x00" * 100, b"import os\nos.system('echo pwned')\n",
                                    "def value_and_grad(x):\n    return 42.0, 0.0\n".encode()])
def test_garbage_or_foreign_file_is_never_loaded(cache_dir, damage):
    d = symdiff.differentiate("3*x")
    d(x=1.0)
    path = d.kernels.get().module.__file__
    with open(path, "wb") as f:
        f.write(damage)
    with pytest.warns(RuntimeWarning, match="rebuilding damaged cache file"):
        assert symdiff.differentiate("3*x")(x=1.0) == (3.0, {"x": 3.0})
