"""Every operation of the table (symdiff/functions/), checked against independent references.

- its local rule against ``sympy.diff`` of its SymPy form, at random points of its domain;
- compiled (one straight-line kernel and the tape, shared by all ops) against the plain-Python
  run of the same source, bit for bit, at random points and at domain edges;
- its values at domain edges against NumPy's (SciPy's for erf/erfc) through ``d.python``;
- each composed function (gelu, logsumexp...) against PyTorch, where installed.
"""
import math

import numpy as np
import pytest

import symdiff
from symdiff.expr import var
from symdiff.functions import COMPOSED, FUNCTIONS, OPS, evaluate, expand_definitions, markdown_table

RNG = np.random.default_rng(20261202)
FLAT = {"floor", "ceil", "trunc", "sign", "gt", "ge", "lt", "le", "eq", "ne", "and", "or", "not"}
DIFFERENTIABLE = [n for n, op in OPS.items() if n not in FLAT and n not in ("mod", "fmod", "where")]
EDGES = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 1e-300, 5e-324, 700.0, 710.0, -745.0,
         1e308, -1e308, math.inf, -math.inf, math.nan]
CALLABLE = [n for n in FUNCTIONS if n in OPS and n not in ("where",)]


def _points(op, n=3):
    lo, hi = op.domain
    return RNG.uniform(lo, hi, size=(n, op.arity))


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_rule_matches_sympy_diff(name):
    import sympy
    op = OPS[name]
    symbols = sympy.symbols(f"a0:{op.arity}", real=True)
    expr = expand_definitions(op.sympy(*symbols))
    args = [var(f"a{k}") for k in range(op.arity)]
    for point in _points(op):
        env = {f"a{k}": np.float64(v) for k, v in enumerate(point)}
        env["y"] = op.numpy(*point)
        env["g"] = np.float64(1.0)
        rule = op.grad(var("g"), var("y"), *args)
        for k, s in enumerate(symbols):
            want = float(sympy.diff(expr, s).evalf(30, subs=dict(zip(symbols, point))))
            got = float(evaluate(rule[k], env)) if rule[k] is not None else 0.0
            assert got == pytest.approx(want, rel=1e-12, abs=1e-14), (name, k, point)


def test_flat_ops_have_no_gradient_and_where_mod_follow_finite_differences():
    for name in FLAT:
        op = OPS[name]
        assert all(c is None for c in op.grad(var("g"), var("y"), *[var("a")] * op.arity)), name
    d = symdiff.differentiate("mod(a, b) + fmod(-a, b)*2 + where(a - 1, a*a, 3*b)")
    for a, b in RNG.uniform(0.3, 3.0, size=(5, 2)):
        _, grad = d(a=a, b=b)
        h = 1e-6
        for k, (da, db) in enumerate([(h, 0), (0, h)]):
            fd = (d.value(a=a + da, b=b + db) - d.value(a=a - da, b=b - db)) / (2 * h)
            assert grad["ab"[k]] == pytest.approx(fd, rel=1e-5, abs=1e-6)


# -- one program holding every op, one input (or two, three) per op --------------------------
def _inputs(name):
    return [f"{name}_{k}" for k in range(OPS[name].arity)]


ALL_OPS = [n for n in OPS if OPS[n].printed is not None or n in ("pow",)]
PROGRAM = " + ".join(
    f"{'(' + _inputs(n)[0] + ' ** ' + _inputs(n)[1] + ')' if n == 'pow' else n + '(' + ', '.join(_inputs(n)) + ')'}"
    if n in FUNCTIONS and n not in ("max", "min") or n == "pow" else
    {"max": "max(max_0, max_1)", "min": "min(min_0, min_1)", "gt": "(gt_0 > gt_1)", "ge": "(ge_0 >= ge_1)",
     "lt": "(lt_0 < lt_1)", "le": "(le_0 <= le_1)", "eq": "(eq_0 == eq_1)", "ne": "(ne_0 != ne_1)",
     "and": "(and_0 and and_1)", "or": "(or_0 or or_1)", "not": "(not not_0)"}[n]
    for n in ALL_OPS)


@pytest.fixture(scope="module")
def every_op():
    return symdiff.differentiate(PROGRAM, kernel="straight")


