"""Big and deep formulas: iterative everywhere, no RecursionError, and a gradient whose
size stays within 3x the forward graph. (Times are measured in benchmarks/, not here.)"""
import math

import numpy as np
import pytest

import symdiff


def _graph_ops(d):
    return sum(1 for n in d.graph.nodes if n.op not in ("input", "const"))


def _fd_check(d, point, names, h=1e-6, rel=1e-5):
    args = [point[k] for k in d.inputs]
    result = d.python.value_and_grad(*args)
    grad = dict(zip(d.wrt, result[1:]))
    for name in names:
        i = d.inputs.index(name)
        up, down = list(args), list(args)
        up[i] += h
        down[i] -= h
        numeric = (d.python.value(*up) - d.python.value(*down)) / (2 * h)
        assert grad[name] == pytest.approx(numeric, rel=rel, abs=1e-6), name


def test_ten_thousand_node_formula():
    text = " + ".join(f"sin({i}*x + y)*{i + 1}" for i in range(1, 2501))
    d = symdiff.differentiate(text)
    assert _graph_ops(d) >= 10_000
    assert d.program.backward_ops() <= 3 * _graph_ops(d)
    x, y = 0.3, -0.2
    want = sum(math.sin(i * x + y) * (i + 1) for i in range(1, 2501))
    result = d.python.value_and_grad(x, y)
    assert result[0] == pytest.approx(want, rel=1e-10)
    assert result[1] == pytest.approx(sum(math.cos(i * x + y) * i * (i + 1) for i in range(1, 2501)), rel=1e-10)
    # compiled: too big to inline, so it runs on the tape, with the same numbers to the bit
    assert d.kernels.kind == "tape"
    value, grad = d(x=np.array([x, x]), y=y)
    assert (value[1], grad["x"][1], grad["y"][1]) == tuple(result)


def test_sum_of_three_thousand_terms_that_breaks_ast_parse():
    text = " + ".join(f"w{i}*x{i}" for i in range(3000))   # ast.parse: RecursionError on 3.11
    d = symdiff.differentiate(text)
    assert len(d.inputs) == 6000
    point = {f"w{i}": 0.001 * i for i in range(3000)} | {f"x{i}": 1.0 for i in range(3000)}
    value = d.python.value(*(point[k] for k in d.inputs))
    assert value == pytest.approx(sum(0.001 * i for i in range(3000)))


@pytest.mark.parametrize("depth", [5000])
def test_nesting_five_thousand_deep(depth):
    parens = "(" * depth + "x" + " + 0.001)" * depth
    d = symdiff.differentiate(parens)
    assert d.python.value_and_grad(1.0) == pytest.approx((1.0 + 0.001 * depth, 1.0))
    sines = "sin(" * depth + "x" + ")" * depth
    d = symdiff.differentiate(sines)
    value, dx = d.python.value_and_grad(0.5)
    v, g = 0.5, 1.0
    for _ in range(depth):
        g *= math.cos(v)
        v = math.sin(v)
    assert (value, dx) == pytest.approx((v, g), rel=1e-12)
    assert d.program.backward_ops() <= 3 * _graph_ops(d)


@pytest.mark.parametrize("depth", [20, 40])
def test_recurrence_gradient_stays_small(depth):
    # x_{k+1} = sin(x_k*w_k + x_{k-1}); sympy.diff of the depth-20 formula is 10M ops
    lines = [f"x{k + 1} = sin(x{k}*w{k} + x{k - 1})" for k in range(1, depth + 1)]
    d = symdiff.differentiate("\n".join(lines))
    assert d.program.backward_ops() <= 3 * _graph_ops(d)
    rng = np.random.default_rng(depth)
    point = {k: float(rng.uniform(-1, 1)) for k in d.inputs}
    _fd_check(d, point, ["x0", "x1", "w1", f"w{depth // 2}", f"w{depth}"])


def test_thousand_statement_program():
    lines = ["s = x"] + [f"s = s*0.999 + sin(s + {k % 7})" for k in range(1000)]
    d = symdiff.differentiate("\n".join(lines))
    assert len(d.program.forward) >= 1000
    _fd_check(d, {"x": 0.1}, ["x"], rel=1e-4)
    # compiled on the tape (no per-formula compile), to the bit what the source computes
    value, grad = d(x=np.array([0.1, -0.3]))
    assert d.kernels.kind == "tape"
    assert (value[0], grad["x"][0]) == tuple(d.python.value_and_grad(0.1))
