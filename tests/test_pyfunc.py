"""differentiate(f) for plain Python functions: same graph as the formula text, names kept,
clear errors for what cannot be one formula. References: SymPy and finite differences."""
import math
from math import exp as math_exp

import numpy as np
import pytest
import sympy

import symdiff
from symdiff.inspection import trace
from symdiff.parser import parse


def run(d, **point):
    result = d.python.value_and_grad(*(float(point[k]) for k in d.inputs))
    return float(result[0]), {k: float(g) for k, g in zip(d.wrt, result[1:])}


def finite_differences(f, point, h=1e-6):
    grads = {}
    for k in point:
        up, down = dict(point), dict(point)
        up[k] += h
        down[k] -= h
        grads[k] = (f(**up) - f(**down)) / (2 * h)
    return grads


def neuron(a, b, c, x, y):
    """The Hacker's guide neuron, as its "backprop ninja" code writes it."""
    q = a*x + b*y + c
    f = 1.0/(1.0 + math.exp(-q))
    return f


def test_hackers_guide_neuron_keeps_its_names():
    d = symdiff.differentiate(neuron)
    value, grad = run(d, a=1, b=2, c=-3, x=-1, y=3)
    assert [round(grad[k], 3) for k in "abcxy"] == [-0.105, 0.315, 0.105, 0.105, 0.210]
    assert value == pytest.approx(neuron(1, 2, -3, -1, 3), rel=1e-15)
    src = d.source
    assert "    q = a*x + b*y + c\n" in src and "    f = 1.0/" in src
    assert "da = x*dq" in src and "dc = dq" in src
    assert "The Hacker's guide neuron" not in src       # the docstring is left out of the text
    assert "def neuron(a, b, c, x, y):" in d.formula


def test_same_graph_as_the_formula_text():
    def circuit(w0, x0, w1, x1, w2):
        return 1/(1 + np.exp(-(w0*x0 + w1*x1 + w2)))
    from_text = symdiff.differentiate("1/(1 + exp(-(w0*x0 + w1*x1 + w2)))")
    from_function = symdiff.differentiate(circuit)
    assert len(from_function.graph) == len(from_text.graph)
    assert from_function.graph.to_sympy(from_function.root) == from_text.graph.to_sympy(from_text.root)
    lines = lambda d: [(l.target + l.rule).replace("circuit", "f") for l in d.program.forward + d.program.backward]
    assert lines(from_function) == lines(from_text)
    assert "circuit = 1/t3" in from_function.source           # the output takes the function's name
    t = trace(from_function.program, dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3))
    assert [round(t.grad[k], 2) for k in from_function.wrt] == [-0.2, 0.39, -0.39, -0.59, 0.2]


@pytest.mark.parametrize("f", [
    lambda x, y: np.tanh(x*y) + np.log1p(x*x) - np.sqrt(y*y + 1)/np.cosh(x),
    lambda x, y: math.sin(x)**2 + math.log(y, 2) + math.hypot(x, y) + math.expm1(x/4),
    lambda x, y: max(x, y)*min(x, 2*y) + abs(x - y) + pow(y, 3) + np.maximum(x, 0.5),
    lambda x, y: math_exp(-x*x) * np.sign(y) + np.square(x) / np.reciprocal(y + 3),
    lambda x, y: sum([x, y, x*y]) + np.float64(2.0)*x + 3**y - 0*x + 1*y,
], ids=["numpy", "math", "builtins", "imported-function", "numbers"])
def test_elementwise_calls_match_finite_differences(f):
    point = dict(x=0.7, y=1.3)
    d = symdiff.differentiate(f)
    value, grad = run(d, **point)
    assert value == pytest.approx(f(**point), rel=1e-13)
    assert grad == pytest.approx(finite_differences(f, point), rel=1e-6, abs=1e-8)


