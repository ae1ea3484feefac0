"""reduce="sum"/"mean": fused sums against independent references (math.fsum of the
per-point results, NumPy's broadcasting sums), bit-for-bit determinism across threads and
between the straight kernel, the tape and the plain-Python run of the same source."""
import math

import numpy as np
import pytest

import symdiff
from codegen import powers, reduce as R, vnumpy
from codegen.cache import load_plain

NEURON = "q = a*x + b*y + c\nf = sigmoid(q)"
EPS = np.finfo(float).eps


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n = 3 * R.CHUNK * 7 + 77          # several chunks, a partial last chunk and lane block
    return rng.standard_normal(n), rng.standard_normal(n)


@pytest.fixture(scope="module")
def per_point():
    return symdiff.differentiate(NEURON)


@pytest.fixture(scope="module")
def summed():
    return symdiff.differentiate(NEURON, reduce="sum")


def test_sum_matches_fsum_of_per_point_results(data, per_point, summed):
    x, y = data
    v, g = per_point(a=1.0, b=2.0, c=-3.0, x=x, y=y)
    s, gs = summed(a=1.0, b=2.0, c=-3.0, x=x, y=y)
    assert isinstance(s, float)
    assert s == pytest.approx(math.fsum(v), rel=1e-14)
    for w in "abc":       # scalar inputs: a float, the sum of the per-point gradients
        assert isinstance(gs[w], float)
        bound = (math.log2(x.size) + 12) * EPS * math.fsum(np.abs(g[w]))
        assert abs(gs[w] - math.fsum(g[w])) <= bound
    for w in "xy":        # array inputs: per point, as d() gives them
        np.testing.assert_array_equal(gs[w], g[w])
    assert list(gs) == list(per_point.wrt)


def test_mean_divides_by_the_number_of_points(data, per_point):
    x, y = data
    d = symdiff.differentiate(NEURON, wrt="a,x", reduce="mean")
    v, g = per_point(a=0.5, b=-1.0, c=0.25, x=x, y=y)
    m, gm = d(a=0.5, b=-1.0, c=0.25, x=x, y=y)
    assert m == pytest.approx(math.fsum(v) / x.size, rel=1e-14)
    assert gm["a"] == pytest.approx(math.fsum(g["a"]) / x.size, rel=1e-13)
    np.testing.assert_allclose(gm["x"], g["x"] / x.size, rtol=1e-15)
    assert d.value(a=0.5, b=-1.0, c=0.25, x=x, y=y) == m


def test_at_least_as_accurate_as_np_sum():
    """Ill-conditioned sums (a large offset plus small varied terms), summed exactly by
    math.fsum: the fused sum's error is within NumPy's pairwise bound and, across seeds,
    no worse than np.sum's overall."""
    d = symdiff.differentiate("x*s + t", wrt="s", reduce="sum")
    ours, theirs = [], []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(200_003) * 10.0 ** rng.integers(-8, 8, 200_003)
        v, g = d(x=x, s=1.0, t=1e3)
        exact = math.fsum(x + 1e3)
        total = math.fsum(np.abs(x + 1e3))
        assert abs(v - exact) <= (math.log2(x.size) + 12) * EPS * total
        ours.append(abs(v - exact))
        theirs.append(abs(np.sum(x + 1e3) - exact))
        assert g["s"] == pytest.approx(math.fsum(x), rel=1e-12, abs=1e-9 * math.fsum(np.abs(x)))
    assert sum(ours) <= 2 * sum(theirs) + 4 * EPS * 2e8


def test_deterministic_across_threads_and_paths(data, summed):
    """Serial and prange runs, any thread count, and the tape: the same bits."""
    import numba
    x, y = data
    inputs = dict(a=1.0, b=2.0, c=-3.0, x=x, y=y)
    mask = (False, True, False, True, False)
    compiled = R.compiled_reduction(summed.program, mask)
    args = [inputs[k] for k in summed.inputs]
    outs = [np.empty(x.size) for _ in range(2)]
    serial = R.run_straight(compiled, args, outs, 4, x.size, True, parallel=False)
    threads = numba.get_num_threads()
    try:
        for t in range(1, threads + 1):
            numba.set_num_threads(t)
            par = R.run_straight(compiled, args, [np.empty(x.size) for _ in range(2)], 4, x.size,
                                 True, parallel=True)
            np.testing.assert_array_equal(par, serial)
    finally:
        numba.set_num_threads(threads)
    tape = symdiff.differentiate(NEURON, kernel="tape", reduce="sum")
    v, g = tape(**inputs)
    s, gs = summed(**inputs)
    assert v == s and all(g[w] == gs[w] for w in "abc")
    np.testing.assert_array_equal(g["x"], gs["x"])


