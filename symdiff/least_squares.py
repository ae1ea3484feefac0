"""Least squares for ``symdiff.fit``: residuals and their exact compiled Jacobian,
``scipy.optimize.least_squares`` with robust defaults (``solve_squares``), curve_fit's
covariance; big and Dask data run the same solvers on a compressed problem
(``compressed_squares.py``).

- tolerances at 1e-15 (the solvers stop when a step no longer changes anything), scaling
  ``x_scale="jac"`` (parameters of very different sizes);
- trust-region reflective ("trf"), Levenberg-Marquardt ("lm", MINPACK) and "dogbox" are
  each run from the starting point and the lowest cost wins (among costs equal to within
  rounding, the minimum nearest the start: ``_choose``); the winner is then restarted
  (alternating "lm" and "trf") until a restart no longer lowers the cost. A solver that
  stalls far from a minimum is thereby overruled by one that does not.
- then Gauss-Newton steps (``_polish``) while they shrink: where the cost is flat to
  rounding the solvers stop up to 1e-7 short of the minimum; these steps reach it (NIST:
  10.3+ digits on all 54 fits, and Dask fits equal in-memory ones to 1e-10).
- where the loss is at the rounding level of the data (exact data, e.g. NIST's Lanczos1),
  it is recomputed with 40 digits at the solution (``exact_cost``): the standard errors
  scale with sqrt(loss), which float64 residuals give only to a few digits there;
- from ``BIG`` points on, "auto" runs the same solvers on the R factor of ``[J | r]``, built
  chunk by chunk (``compressed_squares.py``, the algorithm of fits on Dask data): one
  pass over the data per evaluation, no n x p Jacobian in memory; two solvers from the
  start instead of three (``lean``), since each evaluation costs a pass over all the data.
"""
import numpy as np

from .errors import FormulaError
from .fit_result import FitResult

TOL = 1e-15
BIG = 200_000       # points from which method="auto" compresses the residuals chunk by chunk


def _scipy_optimize():
    try:
        from scipy import optimize
    except ImportError:  # pragma: no cover - scipy is in the fit extra
        raise FormulaError("symdiff.fit needs SciPy", hint='pip install "symdiff-backprop[fit]"') from None
    return optimize


class Residuals:
    """Residuals ``(model - y)/sigma`` and their exact Jacobian at a parameter vector; one
    compiled call gives both (the last one is kept for the Jacobian that follows)."""

    def __init__(self, d, names, columns, target, progress):
        self.d = d
        self.names = names
        self.y = columns[target]
        self.sigma = columns.get("fit_sigma")
        self.fixed = {k: v for k, v in columns.items() if k in d.inputs}
        self.progress = progress
        self._at = None

    def _eval(self, p):
        key = p.tobytes()
        if self._at is None or self._at[0] != key:
            inputs = dict(self.fixed)
            inputs.update(zip(self.names, (float(v) for v in p)))
            value, grads = self.d(**inputs)
            r = np.broadcast_to(value, self.y.shape) - self.y
            J = np.empty((r.shape[0], len(self.names)))
            for k, name in enumerate(self.names):
                J[:, k] = grads[name]
            if self.sigma is not None:
                r = r / self.sigma
                J /= np.reshape(self.sigma, (-1, 1)) if np.ndim(self.sigma) else self.sigma
            self._at = (key, r, J)
            self.progress.step(float(r @ r))
        return self._at

    def rounding_noise(self):
        return rounding_noise(self.y, self.sigma)

    def fun(self, p):
        return self._eval(p)[1]

    def jac(self, p):
        return self._eval(p)[2]


def _run(optimize, res, x0, method, bounds, max_nfev):
    kwargs = dict(jac=res.jac, method=method, x_scale="jac", ftol=TOL, xtol=TOL, gtol=TOL,
                  max_nfev=max_nfev)
    if method != "lm":
        kwargs["bounds"] = bounds
    import warnings
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            out = optimize.least_squares(res.fun, x0, **kwargs)
        except (ValueError, np.linalg.LinAlgError) as exc:   # e.g. nan residuals at x0
            return None, str(exc)
    if not np.isfinite(out.cost):
        return None, "the loss is not finite"
    return out, out.message


