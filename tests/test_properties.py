"""Random expression trees: symdiff's gradient against sympy.diff of the whole formula
and against central finite differences. The generated source runs as plain Python here;
test_kernels.py compiles a sample with Numba."""
import math

import numpy as np
import pytest
import sympy
from hypothesis import given, strategies as st, assume

import symdiff
from symdiff.functions import OPS

NAMES = ["x", "y", "z"]
SYMS = {n: sympy.Symbol(n, real=True) for n in NAMES}

# (text template, sympy builder); domains kept valid by construction where needed
UNARY = [
    ("exp({})", sympy.exp), ("sin({})", sympy.sin), ("cos({})", sympy.cos),
    ("tanh({})", sympy.tanh), ("sigmoid({})", lambda a: 1 / (1 + sympy.exp(-a))),
    ("softplus({})", lambda a: sympy.log(1 + sympy.exp(a))),
    ("log(1 + ({})**2)", lambda a: sympy.log(1 + a ** 2)),
    ("sqrt(2 + sin({}))", lambda a: sympy.sqrt(2 + sympy.sin(a))),
    ("sinh({})", sympy.sinh), ("cosh({})", sympy.cosh),
    ("-({})", lambda a: -a), ("({})**2", lambda a: a ** 2), ("({})**3", lambda a: a ** 3),
    ("abs({})", sympy.Abs), ("relu({})", lambda a: sympy.Max(a, 0)),
    ("atan({})", sympy.atan), ("asinh({})", sympy.asinh), ("erf({})", sympy.erf),
    ("erfc({})", sympy.erfc), ("log1p(({})**2)", lambda a: sympy.log(1 + a ** 2)),
    ("expm1({})", lambda a: sympy.exp(a) - 1), ("silu({})", lambda a: a / (1 + sympy.exp(-a))),
    ("softsign({})", lambda a: a / (1 + sympy.Abs(a))),
]
BINARY = [
    ("({}) + ({})", lambda a, b: a + b), ("({}) - ({})", lambda a, b: a - b),
    ("({})*({})", lambda a, b: a * b), ("({})/(1.5 + ({})**2)", lambda a, b: a / (sympy.Float(1.5) + b ** 2)),
    ("max({}, {})", sympy.Max), ("min({}, {})", sympy.Min),
    ("hypot({}, {} + 2)", lambda a, b: sympy.sqrt(a ** 2 + (b + 2) ** 2)),
    ("logaddexp({}, {})", lambda a, b: sympy.log(sympy.exp(a) + sympy.exp(b))),
    ("atan2({}, 2 + ({})**2)", lambda a, b: sympy.atan2(a, 2 + b ** 2)),
    ("({} if {} > 0.3 else 0.5)", lambda a, b: sympy.Piecewise((a, b > sympy.Float(0.3)), (sympy.Float(0.5), True))),
]

leaves = st.sampled_from([(n, SYMS[n]) for n in NAMES] * 3 + [
    ("2", sympy.Integer(2)), ("0.5", sympy.Float(0.5)), ("3", sympy.Integer(3))])


def _extend(children):
    unary = st.tuples(st.sampled_from(UNARY), children).map(
        lambda t: (t[0][0].format(t[1][0]), t[0][1](t[1][1])))
    binary = st.tuples(st.sampled_from(BINARY), children, children).map(
        lambda t: (t[0][0].format(t[1][0], t[2][0]), t[0][1](t[1][1], t[2][1])))
    return unary | binary


expressions = st.recursive(leaves, _extend, max_leaves=12)
points = st.tuples(*[st.floats(-1.5, 1.5, allow_nan=False) for _ in NAMES])


def _at(expr, point):
    return float(expr.evalf(30, subs={SYMS[n]: v for n, v in zip(NAMES, point)}))


def _value_and_grad(d, point):
    env = dict(zip(NAMES, point))
    result = d.python.value_and_grad(*(env[k] for k in d.inputs))
    return float(result[0]), dict(zip(d.wrt, map(float, result[1:])))


