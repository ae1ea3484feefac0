"""Least squares on data seen one chunk at a time: each pass gives the R factor of
``[J | r]`` (the QR of the Jacobian beside the residuals), and the solvers of small data
run on it unchanged.

For the n x (p + 1) matrix ``[J | r]`` = Q R, R is (p + 1) x (p + 1), upper triangular:
``R[:p, :p]`` is the R of J, ``R[:p, p]`` is ``z = Q^T r`` and ``|R[p, p]|`` is the norm of
the part of r that J cannot reach. The p + 1 "residuals" ``F = R[:, p]`` with "Jacobian"
``R[:, :p]`` then have

- the same sum of squares (``|F|^2 = |r|^2``),
- the same gradient (``R^T F = J^T r``) and Gauss-Newton matrix (``R^T R = J^T J``),
- the same column norms (``x_scale="jac"``), singular values and linearized model
  (``|F + R d|^2 = |r + J d|^2`` for every step d)

as the n residuals. ``scipy.optimize.least_squares`` ("trf", "lm", "dogbox") sees a
problem only through these, so on F it takes the steps it takes on r: a fit on Dask data,
or on big data in memory, runs the strategy of ``least_squares.solve_squares`` and gives
the small-data answer to rounding, with no n x p Jacobian on one machine and no squared
condition number (the normal equations J^T J lose half the digits on NIST's harder
problems). R factors of chunks combine by stacking them and taking the R of the stack
(TSQR): one pass over the data per evaluation, (p + 1)^2 numbers per chunk.
"""
import numpy as np

CHUNK = 1 << 14     # points per in-memory chunk: its (CHUNK x (p + 1)) block stays in L2


def r_factor(A, overwrite=False):
    """The (k x k) upper-triangular R of the QR of A (m x k); rows of zeros below where
    m < k, and all NaN where A holds a NaN or inf (the point is then not finite).
    ``overwrite``: LAPACK may factor A in its own memory (no copy when A is Fortran-ordered)."""
    from scipy.linalg import qr
    k = A.shape[1]
    out = np.zeros((k, k))
    if not np.all(np.isfinite(A)):
        out[:] = np.nan
        return out
    if A.shape[0]:
        factored = qr(A, mode="raw", overwrite_a=overwrite, check_finite=False)[0][0]
        out[:min(A.shape[0], k)] = np.triu(factored[:k])
    return out


def chunk_factor(d, names, columns, target, x):
    """R of ``[J | r]`` over in-memory columns (``Residuals``' weighting: r and J divided
    by sigma), chunk by chunk: each chunk's QR starts from the R so far."""
    p = len(names)
    n = len(columns[target])
    params = dict(zip(names, (float(v) for v in x)))
    sigma = columns.get("fit_sigma")
    R = np.zeros((0, p + 1))
    # one Fortran-ordered block for every chunk, factored in place by LAPACK: no copies,
    # no fresh pages per chunk (a new 1.5 MB array per chunk cost more than the QR)
    block = np.empty((CHUNK + p + 1, p + 1), order="F")
    for start in range(0, max(n, 1), CHUNK):
        part = slice(start, min(start + CHUNK, n))
        inputs = {k: (v[part] if np.ndim(v) else v) for k, v in columns.items() if k in d.inputs}
        inputs.update(params)
        value, grads = d(**inputs)
        y = columns[target][part]
        A = block[:y.shape[0] + R.shape[0]]
        A[:R.shape[0]] = R
        rows = A[R.shape[0]:]
        np.subtract(np.broadcast_to(value, y.shape), y, out=rows[:, p])
        for k, name in enumerate(names):
            rows[:, k] = grads[name]
        if sigma is not None:
            rows /= np.reshape(sigma[part], (-1, 1)) if np.ndim(sigma) else sigma
        R = r_factor(A, overwrite=True)
    return R


class CompressedResiduals:
    """``Residuals``' interface (``fun``, ``jac``, ``rounding_noise``) on the R factor of
    ``[J | r]``: ``factor(x)`` makes one pass over the data; the last one is kept for the
    Jacobian that follows."""

    def __init__(self, factor, p, noise, progress=None):
        self.factor = factor
        self.p = p
        self.noise = noise
        self.progress = progress
        self.passes = 0
        self._at = None

    def rounding_noise(self):
        return self.noise

    def _eval(self, x):
        key = x.tobytes()
        if self._at is None or self._at[0] != key:
            R = self.factor(x)
            self.passes += 1
            F, J = R[:, self.p].copy(), R[:, :self.p].copy()
            self._at = (key, F, J)
            if self.progress is not None:
                self.progress.step(float(F @ F))
        return self._at

    def fun(self, x):
        return self._eval(x)[1]

    def jac(self, x):
        return self._eval(x)[2]
