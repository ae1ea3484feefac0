"""Fits with losses other than least squares, and first-order fits (see symdiff/fitting.py).

The loss is one formula program: the model's lines, then ``r = (model - y)/fit_sigma`` and
``fit_loss = <loss of r>``, differentiated with ``reduce="sum"``: each evaluation is one
fused pass over the data giving the total loss and its gradient with respect to the
parameters, with no per-point array. ``scipy.optimize.minimize(jac=True)`` (BFGS, or
L-BFGS-B with bounds) minimizes it, starting from the least-squares fit, and Nelder-Mead
polishes the result (a kink of ``abs`` stalls a gradient method short of the minimum);
the two alternate while the loss falls. On Dask data the polish is left out (each of its
hundreds of evaluations would be a distributed pass): losses with kinks ("absolute")
are then only as exact as BFGS gets at a kink. ``method="adam"``
runs Adam on the same kernel.

Standard errors are reported for least squares only (NaN for other losses).
"""
import math
import re
import warnings

import numpy as np

from .errors import FormulaError
from .parser import parse

BUILTIN = {"squares": "fit_loss = r**2", "absolute": "fit_loss = abs(r)",
           "huber": "fit_h = min(abs(r), 1)\nfit_loss = fit_h*(abs(r) - fit_h/2)"}
RESERVED = ("r", "fitted", "fit_sigma", "fit_h", "fit_loss")


def model_program(text):
    """(program text, name of its output): a bare last expression gets the name 'fitted'."""
    parsed = parse(text)
    if parsed.output_name:
        return text, parsed.output_name
    body = text.rstrip()
    cut = max(body.rfind("\n"), body.rfind(";"))
    return (body[:cut + 1] if cut >= 0 else "") + "fitted = " + body[cut + 1:].strip(), "fitted"


def loss_program(text, target, loss):
    """The loss program for ``model`` text: the model, the residual r, the loss of r."""
    used = set(parse(text).graph.inputs) | set(re.findall(r"[A-Za-z_]\w*", text))
    clash = [k for k in RESERVED if k in used]
    if clash:
        raise FormulaError(f"the model uses the name {clash[0]!r}, which the loss formula needs",
                           hint=f"rename {clash[0]!r} in the model (reserved for the loss: "
                           + ", ".join(RESERVED) + ")")
    if loss in BUILTIN:
        body = BUILTIN[loss]
    else:
        if not isinstance(loss, str) or "\n" in loss or ";" in loss or "=" in loss.replace("==", ""):
            raise FormulaError(f"loss must be 'squares', 'absolute', 'huber' or one formula in r, not {loss!r:.60}",
                               hint='e.g. loss="log(1 + r**2)"')
        names = set(parse(loss).graph.inputs)
        if names - {"r"}:
            other = sorted(names - {"r"})[0]
            raise FormulaError(f"the loss formula uses {other!r}; it can only use r (the scaled residual)",
                               hint='e.g. loss="log(1 + r**2)"')
        body = f"fit_loss = {loss}"
    program, output = model_program(text)
    return f"{program}\nr = ({output} - {target})/fit_sigma\n{body}"


def fit_loss(d, text, names, columns, n, target, x0, bounds, loss, method, progress,
             max_steps, lr, steps, kernel):
    from .api import differentiate
    from .fitting import FitResult, _fit_squares, _scipy_optimize
    if not isinstance(text, str) or not text:
        raise FormulaError("losses other than squares need the model as text")
    source = loss_program(text, target, loss)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        total = differentiate(source, wrt=names, reduce="sum", kernel=kernel)
    fixed = {k: v for k, v in columns.items() if k in total.inputs and k != "fit_sigma"}
    fixed["fit_sigma"] = columns.get("fit_sigma", 1.0)
    for k in total.inputs:
        if k not in fixed and k not in names:
            fixed[k] = columns[k]
    p = len(names)

    def value_and_grad(x):
        inputs = dict(fixed)
        inputs.update(zip(names, (float(v) for v in x)))
        value, grads = total(**inputs)
        progress.step(value)
        return value, np.array([grads[k] for k in names])

    squares = None
    start = x0
    if method != "adam" and loss != "squares":       # start from the least-squares fit
        from .fitting import Progress
        squares = _fit_squares(d, text, names, columns, n, target, x0, bounds, "auto",
                               Progress(False), False, max_steps)
        if squares.success:
            start = np.array([squares.params[k] for k in names])
    if method == "adam":
        x, value, count, message, success = adam(value_and_grad, start, bounds, n, lr, steps)
    else:
        x, value, count, success, message = minimize_loss(value_and_grad, start, bounds, method, max_steps)
        if squares is not None and squares.success:
            count += squares.steps
    stderr, cov = np.full(p, np.nan), np.full((p, p), np.nan)
    if loss == "squares" and success:        # Adam on least squares: the usual errors
        from .fitting import Residuals, covariance, Progress
        res = Residuals(d, names, columns, target, Progress(False))
        r = res.fun(x)
        cov = covariance(res.jac(x), 0.5 * float(r @ r), n, p)
        stderr = np.sqrt(np.diag(cov))
    progress.close("converged" if success else "stopped")
    return FitResult(text, d, names, x, stderr, cov, value, success, message, count, method, n,
                     loss if isinstance(loss, str) and loss in BUILTIN else f"sum({loss})",
                     columns, target, extra_source=total.source)