def solve_squares(res, x0, method, bounds, n, max_nfev=None, lean=False):
    """The least-squares minimum from x0: see the module docstring for the strategy.
    ``lean`` (big and Dask data, where each evaluation is a pass over all of it): two
    solvers from the start ("trf" and "lm", or "trf" and "dogbox" with bounds) and one
    for the restarts, about half the evaluations (54 of 54 NIST fits still reach 6 digits)."""
    optimize = _scipy_optimize()
    p = len(x0)
    bounded = bounds is not None and (np.any(np.isfinite(bounds[0])) or np.any(np.isfinite(bounds[1])))
    if bounds is None:
        bounds = (-np.inf, np.inf)
    max_nfev = max_nfev or 200 * (p + 1)
    if method == "auto":
        methods = ["trf", "dogbox"] if bounded or n < p else ["trf", "lm", "dogbox"]
        methods = methods[:2] if lean else methods
    else:
        if method == "lm" and (bounded or n < p):
            raise FormulaError("method='lm' needs at least as many points as parameters and no bounds",
                               hint="use method='trf' (the default 'auto' chooses for you)")
        methods = [method]
    found, messages, nfev = [], [], 0
    for m in methods:
        out, msg = _run(optimize, res, x0, m, bounds, max_nfev)
        messages.append(f"{m}: {msg}")
        if out is not None:
            nfev += out.nfev
            found.append(out)
    if not found:
        return None, "; ".join(messages), nfev
    best = _choose(found, res, x0)
    polish = (["lm", "trf"] if "lm" in methods else ["trf", "dogbox"]) if method == "auto" else methods
    polish = polish[1:] if lean and method == "auto" else polish
    for round_ in range(6):     # restart the best point until the cost stops falling
        improved = False
        for m in polish:
            out, _ = _run(optimize, res, best.x, m, bounds, max_nfev)
            if out is not None:
                nfev += out.nfev
                if out.cost < best.cost * (1 - 1e-13) or (out.cost < best.cost and round_ == 0):
                    best, improved = out, True
        if not improved:
            break
    nfev += _polish(res, best, bounds if bounded else None)
    return best, best.message, nfev


POLISH_STEPS = 20   # at most; large-residual problems converge linearly (ENSO: by 0.65 a step)


def _polish(res, best, bounds):
    """Gauss-Newton steps from the solvers' point (in place), while each step is smaller
    than the one before and the cost does not rise beyond rounding. The solvers stop
    where a step no longer changes the cost to 1e-15, which on ill-conditioned problems
    leaves the parameters up to 1e-7 from the minimum (where the cost is flat to rounding
    but the gradient is not zero), at different places for different solver sequences
    (in-memory and Dask fits); these steps take both to the same point, the minimum as
    float64 residuals determine it. Returns the evaluations made."""
    x, r, J = best.x.copy(), best.fun, best.jac
    cost = 0.5 * float(r @ r)
    noise = res.rounding_noise()
    previous, evaluations = np.inf, 0
    for _ in range(POLISH_STEPS):
        scale = np.linalg.norm(J, axis=0)
        scale[~(scale > 0)] = 1.0
        with np.errstate(all="ignore"):
            try:
                step = np.linalg.lstsq(J / scale, -r, rcond=None)[0] / scale
            except np.linalg.LinAlgError:
                break
            size = float(np.max(np.abs(step) / np.maximum(np.abs(x), 1e-300)))
        if not np.isfinite(size) or size >= previous or size == 0.0:
            break
        trial = x + step
        if bounds is not None and (np.any(trial < bounds[0]) or np.any(trial > bounds[1])):
            break
        r_trial = res.fun(trial)
        evaluations += 1
        cost_trial = 0.5 * float(r_trial @ r_trial)
        # the cost's own rounding error: residual errors e of about 16 ulps of the data
        # change it by |r||e| + |e|^2/2, i.e. 2 sqrt(cost noise) + noise
        if not cost_trial <= cost + 2.0 * np.sqrt(cost * noise) + noise:
            break
        x, r, J, cost, previous = trial, r_trial, res.jac(trial), cost_trial, size
    best.x, best.fun, best.jac, best.cost = x, r, J, cost
    return evaluations


