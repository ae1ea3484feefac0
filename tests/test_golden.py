"""Golden files of generated source: any change in what users read shows up in review.

Regenerate after an intended change with ``SYMDIFF_UPDATE_GOLDEN=1 pytest tests/test_golden.py``
and read the diff. The golden files are also run as plain Python against the seeds'
numbers, so a golden file cannot silently hold wrong code."""
import os
import pathlib
import runpy

import pytest

import symdiff

GOLDEN = pathlib.Path(__file__).parent / "golden"
CASES = {
    "neuron": ("q = a*x + b*y + c\nf = sigmoid(q)", dict(a=1.0, b=2.0, c=-3.0, x=-1.0, y=3.0),
               dict(a=-0.105, b=0.315, c=0.105, x=0.105, y=0.210), 3),
    "sigmoid_circuit": ("1/(1 + exp(-(w0*x0 + w1*x1 + w2)))",
                        dict(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0),
                        dict(w0=-0.20, x0=0.39, w1=-0.39, x1=-0.59, w2=0.20), 2),
    "micrograd_more_ops": ("c = a + b\nd = a*b + b**3\nc += c + 1\nc += 1 + c + (-a)\n"
                           "d += d*2 + relu(b + a)\nd += 3*d + relu(b - a)\ne = c - d\n"
                           "f = e**2\ng = f / 2.0\ng += 10.0 / f",
                           dict(a=-4.0, b=2.0), dict(a=138.83381924198252, b=645.5772594752186), 9),
    "ninja_division": ("x = (a + b)/(c + d)", dict(a=1.0, b=2.0, c=3.0, d=1.0),
                       dict(a=0.25, b=0.25, c=-0.1875, d=-0.1875), 4),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_source_matches_golden_file(name):
    formula, *_ = CASES[name]
    source = symdiff.differentiate(formula).source
    path = GOLDEN / f"{name}.py"
    if os.environ.get("SYMDIFF_UPDATE_GOLDEN"):
        path.write_text(source, encoding="utf-8")
    assert source == path.read_text(encoding="utf-8"), f"regenerate with SYMDIFF_UPDATE_GOLDEN=1 and review {path}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_file_computes_the_seed_numbers(name):
    formula, point, expected, digits = CASES[name]
    namespace = runpy.run_path(str(GOLDEN / f"{name}.py"))
    d = symdiff.differentiate(formula)
    result = namespace["value_and_grad"](*(point[k] for k in d.inputs))
    grad = dict(zip(d.wrt, result[1:]))
    for k, want in expected.items():
        assert round(grad[k], digits) == pytest.approx(want, rel=1e-12), k
