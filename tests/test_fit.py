"""symdiff.fit against certified and independent references: NIST StRD certified values
(tests/data/nist_strd.json), scipy's curve_fit, least absolute deviations as a linear
program (scipy's linprog), and bad input that must raise FormulaError with a hint."""
import json
import math
import os

import numpy as np
import pytest

pytest.importorskip("scipy")
from scipy.optimize import curve_fit, linprog  # noqa: E402

import symdiff  # noqa: E402
from symdiff.cli import main  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "data", "nist_strd.json"), encoding="utf-8") as f:
    NIST = json.load(f)["problems"]
MISRA = NIST["Misra1a"]


def digits(value, certified):
    """Significant digits on which value agrees with certified (the LRE of McCullough)."""
    if value == certified:
        return 16.0
    return -math.log10(abs(value - certified) / abs(certified))


@pytest.mark.parametrize("start", [0, 1])
@pytest.mark.parametrize("name", sorted(NIST))
def test_nist_certified_values_from_both_starts(name, start):
    p = NIST[name]
    names = [f"b{i + 1}" for i in range(len(p["certified"]))]
    data = {k: p[k] for k in ("x", "x1", "x2", "y") if k in p}   # Nelson has two predictors
    r = symdiff.fit(p["model"], data, dict(zip(names, p["starts"][start])))
    assert r.success, r.message
    for k, c in zip(names, p["certified"]):   # 6 asked; the Gauss-Newton polish gives 10.3+
        assert digits(r.params[k], c) >= 9, (k, r.params[k], c)
    for k, c in zip(names, p["stderr"]):
        if c is not None:
            assert digits(r.stderr[k], c) >= 3, (k, r.stderr[k], c)
    if p["rss"] is not None:   # 6 digits (Lanczos1: with the loss recomputed at 40 digits)
        assert digits(r.loss, p["rss"]) >= p.get("rss_digits", 6), (r.loss, p["rss"])
    assert r.covariance.shape == (len(names), len(names))
    np.testing.assert_allclose(np.sqrt(np.diag(r.covariance)), [r.stderr[k] for k in names])


@pytest.fixture(scope="module")
def noisy():
    rng = np.random.default_rng(5)
    x = np.linspace(0.0, 10.0, 400)
    sigma = 0.05 + 0.02 * x
    y = 3.0 * np.exp(-0.4 * x) + 0.5 + rng.normal(0.0, sigma)
    return x, y, sigma


MODEL = "a*exp(-k*x) + c"


def _reference(x, a, k, c):
    return a * np.exp(-k * x) + c


def test_matches_curve_fit_with_weights_and_bounds(noisy):
    x, y, sigma = noisy
    p0 = {"a": 1.0, "k": 1.0, "c": 0.0}
    r = symdiff.fit(MODEL, {"x": x, "y": y}, p0, weights=sigma)
    ref, pcov = curve_fit(_reference, x, y, p0=list(p0.values()), sigma=sigma,
                          ftol=1e-15, xtol=1e-15, gtol=1e-15, maxfev=10000)
    np.testing.assert_allclose([r.params[k] for k in p0], ref, rtol=1e-7)
    np.testing.assert_allclose([r.stderr[k] for k in p0], np.sqrt(np.diag(pcov)), rtol=1e-5)
    rb = symdiff.fit(MODEL, {"x": x, "y": y}, dict(p0, k=0.2), bounds={"k": (0.0, 0.3)})
    refb, _ = curve_fit(_reference, x, y, p0=[1.0, 0.2, 0.0], bounds=([-np.inf, 0, -np.inf], [np.inf, 0.3, np.inf]),
                        ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=10000)
    assert rb.params["k"] == pytest.approx(0.3, abs=1e-9)
    np.testing.assert_allclose([rb.params[k] for k in p0], refb, rtol=1e-6)
    assert r.predict(x=np.array([0.0, 1.0])) == pytest.approx(_reference(np.array([0.0, 1.0]), *ref), rel=1e-7)