def _away_from_kinks(d, point):
    """Kinks (abs, relu, max, min, sign) have no derivative at the kink; stay clear. Found on
    the graph the formula text builds (SymPy may simplify a kink away: max(min(x, y), y) = y)."""
    env = dict(zip(NAMES, point))
    values = {}
    with np.errstate(all="ignore"):
        for node in d.graph.nodes:
            if node.op == "input":
                values[node.id] = env[node.text]
            elif node.op == "const":
                values[node.id] = float(node.value)
            else:
                args = [values[a] for a in node.args]
                values[node.id] = float(OPS[node.op].numpy(*args))
                if node.op in ("max", "min") and abs(args[0] - args[1]) < 1e-6:
                    return False
                if node.op in ("abs", "relu", "sign") and abs(args[0]) < 1e-6:
                    return False
                if node.op in ("gt", "ge", "lt", "le") and abs(args[0] - args[1]) < 1e-6:
                    return False
    return True


@given(expressions, points)
def test_gradient_matches_sympy_diff(pair, point):
    text, expr = pair
    assume(expr.free_symbols)
    assume(sympy.count_ops(expr) < 400)
    d = symdiff.differentiate(text)
    assume(_away_from_kinks(d, point))
    value, grad = _value_and_grad(d, point)
    want = _at(expr, point)
    assume(math.isfinite(want) and abs(want) < 1e12)
    assert value == pytest.approx(want, rel=1e-9, abs=1e-12)
    for name in d.wrt:
        g = _at(sympy.diff(expr, SYMS[name]), point)
        assume(math.isfinite(g) and abs(g) < 1e12)
        assert grad[name] == pytest.approx(g, rel=1e-7, abs=1e-9), name


@given(expressions, points)
def test_gradient_matches_finite_differences(pair, point):
    text, expr = pair
    assume(expr.free_symbols)
    d = symdiff.differentiate(text)
    assume(_away_from_kinks(d, point))
    value, grad = _value_and_grad(d, point)
    assume(math.isfinite(value) and abs(value) < 1e6)
    env = dict(zip(NAMES, point))
    for name in d.wrt:
        h = 1e-6
        up, down = dict(env), dict(env)
        up[name] += h
        down[name] -= h
        f = lambda e: float(d.python.value(*(e[k] for k in d.inputs)))
        assume(_away_from_kinks(d, [up[n] for n in NAMES]))
        assume(_away_from_kinks(d, [down[n] for n in NAMES]))
        numeric = (f(up) - f(down)) / (2 * h)
        assume(math.isfinite(numeric) and abs(grad[name]) < 1e6)
        assert grad[name] == pytest.approx(numeric, rel=1e-4, abs=1e-5), name


@given(expressions)
def test_gradient_code_stays_within_three_times_the_forward_graph(pair):
    """Three operations per forward node (more only for the few ops whose own rule is
    longer: erf' = 2/sqrt(pi)*exp(-x*x) is four, plus the multiply by the gradient)."""
    from symdiff.expr import var
    text, _ = pair
    d = symdiff.differentiate(text)
    budget = 1
    for n in d.graph.nodes:
        if n.op not in ("input", "const"):
            rule = OPS[n.op].grad(var("g"), var("y"), *[var(f"a{k}") for k in range(len(n.args))])
            budget += max(3, sum(c.count_ops() for c in rule if c is not None))
    assert d.program.backward_ops() <= budget


@given(expressions)
def test_same_formula_same_bytes(pair):
    text, _ = pair
    assert symdiff.differentiate(text).source == symdiff.differentiate(text).source


@given(expressions)
def test_sympy_input_agrees_with_text_input(pair):
    text, expr = pair
    assume(expr.free_symbols)
    d_text, d_sym = symdiff.differentiate(text), symdiff.differentiate(expr)
    point = [0.3, -0.7, 1.1]
    env = dict(zip(NAMES, point))
    v1 = d_text.python.value(*(env[k] for k in d_text.inputs))
    v2 = d_sym.python.value(*(env[k] for k in d_sym.inputs))
    assert float(v1) == pytest.approx(float(v2), rel=1e-9, abs=1e-12, nan_ok=True)
