"""Least squares on the normal equations: Levenberg-Marquardt that sees the data only
through ``moments(x) -> (J^T J, J^T r, r^T r)``, and curve_fit's covariance from J^T J.

Used where the n x p Jacobian should never be held whole: Dask data (each call is one
distributed pass, symdiff/dask_support.py) and big in-memory data (``InMemoryMoments``:
chunks of ``CHUNK`` points). NumPy only.
"""
import math
import sys
import time

import numpy as np

CHUNK = 1 << 16     # points per in-memory chunk: its Jacobian stays in cache


class InMemoryMoments:
    """(J^T J, J^T r, r^T r) of NumPy data, chunk by chunk (``Residuals``' weighting)."""

    def __init__(self, d, names, columns, target, progress=None):
        self.d = d
        self.names = names
        self.columns = columns
        self.target = target
        self.progress = progress
        self.n = len(columns[target])
        self.passes = 0

    def __call__(self, x):
        p = len(self.names)
        A, g, c = np.zeros((p, p)), np.zeros(p), 0.0
        params = dict(zip(self.names, (float(v) for v in x)))
        sigma = self.columns.get("fit_sigma")
        for start in range(0, self.n, CHUNK):
            part = slice(start, min(start + CHUNK, self.n))
            inputs = {k: (v[part] if np.ndim(v) else v) for k, v in self.columns.items()
                      if k in self.d.inputs}
            inputs.update(params)
            value, grads = self.d(**inputs)
            y = self.columns[self.target][part]
            r = np.broadcast_to(value, y.shape) - y
            J = np.empty((p, r.shape[0]))
            for k, name in enumerate(self.names):
                J[k] = grads[name]
            if sigma is not None:
                s = sigma[part] if np.ndim(sigma) else sigma
                r = r / s
                J /= s
            A += np.einsum("ij,kj->ik", J, J)   # einsum, not BLAS: its threads cost more than
            g += np.einsum("ij,j->i", J, r)     # they save on products this thin
            c += float(np.einsum("i,i->", r, r))
        self.passes += 1
        if self.progress is not None:
            self.progress.step(c)
        return A, g, c


def levenberg_marquardt(moments, x0, bounds, max_passes=500, verbose=False):
    """Levenberg-Marquardt with Marquardt's diagonal scaling on the normal equations
    (Nielsen's damping update). Stops when a step changes the parameters by less than
    1e-12 relative, or the cost by less than 1e-15 relative."""
    x = np.array(x0, dtype=float)
    A, g, c = moments(x)
    if not math.isfinite(c):
        return x, c, A, False, "the loss is not finite at the starting values"
    D = np.maximum(np.diag(A), 1e-300)
    mu, nu = 1e-3, 2.0
    message, success = "reached the pass limit", False
    last = time.monotonic()
    while moments.passes < max_passes:
        D = np.maximum(D, np.diag(A))
        try:
            h = np.linalg.solve(A + mu * np.diag(D), -g)
        except np.linalg.LinAlgError:
            mu, nu = mu * nu, nu * 2
            continue
        x_new = np.clip(x + h, bounds[0], bounds[1])
        h = x_new - x
        if np.all(np.abs(h) <= 1e-12 * (np.abs(x) + 1e-12)):
            message, success = "the step is below 1e-12 relative", True
            break
        A_new, g_new, c_new = moments(x_new)
        predicted = 0.5 * float(h @ (mu * D * h - g))
        rho = (0.5 * c - 0.5 * c_new) / predicted if predicted > 0 else -1.0
        if math.isfinite(c_new) and rho > 0:
            drop = c - c_new
            x, A, g, c = x_new, A_new, g_new, c_new
            mu *= max(1 / 3, 1 - (2 * rho - 1) ** 3)
            nu = 2.0
            if drop <= 1e-15 * c:
                message, success = "the loss changes by less than 1e-15 relative", True
                break
        else:
            mu, nu = mu * nu, nu * 2
            if mu > 1e300:
                message = "the damping grew without bound (no step lowers the loss)"
                break
        if verbose and time.monotonic() - last > 0.5:
            last = time.monotonic()
            print(f"symdiff fit (dask): pass {moments.passes}, loss {c:.10g}", file=sys.stderr)
    return x, c, A, success, message


def covariance_from_normal(A, c, n, p, absolute_sigma):
    """curve_fit's covariance from J^T J: scaled to unit diagonal, then inverted over the
    eigenvalues above curve_fit's cut on the singular values of J (squared)."""
    s = np.sqrt(np.maximum(np.diag(A), 1e-300))
    w, V = np.linalg.eigh(A / np.outer(s, s))
    keep = w > (np.finfo(float).eps * max(n, p)) ** 2 * max(w.max(), 0.0)
    if keep.sum() < p:
        return np.full((p, p), np.inf)
    cov = ((V / w) @ V.T) / np.outer(s, s)
    if not absolute_sigma:
        cov = cov * (c / (n - p)) if n > p else np.full((p, p), np.inf)
    return cov
