"""``symdiff.fit``: fit a formula model to data.

Every name of the model that is not a parameter comes from ``data``; the observations are
``data[target]``. Least squares (the default) runs ``scipy.optimize.least_squares`` on the
residuals ``(model - y)/sigma`` with the exact compiled per-point Jacobian (the elementwise
gradient ``differentiate(model, wrt=params)`` gives). Its defaults are meant to be robust
without tuning (``solve_squares``):

- tolerances at 1e-15 (the solvers stop when a step no longer changes anything), scaling
  ``x_scale="jac"`` (parameters of very different sizes);
- trust-region reflective ("trf"), Levenberg-Marquardt ("lm", MINPACK) and "dogbox" are
  each run from the starting point and the lowest cost wins; the winner is then restarted
  (alternating "lm" and "trf") until a restart no longer lowers the cost. A solver that
  stalls far from a minimum is thereby overruled by one that does not.
- from ``BIG`` points on, "auto" runs Levenberg-Marquardt on the normal equations instead,
  summed chunk by chunk (``normal_equations.py``, the algorithm of fits on Dask data):
  one pass over the data per step, no n x p Jacobian in memory.

Standard errors are ``curve_fit``'s: ``sqrt(diag(s^2 (J^T J)^-1))`` with ``s^2 = 2*cost/(n - p)``
(``absolute_sigma=True``: without the ``s^2``), from the SVD of the exact Jacobian.

Other losses (a formula in ``r``, the scaled residual, or "absolute"/"huber") minimize
``sum(loss(r))`` with ``scipy.optimize.minimize(jac=True)`` on the fused ``reduce="sum"``
kernel, starting from the least-squares fit; ``method="adam"`` runs Adam on the same
kernel for data too big for a Jacobian. SciPy is needed (the ``fit`` extra).
"""
import math
import sys
import time

import numpy as np

from .errors import FormulaError
from .parser import closest

LOSSES = {"squares": "r**2", "absolute": "abs(r)",
          "huber": "h = min(abs(r), 1)\nloss = h*(abs(r) - h/2)"}
METHODS = ("auto", "trf", "lm", "dogbox", "bfgs", "lbfgs", "adam")
TOL = 1e-15
BIG = 200_000       # points from which method="auto" solves the normal equations chunk by chunk


def _scipy_optimize():
    try:
        from scipy import optimize
    except ImportError:  # pragma: no cover - scipy is in the fit extra
        raise FormulaError("symdiff.fit needs SciPy", hint='pip install "symdiff-backprop[fit]"') from None
    return optimize


# --- input checks ---------------------------------------------------------------------
def _is_dask(v):
    return type(v).__module__.startswith("dask.")