@pytest.mark.parametrize("method", ["bfgs", "lbfgs"])
def test_max_steps_stops_the_first_order_methods(method):
    """max_steps capped least squares only: BFGS/L-BFGS-B ran on (and the polish after them),
    reporting success. Now a capped run is success=False and says so; uncapped, the same
    fit converges, its message saying why the line search stopped."""
    x = np.linspace(1, 10, 20)
    y = 3 * np.exp(-0.2 * x) + np.random.default_rng(1).normal(0, 0.01, 20)
    r = symdiff.fit("a*exp(-k*x)", {"x": x, "y": y}, {"a": 1.0, "k": 1.0}, method=method, max_steps=2)
    assert not r.success and "stopped after max_steps=2" in r.message and r.steps < 30
    full = symdiff.fit("a*exp(-k*x)", {"x": x, "y": y}, {"a": 1.0, "k": 1.0}, method=method)
    ref = symdiff.fit("a*exp(-k*x)", {"x": x, "y": y}, {"a": 1.0, "k": 1.0})
    assert full.success and ("converged" in full.message or full.message.endswith("successfully."))
    assert full.params == pytest.approx(ref.params, rel=1e-7)


def test_the_weights_name_is_reserved_and_python_function_models_fit_any_loss():
    """A column the model reads as fit_sigma was taken for the weights (or replaced by
    weights=): a silently different fit; now a FormulaError. A Python function model fitted
    least squares only: other losses and Adam parsed its repr ("expected a value before '<'")."""
    x = np.linspace(1, 4, 50)
    y = 3 * np.exp(-0.5 * x) + 0.01 * np.sin(7 * x)
    with pytest.raises(symdiff.FormulaError, match="reserved for the weights"):
        symdiff.fit("a*exp(-k*fit_sigma)", {"fit_sigma": x, "y": y}, {"a": 1.0, "k": 0.1}, weights=0.1)
    ref = {kw: symdiff.fit("a*exp(-k*x)", {"x": x, "y": y}, {"a": 1.0, "k": 0.1}, **dict([kw])).params
           for kw in (("loss", "huber"), ("loss", "log(1 + r**2)"), ("method", "adam"))}
    for kw, params in ref.items():
        r = symdiff.fit(lambda x, a, k: a * np.exp(-k * x), {"x": x, "y": y}, {"a": 1.0, "k": 0.1}, **dict([kw]))
        assert r.success and r.params == pytest.approx(params, rel=1e-9), kw
    assert "<function" not in str(r)


def test_a_fit_to_undetermined_parameters_says_so():
    """A constant data column makes a and k inseparable: the fit converges (the loss is at
    its minimum) with inf standard errors, and its message says why."""
    y = np.array([1.0, 1.2, 0.9, 1.1])
    r = symdiff.fit("a*exp(-k*x)", {"x": 1.0, "y": y}, {"a": 1.0, "k": 0.1})
    assert not np.all(np.isfinite(list(r.stderr.values())))
    assert "singular" in r.message and "not all determined" in r.message
    assert "singular" not in symdiff.fit("a*exp(-k*x)", {"x": np.arange(4.0), "y": y}, {"a": 1.0, "k": 0.1}).message
    assert "reduce='sum'" in repr(symdiff.differentiate("a*x", reduce="sum"))


def test_masked_columns_are_refused_and_mappings_accepted():
    """A masked array's mask would be ignored (the fit ran on the masked outlier and said
    success): a FormulaError that says how to drop the rows. Any mapping of columns works."""
    import types
    x = np.linspace(1, 10, 20)
    y = 3 * np.exp(-0.2 * x)
    y[-1] = 100.0
    m = np.arange(20) == 19
    with pytest.raises(symdiff.FormulaError, match="masked array"):
        symdiff.fit("a*exp(-k*x)", {"x": np.ma.masked_array(x, m), "y": np.ma.masked_array(y, m)},
                    {"a": 1.0, "k": 0.1})
    r = symdiff.fit("a*exp(-k*x)", types.MappingProxyType({"x": x[~m], "y": y[~m]}),
                    types.MappingProxyType({"a": 1.0, "k": 0.1}))
    assert r.params == pytest.approx({"a": 3.0, "k": 0.2}, rel=1e-9)