def minimize_loss(value_and_grad, start, bounds, method="auto", max_steps=None, polish=True):
    """BFGS (L-BFGS-B with bounds) with the exact gradient, on parameters scaled by their
    starting size and the loss scaled by its starting value (so the tolerances are
    relative); then (``polish``) Nelder-Mead, since a kink of ``abs`` stalls a gradient
    method short of the minimum, alternating while the loss falls. Returns
    (x, loss, evaluations, success, message)."""
    from .fitting import _scipy_optimize
    optimize = _scipy_optimize()
    start = np.asarray(start, dtype=float)
    p = len(start)
    scale = np.where(start != 0, np.abs(start), 1.0)
    f0 = abs(value_and_grad(start)[0])
    f0 = f0 if math.isfinite(f0) and f0 > 0 else 1.0

    def scaled(u):
        value, grad = value_and_grad(u * scale)
        return value / f0, grad * scale / f0

    bounded = np.any(np.isfinite(bounds[0])) or np.any(np.isfinite(bounds[1]))
    how = "L-BFGS-B" if bounded or method == "lbfgs" else "BFGS"
    options = {"maxiter": max_steps or 2000 * (p + 1)}
    if how == "BFGS":
        options["gtol"] = 1e-14
    else:
        options.update(ftol=1e-15, gtol=1e-14)
    box = list(zip(bounds[0] / scale, bounds[1] / scale)) if bounded else None
    u, value, count = start / scale, math.inf, 1
    for _ in range(4 if polish else 1):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = optimize.minimize(scaled, u, jac=True, method=how,
                                    bounds=box if how == "L-BFGS-B" else None, options=options)
            count += out.nfev
            best = out
            if polish:
                nm = optimize.minimize(lambda v: scaled(v)[0], out.x, method="Nelder-Mead", bounds=box,
                                       options={"xatol": 1e-13, "fatol": 1e-15,
                                                "maxfev": 400 * (p + 1), "adaptive": p > 2})
                count += nm.nfev
                best = nm if nm.fun < out.fun else out
        improved = best.fun < value * (1 - 1e-14) if math.isfinite(value) else math.isfinite(best.fun)
        if improved:
            u, value = best.x, float(best.fun)
        if not improved or best is out:
            break
    # BFGS stops with "precision loss" at a kink of the loss (|r|): the polish checked it.
    success = bool(np.isfinite(value)) and (out.success or "precision" in str(out.message))
    return u * scale, value * f0, count, success, \
        f"{how}{', then Nelder-Mead' if polish else ''}: {out.message}"


def adam(value_and_grad, x0, bounds, n, lr, steps, beta1=0.9, beta2=0.999, eps=1e-12):
    """Full-batch Adam on the mean loss; ``lr`` is relative to each parameter's starting
    size (|x0|, or 1 where x0 is 0), so parameters of any scale move alike."""
    scale = np.where(x0 != 0, np.abs(x0), 1.0)
    x = np.array(x0, dtype=float)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    best_x, best = x.copy(), math.inf
    value = math.nan
    for t in range(1, steps + 1):
        value, g = value_and_grad(x)
        if not np.isfinite(value) or not np.all(np.isfinite(g)):
            return best_x, best, t, f"adam: the loss became {value} at step {t}", math.isfinite(best)
        if value < best:
            best, best_x = value, x.copy()
        g = g * scale / n
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        step = lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
        x = np.clip(x - step * scale, bounds[0], bounds[1])
    value, _ = value_and_grad(x)
    if value < best:
        best, best_x = value, x
    return best_x, best, steps + 1, f"adam: {steps} steps", True
