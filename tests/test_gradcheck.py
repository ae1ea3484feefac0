"""symdiff.check: central differences against the gradient, for scalars and arrays."""
import numpy as np

import symdiff


def test_scalar_check_prints_both_numbers_and_passes(capsys):
    d = symdiff.differentiate("sin(x)*y")
    report = symdiff.check(d, x=0.5, y=2.0)
    out = capsys.readouterr().out
    assert report.ok and max(report.errors.values()) < 1e-8
    assert f"{2 * np.cos(0.5):.12}" in out and "OK" in out


class _WrongAtOnePoint:
    """A derivative whose x-gradient is off by 1e-3 at point 7 (what check must catch)."""

    def __init__(self, d):
        self.d, self.wrt = d, d.wrt

    def __call__(self, **point):
        value, grad = self.d(**point)
        grad["x"] = grad["x"].copy()
        grad["x"][7] += 1e-3
        return value, grad

    def value(self, **point):
        return self.d.value(**point)


def test_array_check_reports_the_worst_point(capsys):
    d = symdiff.differentiate("sin(x)*y")
    x = np.linspace(0, 1, 20)
    assert symdiff.check(d, x=x, y=2.0).ok
    capsys.readouterr()
    report = symdiff.check(_WrongAtOnePoint(d), x=x, y=2.0)
    out = capsys.readouterr().out
    assert not report.ok and report.errors["x"] > 1e-4 and report.errors["y"] < 1e-8
    row = next(line for line in out.splitlines() if line.strip().startswith("x "))
    assert "worst of 20 points, at [7]" in row
    analytic, numeric = map(float, row.split()[1:3])        # the numbers at that point
    assert abs(analytic - (2 * np.cos(x[7]) + 1e-3)) < 1e-12 and abs(numeric - 2 * np.cos(x[7])) < 1e-8
    assert "array(" not in out and "FAILED" in out