def check_inputs(d, data, params, target, weights):
    """Split d's inputs into parameters and data columns; every problem is a FormulaError
    with a hint. Returns (columns, n): float64 columns (NumPy or Dask) and their length."""
    if not isinstance(data, dict) or not data:
        raise FormulaError("data must be a dict of columns, e.g. {'x': x, 'y': y}",
                           hint="pass data={'x': x_values, 'y': y_values}")
    if not isinstance(params, dict) or not params:
        raise FormulaError("params must be a dict of starting values, e.g. {'b1': 1.0}",
                           hint="pass params={'b1': 500, 'b2': 1e-4}")
    both = [k for k in params if k in data]
    if both:
        raise FormulaError(f"{both[0]!r} is given both as a parameter and as a data column",
                           hint="rename the column or drop it from params")
    for k, v in params.items():
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise FormulaError(f"the starting value of {k!r} is not a number: {v!r:.60}") from None
        if not math.isfinite(v):
            raise FormulaError(f"the starting value of {k!r} is {v}", hint="start from a finite number")
    unused = [k for k in params if k not in d.inputs]
    if unused:
        close = closest(unused[0], [k for k in d.inputs if k not in params])
        raise FormulaError(f"parameter {unused[0]!r} is not used by the model",
                           hint=(f"did you mean {close!r}? " if close else "")
                           + "the model's names: " + ", ".join(d.inputs))
    if target not in data:
        close = closest(target, list(data))
        raise FormulaError(f"the target column {target!r} is not in data",
                           hint=(f"did you mean target={close!r}? " if close else "")
                           + "data columns: " + ", ".join(data))
    missing = [k for k in d.inputs if k not in params and k not in data]
    if missing:
        close = closest(missing[0], list(data) + list(params))
        raise FormulaError(f"the model's name {missing[0]!r} is neither a parameter nor a data column",
                           hint=(f"did you mean {close!r}? " if close else "")
                           + f"give a starting value (params={{{missing[0]!r}: 1.0}}) or a column "
                           f"(data={{{missing[0]!r}: ...}})")
    if target in d.inputs:
        raise FormulaError(f"the target {target!r} is also a name in the model",
                           hint="the model predicts the target: leave it out of the formula")
    names = [k for k in d.inputs if k not in params] + [target]
    columns = {k: data[k] for k in names}
    if weights is not None:
        columns["fit_sigma"] = weights
    n = None
    for k, v in columns.items():
        what = "weights (sigma)" if k == "fit_sigma" else f"data column {k!r}"
        if _is_dask(v):
            if v.ndim != 1:
                raise FormulaError(f"{what} has shape {v.shape}", hint="give 1-D columns")
            length = v.shape[0]
        else:
            try:
                if isinstance(v, (str, bytes)) or np.asarray(v).dtype.kind not in "biuf":
                    raise TypeError
                v = np.asarray(v, dtype=np.float64)
            except (TypeError, ValueError):
                raise FormulaError(f"{what} is not numeric: {v!r:.60}",
                                   hint="give numbers (a list or a NumPy array)") from None
            if v.ndim > 1:
                raise FormulaError(f"{what} has shape {v.shape}", hint="give 1-D columns")
            bad = np.flatnonzero(~np.isfinite(v)) if v.ndim else ([] if np.isfinite(v) else [0])
            if len(bad):
                row = int(bad[0])
                raise FormulaError(f"{what} holds {v.reshape(-1)[row]} at row {row}"
                                   + (f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""),
                                   hint="drop or fill the rows with NaN or inf before fitting, "
                                   f"e.g. keep = np.isfinite({k if k != 'fit_sigma' else 'weights'})")
            length = v.shape[0] if v.ndim else None
        columns[k] = v
        if length is not None:
            if n is not None and length != n:
                first = next(c for c, w in columns.items() if not _is_dask(w) and np.ndim(w) or _is_dask(w))
                raise FormulaError(f"{what} has {length} rows but {first!r} has {n}",
                                   hint="give every column the same length")
            n = length if n is None else n
    if n is None:
        raise FormulaError("data holds no arrays, only single numbers", hint="give the observations as arrays")
    if weights is not None and not _is_dask(columns["fit_sigma"]):
        if np.any(columns["fit_sigma"] <= 0):
            raise FormulaError("weights (sigma) must be positive",
                               hint="weights are the standard deviations of the observations")
    return columns, n


