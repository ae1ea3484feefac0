"""``symdiff.fit``: fit a formula model to data.

Every name of the model that is not a parameter comes from ``data``; the observations are
``data[target]``. Least squares (the default) runs ``scipy.optimize.least_squares`` on the
residuals ``(model - y)/sigma`` with the exact compiled per-point Jacobian (the elementwise
gradient ``differentiate(model, wrt=params)`` gives; ``least_squares.py``). Its defaults are
meant to be robust without tuning (``solve_squares``):

- tolerances at 1e-15 (the solvers stop when a step no longer changes anything), scaling
  ``x_scale="jac"`` (parameters of very different sizes);
- trust-region reflective ("trf"), Levenberg-Marquardt ("lm", MINPACK) and "dogbox" are
  each run from the starting point and the lowest cost wins; the winner is then restarted
  (alternating "lm" and "trf") until a restart no longer lowers the cost. A solver that
  stalls far from a minimum is thereby overruled by one that does not.
- from ``BIG`` points on, "auto" runs the same solvers on the R factor of ``[J | r]``,
  built chunk by chunk (``compressed_squares.py``, the algorithm of fits on Dask data):
  one pass over the data per evaluation, no n x p Jacobian in memory, the same answer.

Standard errors are ``curve_fit``'s: ``sqrt(diag(s^2 (J^T J)^-1))`` with ``s^2 = 2*cost/(n - p)``
(``absolute_sigma=True``: without the ``s^2``), from the SVD of the exact Jacobian.

Other losses (a formula in ``r``, the scaled residual, or "absolute"/"huber") minimize
``sum(loss(r))`` with ``scipy.optimize.minimize(jac=True)`` on the fused ``reduce="sum"``
kernel, starting from the least-squares fit; ``method="adam"`` runs Adam on the same
kernel for data too big for a Jacobian. SciPy is needed (the ``fit`` extra).
"""
import math

import numpy as np

from .errors import FormulaError
from .fit_result import FitResult  # noqa: F401  (symdiff.FitResult)
from .parser import closest

METHODS = ("auto", "trf", "lm", "dogbox", "bfgs", "lbfgs", "adam")


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
            raise FormulaError(f"the starting value of {k!r} is not a number: {v!r:.60}",
                               hint=f"params={{{k!r}: 1.0}}") from None
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
    if "fit_sigma" in d.inputs:   # where the fit keeps the weights: the column would be taken for them
        raise FormulaError("the model uses the name 'fit_sigma', which is reserved for the weights (sigma)",
                           hint="rename it in the model and in data; give weights with weights=...")
    names = [k for k in d.inputs if k not in params] + [target]
    columns = {k: data[k] for k in names}
    if isinstance(weights, str):      # the name of a data column, as the CLI's --weights COLUMN
        if weights not in data:
            close = closest(weights, list(data))
            raise FormulaError(f"weights names {weights!r}, which is not a data column",
                               hint=(f"did you mean {close!r}? " if close else "")
                               + "data columns: " + ", ".join(data))
        weights = data[weights]
    if weights is not None:
        columns["fit_sigma"] = weights
    n = None
    for k, v in columns.items():
        what = "weights (sigma)" if k == "fit_sigma" else f"data column {k!r}"
        if _is_dask(v):
            if v.dtype.kind not in "biuf":
                raise FormulaError(f"{what} is a Dask array of {v.dtype}, not numbers",
                                   hint="give numbers (convert the column with .astype(float) once it "
                                   "holds number text only)")
            if v.ndim != 1:
                raise FormulaError(f"{what} has shape {v.shape}", hint="give 1-D columns")
            from .dask_support import known_chunks
            v = known_chunks(v)
            length = v.shape[0]
        else:
            if isinstance(v, np.ma.MaskedArray):
                raise FormulaError(f"{what} is a masked array; the fit would ignore its mask",
                                   hint="drop the masked rows from every column first (e.g. keep = "
                                   "~np.ma.getmaskarray(x) & ~np.ma.getmaskarray(y), then x.data[keep], "
                                   "y.data[keep]), or pass .filled(np.nan) to have them reported")
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
    if np.ndim(columns[target]) != 1:
        raise FormulaError(f"the target column {target!r} is a single number",
                           hint="give one observation per data point: an array as long as the other columns")
    if n < len(params):     # nothing to fit, or more unknowns than equations: no unique answer
        raise FormulaError(f"{n} data point{'' if n == 1 else 's'} for {len(params)} parameters"
                           + (f" ({', '.join(params)})" if n else ""),
                           hint="a fit needs at least as many points as parameters (more, for standard errors)")
    if weights is not None and not _is_dask(columns["fit_sigma"]):
        if np.any(columns["fit_sigma"] <= 0):
            raise FormulaError("weights (sigma) must be positive",
                               hint="weights are the standard deviations of the observations")
    return columns, n


