"""Minimizers of a loss given as ``value_and_grad(x)`` (one fused pass over the data per
call): BFGS/L-BFGS-B with a Nelder-Mead polish (``minimize_loss``), and Adam. NumPy and
SciPy only."""
import math
import warnings

import numpy as np


def minimize_loss(value_and_grad, start, bounds, method="auto", max_steps=None, polish=True):
    """BFGS (L-BFGS-B with bounds) with the exact gradient, on parameters scaled by their
    starting size and the loss scaled by its starting value (so the tolerances are
    relative); then (``polish``) Nelder-Mead, since a kink of ``abs`` stalls a gradient
    method short of the minimum, alternating while the loss falls. Returns
    (x, loss, evaluations, success, message)."""
    from .least_squares import _scipy_optimize
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
