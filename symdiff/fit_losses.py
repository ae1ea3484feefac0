"""Fits with losses other than least squares, and first-order fits (see symdiff/fitting.py).

The loss is one formula program: the model's lines, then ``r = (model - y)/fit_sigma`` and
``fit_loss = <loss of r>``, differentiated with ``reduce="sum"``: each evaluation is one
fused pass over the data giving the total loss and its gradient with respect to the
parameters, with no per-point array. ``scipy.optimize.minimize(jac=True)`` (BFGS, or
L-BFGS-B with bounds) minimizes it, starting from the least-squares fit, and Nelder-Mead
polishes the result (a kink of ``abs`` stalls a gradient method short of the minimum);
the two alternate while the loss falls. On Dask data (each of its hundreds of evaluations
is a distributed pass) the polish runs only for losses with kinks ("absolute", "huber",
abs in a formula: the ops marked ``kink`` in the op table), where BFGS alone stops short. ``method="adam"``
runs Adam on the same kernel.

Standard errors are reported for least squares only (NaN for other losses).
"""
import re
import warnings

import numpy as np

from .errors import FormulaError
from .functions import has_kink
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
                               hint="a named loss is 'squares', 'absolute' or 'huber'; "
                                    'a formula loss uses r, e.g. loss="log(1 + r**2)"')
        if "r" not in names:    # a constant: every parameter value would be a minimum
            raise FormulaError(f"the loss formula {loss!r:.60} does not use r (the scaled residual)",
                               hint='write the loss of one residual r, e.g. loss="log(1 + r**2)"')
        body = f"fit_loss = {loss}"
    program, output = model_program(text)
    return f"{program}\nr = ({output} - {target})/fit_sigma\n{body}"


def loss_derivative(text, target, loss, names, kernel="auto"):
    """The loss program differentiated with ``reduce="sum"``: total loss and gradient."""
    from .api import differentiate
    if not isinstance(text, str) or not text:
        raise FormulaError("losses other than squares need the model as text")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return differentiate(loss_program(text, target, loss), wrt=names, reduce="sum", kernel=kernel)


def fit_loss(d, text, names, columns, n, target, x0, bounds, loss, method, progress,
             max_steps, lr, steps, kernel, absolute_sigma=False):
    from .fit_result import FitResult, Progress
    from .least_squares import Residuals, _fit_squares, covariance
    from .minimize import adam, minimize_loss
    total = loss_derivative(text, target, loss, names, kernel)
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
        squares = _fit_squares(d, text, names, columns, n, target, x0, bounds, "auto",
                               Progress(False), False, max_steps)
        if squares.success:
            start = np.array([squares.params[k] for k in names])
    if method == "adam":
        x, value, count, message, success = adam(value_and_grad, start, bounds, n, lr, steps,
                                                 kinked=has_kink(total.graph))
    else:
        x, value, count, success, message = minimize_loss(value_and_grad, start, bounds, method, max_steps)
        if squares is not None and squares.success:
            count += squares.steps
    stderr, cov = np.full(p, np.nan), np.full((p, p), np.nan)
    if loss == "squares" and success:        # Adam on least squares: the usual errors
        res = Residuals(d, names, columns, target, Progress(False))
        r = res.fun(x)
        cov = covariance(res.jac(x), 0.5 * float(r @ r), n, p, absolute_sigma)
        stderr = np.sqrt(np.diag(cov))
    progress.close("converged" if success else "stopped")
    return FitResult(text, d, names, x, stderr, cov, value, success, message, count, method, n,
                     loss if isinstance(loss, str) and loss in BUILTIN else f"sum({loss})",
                     columns, target, extra_source=total.source)
