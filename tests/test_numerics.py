"""Numerical edges: stable forms, kink conventions, NumPy float64 semantics on every path."""
import math
import warnings

import numpy as np
import pytest

import symdiff

PATHS = ["numba-scalar", "numba-array", "python", "tape-scalar", "tape-array", "tape-python"]


def run(d, path, **point):
    if path.startswith("tape"):   # the same formula on the tape interpreter (codegen/tape.py)
        d = symdiff.differentiate(d.program.text, kernel="tape")
        X = np.array([[point[k]] * 2 for k in d.inputs], dtype=float)
        if path == "tape-python":
            with np.errstate(all="ignore"):
                rows = d.kernels.run_tape(X, python=True)[:, 0]
            return float(rows[0]), dict(zip(d.wrt, map(float, rows[1:])))
        path = "numba-" + path[5:]
    if path == "numba-scalar":
        result = d.kernels.scalar(*(float(point[k]) for k in d.inputs))
        return float(result[0]), dict(zip(d.wrt, map(float, result[1:])))
    if path == "numba-array":
        value, grad = d(**{k: np.array([v, v]) for k, v in point.items()})
        return float(value[0]), {k: float(g[0]) for k, g in grad.items()}
    with np.errstate(all="ignore"):
        result = d.python.value_and_grad(*(np.float64(point[k]) for k in d.inputs))
    return float(result[0]), dict(zip(d.wrt, map(float, result[1:])))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("x", [800.0, -800.0, 40.0, -40.0, 0.0])
def test_sigmoid_and_softplus_are_stable(path, x):
    s = symdiff.differentiate("sigmoid(x)")
    value, grad = run(s, path, x=x)
    want = 1 / (1 + math.exp(-x)) if x > -700 else 0.0
    assert math.isfinite(value) and math.isfinite(grad["x"])
    assert value == pytest.approx(want, rel=1e-15, abs=1e-300)
    assert grad["x"] == pytest.approx(want * (1 - want), rel=1e-12, abs=1e-300)
    sp = symdiff.differentiate("softplus(x)")
    value, grad = run(sp, path, x=x)
    want_sp = x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))
    assert value == pytest.approx(want_sp, rel=1e-15, abs=1e-300)
    assert grad["x"] == pytest.approx(want, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("path", PATHS)
def test_kinks_follow_pytorch_and_jax(path):
    assert run(symdiff.differentiate("relu(x)"), path, x=0.0)[1]["x"] == 0.0
    assert run(symdiff.differentiate("abs(x)"), path, x=0.0)[1]["x"] == 0.0
    # max/min send a tie to their first argument
    assert run(symdiff.differentiate("max(a, b)"), path, a=1.0, b=1.0)[1] == {"a": 1.0, "b": 0.0}
    assert run(symdiff.differentiate("min(a, b)"), path, a=1.0, b=1.0)[1] == {"a": 1.0, "b": 0.0}
    assert run(symdiff.differentiate("max(b, a)"), path, a=1.0, b=1.0)[1] == {"a": 0.0, "b": 1.0}


EDGES = [
    # formula, point, expected value (NumPy float64 semantics)
    ("log(x)", dict(x=0.0), -math.inf),
    ("sqrt(x)", dict(x=-1.0), math.nan),
    ("x/y", dict(x=1.0, y=0.0), math.inf),
    ("x/y", dict(x=0.0, y=0.0), math.nan),
    ("x**y", dict(x=0.0, y=0.0), 1.0),
    ("x**-1", dict(x=0.0), math.inf),      # an integer power compiled would raise here
    ("x**-3", dict(x=-0.0), -math.inf),
    ("x**-2", dict(x=1e-300), math.inf),
    ("exp(x)", dict(x=1000.0), math.inf),
    ("exp(x)", dict(x=-1000.0), 0.0),
    ("x*y", dict(x=math.inf, y=0.0), math.nan),
    ("x + 1", dict(x=math.nan), math.nan),
    ("tanh(x)", dict(x=math.inf), 1.0),
    ("relu(x)", dict(x=math.nan), math.nan),
    ("max(x, y)", dict(x=math.nan, y=1.0), math.nan),
    ("max(x, y)", dict(x=1.0, y=math.nan), math.nan),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("formula,point,want", EDGES, ids=[f"{e[0]}@{e[1]}" for e in EDGES])
def test_domain_edges_give_inf_or_nan_never_an_exception(formula, point, want, path):
    d = symdiff.differentiate(formula)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grad = run(d, path, **point)
    if math.isnan(want):
        assert math.isnan(value)
    else:
        assert value == want


@pytest.mark.parametrize("path", PATHS)
def test_powers_at_zero(path):
    # x**0 is 1 everywhere (NumPy), so its derivative is 0, not 0*x**-1 = nan
    assert run(symdiff.differentiate("x**0 + x"), path, x=0.0) == (1.0, {"x": 1.0})
    # d(x**y)/dy = x**y*log(x) is taken as 0 at x = 0, as PyTorch and JAX do
    assert run(symdiff.differentiate("x**y"), path, x=0.0, y=2.0) == (0.0, {"x": 0.0, "y": 0.0})
    # and d(x**y)/dx = y*x**(y-1) as 0 where y == 0 (x**0 is 1 everywhere), as they do too
    assert run(symdiff.differentiate("x**y"), path, x=0.0, y=0.0) == (1.0, {"x": 0.0, "y": 0.0})
    value, grad = run(symdiff.differentiate("x**y"), path, x=2.0, y=3.0)
    assert (value, grad["x"]) == (8.0, 12.0) and grad["y"] == pytest.approx(8 * math.log(2), rel=1e-15)
