"""Streaming copies (codegen/streams.py) in the blocked loops of many-result kernels."""
import numpy as np
import pytest

import symdiff
from codegen import kernels, loops_blocked, streams


@pytest.mark.parametrize("m", [0, 1, 7, 8, 9, 63, 64, 65, 200])
def test_stream_copy_is_the_plain_copy_at_every_alignment(m):
    rng = np.random.default_rng(m)
    src = rng.normal(size=(3, 210))
    for offset in range(9):                 # every alignment of dst[i0] within a cache line
        for i0 in (0, 3):
            dst = np.zeros(230)[offset:]    # a view: its data starts offset doubles in
            streams.stream_copy(dst, i0, src, 1, m)
            want = np.zeros(230)[offset:]
            want[i0:i0 + m] = src[1, :m]
            assert np.array_equal(dst, want), (offset, i0)
    raw = np.zeros(8 * 40 + 1, dtype=np.uint8)[1:].view(np.float64)   # not even 8-byte aligned
    assert raw.ctypes.data % 8
    streams.stream_copy(raw, 2, src, 2, min(m, 38))
    assert np.array_equal(raw[2:2 + min(m, 38)], src[2, :min(m, 38)])
    strided = np.zeros(2 * 230)[::2]                                   # every other double
    streams.stream_copy(strided, 3, src, 0, m)
    assert np.array_equal(strided[3:3 + m], src[0, :m]) and not strided[3 + m:].any()
    streams.stream_fence()


def test_blocked_streaming_loop_equals_the_tape_to_the_bit():
    """The neuron's Hessian (21 results: blocked, streamed) over two blocks and a ragged
    tail, against the tape (no blocks, no streams) and plain Python at a few points."""
    n = 2 * loops_blocked.BLOCK + 13
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(2, n))
    text = "sigmoid(a*x + b*y + c)"
    hs, ht = symdiff.hessian(text, kernel="straight"), symdiff.hessian(text, kernel="tape")
    assert "stream_copy(" in hs.kernels.get((False, True, False, True, False)).source
    (vs, gs, Hs), (vt, gt, Ht) = (h(a=0.5, x=x[1:], b=-2.0, y=y[1:], c=0.25) for h in (hs, ht))
    assert np.array_equal(vs, vt)
    for i in hs.wrt:
        assert np.array_equal(gs[i], gt[i]), i
        for j in hs.wrt:
            assert np.array_equal(Hs[i][j], Ht[i][j]), (i, j)
    for k in (0, 1030, n - 2):
        plain = hs.python.value_and_grad(*(dict(a=0.5, x=x[1 + k], b=-2.0, y=y[1 + k], c=0.25)[v]
                                           for v in hs.inputs))
        assert plain[0] == vs[k] and plain[-1] == Hs["c"]["c"][k]


def test_blocked_loops_run_serial_even_when_asked_for_threads():
    """Blocked loops never take their prange twin (its compile took 41 s against 6.7 s for
    the serial loop, kernels.parallel_pays): a call big enough for threads, or one that asks
    for them, runs the serial loop and gives its numbers."""
    h = symdiff.hessian("sigmoid(a*x + b*y + c)", kernel="straight")
    n = 3 * loops_blocked.BLOCK + 5
    x = np.random.default_rng(3).normal(size=n)
    mask = tuple(v in ("x", "y") for v in h.inputs)
    args = tuple({"a": 0.5, "x": x, "b": -2.0, "y": x[::-1].copy(), "c": 0.25}[v] for v in h.inputs)
    k = h.kernels
    assert kernels.blocked(k.program) and not kernels.parallel_pays(k.program, 10**7)
    serial = k.arrays(mask, args, [np.empty(n) for _ in range(21)], parallel=False)
    asked = k.arrays(mask, args, [np.empty(n) for _ in range(21)], parallel=True)
    for s, p in zip(serial, asked):
        assert np.array_equal(s, p)
    assert not k.get(mask).module.grad_ploop.signatures   # never compiled
    plain = h.python.value_and_grad(*(dict(a=0.5, x=x[7], b=-2.0, y=x[::-1][7], c=0.25)[v]
                                      for v in h.inputs))
    assert plain[0] == serial[0][7] and plain[-1] == serial[-1][7]
