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
        if max_steps:
            options["maxfun"] = max_steps
    box = list(zip(bounds[0] / scale, bounds[1] / scale)) if bounded else None
    u, value, count = start / scale, math.inf, 1
    for _ in range(4 if polish else 1):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = optimize.minimize(scaled, u, jac=True, method=how,
                                    bounds=box if how == "L-BFGS-B" else None, options=options)
            count += out.nfev
            best = out
            capped = bool(max_steps) and out.status == 1   # stopped by the step cap: no polish
            if capped:
                break
            if polish:
                nm = _nelder_mead(optimize, lambda v: scaled(v)[0], out.x, box, max_steps)
                count += nm.nfev
                best = nm if nm.fun < out.fun else out
        improved = best.fun < value * (1 - 1e-14) if math.isfinite(value) else math.isfinite(best.fun)
        if improved:
            u, value = best.x, float(best.fun)
        if not improved or best is out:
            break
    if capped:
        u, value = out.x, float(out.fun)
        return u * scale, value * f0, count, False, \
            f"{how}: stopped after max_steps={max_steps} (not converged: {out.message})"
    # BFGS stops with "precision loss" at a kink of the loss (|r|) or at the rounding floor,
    # L-BFGS-B with "ABNORMAL" (its line search finds no lower loss): the polish checked it.
    stalled = "precision" in str(out.message) or "ABNORMAL" in str(out.message)
    success = bool(np.isfinite(value)) and (out.success or stalled)
    detail = str(out.message).strip().rstrip(":").strip()     # L-BFGS-B's bare "ABNORMAL: "
    message = f"converged (its line search found no lower loss: {detail})" if stalled else detail
    runaway = unbounded(u * scale, value * f0, start)
    if runaway:
        success, message = False, runaway
    return u * scale, value * f0, count, success, \
        f"{how}{', then Nelder-Mead' if polish else ''}: {message}"


def unbounded(x, value, start):
    """A message when the loss fell without bound (it reached -inf, or the parameters ran
    off past 1e100 times their starting size): a loss such as -r**2 has no minimum to
    find. None otherwise."""
    size = float(np.max(np.abs(x))) if len(x) else 0.0
    limit = 1e100 * max(1.0, float(np.max(np.abs(start))) if len(start) else 1.0)
    if value == -math.inf or not math.isfinite(size) or size > limit:
        return (f"the loss has no minimum: it fell to {value:.6g} with parameters of size {size:.3g} "
                "(a loss of r must be bounded below, e.g. r**2, abs(r), log(1 + r**2))")
    return None


def _nelder_mead(optimize, f, u, box, max_steps=None):
    """scipy's Nelder-Mead on ``f`` of scaled parameters ``u`` (tolerances near rounding;
    at most ``max_steps`` evaluations when given)."""
    p = len(u)
    evaluations = 400 * (p + 1) if not max_steps else min(400 * (p + 1), max_steps)
    return optimize.minimize(f, u, method="Nelder-Mead", bounds=box,
                             options={"xatol": 1e-13, "fatol": 1e-15, "maxfev": evaluations,
                                      "adaptive": p > 2})


def polish(value_and_grad, x, value, bounds):
    """Nelder-Mead from ``x`` (parameters scaled by their size, the loss by its value), for
    losses with a kink: a gradient method stalls there short of the minimum (Adam on a least
    absolute deviations fit stopped 1.6% above it). Returns (x, loss, evaluations); ``x``
    is kept unless Nelder-Mead found a lower loss."""
    from .least_squares import _scipy_optimize
    optimize = _scipy_optimize()
    x = np.asarray(x, dtype=float)
    scale = np.where(x != 0, np.abs(x), 1.0)
    f0 = abs(value) if math.isfinite(value) and value != 0 else 1.0
    bounded = np.any(np.isfinite(bounds[0])) or np.any(np.isfinite(bounds[1]))
    box = list(zip(bounds[0] / scale, bounds[1] / scale)) if bounded else None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        nm = _nelder_mead(optimize, lambda v: value_and_grad(v * scale)[0] / f0, x / scale, box)
    if math.isfinite(nm.fun) and nm.fun * f0 < value:
        return nm.x * scale, float(nm.fun) * f0, nm.nfev
    return x, value, nm.nfev


def adam(value_and_grad, x0, bounds, n, lr, steps, kinked=False, **options):
    """:func:`adam_steps`, then, for a loss with a kink (``kinked``) where it converged,
    :func:`polish`. Returns (x, loss, evaluations, message, success)."""
    x, value, count, message, success = adam_steps(value_and_grad, x0, bounds, n, lr, steps, **options)
    runaway = unbounded(x, value, np.asarray(x0, dtype=float))
    if runaway:
        return x, value, count, f"adam: {runaway}", False
    if success and kinked:
        x, value, more = polish(value_and_grad, x, value, bounds)
        count, message = count + more, message + ", then Nelder-Mead (the loss has a kink)"
    return x, value, count, message, success


def adam_steps(value_and_grad, x0, bounds, n, lr, steps, beta1=0.9, beta2=0.999, eps=1e-12,
               patience=50, settle=1e-4):
    """Full-batch Adam on the mean loss; ``lr`` is relative to each parameter's starting
    size (|x0|, or 1 where x0 is 0), so parameters of any scale move alike.

    Plain Adam at a fixed rate circles the minimum at a distance set by the rate and never
    says whether it got there. Here, when the best loss has not fallen for ``patience``
    steps (or the loss is not finite), the rate is halved and Adam restarts from the best
    point; the fit has converged when the loss no longer falls even at ``settle`` times the
    starting rate. Running out of ``steps`` before that is reported: success False.
    Returns (x, loss, evaluations, message, success)."""
    scale = np.where(x0 != 0, np.abs(x0), 1.0)
    x = np.array(x0, dtype=float)
    best_x, best = x.copy(), math.inf
    m, v, t, rate, since = np.zeros_like(x), np.zeros_like(x), 0, float(lr), 0
    for step in range(1, steps + 1):
        value, g = value_and_grad(x)
        finite = math.isfinite(value) and bool(np.all(np.isfinite(g)))
        if finite and (value < best - 1e-15 * abs(best) if math.isfinite(best) else True):
            best, best_x, since = value, x.copy(), 0
        else:
            since += 1
        if not finite or since >= patience:      # settle: a smaller rate, from the best point
            rate, since = rate / 2, 0
            if not math.isfinite(best):
                return best_x, best, step, f"adam: the loss is {value} at the starting point", False
            if rate < lr * settle:
                return best_x, best, step, f"adam: converged after {step} steps", True
            x, m, v, t = best_x.copy(), np.zeros_like(x), np.zeros_like(x), 0
            continue
        t += 1
        g = g * scale / n
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        move = rate * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
        x = np.clip(x - move * scale, bounds[0], bounds[1])
    return best_x, best, steps, (f"adam: did not converge in {steps} steps (the loss was still "
                                 f"falling at rate {rate / lr:.3g} x lr); raise steps= or lr= (and check that "
                                 f"the loss has a minimum: it is {best:.6g} at the end)"), False