def _choose(found, res, x0):
    """The lowest cost; among costs equal to within rounding (a model with interchangeable
    terms, e.g. a sum of exponentials, has several minima of one cost), the minimum
    nearest the starting point, relative to its size: the one its start leads to."""
    low = min(out.cost for out in found)
    ties = [out for out in found if out.cost <= low + max(1e-10 * low, res.rounding_noise())]
    scale = np.where(x0 != 0, np.abs(x0), 1.0)
    return min(ties, key=lambda out: float(np.sum(((out.x - x0) / scale) ** 2)))


def rounding_noise(y, sigma):
    """Half the sum of squares of 16 ulps of each scaled observation: costs closer than
    this are equal to within the rounding of the data."""
    w = np.abs(np.asarray(y, dtype=float)) / (1.0 if sigma is None else np.abs(sigma))
    return noise_of(float(np.sum(w * w)))


def noise_of(scaled_squares):
    """``rounding_noise`` from the sum of the squared scaled observations (sum((y/sigma)**2))."""
    return 0.5 * (16 * np.finfo(float).eps) ** 2 * scaled_squares


ROUNDING_LEVEL = 1e-20   # loss / sum((y/sigma)**2) below which float64 residuals are rounding noise
EXACT_POINTS = 1000      # at most this many points are re-evaluated with 40 digits


def exact_cost(d, names, x, columns, target, cost):
    """The cost (half the loss) at the solution x, recomputed with 40 significant digits
    where float64 cannot resolve it: a fit to exact data (NIST's Lanczos1, rss 1.4e-25) has
    residuals at the rounding level of y, each then only good to a few digits, and the
    standard errors scale with sqrt(loss). Up to EXACT_POINTS points; the model is evaluated
    by SymPy (evalf, no code generated) at the float values of x and at the data as decimals
    (the shortest repr of each float: the numbers as written in the file, e.g. 0.05, not
    the binary float nearest it, whose rounding alone moves Lanczos1's rss by 9e-4).
    Elsewhere, or where SymPy cannot give a number, the float64 cost stands."""
    y = np.asarray(columns[target], dtype=float)
    sigma = columns.get("fit_sigma")
    w = y if sigma is None else y / sigma
    n = y.shape[0]
    if n > EXACT_POINTS or not 2 * cost <= ROUNDING_LEVEL * float(np.sum(w * w)):
        return cost
    try:
        import sympy
        expr = d.graph.to_sympy(d.root)
        symbols = {s.name: s for s in expr.free_symbols}
        at = expr.xreplace({symbols[k]: sympy.Float(float(v), 40) for k, v in zip(names, x) if k in symbols})
        cols = {k: np.broadcast_to(np.asarray(v, dtype=float), (n,)) for k, v in columns.items()
                if k in symbols and k not in names}
        total = sympy.Float(0, 40)
        for i in range(n):
            value = at.xreplace({symbols[k]: _decimal(c[i]) for k, c in cols.items()}).evalf(40)
            r = value - _decimal(y[i])
            if sigma is not None:
                r = r / _decimal(np.broadcast_to(sigma, (n,))[i])
            total += r * r
        exact = float(total) / 2
    except Exception:   # a function SymPy cannot evaluate numerically: keep float64's
        return cost
    return exact if np.isfinite(exact) else cost


def _decimal(v):
    """A data value as the decimal it was written as (its shortest repr), with 40 digits."""
    import sympy
    return sympy.Float(repr(float(v)), 40)


