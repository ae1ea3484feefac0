"""Golden files of second-order source (issue 10): the neuron's and micrograd's Hessians,
Rosenbrock's Hessian and HVP, the polar Jacobian. Regenerate after an intended change
with ``SYMDIFF_UPDATE_GOLDEN=1 pytest tests/test_golden_second.py`` and read the diff.
Each golden file is also run as plain Python against central differences of the
independently written gradient below, so it cannot silently hold wrong code."""
import os
import pathlib
import runpy

import numpy as np
import pytest

import symdiff

GOLDEN = pathlib.Path(__file__).parent / "golden"
NEURON = "q = a*x + b*y + c\nf = sigmoid(q)"
ROSENBROCK = "(1 - x)**2 + 100*(y - x**2)**2"
POLAR = "r = sqrt(x*x + y*y)\nc = x/r\ns = y/r\nr, c, s"
MICROGRAD = ("c = a + b\nd = a*b + b**3\nc += c + 1\nc += 1 + c + (-a)\n"
             "d += d*2 + relu(b + a)\nd += 3*d + relu(b - a)\ne = c - d\n"
             "f = e**2\ng = f / 2.0\ng += 10.0 / f")


def _sig(z):
    return 1 / (1 + np.exp(-z))


def g_neuron(a, x, b, y, c):        # written by hand: d sigmoid = s*(1 - s)
    s = _sig(a * x + b * y + c)
    k = s * (1 - s)
    return [x * k, a * k, y * k, b * k, k]


def g_rosenbrock(x, y):
    return [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)]


def g_micrograd(a, b):              # JAX's gradient of micrograd's expression
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)

    def g(a, b):
        c = a + b
        d = a * b + b ** 3
        c = c + c + 1
        c = c + 1 + c + (-a)
        d = d + d * 2 + jax.nn.relu(b + a)
        d = d + 3 * d + jax.nn.relu(b - a)
        e = c - d
        f = e ** 2
        return f / 2.0 + 10.0 / f
    return [float(v) for v in jax.grad(g, argnums=(0, 1))(a, b)]


CASES = {
    "neuron_hessian": ("hessian", NEURON, dict(a=1.0, x=-1.0, b=2.0, y=3.0, c=-3.0), g_neuron),
    "rosenbrock_hessian": ("hessian", ROSENBROCK, dict(x=-1.2, y=1.0), g_rosenbrock),
    "micrograd_hessian": ("hessian", MICROGRAD, dict(a=-4.0, b=2.0), g_micrograd),
    "rosenbrock_hvp": ("hvp", ROSENBROCK, dict(x=-1.2, y=1.0, x_dot=0.7, y_dot=-0.4), g_rosenbrock),
    "polar_jacobian": ("jacobian", POLAR, dict(x=3.0, y=4.0), None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_order_source_matches_golden_file(name):
    kind, formula, *_ = CASES[name]
    source = getattr(symdiff, kind)(formula).source
    path = GOLDEN / f"{name}.py"
    if os.environ.get("SYMDIFF_UPDATE_GOLDEN"):
        path.write_text(source, encoding="utf-8")
    assert source == path.read_text(encoding="utf-8"), f"regenerate with SYMDIFF_UPDATE_GOLDEN=1 and review {path}"


def _central(fn, point, name, h=1e-6):
    up, down = dict(point), dict(point)
    up[name] += h
    down[name] -= h
    return (np.array(fn(**up)) - np.array(fn(**down))) / (2 * h)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_file_computes_finite_difference_numbers(name):
    kind, formula, point, grad = CASES[name]
    d = getattr(symdiff, kind)(formula)
    result = runpy.run_path(str(GOLDEN / f"{name}.py"))["value_and_grad"](*(point[k] for k in d.inputs))
    n = len(d.wrt)
    if kind == "hessian":
        assert np.allclose(result[1:1 + n], grad(**point), rtol=1e-11)
        k = 1 + n
        for j, b in enumerate(d.wrt):
            column = _central(grad, point, b)
            for i in range(j + 1):
                assert result[k] == pytest.approx(column[i], rel=1e-6, abs=1e-6), (d.wrt[i], b)
                k += 1
    elif kind == "hvp":
        primal = {w: point[w] for w in d.wrt}
        v = np.array([point[w + "_dot"] for w in d.wrt])
        h = 1e-6
        up = grad(**{w: primal[w] + h * v[i] for i, w in enumerate(d.wrt)})
        down = grad(**{w: primal[w] - h * v[i] for i, w in enumerate(d.wrt)})
        assert np.allclose(result[1 + n:], (np.array(up) - np.array(down)) / (2 * h), rtol=1e-6)
    else:
        x, y = point["x"], point["y"]
        r = np.hypot(x, y)
        want = [x / r, y / r, y * y / r ** 3, -x * y / r ** 3, -x * y / r ** 3, x * x / r ** 3]
        assert np.allclose(result[:3], [r, x / r, y / r]) and np.allclose(result[3:], want, rtol=1e-12)