# --- the entry point --------------------------------------------------------------------
def fit(model, data, params, target="y", loss="squares", method="auto", bounds=None,
        weights=None, verbose=False, absolute_sigma=False, max_steps=None, kernel="auto",
        lr=0.1, steps=10000):
    """Fit ``model`` (formula text or a sympy.Expr) to ``data`` from the starting values
    ``params``; see the module docstring and docs/fit.md.

    ``target``: the data column holding the observations. ``loss``: "squares" (least
    squares), "absolute", "huber" or a formula in ``r`` (the residual divided by sigma).
    ``method``: "auto" (robust default), "trf"/"lm"/"dogbox" (one least-squares solver),
    "bfgs"/"lbfgs" (other losses) or "adam" (first-order, on the fused sum; ``lr``,
    relative to each parameter's starting size, is halved whenever the loss stops falling,
    and the fit has converged when it no longer falls at 1e-4 of ``lr``; at most ``steps``
    passes, then ``success`` is False). ``bounds``: ``{name: (low, high)}``. ``weights``: sigma per point (or one
    number, or the name of a data column). ``max_steps``: evaluations per solver run.
    """
    from .api import differentiate
    if method not in METHODS:
        raise FormulaError(f"unknown method {method!r}", hint="method is one of: " + ", ".join(METHODS))
    _check_options(max_steps, lr, steps)
    data, params = _as_dict(data), _as_dict(params)
    import warnings
    every = differentiate(model, kernel=kernel)        # all inputs: check the names first
    _check_constants(every, data, params)
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
    if callable(model):     # a Python function: the traced formula's text (losses and Adam parse it)
        text = str(every.graph.to_sympy(every.root))
    if any(_is_dask(v) for v in columns.values()):
        from .dask_support import fit_dask
        from .fit_losses import loss_derivative
        first_order = loss != "squares" or method in ("bfgs", "lbfgs", "adam")
        total = loss_derivative(text, target, loss, names, kernel) if first_order else None
        return _given(data, fit_dask(d, text, names, columns, n, target, x0, (low, high), loss,
                                     total, verbose, absolute_sigma, max_steps, method, lr, steps))
    from .fit_result import Progress
    progress = Progress(verbose)
    if loss == "squares" and method not in ("bfgs", "lbfgs", "adam"):
        from .least_squares import _fit_squares
        return _given(data, _fit_squares(d, text, names, columns, n, target, x0, (low, high),
                                         method, progress, absolute_sigma, max_steps))
    from .fit_losses import fit_loss
    return _given(data, fit_loss(d, text, names, columns, n, target, x0, (low, high), loss,
                                 method, progress, max_steps, lr, steps, kernel, absolute_sigma))


def _check_options(max_steps, lr, steps):
    """The solver options are numbers in range (a negative lr would leave Adam at the start
    and call that converged)."""
    for name, value, least in (("max_steps", max_steps, 1), ("steps", steps, 1)):
        if value is None and name == "max_steps":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise FormulaError(f"{name} must be a whole number of at least {least}, not {value!r:.40}",
                               hint=f"e.g. {name}=1000")
    try:
        ok = not isinstance(lr, bool) and math.isfinite(float(lr)) and float(lr) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise FormulaError(f"lr must be a positive number, not {lr!r:.40}",
                           hint="lr is relative to each parameter's starting size, e.g. lr=0.1")


def _as_dict(value):
    """A mapping, or a table with named columns (a pandas DataFrame), as a dict; anything
    else as it is (check_inputs says what is wrong with it)."""
    from collections.abc import Mapping
    if isinstance(value, dict):
        return value
    if isinstance(value, Mapping) or (hasattr(value, "columns") and hasattr(value, "items")):
        return dict(value.items())
    return value


def _given(data, result):
    """The result, knowing the names of the data it was fitted to: ``predict(**data)`` takes
    that same dict (its target and other columns the model does not read are left out)."""
    result.data_names = tuple(data)
    return result


def _check_constants(d, data, params):
    """A data column or parameter named like a constant the model uses (``e``, ``pi``): the
    formula reads the constant, and the column would be left out without a word."""
    from .functions import CONSTANTS
    used = {node.text for node in d.graph.nodes if node.op == "const"}
    for k in list(params if isinstance(params, dict) else ()) + list(data if isinstance(data, dict) else ()):
        if k in CONSTANTS and CONSTANTS[k][1] in used and k not in d.inputs:
            what = "parameter" if isinstance(params, dict) and k in params else "data column"
            raise FormulaError(f"{what} {k!r} has the name of the constant {k} = {CONSTANTS[k][0]:.6g}, "
                               "which the model reads as that constant",
                               hint=f"rename it in the model and in {'params' if what == 'parameter' else 'data'}"
                               f" (e.g. {k}1)")


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
            raise FormulaError(f"bounds for {k!r}: low {lo} is not below high {hi}",
                               hint=f"bounds={{{k!r}: (low, high)}} with low < high; None for no bound")
        low[names.index(k)], high[names.index(k)] = lo, hi
    return low, high
