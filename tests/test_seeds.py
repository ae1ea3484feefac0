"""The worked examples of ../shared/seeds/, with the numbers they print."""
import math

import pytest

import symdiff


def plain(d, /, **point):
    """Run the generated source as plain Python (no Numba)."""
    result = d.python.value_and_grad(*(point[k] for k in d.inputs))
    return result[0], dict(zip(d.wrt, result[1:]))


@pytest.fixture(params=["numba", "python"])
def run(request):
    if request.param == "numba":
        return lambda d, **p: d(**p)
    return plain


def test_hackers_guide_neuron(run):
    # Hacker's guide: a=1, b=2, c=-3, x=-1, y=3 -> gradients [-0.105, 0.315, 0.105, 0.105, 0.210]
    d = symdiff.differentiate("sigmoid(a*x + b*y + c)", wrt=["a", "b", "c", "x", "y"])
    value, grad = run(d, a=1.0, b=2.0, c=-3.0, x=-1.0, y=3.0)
    assert value == pytest.approx(0.8808, abs=1e-4)
    assert [round(grad[k], 3) for k in "abcxy"] == [-0.105, 0.315, 0.105, 0.105, 0.210]
    assert grad["a"] == pytest.approx(-0.1049935854035065, rel=1e-14)


def test_neuron_in_two_steps_as_the_guide_writes_it(run):
    d = symdiff.differentiate("q = a*x + b*y + c\nf = sigmoid(q)")
    value, grad = run(d, a=1.0, b=2.0, c=-3.0, x=-1.0, y=3.0)
    assert [round(grad[k], 3) for k in "abcxy"] == [-0.105, 0.315, 0.105, 0.105, 0.210]
    assert "dq = f*(1 - f)*df" in d.source          # the guide's "var dq = (f * (1 - f)) * df"
    assert "da = x*dq" in d.source and "dc = dq" in d.source


def test_cs231n_add_multiply(run):
    # CS231n: x=-2, y=5, z=-4: q = 3, f = -12, df/dx = df/dy = -4, df/dz = 3
    d = symdiff.differentiate("(x + y)*z")
    value, grad = run(d, x=-2.0, y=5.0, z=-4.0)
    assert value == -12.0
    assert [grad["x"], grad["y"], grad["z"]] == [-4.0, -4.0, 3.0]


def test_cs231n_sigmoid_circuit(run):
    # w0=2, x0=-1, w1=-3, x1=-2, w2=-3: dw0 = -0.2, dx0 = 0.39, dw1 = -0.39, dx1 = -0.59, dw2 = 0.2
    d = symdiff.differentiate("1/(1 + exp(-(w0*x0 + w1*x1 + w2)))")
    value, grad = run(d, w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)
    assert value == pytest.approx(0.73, abs=5e-3)
    assert round(grad["w0"], 1) == -0.2 and round(grad["w2"], 1) == 0.2
    assert round(grad["x0"], 2) == 0.39 and round(grad["w1"], 2) == -0.39
    assert round(grad["x1"], 2) == -0.59
    # and the "sigmoid gate shortcut" gives the same numbers
    s = symdiff.differentiate("sigmoid(w0*x0 + w1*x1 + w2)")
    _, grad2 = run(s, w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)
    for k in grad:
        assert grad2[k] == pytest.approx(grad[k], rel=1e-12)


def test_micrograd_lecture_d_e_f(run):
    # a = -2, b = 3, d = a*b, e = a + b, f = d*e -> da = -3, db = -8
    d = symdiff.differentiate("d = a*b\ne = a + b\nf = d*e")
    value, grad = run(d, a=-2.0, b=3.0)
    assert value == -6.0
    assert (grad["a"], grad["b"]) == (-3.0, -8.0)
    # one step a -= 0.1*da gives a = -1.7 and f = -6.63
    assert run(d, a=-2.0 - 0.1 * grad["a"], b=3.0)[0] == pytest.approx(-6.63)


def test_micrograd_slope_example(run):
    # a=2, b=-3, c=10: d = a*b + c = 4, dd/dc = 1
    d = symdiff.differentiate("a*b + c")
    value, grad = run(d, a=2.0, b=-3.0, c=10.0)
    assert value == 4.0 and grad["c"] == 1.0 and grad["a"] == -3.0 and grad["b"] == 2.0


def test_micrograd_test_more_ops(run):
    # micrograd's test_more_ops: a=-4, b=2 -> g = 24.70408163265306,
    # dg/da = 138.83381924198252, dg/db = 645.5772594752186
    d = symdiff.differentiate("""
c = a + b
d = a*b + b**3
c += c + 1
c += 1 + c + (-a)
d += d*2 + relu(b + a)
d += 3*d + relu(b - a)
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
""")
    value, grad = run(d, a=-4.0, b=2.0)
    assert value == pytest.approx(24.70408163265306, rel=1e-12)
    assert grad["a"] == pytest.approx(138.83381924198252, rel=1e-12)
    assert grad["b"] == pytest.approx(645.5772594752186, rel=1e-12)


# "Becoming a Backprop Ninja": each snippet's hand-written backward code is the reference.
NINJA = [
    ("a*b", lambda a, b, c, d: {"a": b, "b": a}),
    ("a + b + c", lambda a, b, c, d: {"a": 1.0, "b": 1.0, "c": 1.0}),
    ("a*b + c", lambda a, b, c, d: {"a": b, "b": a, "c": 1.0}),
    ("a*a", lambda a, b, c, d: {"a": 2 * a}),
    ("a*a + b*b + c*c", lambda a, b, c, d: {"a": 2 * a, "b": 2 * b, "c": 2 * c}),
    ("((a*b + c)*d)**2", lambda a, b, c, d: (lambda x1, x2: {
        "a": b * d * 2 * x2, "b": a * d * 2 * x2, "c": d * 2 * x2, "d": x1 * 2 * x2})(
        a * b + c, (a * b + c) * d)),
    ("1.0/a", lambda a, b, c, d: {"a": -1.0 / (a * a)}),
    ("(a + b)/(c + d)", lambda a, b, c, d: {"a": 1 / (c + d), "b": 1 / (c + d),
                                            "c": -(a + b) / (c + d) ** 2, "d": -(a + b) / (c + d) ** 2}),
    ("max(a, b)", lambda a, b, c, d: {"a": 1.0 if a >= b else 0.0, "b": 0.0 if a >= b else 1.0}),
    ("max(a, 0)", lambda a, b, c, d: {"a": 1.0 if a > 0 else 0.0}),
]


@pytest.mark.parametrize("formula,expected", NINJA, ids=[f for f, _ in NINJA])
def test_backprop_ninja_snippets(formula, expected):
    point = dict(a=1.5, b=-2.0, c=0.5, d=3.0)
    d = symdiff.differentiate(formula)
    _, grad = plain(d, **{k: point[k] for k in d.inputs})
    want = expected(**point)
    assert set(grad) == set(want)
    for k in want:
        assert grad[k] == pytest.approx(want[k], rel=1e-12), k


def test_ninja_x_equals_a_times_a_accumulates():
    # "var da = a * dx; da += a * dx" -- a wire used twice accumulates with +=
    src = symdiff.differentiate("x = a*a").source
    assert "da = a*dx" in src and "da += a*dx" in src