# --- the result -----------------------------------------------------------------------
class FitResult:
    """What ``symdiff.fit`` returns: ``params`` and ``stderr`` (dicts by parameter),
    ``covariance`` (in the order of ``names``), ``loss``, ``success``, ``message``, ``steps``
    (model evaluations), ``predict(**data)``, ``source`` and ``plot()``."""

    def __init__(self, model, d, names, x, stderr, covariance, loss, success, message, steps,
                 method, n, loss_name, data=None, target="y", extra_source=""):
        self.model = model
        self.derivative = d
        self.names = list(names)
        self.params = {k: float(v) for k, v in zip(names, x)}
        self.stderr = {k: float(v) for k, v in zip(names, stderr)}
        self.covariance = covariance
        self.loss = float(loss)
        self.success = bool(success)
        self.message = message
        self.steps = int(steps)
        self.method = method
        self.n = n
        self.loss_name = loss_name
        self.target = target
        self._data = data
        self._extra_source = extra_source

    def predict(self, **data):
        """The model at the fitted parameters, on new data (the data names only)."""
        inputs = dict(self.params)
        clash = [k for k in data if k in inputs]
        if clash:
            raise FormulaError(f"{clash[0]!r} is a fitted parameter", hint="predict takes the data names only")
        inputs.update(data)
        return self.derivative.value(**inputs)

    @property
    def source(self):
        """The generated code the fit ran: the model's value and Jacobian (and the loss)."""
        return self.derivative.source + (("\n\n" + self._extra_source) if self._extra_source else "")

    def _rows(self):
        return [(k, self.params[k], self.stderr[k]) for k in self.names]

    def _header(self):
        state = "converged" if self.success else "NOT CONVERGED"
        return (f"symdiff fit of {self.model!r}: {state} ({self.message}), "
                f"loss {self.loss_name} = {self.loss:.10g}, {self.steps} evaluations, {self.n} points")

    def __str__(self):
        rows = self._rows()
        width = max(9, *(len(k) for k, _, _ in rows))
        lines = [self._header(), f"{'parameter':<{width}}  {'value':>18}  {'stderr':>12}"]
        lines += [f"{k:<{width}}  {v:>18.10g}  {s:>12.5g}" for k, v, s in rows]
        return "\n".join(lines)

    def __repr__(self):
        return f"<symdiff.FitResult {', '.join(f'{k}={v:.6g}' for k, v in self.params.items())}" \
               f"{'' if self.success else ' (not converged)'}>"

    def _repr_markdown_(self):
        lines = [self._header().replace("|", "\\|"), "", "| parameter | value | stderr |", "|---|---:|---:|"]
        lines += [f"| {k} | {v:.10g} | {s:.5g} |" for k, v, s in self._rows()]
        return "\n".join(lines)

    def _repr_html_(self):
        import html
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.10g}</td><td>{s:.5g}</td></tr>"
                       for k, v, s in self._rows())
        return (f"<p>{html.escape(self._header())}</p><table><tr><th>parameter</th><th>value</th>"
                f"<th>stderr</th></tr>{rows}</table>")

    def plot(self, x=None, ax=None, path=None):
        """Data, fitted curve and residuals (matplotlib, the ``plot`` extra). ``x``: the data
        column on the horizontal axis (default: the only one besides the target)."""
        from .fit_plot import plot
        return plot(self, x=x, ax=ax, path=path)


# --- least squares ----------------------------------------------------------------------
class Progress:
    """verbose=True: a line on stderr at most every half second (a tqdm bar when tqdm is
    installed), and a last line when the fit ends."""

    def __init__(self, verbose):
        self.verbose = verbose
        self.count = 0
        self.best = math.inf
        self._last = 0.0
        self._bar = None
        if verbose:
            try:
                from tqdm import tqdm
                self._bar = tqdm(desc="symdiff fit", unit=" eval", file=sys.stderr)
            except ImportError:
                pass

    def step(self, loss):
        self.count += 1
        if math.isfinite(loss):
            self.best = min(self.best, loss)
        if not self.verbose:
            return
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{self.best:.6g}", refresh=False)
            return
        now = time.monotonic()
        if now - self._last > 0.5:
            self._last = now
            print(f"symdiff fit: evaluation {self.count}, loss {self.best:.10g}", file=sys.stderr)

    def close(self, message):
        if not self.verbose:
            return
        if self._bar is not None:
            self._bar.close()
        print(f"symdiff fit: {message} after {self.count} evaluations, loss {self.best:.10g}", file=sys.stderr)


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