@pytest.mark.parametrize("scale", [1e-30, 1e-16, 1e14, 1e30])
def test_standard_errors_of_parameters_of_any_size(scale):
    """Parameters many decades apart (a diode's Is = 1e-15 beside n = 1.5): standard errors
    as curve_fit's, not inf (the covariance's rank test runs on unit-length columns)."""
    rng = np.random.default_rng(2)
    x = np.linspace(0.3, 0.7, 40)
    y = scale * (np.exp(x / (1.5 * 0.02585)) - 1) * (1 + rng.normal(0, 0.01, x.size))
    r = symdiff.fit("Is*(exp(V/(n*0.02585)) - 1)", {"V": x, "y": y}, {"Is": 2 * scale, "n": 1.4})
    ref, pcov = curve_fit(lambda v, i_s, m: i_s * (np.exp(v / (m * 0.02585)) - 1), x, y, p0=[2 * scale, 1.4],
                          ftol=1e-15, xtol=1e-15, gtol=1e-15, maxfev=10000)
    assert r.success
    np.testing.assert_allclose([r.params["Is"], r.params["n"]], ref, rtol=1e-7)
    np.testing.assert_allclose([r.stderr["Is"], r.stderr["n"]], np.sqrt(np.diag(pcov)), rtol=1e-5)
    assert np.all(np.isfinite(r.covariance))


@pytest.mark.parametrize("method", ["auto", "adam"])
def test_absolute_loss_is_least_absolute_deviations(method):
    """A straight line under loss='absolute' against the LAD line solved as a linear program
    (Adam too: it stalls at the kinks and is polished by Nelder-Mead)."""
    rng = np.random.default_rng(11)
    x = np.linspace(-2, 2, 60)
    y = 1.5 * x - 0.5 + rng.standard_t(1.5, x.size) * 0.3
    r = symdiff.fit("a*x + b", {"x": x, "y": y}, {"a": 0.0, "b": 0.0}, loss="absolute", method=method)
    n = x.size    # variables a, b, then u_i >= |y_i - a x_i - b|
    c = np.r_[0.0, 0.0, np.ones(n)]
    A = np.block([[-x[:, None], -np.ones((n, 1)), -np.eye(n)], [x[:, None], np.ones((n, 1)), -np.eye(n)]])
    lp = linprog(c, A_ub=A, b_ub=np.r_[-y, y], bounds=[(None, None)] * 2 + [(0, None)] * n, method="highs")
    assert r.loss == pytest.approx(lp.fun, rel=1e-6)
    assert r.params["a"] == pytest.approx(lp.x[0], abs=1e-3)
    assert r.params["b"] == pytest.approx(lp.x[1], abs=1e-3)
    assert all(math.isnan(v) for v in r.stderr.values())


def test_adam_on_a_kinked_loss_reaches_the_minimum():
    """Adam stalls at the kinks of sum|r| (Misra1a: 1.6% above the minimum, with success
    True); the Nelder-Mead polish takes it there. Reference: scipy's Nelder-Mead on the
    NumPy loss, from the certified least-squares parameters."""
    from scipy.optimize import minimize
    x, y = np.asarray(MISRA["x"]), np.asarray(MISRA["y"])

    def lad(b):
        return float(np.sum(np.abs(y - b[0] * (1 - np.exp(-b[1] * x)))))
    ref = minimize(lad, MISRA["certified"], method="Nelder-Mead",
                   options={"xatol": 1e-12, "fatol": 1e-14, "maxfev": 20000})
    r = symdiff.fit(MISRA["model"], {"x": x, "y": y}, dict(zip(["b1", "b2"], MISRA["starts"][1])),
                    loss="absolute", method="adam")
    assert r.success and "Nelder-Mead" in r.message, r.message
    assert r.loss <= ref.fun * (1 + 1e-9), (r.loss, ref.fun)
    assert lad([r.params["b1"], r.params["b2"]]) == pytest.approx(r.loss, rel=1e-12)


