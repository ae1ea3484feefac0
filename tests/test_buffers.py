"""codegen/buffers.py: result arrays on 64-byte lines, whose memory is reused only once no
array views it any more."""
import gc

import numpy as np
import pytest

import symdiff
from codegen import buffers

BIG = buffers.MIN_BYTES // 8 + 3      # doubles: pooled; an odd size on purpose


@pytest.fixture(autouse=True)
def empty_pool():
    buffers.release()
    yield
    buffers.release()


def test_arrays_start_on_a_line_and_are_ordinary_writable_arrays():
    for shape in (BIG, (3, BIG), 5, (2, 7)):
        a = buffers.empty(shape)
        assert a.ctypes.data % buffers.LINE == 0
        assert a.dtype == np.float64 and a.flags.c_contiguous and a.flags.writeable
        assert a.shape == ((shape,) if isinstance(shape, int) else shape)


def test_memory_comes_back_only_when_no_view_is_left():
    a = buffers.empty(BIG)
    a[:] = 1.0
    address = a.ctypes.data
    view = a[5:9].reshape(2, 2)
    del a
    gc.collect()
    assert buffers.idle_bytes() == 0          # a view keeps it
    b = buffers.empty(BIG)                    # so a new array gets other memory
    assert b.ctypes.data != address
    b[:] = 2.0
    assert (view == 1.0).all()
    del view
    assert buffers.idle_bytes() > 0
    c = buffers.empty(BIG)                    # now the memory is reused
    assert c.ctypes.data == address and buffers.idle_bytes() == 0
    assert (b == 2.0).all()


def test_the_pool_keeps_at_most_its_limit(monkeypatch):
    monkeypatch.setenv("SYMDIFF_POOL_MB", "0")
    a = buffers.empty(BIG)
    del a
    assert buffers.idle_bytes() == 0
    monkeypatch.setenv("SYMDIFF_POOL_MB", "512")
    rows = list(buffers.empty((2, BIG)))      # rows of one block: back when both are gone
    del rows[0]
    assert buffers.idle_bytes() == 0
    del rows
    assert buffers.idle_bytes() >= 2 * BIG * 8
    buffers.release()
    assert buffers.idle_bytes() == 0


def test_past_the_limit_the_longest_idle_arrays_go_first(monkeypatch):
    monkeypatch.setenv("SYMDIFF_POOL_MB", str(2.5 * BIG * 8 / 2**20))   # room for two
    a, b, c = (buffers.empty(BIG + k) for k in range(3))
    last = c.ctypes.data
    del a, b, c                                # idle in this order: a, b, c; a goes
    assert buffers.idle_bytes() <= 2.5 * BIG * 8
    assert [len(buffers._idle.get(BIG + k, ())) for k in range(3)] == [0, 1, 1]
    assert buffers.empty(BIG + 2).ctypes.data == last


def test_results_kept_by_the_caller_are_never_overwritten():
    """Call, keep the results, call again with other inputs, drop the second results, call
    a third time: the first results still hold the first numbers (against plain Python)."""
    d = symdiff.differentiate("x*y + sin(x)", kernel="straight")
    d.compile()                               # the compiled loop writes the pooled arrays
    n = BIG
    x = np.linspace(-2.0, 2.0, n)
    v1, g1 = d(x=x, y=0.5)
    keep = v1.copy(), g1["x"].copy()
    v2, g2 = d(x=-x, y=3.0)
    del v2, g2
    gc.collect()
    v3, _ = d(x=x * 2.0, y=-1.0)
    assert np.array_equal(v1, keep[0]) and np.array_equal(g1["x"], keep[1])
    k = 12345
    plain = d.python.value_and_grad(x[k], 0.5)
    assert v1[k] == plain[0] and g1["x"][k] == plain[1]
    assert v3[k] == d.python.value_and_grad(2.0 * x[k], -1.0)[0]


def test_arrays_alive_at_interpreter_exit_die_quietly():
    """Module globals are None when the last arrays die at exit: no "Exception ignored in
    _Owner.__del__" (seen with arrays kept in a script's globals)."""
    import subprocess
    import sys
    script = ("import numba\nfrom codegen import vmath, buffers\n"
              "vmath.jit_namespace(numba.njit, error_model='numpy')\n"
              f"@numba.njit\ndef first(x):\n    return x[0]\na = buffers.empty({BIG})\nfirst(a)\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "Exception ignored" not in run.stderr, run.stderr