def test_plain_python_run_of_the_reduce_source_matches_numba(summed):
    """The generated reduction runs as plain Python (prange = range) with the same bits."""
    rng = np.random.default_rng(1)
    n = R.CHUNK + 300
    x, y = rng.standard_normal(n), rng.standard_normal(n)
    mask = (False, True, False, True, False)
    source = R.reduce_module_source(summed.program, mask)
    plain = load_plain(source, powers.PLAIN, powers.rewrite)
    plain.np = vnumpy.plain()
    plain.math = vnumpy.plain_math()
    vnumpy.bind_helpers(plain, "plain")      # sigmoid runs as vmath's vsigmoid, as compiled
    compiled = R.compiled_reduction(summed.program, mask)
    results = []
    for run in (plain.grad_reduce_loop, lambda *a: compiled("grad_reduce_loop", *a)):
        P, dx, dy = np.empty((R.chunks(n), 4)), np.empty(n), np.empty(n)
        with np.errstate(all="ignore"):
            run(np.float64(0.3), x, np.float64(-0.7), y, np.float64(0.1), dx, dy, P, 1, n)
        results.append((P, dx, dy))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_broadcast_inputs_get_gradients_of_their_own_shape():
    d = symdiff.differentiate("u*v + w", reduce="sum")
    per = symdiff.differentiate("u*v + w")
    rng = np.random.default_rng(3)
    u, v, w = rng.standard_normal((40, 1)), rng.standard_normal((1, 30)), rng.standard_normal(())
    s, g = d(u=u, v=v, w=w)
    val, gp = per(u=u, v=v, w=w)
    assert s == pytest.approx(math.fsum(val.ravel()), rel=1e-13)
    np.testing.assert_allclose(g["u"], gp["u"].sum(axis=1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(g["v"], gp["v"].sum(axis=0, keepdims=True), rtol=1e-13)
    assert isinstance(g["w"], float) and g["w"] == 1200.0


def test_scalar_only_call_and_bad_reduce():
    d = symdiff.differentiate("a*b", reduce="sum")
    assert d(a=2.0, b=3.0) == (6.0, {"a": 3.0, "b": 2.0})
    with pytest.raises(symdiff.FormulaError, match="reduce"):
        symdiff.differentiate("a*b", reduce="max")


@pytest.mark.parametrize("formula", ["a*x", "(y - a*x - b)**2", "abs(y - a*x) + b*y"])
def test_passes_of_several_rows_give_the_same_bits(formula):
    """Cheap programs run several rows of lanes per pass (codegen.reduce.rows_per_pass);
    the sums are the same additions in the same order: the straight kernel equals its
    plain-Python run, the tape and the value-only sum bit for bit, over a partial last
    block whose last points are not a whole pass."""
    d = symdiff.differentiate(formula, reduce="sum", wrt=[w for w in "ab" if w in formula])
    mask = tuple(name in "xy" for name in d.inputs)
    rows = {kind: R.rows_per_pass(d.program, mask, kind) for kind in ("grad", "value")}
    assert rows["value"] > 1
    rng = np.random.default_rng(5)
    n = 2 * R.CHUNK + 3 * R.BLOCK + 8 * R.LANES * max(rows.values()) - 5
    inputs = {k: (rng.standard_normal(n) if k in "xy" else 0.75) for k in d.inputs}
    v, g = d(**inputs)
    assert d.value(**inputs) == v
    tv, tg = symdiff.differentiate(formula, reduce="sum", kernel="tape", wrt=list(g))(**inputs)
    assert tv == v and tg == g
    source = R.reduce_module_source(d.program, mask)
    plain = load_plain(source, powers.PLAIN, powers.rewrite)
    plain.np = vnumpy.plain()
    plain.math = vnumpy.plain_math()
    vnumpy.bind_helpers(plain, "plain")
    args = [inputs[k] for k in d.inputs]
    P = np.empty((R.chunks(n), 1 + len(g)))
    with np.errstate(all="ignore"):
        plain.grad_reduce_loop(*args, P, 1, n)
    compiled = R.compiled_reduction(d.program, mask)
    Q = np.empty_like(P)
    compiled("grad_reduce_loop", *args, Q, 1, n)
    np.testing.assert_array_equal(P, Q)
    assert R.pairwise(P.copy())[0] == v


def test_lane_sum_intrinsic_adds_in_the_plain_texts_order():
    """codegen.local_arrays.lane_sum (vector shuffles) against the generated plain-Python
    lane_sum: values whose sum depends on the order of the additions give the same bits;
    local_zeros is zeroed on every call, also inside a loop."""
    import numba
    from codegen import local_arrays
    plain = {}
    exec(R.HELPERS, {"np": np}, plain)
    intrinsic_sum = local_arrays.lane_sum(R.LANES)
    local_zeros = local_arrays.local_zeros

    @numba.njit
    def compiled(src):
        v = local_zeros(16)
        for j in range(16):
            v[j] = src[j]
        return intrinsic_sum(v)

    @numba.njit
    def zeros_each_time(rounds):
        total = 0.0
        for _ in range(rounds):
            v = local_zeros(16)
            for j in range(16):
                total += v[j]
                v[j] = 1.0
        return total

    rng = np.random.default_rng(11)
    for _ in range(200):
        src = rng.choice([1e16, -1e16, 1.0, -1.0, 0.5, 3e-5, 7.0], size=R.LANES) * rng.random(R.LANES)
        assert compiled(src) == plain["lane_sum"](src.copy())
    assert zeros_each_time(50) == 0.0