def _same(a, b):
    """Equal to the bit, zeros with their sign; any nan equals any nan."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    signs = np.where(np.isnan(a), False, np.signbit(a)) == np.where(np.isnan(b), False, np.signbit(b))
    return np.array_equal(a, b, equal_nan=True) and bool(np.all(signs))


def _point(d, values):
    return {name: values(name) for name in d.inputs}


def test_every_op_compiled_and_tape_match_plain_python_bit_for_bit(every_op):
    d = every_op
    assert d.kernels.kind == "straight" and set(ALL_OPS) == {n for n in OPS if n not in ("add", "sub", "mul", "div", "neg")}

    def domain_value(name, edge=None):
        op = OPS[name.rsplit("_", 1)[0]]
        return RNG.uniform(*op.domain) if edge is None else edge

    points = [_point(d, domain_value) for _ in range(4)]
    points += [_point(d, lambda name, e=e: domain_value(name, e)) for e in EDGES]
    tape = d.kernels.run_tape(np.array([[p[x] for p in points] for x in d.inputs]))
    arrays = d(**{x: np.array([p[x] for p in points]) for x in d.inputs})
    for j, p in enumerate(points):
        plain = d.python.value_and_grad(*(p[x] for x in d.inputs))
        compiled = d.kernels.scalar(*(p[x] for x in d.inputs))
        assert _same(plain, compiled), p
        assert _same(plain, tape[:, j]), p
        assert _same(plain[0], arrays[0][j]) and all(_same(plain[1 + k], arrays[1][w][j])
                                                    for k, w in enumerate(d.wrt))


# -- values at domain edges against NumPy ----------------------------------------------------
def _reference(name):
    op = OPS[name]
    if name in ("erf", "erfc"):
        special = pytest.importorskip("scipy.special")
        return getattr(special, name)
    for alias in op.aliases:
        if alias.startswith("np.") and callable(getattr(np, alias[3:], None)):
            return getattr(np, alias[3:])
    return op.numpy    # sigmoid, softplus, relu, hypot, logaddexp, mod: NumPy compositions


@pytest.mark.parametrize("name", [n for n in CALLABLE if OPS[n].arity <= 2])
def test_edge_values_follow_numpy(name):
    op = OPS[name]
    ref = _reference(name)
    args = ", ".join(["a", "b"][:op.arity])
    d = symdiff.differentiate(f"{name}({args})")
    grid = EDGES if op.arity == 1 else [(a, b) for a in EDGES[::2] for b in EDGES[1::2]]
    for point in grid:
        point = point if isinstance(point, tuple) else (point,)
        got = d.python.value(*point)
        if name in ("sin", "cos") and abs(point[0]) > 2.0 ** 47:
            assert math.isnan(got), (name, point, got)
            continue     # vmath's sin/cos are nan beyond 2**47: no Payne-Hanek reduction
        with np.errstate(all="ignore"):
            want = np.float64(ref(*map(np.float64, point)))
        if math.isfinite(want) and want != 0:
            assert abs(got - want) <= 4 * np.spacing(abs(want)), (name, point, got, want)
        else:
            assert _same(got, want) or (want == 0 and got == 0), (name, point, got, want)


def test_named_edges_from_the_issue():
    cases = {"asin(2)": math.nan, "log10(0)": -math.inf, "atanh(1)": math.inf,
             "logaddexp(-inf, -inf)": -math.inf, "logsumexp(1000, 999)": 1000 + math.log1p(math.exp(-1)),
             "hypot(1e308, 1e308)": math.hypot(1e308, 1e308), "mod(-7, 3)": 2.0, "mod(7, -3)": -2.0,
             "-7 % 3": 2.0, "clip(5, 0, 1)": 1.0, "max(1, 3, 2)": 3.0, "mean(1, 2, 6)": 3.0}
    for text, want in cases.items():
        d = symdiff.differentiate(text.replace("inf", "(1e308*10)") + " + 0*x")
        got = d.python.value(0.0)
        assert _same(got, want) or got == pytest.approx(want, rel=1e-15), (text, got, want)


# -- composed functions against PyTorch ----------------------------------------------------------
TORCH = {
    "silu": lambda t, x: t.nn.functional.silu(x), "gelu": lambda t, x: t.nn.functional.gelu(x),
    "elu": lambda t, x: t.nn.functional.elu(x), "selu": lambda t, x: t.nn.functional.selu(x),
    "softsign": lambda t, x: t.nn.functional.softsign(x),
    "log_sigmoid": lambda t, x: t.nn.functional.logsigmoid(x),
    "leaky_relu": lambda t, x: t.nn.functional.leaky_relu(x, 0.01),
    "square": lambda t, x: t.square(x), "radians": lambda t, x: t.deg2rad(x),
    "degrees": lambda t, x: t.rad2deg(x),
}


@pytest.mark.parametrize("name", sorted(TORCH))
def test_composed_functions_match_pytorch(name):
    torch = pytest.importorskip("torch")
    d = symdiff.differentiate(f"{name}(x)")
    for x0 in [-30.0, -2.5, -0.3, 0.0, 0.7, 3.0, 40.0]:
        value, grad = d(x=x0)
        x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        y = TORCH[name](torch, x)
        y.backward()
        # gelu's erfc form is exact far out where torch's 1 + erf(x/sqrt(2)) is 0
        assert value == pytest.approx(y.item(), rel=1e-14, abs=1e-150 if name == "gelu" else 1e-300), (name, x0)
        assert grad["x"] == pytest.approx(x.grad.item(), rel=1e-13, abs=1e-150 if name == "gelu" else 1e-300), (name, x0)


def test_docs_table_is_the_table():
    import pathlib
    text = (pathlib.Path(__file__).parent.parent / "docs" / "differentiate.md").read_text(encoding="utf-8")
    assert markdown_table() in text, "regenerate with: python -c 'import symdiff.functions as f; print(f.markdown_table())'"
    assert set(COMPOSED) <= set(FUNCTIONS)


# -- one formula of new functions on every path, against JAX in float64 ----------------------------
EVERY_PATH = ("atan2(y, x) + erf(x - y)*log1p(x*x) + asinh(y) + hypot(x, y) + logsumexp(x, y, 1)"
              " + gelu(x) + (x if x > y else y*y) + clip(x, -1, 0.5) + x % 0.7 + cbrt(y + 3)"
              " + softsign(x)*selu(y) + atan(x*y) + erfc(y) + leaky_relu(x, 0.2) + mean(x, y, 2)")


def _jax_every_path(jax, jnp):
    def f(x, y):
        return (jnp.arctan2(y, x) + jax.scipy.special.erf(x - y) * jnp.log1p(x * x) + jnp.arcsinh(y)
                + jnp.hypot(x, y) + jax.scipy.special.logsumexp(jnp.array([x, y, 1.0]))
                + jax.nn.gelu(x, approximate=False) + jnp.where(x > y, x, y * y) + jnp.clip(x, -1, 0.5)
                + jnp.mod(x, 0.7) + jnp.cbrt(y + 3) + jax.nn.soft_sign(x) * jax.nn.selu(y)
                + jnp.arctan(x * y) + jax.scipy.special.erfc(y) + jax.nn.leaky_relu(x, 0.2)
                + (x + y + 2) / 3)
    return jax.jit(jax.value_and_grad(f, argnums=(0, 1)))


def test_new_functions_on_every_path_match_jax(tmp_path):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import importlib.util
    import jax.numpy as jnp
    import jax.scipy.special  # noqa: F401
    from symdiff.inspection import node_grads, node_values, trace
    ref = _jax_every_path(jax, jnp)
    d = symdiff.differentiate(EVERY_PATH)
    assert d.kernels.kind == "tape"   # too many calls to inline: auto takes the tape (the straight
    path = d.export(tmp_path / "every_path.py", numba=False)   # kernel: test_every_op_compiled...)
    spec = importlib.util.spec_from_file_location("every_path", path)
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    xs, ys = RNG.uniform(-2.5, 2.5, 6), RNG.uniform(-2.5, 2.5, 6)
    arrays = d(x=xs, y=ys)
    for k, (x, y) in enumerate(zip(xs, ys)):
        v, (gx, gy) = ref(x, y)
        want = [float(v), float(gx), float(gy)]
        point = dict(x=x, y=y)
        args = [point[n] for n in d.inputs]
        in_order = lambda r: [float(r[0])] + [float(r[1 + d.wrt.index(n)]) for n in ("x", "y")]  # noqa: E731
        t = trace(d.program, point, d.python)
        values = node_values(d.graph, d.root, point)
        grads = node_grads(d.graph, d.root, values)
        paths = {
            "plain": in_order(d.python.value_and_grad(*args)),
            "tape": in_order(d.kernels.scalar(*args)),
            "arrays": [arrays[0][k], arrays[1]["x"][k], arrays[1]["y"][k]],
            "trace": [t.value, t.grad["x"], t.grad["y"]],
            "export": in_order(exported.value_and_grad(*args)),
            "graph": [float(values[d.root]), float(grads[d.graph.inputs["x"]]),
                      float(grads[d.graph.inputs["y"]])],
        }
        for name, got in paths.items():
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12), (name, x, y)


def _branches(ex):
    """Whether a backward expression branches: a where, a comparison or a kinked op's call."""
    if ex is None:
        return True                       # flat: piecewise constant, so it jumps somewhere
    if not hasattr(ex, "op"):
        return False
    if ex.op in ("where", "gt", "ge", "lt", "le", "eq", "ne"):
        return True
    if ex.op == "call" and OPS[ex.args[0]].kink:
        return True
    return any(_branches(a) for a in ex.args if hasattr(a, "op"))


def test_ops_whose_rule_branches_are_marked_kink():
    """``kink`` (what Dask fits polish for) covers every op whose own backward rule is flat or
    branches, read from the rule itself; the kinked ops beyond those are named."""
    from symdiff.functions import KINKS
    branching = set()
    for name, op in OPS.items():
        args = [var(f"a{k}") for k in range(op.arity)]
        if any(_branches(g) for g in op.grad(var("g"), var("y"), *args)):
            branching.add(name)
    assert branching >= {"abs", "relu", "max", "min", "where", "mod", "fmod", "floor", "sign"}
    # pow's branches are conventions at 0**0 (d/dx is 0 where y == 0), not a kink of x**y
    assert {n for n in branching if not OPS[n].kink} == {"pow"}
    assert KINKS == {n for n, op in OPS.items() if op.kink}
    assert KINKS - branching == {"hypot"}             # the cone hypot(r, 0) = |r|