def solve_squares(res, x0, method, bounds, n, max_nfev=None):
    """The least-squares minimum from x0: see the module docstring for the strategy."""
    optimize = _scipy_optimize()
    p = len(x0)
    bounded = bounds is not None and (np.any(np.isfinite(bounds[0])) or np.any(np.isfinite(bounds[1])))
    if bounds is None:
        bounds = (-np.inf, np.inf)
    max_nfev = max_nfev or 200 * (p + 1)
    if method == "auto":
        methods = ["trf", "dogbox"] if bounded or n < p else ["trf", "lm", "dogbox"]
    else:
        if method == "lm" and (bounded or n < p):
            raise FormulaError("method='lm' needs at least as many points as parameters and no bounds",
                               hint="use method='trf' (the default 'auto' chooses for you)")
        methods = [method]
    best, messages, nfev = None, [], 0
    for m in methods:
        out, msg = _run(optimize, res, x0, m, bounds, max_nfev)
        messages.append(f"{m}: {msg}")
        if out is not None:
            nfev += out.nfev
            if best is None or out.cost < best.cost:
                best = out
    if best is None:
        return None, "; ".join(messages), nfev
    polish = (["lm", "trf"] if "lm" in methods else ["trf", "dogbox"]) if method == "auto" else methods
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
    return best, best.message, nfev


def covariance(J, cost, n, p, absolute_sigma=False):
    """curve_fit's covariance from the Jacobian at the solution, by SVD."""
    _, s, vt = np.linalg.svd(J, full_matrices=False)
    threshold = np.finfo(float).eps * max(J.shape) * (s[0] if len(s) else 0.0)
    keep = s > threshold
    s, vt = s[keep], vt[keep]
    cov = (vt.T / s ** 2) @ vt
    if len(s) < p:
        return np.full((p, p), np.inf)
    if not absolute_sigma:
        if n > p:
            cov = cov * (2 * cost / (n - p))
        else:
            cov = np.full((p, p), np.inf)
    return cov


# --- the entry point --------------------------------------------------------------------
def fit(model, data, params, target="y", loss="squares", method="auto", bounds=None,
        weights=None, verbose=False, absolute_sigma=False, max_steps=None, kernel="auto",
        lr=1e-3, steps=2000):
    """Fit ``model`` (formula text or a sympy.Expr) to ``data`` from the starting values
    ``params``; see the module docstring and docs/fit.md.

    ``target``: the data column holding the observations. ``loss``: "squares" (least
    squares), "absolute", "huber" or a formula in ``r`` (the residual divided by sigma).
    ``method``: "auto" (robust default), "trf"/"lm"/"dogbox" (one least-squares solver),
    "bfgs"/"lbfgs" (other losses) or "adam" (first-order, on the fused sum; ``lr`` and
    ``steps``). ``bounds``: ``{name: (low, high)}``. ``weights``: sigma per point (or one
    number). ``max_steps``: evaluations per solver run.
    """
    from .api import differentiate
    if method not in METHODS:
        raise FormulaError(f"unknown method {method!r}", hint="method is one of: " + ", ".join(METHODS))
    import warnings
    every = differentiate(model, kernel=kernel)        # all inputs: check the names first
    columns, n = check_inputs(every, data, params, target, weights)
    names = list(params)                                 # the order of the results
    with warnings.catch_warnings():                      # (dead statements were reported once)
        warnings.simplefilter("ignore")
        d = differentiate(model, wrt=names, kernel=kernel)
    low, high = _bounds(bounds, names)
    x0 = np.array([float(params[k]) for k in names])
    if np.any(x0 < low) or np.any(x0 > high):
        bad = names[int(np.flatnonzero((x0 < low) | (x0 > high))[0])]
        raise FormulaError(f"the starting value of {bad!r} is outside its bounds",
                           hint="start inside the bounds")
    text = model if isinstance(model, str) else str(model)
    if any(_is_dask(v) for v in columns.values()):
        from .dask_support import fit_dask
        return fit_dask(d, text, names, columns, n, target, x0, (low, high), loss, method,
                        verbose, absolute_sigma, max_steps)
    progress = Progress(verbose)
    if loss == "squares" and method not in ("bfgs", "lbfgs", "adam"):
        return _fit_squares(d, text, names, columns, n, target, x0, (low, high), method,
                            progress, absolute_sigma, max_steps)
    from .fit_losses import fit_loss
    return fit_loss(d, text, names, columns, n, target, x0, (low, high), loss, method,
                    progress, max_steps, lr, steps, kernel)