def covariance(J, cost, n, p, absolute_sigma=False):
    """curve_fit's covariance from the Jacobian at the solution, by SVD, with J's columns
    scaled to unit length first (and the result scaled back): the rank test then asks
    whether the parameters' directions are independent, not whether their units are alike.
    Unscaled, parameters of very different sizes (a diode's Is = 1e-15 A beside n = 1.5:
    columns 1e14 apart) fell below the relative threshold and came out inf."""
    J = np.asarray(J, dtype=float)
    norms = np.sqrt(np.sum(J * J, axis=0)) if J.size else np.ones(p)
    scale = np.where((norms > 0) & np.isfinite(norms), norms, 1.0)
    _, s, vt = np.linalg.svd(J / scale, full_matrices=False)
    threshold = np.finfo(float).eps * max(n, p) * (s[0] if len(s) else 0.0)   # J: n x p, or its R
    keep = s > threshold
    s, vt = s[keep], vt[keep]
    cov = (vt.T / s ** 2) @ vt / np.outer(scale, scale)
    if len(s) < p:
        return np.full((p, p), np.inf)
    if not absolute_sigma:
        if n > p:
            cov = cov * (2 * cost / (n - p))
        else:
            cov = np.full((p, p), np.inf)
    return cov


def _fit_squares(d, text, names, columns, n, target, x0, bounds, method, progress,
                 absolute_sigma, max_steps):
    if method == "auto" and n >= BIG:     # chunk by chunk: no n x p Jacobian in memory
        from .compressed_squares import CompressedResiduals, chunk_factor
        res = CompressedResiduals(lambda x: chunk_factor(d, names, columns, target, x), len(names),
                                  rounding_noise(columns[target], columns.get("fit_sigma")), progress)
        r = fit_residuals(res, d, text, names, columns, n, target, x0, bounds, method, progress,
                          absolute_sigma, max_steps)
        r.method = "auto, chunked QR"
        return r
    res = Residuals(d, names, columns, target, progress)
    return fit_residuals(res, d, text, names, columns, n, target, x0, bounds, method, progress,
                         absolute_sigma, max_steps)


def fit_residuals(res, d, text, names, columns, n, target, x0, bounds, method, progress,
                  absolute_sigma, max_steps, exact_columns=True, lean=None):
    """``solve_squares`` on ``res`` (``Residuals``, or ``CompressedResiduals`` for big or
    Dask data), and the result with curve_fit's covariance. ``exact_columns``: NumPy columns
    for ``exact_cost`` (True: ``columns`` themselves; None: skip it). ``lean``: see
    ``solve_squares`` (by default from ``BIG`` points on)."""
    bounded = np.any(np.isfinite(bounds[0])) or np.any(np.isfinite(bounds[1]))
    out, message, nfev = solve_squares(res, x0, method, bounds if bounded else None, n, max_steps,
                                       lean=n >= BIG if lean is None else lean)
    p = len(names)
    data = columns if exact_columns is True else None
    if out is None:
        progress.close("failed")
        nan = np.full(p, np.nan)
        return FitResult(text, d, names, x0, nan, np.full((p, p), np.nan), np.nan, False,
                         f"the solver failed: {message}", nfev, method, n, "squares", data, target)
    success = out.status > 0 and bool(np.all(np.isfinite(out.x)))
    if not success:
        message = f"did not converge: {message}"
    J = res.jac(out.x)
    cost = out.cost
    if exact_columns is not None:
        cost = exact_cost(d, names, out.x, columns if exact_columns is True else exact_columns(),
                          target, out.cost) if n <= EXACT_POINTS else out.cost
    cov = covariance(J, cost, n, p, absolute_sigma)
    stderr = np.sqrt(np.diag(cov))
    if success and n > p and not np.all(np.isfinite(stderr)):
        message = message.rstrip(".") + ("; the Jacobian is singular there: the parameters are not all determined "
                    "(standard errors inf; a degenerate model, or a start that led to a flat valley)")
    progress.close("converged" if success else "stopped")
    return FitResult(text, d, names, out.x, stderr, cov, 2 * cost, success, message, nfev,
                     method, n, "squares", data, target)