def test_loops_unroll_and_reassignments_get_versions():
    def rnn(x, w):
        h = x
        for _ in range(3):
            h = np.tanh(w*h + 1.0)
        return h*h
    d = symdiff.differentiate(rnn)
    src = d.source
    assert "h = np.tanh(" in src and "h_2 = np.tanh(" in src and "h_3 = np.tanh(" in src
    assert "rnn = h_3*h_3" in src                    # the unnamed output takes the function's name
    x, w = sympy.symbols("x w")
    h = x
    for _ in range(3):
        h = sympy.tanh(w*h + 1)
    _, grad = run(d, x=0.4, w=-0.8)
    subs = {x: 0.4, w: -0.8}
    assert grad["x"] == pytest.approx(float(sympy.diff(h*h, x).subs(subs)), rel=1e-13)
    assert grad["w"] == pytest.approx(float(sympy.diff(h*h, w).subs(subs)), rel=1e-13)


def test_keyword_only_parameters_are_constants():
    def scaled(x, *, k=3.0):
        return k*x*x
    d = symdiff.differentiate(scaled)
    assert d.inputs == ("x",)
    assert run(d, x=2.0)[1]["x"] == pytest.approx(12.0)


def test_constant_branches_are_fine_data_branches_are_refused():
    def fine(x, relu_it=True):
        return np.maximum(x, 0.0) if True else x
    assert symdiff.differentiate(fine).inputs == ("x", "relu_it")

    def branchy(x):
        if x > 0:
            return x
        return -x
    with pytest.raises(symdiff.FormulaError) as err:
        symdiff.differentiate(branchy)
    message = str(err.value)
    assert "data-dependent control flow" in message and "`if x > 0:`" in message
    assert f"line {branchy.__code__.co_firstlineno + 1} of branchy()" in message
    assert "max(a, b)" in message                       # the hint says what to write instead


@pytest.mark.parametrize("body, words", [
    (lambda x: float(x) * 2, "float()"),
    (lambda x: [1.0, 2.0][x], "an index"),
    (lambda x: divmod(x, 2), "divmod()"),
    (lambda x: (x, x), "must return one number"),
    (lambda x: "s" + x, "str"),
    (lambda x: [x, -x][bool(x > 0)], "control flow"),
    (lambda x: np.spacing(x), "np.spacing"),
    (lambda x: math.gamma(x), "math.gamma is not supported"),
    (lambda x: np.asarray(x).sum(), "NumPy array"),
])
def test_clear_errors(body, words):
    with pytest.raises(symdiff.FormulaError, match=None) as err:
        symdiff.differentiate(body)
    assert words in str(err.value)


def test_parameters_named_like_generated_code_are_renamed_in_code_only():
    def f(x, np_=1.0):
        return x
    symdiff.differentiate(f)

    def g(x, sigmoid, np, mean, value_and_grad):
        return sigmoid*np.exp(x) + mean*value_and_grad if False else sigmoid*x + np*mean + value_and_grad
    d = symdiff.differentiate(g)
    assert d.inputs == ("x", "sigmoid", "np", "mean", "value_and_grad")
    assert "def value_and_grad(x, sigmoid_, np_, " in d.source    # renamed in code only
    value, grad = d(x=2.0, sigmoid=3.0, np=4.0, mean=5.0, value_and_grad=1.0)
    assert value == 27.0 and grad == {"x": 3.0, "sigmoid": 2.0, "np": 5.0, "mean": 4.0, "value_and_grad": 1.0}
    arrays = d(x=np.array([2.0, 1.0]), sigmoid=3.0, np=4.0, mean=5.0, value_and_grad=np.ones(2))
    assert arrays[0].tolist() == [27.0, 24.0]

    def bad(x, _sd_x):
        return x
    with pytest.raises(symdiff.FormulaError, match="cannot be an input name"):
        symdiff.differentiate(bad)

    def h(*xs):
        return xs[0]
    with pytest.raises(symdiff.FormulaError, match=r"\*xs"):
        symdiff.differentiate(h)


def test_lambda_text_and_constant_result():
    d = symdiff.differentiate(lambda x, y: x*y + 1)
    assert d.formula == "lambda x, y: x*y + 1"
    const = symdiff.differentiate(lambda x: 2.5)
    assert run(const, x=1.0) == (2.5, {"x": 0.0})


def test_tracing_leaves_the_callers_trace_function_alone():
    import sys
    calls = []

    def tracer(frame, event, arg):
        calls.append(event)
        return None
    sys.settrace(tracer)
    try:
        symdiff.differentiate(neuron)
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(None)