def _bounds(bounds, names):
    low, high = np.full(len(names), -np.inf), np.full(len(names), np.inf)
    if bounds is None:
        return low, high
    if not isinstance(bounds, dict):
        raise FormulaError("bounds must be a dict {name: (low, high)}", hint="bounds={'b1': (0, None)}")
    for k, pair in bounds.items():
        if k not in names:
            raise FormulaError(f"bounds for {k!r}, which is not a parameter",
                               hint="parameters: " + ", ".join(names))
        try:
            lo, hi = pair
            lo = -np.inf if lo is None else float(lo)
            hi = np.inf if hi is None else float(hi)
        except (TypeError, ValueError):
            raise FormulaError(f"bounds for {k!r} must be a pair (low, high)", hint="use None for no bound") from None
        if not lo < hi:
            raise FormulaError(f"bounds for {k!r}: low {lo} is not below high {hi}")
        low[names.index(k)], high[names.index(k)] = lo, hi
    return low, high


def _fit_squares(d, text, names, columns, n, target, x0, bounds, method, progress,
                 absolute_sigma, max_steps):
    if method == "auto" and n >= BIG:
        return _fit_big(d, text, names, columns, n, target, x0, bounds, progress, absolute_sigma, max_steps)
    res = Residuals(d, names, columns, target, progress)
    bounded = np.any(np.isfinite(bounds[0])) or np.any(np.isfinite(bounds[1]))
    out, message, nfev = solve_squares(res, x0, method, bounds if bounded else None, n, max_steps)
    p = len(names)
    if out is None:
        progress.close("failed")
        nan = np.full(p, np.nan)
        return FitResult(text, d, names, x0, nan, np.full((p, p), np.nan), np.nan, False,
                         f"the solver failed: {message}", nfev, method, n, "squares", columns, target)
    success = out.status > 0 and bool(np.all(np.isfinite(out.x)))
    if not success:
        message = f"did not converge: {message}"
    J = res.jac(out.x)
    cov = covariance(J, out.cost, n, p, absolute_sigma)
    stderr = np.sqrt(np.diag(cov))
    progress.close("converged" if success else "stopped")
    return FitResult(text, d, names, out.x, stderr, cov, 2 * out.cost, success, message, nfev,
                     method, n, "squares", columns, target)


def _fit_big(d, text, names, columns, n, target, x0, bounds, progress, absolute_sigma, max_steps):
    """method="auto" on n >= BIG points: Levenberg-Marquardt on the normal equations,
    summed chunk by chunk (symdiff/normal_equations.py), as fits on Dask data run. The
    n x p Jacobian is never held whole, and each step costs one pass over the data."""
    from .normal_equations import InMemoryMoments, covariance_from_normal, levenberg_marquardt
    moments = InMemoryMoments(d, names, columns, target, progress)
    x, c, A, success, message = levenberg_marquardt(moments, x0, bounds, max_steps or 500)
    if not success:
        message = f"did not converge: {message}"
    p = len(names)
    cov = covariance_from_normal(A, c, n, p, absolute_sigma)
    progress.close("converged" if success else "stopped")
    return FitResult(text, d, names, x, np.sqrt(np.diag(cov)), cov, c, success, message,
                     moments.passes, "normal-equations LM", n, "squares", columns, target)
