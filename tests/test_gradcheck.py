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
    """A derivative whose x-gradient is off by ``offset`` at point 7 (what check must catch)."""

    def __init__(self, d, offset=1e-3):
        self.d, self.wrt, self.offset = d, d.wrt, offset

    def __call__(self, **point):
        value, grad = self.d(**point)
        grad["x"] = grad["x"].copy()
        grad["x"][7] += self.offset
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


def test_fast_oscillation_is_not_reported_wrong(capsys):
    # plain central differences at h = 6e-6 are off by ~5e-5 here (h**2*k**2/6); the
    # extrapolated estimate is not, so the correct gradient passes
    report = symdiff.check(symdiff.differentiate("sin(3000*x)"), x=0.3)
    assert report.ok and report.errors["x"] < 1e-8
    # and a gradient that is off by 1e-3 at one point still fails
    report = symdiff.check(_WrongAtOnePoint(symdiff.differentiate("sin(3000*x)"), offset=3.0),
                           x=np.linspace(0.1, 0.2, 10))
    assert not report.ok and report.errors["x"] > 1e-4
