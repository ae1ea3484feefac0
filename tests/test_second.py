"""Hessian, Jacobian, JVP and HVP (issue 10) against JAX in float64, finite differences and
the plain-Python run of the same source; errors; the language's final tuple."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import symdiff
from symdiff import FormulaError

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

NEURON = "sigmoid(a*x + b*y + c)"
ROSENBROCK = "(1 - x)**2 + 100*(y - x**2)**2"
POLAR = "r = sqrt(x*x + y*y)\nc = x/r\ns = y/r\nr, c, s"
MICROGRAD = """c = a + b
d = a*b + b**3
c += c + 1
c += 1 + c + (-a)
d += d*2 + relu(b + a)
d += 3*d + relu(b - a)
e = c - d
f = e**2
g = f/2.0
g += 10.0/f"""


def j_neuron(a, x, b, y, c):
    return jax.nn.sigmoid(a * x + b * y + c)


def j_rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def j_micrograd(a, b):
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + jax.nn.relu(b + a)
    d = d + 3 * d + jax.nn.relu(b - a)
    e = c - d
    f = e ** 2
    g = f / 2.0
    return g + 10.0 / f


def jax_hessian(fn, names, point):
    args = [jnp.float64(point[n]) for n in names]
    H = jax.hessian(fn, argnums=tuple(range(len(names))))(*args)
    G = jax.grad(fn, argnums=tuple(range(len(names))))(*args)
    return float(fn(*args)), {n: float(g) for n, g in zip(names, G)}, \
        {a: {b: float(H[i][j]) for j, b in enumerate(names)} for i, a in enumerate(names)}


def close(a, b, rel=1e-9, abs_=1e-11):
    return np.allclose(a, b, rtol=rel, atol=abs_, equal_nan=True)


CASES = [(NEURON, j_neuron, ["a", "x", "b", "y", "c"], dict(a=1.0, x=-1.0, b=2.0, y=3.0, c=-3.0)),
         (ROSENBROCK, j_rosenbrock, ["x", "y"], dict(x=-1.2, y=1.0)),
         (MICROGRAD, j_micrograd, ["a", "b"], dict(a=-4.0, b=2.0))]


@pytest.mark.parametrize("text,fn,names,point", CASES, ids=["neuron", "rosenbrock", "micrograd"])
def test_hessian_matches_jax_at_a_point(text, fn, names, point):
    h = symdiff.hessian(text)
    assert h.wrt == tuple(names) and set(h.inputs) == set(names)
    value, grad, hess = h(**point)
    want_v, want_g, want_h = jax_hessian(fn, names, point)
    assert close(value, want_v)
    for a in names:
        assert close(grad[a], want_g[a]), a
        for b in names:
            assert close(hess[a][b], want_h[a][b]), (a, b)
            assert hess[a][b] == hess[b][a]


@pytest.fixture(scope="module")
def neuron_hessian():
    return symdiff.hessian(NEURON)


@pytest.mark.parametrize("kernel", ["straight", "tape"])
def test_hessian_arrays_match_jax_vmap_on_every_path(kernel):
    h = symdiff.hessian(NEURON, kernel=kernel)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, 3, 4))
    value, grad, hess = h(a=1.0, x=x, b=2.0, y=y, c=-3.0)
    assert value.shape == (3, 4) and hess["a"]["y"].shape == (3, 4)
    names = ["a", "x", "b", "y", "c"]
    H = jax.vmap(jax.hessian(j_neuron, argnums=tuple(range(5))), in_axes=(None, 0, None, 0, None))(
        1.0, x.ravel(), 2.0, y.ravel(), -3.0)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            assert close(hess[a][b].ravel(), H[i][j]), (a, b)
    # the scalar kernel, the plain-Python run and the array loop give the same numbers
    for k in (0, 5):
        point = dict(a=1.0, x=float(x.flat[k]), b=2.0, y=float(y.flat[k]), c=-3.0)
        scalar = h(**point)[2]
        plain = h.python.value_and_grad(*(point[n] for n in h.inputs))
        assert scalar["b"]["y"] == hess["b"]["y"].flat[k]
        assert plain[0] == value.flat[k]


def test_hvp_matches_jax_jvp_of_grad():
    f = symdiff.hvp(ROSENBROCK)
    value, grad, hv = f({"x": -1.2, "y": 1.0}, {"x": 1.0, "y": 0.0})
    primals, tangents = (jnp.float64(-1.2), jnp.float64(1.0)), (jnp.float64(1.0), jnp.float64(0.0))
    g, want = jax.jvp(jax.grad(j_rosenbrock, argnums=(0, 1)), primals, tangents)
    assert close(hv["x"], want[0]) and close(hv["y"], want[1])
    assert close(grad["x"], g[0]) and value == pytest.approx(24.2)
    # arrays, with a broadcast scalar direction component
    xs = np.linspace(-2, 2, 7)
    value, grad, hv = f({"x": xs, "y": 0.5}, {"x": 0.3, "y": xs[::-1]})
    want = jax.vmap(lambda x, vy: jax.jvp(jax.grad(j_rosenbrock, argnums=(0, 1)), (x, 0.5), (0.3, vy))[1])(
        xs, xs[::-1])
    assert close(hv["x"], want[0]) and close(hv["y"], want[1])


def test_value_of_a_jvp_or_hvp_needs_no_vector():
    assert symdiff.jvp("x*y").value(x=2.0, y=3.0) == 6.0
    assert symdiff.hvp(ROSENBROCK).value(x=1.0, y=1.0, x_dot=5.0) == 0.0


def test_jvp_matches_jax():
    text = "log(1 + exp(x*y))*tanh(x - y)"
    f = symdiff.jvp(text)
    value, directional = f({"x": 0.3, "y": -0.8}, {"x": 1.0, "y": 0.5})
    fn = lambda x, y: jnp.log(1 + jnp.exp(x * y)) * jnp.tanh(x - y)
    v, want = jax.jvp(fn, (0.3, -0.8), (1.0, 0.5))
    assert close(value, v) and close(directional, want)


def test_jacobian_of_polar_matches_jax_jacfwd():
    j = symdiff.jacobian(POLAR)
    assert j.outputs == ("r", "c", "s")
    values, jac = j(x=3.0, y=4.0)
    fn = lambda x, y: (jnp.sqrt(x * x + y * y), x / jnp.sqrt(x * x + y * y), y / jnp.sqrt(x * x + y * y))
    want = jax.jacfwd(fn, argnums=(0, 1))(3.0, 4.0)
    for k, o in enumerate("rcs"):
        for m, a in enumerate("xy"):
            assert close(jac[o][a], want[k][m]), (o, a)
    assert values == {"r": 5.0, "c": 0.6, "s": 0.8}
    j2 = symdiff.jacobian(POLAR, outputs="r, s")
    values, jac = j2(x=np.array([3.0, 1.0]), y=4.0)
    assert list(values) == ["r", "s"] and jac["s"]["y"].shape == (2,)


def test_jacobian_of_a_traced_function_returning_a_tuple():
    def polar(x, y):
        r = (x * x + y * y) ** 0.5
        return r, x / r, y * x
    j = symdiff.jacobian(polar)
    assert j.outputs == ("r", "out1", "out2")
    values, jac = j(x=3.0, y=4.0)
    assert jac["out2"]["x"] == 4.0 and jac["r"]["y"] == pytest.approx(0.8)


def test_sympy_and_traced_inputs():
    sympy = pytest.importorskip("sympy")
    x, y = sympy.symbols("x y")
    h = symdiff.hessian(sympy.sin(x * y))
    _, _, hess = h(x=0.5, y=2.0)
    assert hess["x"]["y"] == pytest.approx(np.cos(1.0) - np.sin(1.0))
    h = symdiff.hessian(lambda x, y: x ** 3 * y)
    assert h(x=2.0, y=1.0)[2]["x"]["x"] == pytest.approx(12.0)


def test_kinks_relu_abs_max():
    _, _, hess = symdiff.hessian("relu(x)*x + abs(y)*y + max(x, y)**2")(x=0.0, y=0.0)
    # relu(x)*x: relu'' = 0 so d2/dx2 = 2*relu'(0) = 0; abs(y)*y -> 2*sign(0) = 0;
    # max(x, y)**2 at a tie: d/dx goes to x (first argument) -> d2/dx2 = 2, d2/dy2 = 0
    assert hess["x"]["x"] == 2.0 and hess["y"]["y"] == 0.0 and hess["x"]["y"] == 0.0
    assert symdiff.hessian("abs(x)")(x=0.0)[2]["x"]["x"] == 0.0


def test_check_works_for_all_four(capsys):
    assert symdiff.check(symdiff.hessian(ROSENBROCK), x=-1.2, y=1.0).ok
    assert symdiff.check(symdiff.jacobian(POLAR), x=3.0, y=4.0).ok
    assert symdiff.check(symdiff.jvp("x*sin(y)"), x=0.3, y=0.2, x_dot=1.0, y_dot=-2.0).ok
    assert symdiff.check(symdiff.hvp(ROSENBROCK), x=-1.2, y=1.0, x_dot=1.0, y_dot=0.5).ok


def test_symmetric_entries_computed_once_and_source_is_stable():
    h = symdiff.hessian(NEURON)
    assert h.source == symdiff.hessian(NEURON).source
    assert "d2f_da_dx" in h.source and "d2f_dx_da" not in h.source
    assert h.source.count("d2f_da_dx = ") == 1


def test_costs_within_bounds_reported_by_stats():
    hv = symdiff.hvp(ROSENBROCK).stats()
    assert hv.ratio <= 4.5 and hv.sweeps == 1             # HVP: about 4x the forward pass
    jv = symdiff.jvp("log(1 + exp(x*y))*tanh(x - y)").stats()
    assert jv.ratio <= 3.0                                # JVP: about 2-3x (product rule: 3 ops)
    h = symdiff.hessian(NEURON).stats()
    gradient = h.forward_ops + h.gradient_ops
    assert h.sweeps == 5 and h.sweep_ops <= 5 * gradient  # n sweeps, each at most gradient-sized
    assert "5 sweeps" in str(h) and "tangents" in str(h)


ERRORS = [
    (lambda: symdiff.jacobian(POLAR, outputs=["r", "q"]), "unknown output name 'q'"),
    (lambda: symdiff.jacobian(POLAR, outputs=[]), "outputs is empty"),
    (lambda: symdiff.jacobian(POLAR, outputs=""), "outputs is empty"),
    (lambda: symdiff.jacobian("r = x*y\nr, q"), "unknown output name 'q'"),
    (lambda: symdiff.jacobian("r = x*y\nr, 2*x"), "output names only"),
    (lambda: symdiff.differentiate("r = x*y\nr, x"), "several outputs"),
    (lambda: symdiff.differentiate(","), "several outputs"),    # a lone comma (found by test_fuzz)
    (lambda: symdiff.jvp("x*y")({"x": 1.0, "y": 2.0}, {"x": 1.0, "z": 1.0}), "tangents for unknown input 'z'"),
    (lambda: symdiff.jvp("x*y")({"x": 1.0, "y": 2.0}, {"x": 1.0}), "missing tangent for 'y'"),
    (lambda: symdiff.hvp("x*y")({"x": 1.0, "y": 2.0}, {"y": 1.0}), "missing vector for 'x'"),
    (lambda: symdiff.hessian("x*y", wrt="z"), "not an input"),
    # symdiff.check of a JVP/HVP raised KeyError for a missing name, and ignored unknown ones
    (lambda: symdiff.check(symdiff.jvp("x*y"), x=1.0, y=2.0, x_dot=1.0), "missing the vector's component 'y_dot'"),
    (lambda: symdiff.check(symdiff.hvp("x*y"), x=1.0, y=2.0, x_dot=1.0, y_dot=0.0, z=1.0), "unknown input 'z'"),
    # its hint named the generated inputs: "call with every input: d(x=..., y=..., x_dot=...)"
    (lambda: symdiff.jvp("x*y")({"x": 1.0}, {"x": 1.0, "y": 1.0}), "missing input 'y' in primals"),
]


@pytest.mark.parametrize("make,words", ERRORS, ids=[e[1] for e in ERRORS])
def test_bad_input_gets_a_formula_error_with_a_hint(make, words):
    with pytest.raises(FormulaError) as info:
        make()
    assert words in str(info.value)
    assert info.value.hint


# -- random formulas against JAX ---------------------------------------------------------
UNARY = [("sin({})", jnp.sin), ("cos({})", jnp.cos), ("tanh({})", jnp.tanh),
         ("sigmoid({})", jax.nn.sigmoid), ("softplus({})", jax.nn.softplus),
         ("exp({})", jnp.exp), ("log(1 + {0}*{0})", lambda u: jnp.log(1 + u * u)),
         ("sqrt(2 + sin({}))", lambda u: jnp.sqrt(2 + jnp.sin(u))), ("({})**3", lambda u: u ** 3),
         ("atan({})", jnp.arctan), ("erf({})", jax.scipy.special.erf), ("asinh({})", jnp.arcsinh),
         ("log1p({0}*{0})", lambda u: jnp.log1p(u * u))]
BINARY = [("({} + {})", lambda u, v: u + v), ("({} - {})", lambda u, v: u - v),
          ("({}*{})", lambda u, v: u * v), ("({}/(1.5 + cos({})))", lambda u, v: u / (1.5 + jnp.cos(v))),
          ("logaddexp({}, {})", jnp.logaddexp)]   # hypot: singular at (0, 0), a first-order matter
NAMES = ["x", "y", "z"]


def _leaf(k):
    return (NAMES[k], lambda env, k=k: env[k])


def _unary(pair):
    (text, fn), (t, f) = pair
    return text.format(t), lambda env: fn(f(env))


def _binary(triple):
    (text, fn), (t1, f1), (t2, f2) = triple
    return text.format(t1, t2), lambda env: fn(f1(env), f2(env))


trees = st.recursive(st.sampled_from([0, 1, 2]).map(_leaf),
                     lambda kids: st.one_of(st.tuples(st.sampled_from(UNARY), kids).map(_unary),
                                            st.tuples(st.sampled_from(BINARY), kids, kids).map(_binary)),
                     max_leaves=7)
points = st.tuples(*[st.floats(-1.2, 1.2, allow_nan=False) for _ in NAMES])


def _inputs(text):
    used = [n for n in NAMES if n in text.replace("exp", "").replace("sqrt", "")]
    return used


@settings(max_examples=25, deadline=None)
@given(trees, points)
def test_random_hessians_and_hvps_match_jax(tree, point):
    text, fn = tree
    h = symdiff.hessian(text)
    names = list(h.inputs)
    env = dict(zip(NAMES, point))
    at = {n: env[n] for n in names}
    jfn = lambda *args: fn([dict(zip(names, args)).get(n, env[n]) for n in NAMES])
    want_v, want_g, want_h = jax_hessian(jfn, names, at)
    value, grad, hess = h(**at)
    assert close(value, want_v, 1e-9, 1e-9)
    for a in names:
        assert close(grad[a], want_g[a], 1e-8, 1e-8), (text, a)
        for b in names:
            assert close(hess[a][b], want_h[a][b], 1e-7, 1e-7), (text, a, b)
    vec = {n: 0.5 - k for k, n in enumerate(names)}
    _, _, hv = symdiff.hvp(text)(at, vec)
    for a in names:
        assert close(hv[a], sum(want_h[a][b] * vec[b] for b in names), 1e-7, 1e-7), (text, a)
    _, directional = symdiff.jvp(text)(at, vec)
    assert close(directional, sum(want_g[a] * vec[a] for a in names), 1e-8, 1e-8)


def test_output_arrays_are_reused_only_when_the_caller_let_go():
    f = symdiff.hvp(ROSENBROCK)
    xs = np.linspace(-1, 1, 5)
    v1, g1, hv1 = f({"x": xs, "y": 0.5}, {"x": 1.0, "y": 0.0})
    kept = hv1["x"].copy()
    v2, g2, hv2 = f({"x": xs + 1, "y": 0.5}, {"x": 1.0, "y": 0.0})   # v1... still held
    assert np.array_equal(hv1["x"], kept) and not np.shares_memory(hv1["x"], hv2["x"])
    view = hv2["y"][1:]
    del v1, g1, hv1, v2, g2, hv2
    _, _, hv3 = f({"x": xs, "y": 0.5}, {"x": 1.0, "y": 0.0})
    assert not np.shares_memory(view, hv3["y"])                       # a view keeps its array
    assert np.array_equal(hv3["x"], kept)


def test_command_line(capsys):
    from symdiff.cli import main
    assert main(["hessian", "x**3*y", "--at", "x=2,y=1", "--check"]) == 0
    out = capsys.readouterr().out
    assert "d2f/dxdx = 12.0" in out and "OK" in out
    assert main(["jacobian", "r = sqrt(x*x + y*y); c = x/r; s = y/r; r, c, s", "--at", "x=3,y=4"]) == 0
    assert "dc/dx = 0.128" in capsys.readouterr().out
    assert main(["jvp", "x*y", "--at", "x=2,y=3", "--tangent", "x=1,y=0.5"]) == 0
    assert "= 4.0" in capsys.readouterr().out
    assert main(["hvp", ROSENBROCK, "--at", "x=-1.2,y=1", "--tangent", "x=1,y=0"]) == 0
    assert "(H v)[x] = 1330.0" in capsys.readouterr().out
    assert main(["hessian", "x*y"]) == 0 and "d2f_dx_dy" in capsys.readouterr().out
    assert main(["jvp", "x*y", "--at", "x=1,y=2", "--tangent", "x=1,z=0"]) == 2
    assert "unknown input 'z'" in capsys.readouterr().err


def test_notebook_repr_names_the_kind():
    assert "**symdiff.Hessian**" in symdiff.hessian("x*y")._repr_markdown_()


def test_every_path_gives_the_same_numbers_to_the_bit():
    """straight kernel, tape, plain Python and trace on micrograd's Hessian (relu selects,
    a division, powers) and the spherical Jacobian."""
    a, b = np.linspace(0.5, 2, 7), np.linspace(-1, -0.2, 7)
    hs, ht = symdiff.hessian(MICROGRAD, kernel="straight"), symdiff.hessian(MICROGRAD, kernel="tape")
    (_, gs, Hs), (_, gt, Ht) = hs(a=a, b=b), ht(a=a, b=b)
    for i in "ab":
        assert np.array_equal(gs[i], gt[i])
        for j in "ab":
            assert np.array_equal(Hs[i][j], Ht[i][j])
    plain = hs.python.value_and_grad(a[2], b[2])
    assert list(plain[3:]) == [Hs["a"]["a"][2], Hs["a"]["b"][2], Hs["b"]["b"][2]]
    assert hs.trace(a=a[2], b=b[2]).values["d2g_da_db"] == Hs["a"]["b"][2]
    text = "x = r*sin(t)*cos(p)\ny = r*sin(t)*sin(p)\nz = r*cos(t)\nx, y, z"
    r = np.linspace(1, 2, 5)
    (_, J), (_, JT) = symdiff.jacobian(text)(r=r, t=0.3, p=r), symdiff.jacobian(text, kernel="tape")(r=r, t=0.3, p=r)
    assert all(np.array_equal(J[o][i], JT[o][i]) for o in "xyz" for i in ("r", "t", "p"))


def test_jacobian_edge_outputs():
    assert symdiff.jacobian("x*y")(x=2.0, y=3.0) == ({"f": 6.0}, {"f": {"x": 3.0, "y": 2.0}})
    values, jac = symdiff.jacobian("r = x*y\nr, x")(x=2.0, y=3.0)       # an input as an output
    assert values["x"] == 2.0 and jac["x"] == {"x": 1.0, "y": 0.0}
    values, jac = symdiff.jacobian("r = 2\nq = x*y\nr, q")(x=2.0, y=3.0)  # a constant output
    assert values["r"] == 2.0 and jac["r"] == {"x": 0.0, "y": 0.0}
    values, _ = symdiff.jacobian("g = x*y\ng = g + 1\nh = g*2\nh", outputs="g, h")(x=2.0, y=3.0)
    assert values == {"g": 7.0, "h": 14.0}                                # g: its latest value
    # in parentheses, as Python would return them (was "',' outside a function call")
    assert symdiff.jacobian("r = x*y; s = r*2; (r, s)")(x=2.0, y=3.0)[0] == {"r": 6.0, "s": 12.0}


# Every op of the table away from its kinks, over broadcast arrays: x (3, 1), y (4,), z scalar
BROADCAST = [
    ("sin(x)*cos(y) + tan(z*x) + exp(x*y) - log(y)*sqrt(x) + tanh(x*z)*sigmoid(y - x)",
     lambda x, y, z: jnp.sin(x) * jnp.cos(y) + jnp.tan(z * x) + jnp.exp(x * y) - jnp.log(y) * jnp.sqrt(x)
     + jnp.tanh(x * z) * jax.nn.sigmoid(y - x)),
    ("softplus(z*y)*asin(x) + acos(z)*atan(y*z) + atanh(x*z) + acosh(y)*asinh(z*x) + cbrt(x*y)",
     lambda x, y, z: jax.nn.softplus(z * y) * jnp.arcsin(x) + jnp.arccos(z) * jnp.arctan(y * z)
     + jnp.arctanh(x * z) + jnp.arccosh(y) * jnp.arcsinh(z * x) + jnp.cbrt(x * y)),
    ("erf(x*y) + erfc(z)*x + exp2(x*z) + expm1(y*x) + log10(y)*log2(x) + log1p(z*x) + sinh(x*y)*cosh(z)",
     lambda x, y, z: jax.scipy.special.erf(x * y) + jax.scipy.special.erfc(z) * x + jnp.exp2(x * z)
     + jnp.expm1(y * x) + jnp.log10(y) * jnp.log2(x) + jnp.log1p(z * x) + jnp.sinh(x * y) * jnp.cosh(z)),
    ("atan2(z, x*y) + hypot(x, z*y) + logaddexp(x*y, z*x) + max(x*y, z)*min(x, y*z) + x**y + y**x"
     " + x/y - y/(x*z) + relu(x - y)*x + abs(z)*z*x + where(x > z, x*y*y, z*x) + fmod(y*y, x)",
     lambda x, y, z: jnp.arctan2(z, x * y) + jnp.hypot(x, z * y) + jnp.logaddexp(x * y, z * x)
     + jnp.maximum(x * y, z) * jnp.minimum(x, y * z) + x ** y + y ** x + x / y - y / (x * z)
     + jax.nn.relu(x - y) * x + jnp.abs(z) * z * x + jnp.where(x > z, x * y * y, z * x) + jnp.fmod(y * y, x)),
]


@pytest.mark.parametrize("text,fn", BROADCAST, ids=[t[:20] for t, _ in BROADCAST])
def test_all_four_over_broadcast_arrays_match_jax(text, fn):
    # no |x| == |z*y|: there JAX's hypot (through max/min) has a tie, and wrong second derivatives
    x, y, z = np.array([[0.3], [0.5], [0.7]]), np.array([1.25, 1.4, 1.6, 1.85]), -0.45
    X, Y = (a.ravel() for a in np.broadcast_arrays(x, y))
    names = ["x", "y", "z"]
    args = (X, Y, np.full(X.shape, z))
    G = jax.vmap(jax.grad(fn, argnums=(0, 1, 2)))(*args)
    H = jax.vmap(jax.hessian(fn, argnums=(0, 1, 2)))(*args)
    value, grad, hess = symdiff.hessian(text)(x=x, y=y, z=z)
    assert close(value.ravel(), jax.vmap(fn)(*args)) and value.shape == (3, 4)
    vec = {"x": np.array([1.0, -0.5, 2.0, 0.25]), "y": 0.5, "z": -1.5}   # a vector that broadcasts too
    V = [np.broadcast_to(vec[n], (3, 4)).ravel() for n in names]
    _, _, hv = symdiff.hvp(text)(dict(x=x, y=y, z=z), vec)
    _, directional = symdiff.jvp(text)(dict(x=x, y=y, z=z), vec)
    (out,), jac = symdiff.jacobian(text)(x=x, y=y, z=z)
    assert close(directional.ravel(), sum(G[i] * V[i] for i in range(3)), 1e-9, 1e-9)
    for i, a in enumerate(names):
        assert grad[a].shape == hess[a]["z"].shape == hv[a].shape == jac[out][a].shape == (3, 4)
        assert close(grad[a].ravel(), G[i]) and close(jac[out][a].ravel(), G[i]), a
        assert close(hv[a].ravel(), sum(H[i][j] * V[j] for j in range(3)), 1e-9, 1e-9), a
        for j, b in enumerate(names):
            assert close(hess[a][b].ravel(), H[i][j], 1e-9, 1e-9), (a, b)


def test_trace_and_export_of_a_hessian_name_second_order_results(tmp_path):
    """A Hessian's trace listed d2f_dx_dx & co. under "gradient:", and its export said
    "Value and gradient of": both now name them as the results they are."""
    h = symdiff.hessian("x*y + sin(x)")
    text = str(h.trace(x=1.0, y=2.0))
    assert "\nresults: dx = " in text and "d2f_dx_dx = -0.84" in text and "\ngradient:" not in text
    h.export(tmp_path / "h.py")
    assert (tmp_path / "h.py").read_text().startswith('"""Value and derivatives of')
    d = symdiff.differentiate("x*y + sin(x)")
    assert "\ngradient: dx = " in str(d.trace(x=1.0, y=2.0))