def test_huber_and_formula_losses_match_scipys_robust_least_squares(noisy):
    """loss="huber" and loss="log(1 + r**2)" have the minimizers of scipy's least_squares
    with loss="huber" / "cauchy" (rho(r**2) = 2*huber(r) and log(1 + r**2)), and shrug off
    outliers that pull the least-squares fit."""
    from scipy.optimize import least_squares
    x, y, sigma = noisy
    y = y.copy()
    y[::25] += 5.0                                    # outliers, 20 to 100 sigma
    p0 = {"a": 1.0, "k": 1.0, "c": 0.0}
    data = {"x": x, "y": y}
    squares = symdiff.fit(MODEL, data, p0, weights=sigma)
    for loss, peer in (("huber", "huber"), ("log(1 + r**2)", "cauchy")):
        ours = symdiff.fit(MODEL, data, p0, weights=sigma, loss=loss)
        ref = least_squares(lambda p: (_reference(x, *p) - y) / sigma, list(squares.params.values()),
                            loss=peer, ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=20000)
        assert ours.success
        np.testing.assert_allclose(list(ours.params.values()), ref.x, rtol=1e-6)
        assert abs(ours.params["k"] - 0.4) < abs(squares.params["k"] - 0.4)


def test_adam_reaches_the_least_squares_fit():
    p = MISRA
    r = symdiff.fit(p["model"], {"x": p["x"], "y": p["y"]}, {"b1": 250, "b2": 5e-4}, method="adam",
                    lr=1e-2, steps=3000)
    assert r.params["b1"] == pytest.approx(p["certified"][0], rel=1e-5)
    assert r.stderr["b1"] == pytest.approx(p["stderr"][0], rel=1e-3)


def test_first_order_least_squares_keep_absolute_sigma(noisy):
    """method="bfgs" (or "adam") on least squares left out absolute_sigma: its standard
    errors were scaled by loss/(n - p) as without it (7% off here; any factor in general)."""
    x, y, sigma = noisy
    p0 = {"a": 1.0, "k": 1.0, "c": 0.0}
    _, pcov = curve_fit(_reference, x, y, p0=list(p0.values()), sigma=sigma, absolute_sigma=True,
                        ftol=1e-15, xtol=1e-15, gtol=1e-15, maxfev=10000)
    r = symdiff.fit(MODEL, {"x": x, "y": y}, p0, weights=sigma, absolute_sigma=True, method="bfgs")
    np.testing.assert_allclose([r.stderr[k] for k in p0], np.sqrt(np.diag(pcov)), rtol=1e-5)


def test_weights_may_name_a_data_column(noisy):
    x, y, sigma = noisy
    p0 = {"a": 1.0, "k": 1.0, "c": 0.0}
    named = symdiff.fit(MODEL, {"x": x, "y": y, "s": sigma}, p0, weights="s")
    given = symdiff.fit(MODEL, {"x": x, "y": y}, p0, weights=sigma)
    assert named.params == given.params and named.stderr == given.stderr


def test_adam_that_runs_out_of_steps_says_so():
    """Adam at a fixed rate never knows it has arrived: it used to report success after any
    number of steps (b1 = 768 instead of 239 at its old defaults). Now a fit that runs out of
    steps has success False, and the defaults converge."""
    data = {"x": MISRA["x"], "y": MISRA["y"]}
    r = symdiff.fit(MISRA["model"], data, {"b1": 500, "b2": 1e-4}, method="adam", steps=100)
    assert not r.success and "did not converge" in r.message and "NOT CONVERGED" in str(r)
    r = symdiff.fit(MISRA["model"], data, {"b1": 250, "b2": 5e-4}, method="adam")
    assert r.success and "converged" in r.message
    assert r.params["b1"] == pytest.approx(MISRA["certified"][0], rel=1e-6)


def test_result_display():
    r = symdiff.fit(MISRA["model"], {"x": MISRA["x"], "y": MISRA["y"]}, {"b1": 500, "b2": 1e-4})
    text = str(r)
    assert "b1" in text and "238.94212" in text and "converged" in text
    assert "| b2 |" in r._repr_markdown_() and "<table>" in r._repr_html_()
    assert "def value_and_grad(b1, b2, x)" in r.source
    assert r.steps > 0 and isinstance(r.message, str)


def test_not_converging_says_so():
    r = symdiff.fit(MISRA["model"], {"x": MISRA["x"], "y": MISRA["y"]}, {"b1": 500, "b2": 1e-4},
                    method="trf", max_steps=3)
    assert not r.success and "did not converge" in r.message
    assert "NOT CONVERGED" in str(r)


@pytest.mark.parametrize("kwargs, match, hint", [
    (dict(data={"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0]}, params={"b1": 1.0}), "'b2'", "params"),
    (dict(data={"x": [1.0, 2.0], "y": [1.0, 2.0]}, params={"b1": 1.0, "b2": 1.0, "b3": 2.0}),
     "'b3' is not used", "model's names"),
    (dict(data={"x": [1.0, float("nan"), 3.0], "y": [1.0, 2.0, 3.0]}, params={"b1": 1.0, "b2": 1.0}),
     "column 'x' holds nan at row 1", "isfinite"),
    (dict(data={"x": [1.0, 2.0, 3.0], "y": [1.0, np.inf, 3.0]}, params={"b1": 1.0, "b2": 1.0}),
     "column 'y' holds inf at row 1", "drop"),
    (dict(data={"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0]}, params={"b1": 1.0, "b2": 1.0}),
     "2 rows", "same length"),
    (dict(data={"x": [1.0, 2.0], "z": [1.0, 2.0]}, params={"b1": 1.0, "b2": 1.0}), "target", "data columns"),
    (dict(data={"x": [1.0, 2.0], "y": [1.0, 2.0]}, params={"b1": 1.0, "b2": "abc"}), "not a number", "params="),
    (dict(data={"x": [1.0, 2.0], "y": [1.0, 2.0]}, params={"b1": 1.0, "b2": 1.0}, loss="r +"), "line 1", None),
    (dict(data={"x": [1.0, 2.0], "y": [1.0, 2.0]}, params={"b1": 1.0, "b2": 1.0}, loss="abs(r - x)"),
     "only use r", "log"),
    (dict(data={"x": [1.0, 2.0], "y": [1.0, 2.0]}, params={"b1": 1.0, "b2": 1.0}, bounds={"b9": (0, 1)}),
     "not a parameter", "b1"),
    (dict(data={"x": [1.0, 2.0], "y": [1.0, 2.0]}, params={"b1": 1.0, "b2": 1.0}, weights=[1.0, -1.0]),
     "positive", "standard deviations"),
    (dict(data={"x": [], "y": []}, params={"b1": 1.0, "b2": 1.0}), "0 data points", "as many points"),
    (dict(data={"x": [1.0], "y": [2.0]}, params={"b1": 1.0, "b2": 1.0}), "1 data point for 2", "as many points"),
    (dict(data={"x": [1.0, 2.0], "y": [1.0, 2.0]}, params={"b1": 1.0, "b2": 1.0}, loss="2.0"),
     "does not use r", "log"),
    (dict(data={"x": [1.0, 2.0], "y": [1.0, 2.0]}, params={"b1": 1.0, "b2": 1.0}, weights="sigma"),
     "not a data column", "x, y"),
    # review11: these were a solver failure about broadcasting, a bare TypeError, and a
    # negative rate that left Adam at the start and called it converged
    (dict(data={"x": [1.0, 2.0, 3.0], "y": 2.0}, params={"b1": 1.0, "b2": 1.0}), "single number", "one observation"),
    (dict(data={"x": [1.0, 2.0], "y": [1.0, 2.0]}, params={"b1": 1.0, "b2": 1.0}, max_steps="100"),
     "max_steps", "max_steps="),
    (dict(data={"x": [1.0, 2.0], "y": [1.0, 2.0]}, params={"b1": 1.0, "b2": 1.0}, method="adam", lr=-0.1),
     "lr must be a positive", "lr=0.1"),
    (dict(data={"x": [1.0, 2.0], "y": [1.0, 2.0]}, params={"b1": 1.0, "b2": 1.0}, bounds={"b1": (2, 1)}),
     "not below", "low < high"),
])
def test_bad_input_raises_formula_error_with_hint(kwargs, match, hint):
    with pytest.raises(symdiff.FormulaError, match=match) as info:
        symdiff.fit("b1*(1 - exp(-b2*x))", **kwargs)
    if hint:
        assert "hint:" in str(info.value) and hint in str(info.value)


def test_a_column_named_like_a_constant_is_refused():
    """The model reads e as 2.718...: a data column e was left out without a word, and the
    fit 'converged' (b2 = 5.52 for 3, loss 1e-28, since e = 5 + t here)."""
    t = np.linspace(0.0, 1.0, 20)
    with pytest.raises(symdiff.FormulaError, match="constant e") as info:
        symdiff.fit("b1*t + b2*e", {"t": t, "e": 5.0 + t, "y": 2 * t + 3 * (5.0 + t)}, {"b1": 1.0, "b2": 1.0})
    assert "rename" in str(info.value)
    with pytest.raises(symdiff.FormulaError, match="parameter 'pi'"):
        symdiff.fit("b1*t + pi", {"t": t, "y": t}, {"b1": 1.0, "pi": 1.0})


def test_predict_takes_the_data_the_fit_was_given():
    """r.predict(**data) with the fit's own data dict raised "unknown input 'y'"."""
    data = {"x": np.asarray(MISRA["x"]), "y": np.asarray(MISRA["y"]), "note": np.zeros(14)}
    r = symdiff.fit(MISRA["model"], data, {"b1": 500, "b2": 1e-4})
    np.testing.assert_array_equal(r.predict(**data), r.predict(x=data["x"]))
    with pytest.raises(symdiff.FormulaError, match="'q' is not a data name of the model"):
        r.predict(x=1.0, q=2.0)
    with pytest.raises(symdiff.FormulaError, match="needs the data column 'x'") as info:
        r.predict()        # the hint asked for b1=..., b2=... too, which predict refuses
    assert "r.predict(x=...)" in str(info.value)
    with pytest.raises(symdiff.FormulaError, match="'z' is not a data name of the model") as info:
        r.predict(x=np.array([1.0]), z=np.array([2.0]))     # the hint listed b1, b2 as inputs
    assert "b1" not in str(info.value)


def test_command_line(tmp_path, capsys):
    csv_path = tmp_path / "measurements.csv"
    csv_path.write_text("x,y\n" + "".join(f"{a},{b}\n" for a, b in zip(MISRA["x"], MISRA["y"])))
    code = main(["fit", "b1*(1 - exp(-b2*x))", "--data", str(csv_path), "--params", "b1=500,b2=1e-4"])
    out = capsys.readouterr().out
    assert code == 0 and "238.94212" in out and "stderr" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n3,oops\n")
    for args in (["--data", str(bad), "--params", "b1=500,b2=1e-4"],
                 ["--data", str(tmp_path / "missing.csv"), "--params", "b1=500,b2=1e-4"],
                 ["--data", str(csv_path), "--params", "b1=500,b2"]):
        assert main(["fit", "b1*(1 - exp(-b2*x))", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("symdiff: error:") and len(err.strip().splitlines()) == 1
    assert "line 3, column 'y'" in (main(["fit", "b1*x", "--data", str(bad), "--params", "b1=1"]) or 0,
                                    capsys.readouterr().err)[1]


def test_command_line_names_the_files_columns_when_the_header_is_wrong(tmp_path, capsys):
    """A file without a header row, or with other column names, said "data must be a dict of
    columns ... (hint: pass data={'x': x_values, ...})": the API's words, not the file's."""
    rows = "".join(f"{a},{b}\n" for a, b in zip(MISRA["x"], MISRA["y"]))
    for text, expected in ((rows, "first row holds numbers"), ("t,obs\n" + rows, "columns: t, obs"),
                           ("x,y\n" + rows + "1,oops\n", "hint:")):
        path = tmp_path / "m.csv"
        path.write_text(text)
        assert main(["fit", "b1*(1 - exp(-b2*x))", "--data", str(path), "--params", "b1=500,b2=1e-4"]) == 2
        err = capsys.readouterr().err
        assert expected in err and "dict" not in err and len(err.strip().splitlines()) == 1, err


def test_command_line_reads_excel_and_tab_separated_files(tmp_path, capsys):
    """A CSV saved by Excel as "CSV UTF-8" starts with a byte-order mark, which used to stick
    to the first column's name ('\\ufeffx': "the model's name 'x' is neither a parameter nor
    a data column"); a tab- or semicolon-separated file was one column."""
    rows = "".join(f"{a}{{sep}}{b}\n" for a, b in zip(MISRA["x"], MISRA["y"]))
    for name, sep, encoding in (("bom.csv", ",", "utf-8-sig"), ("tabs.tsv", "\t", "utf-8"),
                                ("semi.csv", ";", "utf-8")):
        path = tmp_path / name
        path.write_text(f"x{sep}y\n" + rows.format(sep=sep), encoding=encoding)
        assert main(["fit", "b1*(1 - exp(-b2*x))", "--data", str(path), "--params", "b1=500,b2=1e-4"]) == 0
        assert "238.94212" in capsys.readouterr().out


def test_command_line_ignores_columns_the_model_does_not_read(tmp_path, capsys):
    """A sample label beside the numbers was "'s0' is not a number" (the API ignores such
    columns); a non-finite cell of a used column names the file's line, with a hint for a
    file (it named the row index and suggested np.isfinite)."""
    rows = "".join(f"s{k},{a},{b}\n" for k, (a, b) in enumerate(zip(MISRA["x"], MISRA["y"])))
    path = tmp_path / "labelled.csv"
    path.write_text("sample,x,y\n" + rows)
    assert main(["fit", "b1*(1 - exp(-b2*x))", "--data", str(path), "--params", "b1=500,b2=1e-4"]) == 0
    assert "238.94212" in capsys.readouterr().out
    lines = rows.splitlines()
    lines[5] = "s5,nan," + lines[5].split(",")[2]
    path.write_text("sample,x,y\n" + "\n".join(lines) + "\n")
    assert main(["fit", "b1*(1 - exp(-b2*x))", "--data", str(path), "--params", "b1=500,b2=1e-4"]) == 2
    err = capsys.readouterr().err
    assert "labelled.csv, line 7, column 'x': 'nan' is not a finite number" in err and "np." not in err, err
    assert len(err.strip().splitlines()) == 1


def test_command_line_plots_a_model_of_several_columns(tmp_path, capsys):
    """--plot with two data columns ended the command with "which is the x axis? (hint:
    plot(x='x'))" after the fit: the first column is the x axis, or --plot-x's; the fit is
    drawn as a value at each point (a line through scattered points zigzagged)."""
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(3)
    x, x2 = rng.uniform(0, 5, 80), rng.uniform(-1, 1, 80)
    y = 3 * np.exp(-0.5 * x) + x2 + 0.05 * rng.normal(size=80)
    path = tmp_path / "m2.csv"
    path.write_text("x,x2,obs\n" + "".join(f"{a},{b},{c}\n" for a, b, c in zip(x, x2, y)))
    for extra, axis in (([], "x"), (["--plot-x", "x2"], "x2")):
        png = tmp_path / f"m2_{axis}.png"
        assert main(["fit", "a*exp(-k*x) + b*x2", "--data", str(path), "--params", "a=1,k=0.1,b=0",
                     "--target", "obs", "--plot", str(png), *extra]) == 0
        assert f"(x axis: {axis})" in capsys.readouterr().out and png.stat().st_size > 1000
    # a wrong --plot-x or an unwritable --plot path is refused before the fit, not after
    for extra in (["--plot-x", "obs", "--plot", str(tmp_path / "p.png")],
                  ["--plot", str(tmp_path / "no" / "such" / "dir.png")]):
        assert main(["fit", "a*exp(-k*x) + b*x2", "--data", str(path), "--params", "a=1,k=0.1,b=0",
                     "--target", "obs", *extra]) == 2
        out, err = capsys.readouterr()
        assert "symdiff fit" not in out and "--plot" in err and "parameter" not in out
    r = symdiff.fit("a*exp(-k*x) + b*x2", {"x": x, "x2": x2, "y": y}, {"a": 1, "k": 0.1, "b": 0})
    fig = r.plot(x="x")
    fitted = [line for line in fig.axes[0].lines if line.get_label().startswith("fit")][0]
    assert fitted.get_linestyle() == "None" and fitted.get_marker() == "x"


def test_plot(tmp_path):
    pytest.importorskip("matplotlib")
    r = symdiff.fit(MISRA["model"], {"x": MISRA["x"], "y": MISRA["y"]}, {"b1": 500, "b2": 1e-4})
    path = tmp_path / "fit.png"
    r.plot(path=str(path))
    assert path.stat().st_size > 1000
    # a missing folder or an unknown format was a matplotlib traceback (after the CLI's fit)
    for bad in (tmp_path / "no" / "fit.png", tmp_path / "fit.xyz"):
        with pytest.raises(symdiff.FormulaError, match="cannot write the plot") as info:
            r.plot(path=str(bad))
        assert "hint:" in str(info.value)


def test_verbose_reports_progress(capsys, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):      # the plain-text progress lines
        if name == "tqdm":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    symdiff.fit(MISRA["model"], {"x": MISRA["x"], "y": MISRA["y"]}, {"b1": 500, "b2": 1e-4}, verbose=True)
    err = capsys.readouterr().err
    assert "symdiff fit: evaluation 1, loss" in err and "symdiff fit: converged after" in err


def test_big_data_path_equals_least_squares(noisy, monkeypatch):
    """From least_squares.BIG points, "auto" runs the solvers on the R factor of [J | r],
    built chunk by chunk (the algorithm of Dask fits); lowered here so that small data
    takes that path."""
    from symdiff import compressed_squares, least_squares
    x, y, sigma = noisy
    monkeypatch.setattr(least_squares, "BIG", 100)
    monkeypatch.setattr(compressed_squares, "CHUNK", 64)      # several chunks
    p0 = {"a": 1.0, "k": 1.0, "c": 0.0}
    big = symdiff.fit(MODEL, {"x": x, "y": y}, p0, weights=sigma)
    ref = symdiff.fit(MODEL, {"x": x, "y": y}, p0, weights=sigma, method="trf")
    assert big.method == "auto, chunked QR" and big.success
    for k in p0:
        assert big.params[k] == pytest.approx(ref.params[k], rel=1e-8)
        assert big.stderr[k] == pytest.approx(ref.stderr[k], rel=1e-6)


def test_a_loss_without_a_minimum_is_reported_not_called_converged():
    """loss=-r**2 falls without bound: BFGS ends at -inf (it said 'converged (its line
    search found no lower loss ...)' inside a NOT CONVERGED table); Adam runs out of steps
    and says so, and that the loss may have no minimum. A misspelt named loss lists the
    named losses."""
    x = np.linspace(50, 800, 40)
    data = {"x": x, "y": 240 * (1 - np.exp(-5.5e-4 * x)) + np.sin(x)}
    r = symdiff.fit("b1*(1 - exp(-b2*x))", data, {"b1": 500, "b2": 1e-4}, loss="-r**2")
    assert not r.success and "the loss has no minimum" in r.message and "converged" not in r.message
    r = symdiff.fit("b1*(1 - exp(-b2*x))", data, {"b1": 500, "b2": 1e-4}, loss="-r**2",
                    method="adam", steps=300)
    assert not r.success and "check that the loss has a minimum" in r.message
    with pytest.raises(symdiff.FormulaError) as info:
        symdiff.fit("b1*(1 - exp(-b2*x))", data, {"b1": 500, "b2": 1e-4}, loss="cauchy")
    assert "'squares', 'absolute' or 'huber'" in info.value.hint
