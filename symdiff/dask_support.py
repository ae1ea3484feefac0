"""Dask arrays in, lazy Dask results out: ``d(**inputs)``, ``reduce=`` and ``symdiff.fit``
on data bigger than one machine. Imported only when a Dask array is passed (``dask`` is
the optional ``[dask]`` extra).

- ``d(**inputs)`` broadcasts the arrays lazily (``da.broadcast_arrays``), lets
  ``map_blocks`` align their chunks, and runs the compiled kernel on each block; scalars
  stay Python floats inside the task. The result is lazy Dask arrays, one per output.
- ``reduce="sum"``/``"mean"`` runs the fused reduction kernel on each block (one partial
  sum per block and output) and sums the partial sums with Dask's tree reduction: lazy
  0-d Dask arrays. Gradients with respect to array inputs stay per point (lazy arrays).
- Tasks carry a ``BlockKernel``: the differentiated program (plain data, pickled small)
  rebuilt into a ``Derivative`` once per worker process; its kernel module and Numba's
  compiled code come from the on-disk cache (``$SYMDIFF_CACHE_DIR``), so a worker compiles
  only what no process on its machine has compiled before.
- ``fit`` on Dask data: least squares by the solvers of in-memory fits
  (``least_squares.solve_squares``) on the R factor of ``[J | r]`` (symdiff/
  compressed_squares.py): each evaluation is one distributed pass in which every block
  returns its (p + 1) x (p + 1) R, combined by one more QR (never an n x p Jacobian on one
  machine), and the answer is the NumPy fit's to rounding; other losses by
  ``scipy.optimize.minimize`` on distributed fused sums.
"""
import math
import pickle

import numpy as np

from .errors import FormulaError
from .functions import has_kink

_BUILT = {}      # per process: program digest -> Derivative


def _is_dask(v):
    return type(v).__module__.startswith("dask.")


class BlockKernel:
    """A picklable handle on a differentiated program: called on NumPy blocks in a worker.
    It pickles the Derivative (its program, never its compiled kernels: see
    ``Derivative.__getstate__``), rebuilt once per worker process."""

    def __init__(self, d, reduce=None):
        import copy
        d = copy.copy(d)
        d.reduce = reduce
        self.payload = pickle.dumps(d)
        self.reduce = reduce
        self.inputs = list(d.inputs)
        self.wrt = list(d.wrt)
        self.output = d.program.output

    def derivative(self):
        import hashlib
        key = hashlib.sha256(self.payload).hexdigest()
        d = _BUILT.get(key)
        if d is None:
            d = _BUILT[key] = pickle.loads(self.payload)
        return d


def known_chunks(v):
    """``v`` with its chunk sizes known: ``x[mask]`` has chunks of unknown size (nan), which
    cannot be aligned with other arrays; they are counted on a copy (one pass over the
    mask), the caller's array is left as it was."""
    if not any(math.isnan(s) for s in v.shape):
        return v
    v = v.copy()
    v.compute_chunk_sizes()
    return v


def _prepare(d, inputs):
    """Arrays (as Dask arrays, broadcast lazily) and scalars (floats), in d.inputs order."""
    import dask.array as da
    d._arguments({k: (0.0 if _is_dask(v) else v) for k, v in inputs.items()})   # names, types
    arrays, scalars = {}, {}
    for k in d.inputs:
        v = inputs[k]
        if _is_dask(v):
            if v.dtype.kind not in "biuf":
                raise FormulaError(f"input {k!r} is a Dask array of {v.dtype}, not numbers")
            arrays[k] = v.astype(np.float64)
        elif np.ndim(v) == 0:
            scalars[k] = float(v)
        else:
            arrays[k] = da.from_array(np.asarray(v, dtype=np.float64))
    names = list(arrays)
    if len(arrays) > 1:     # chunks of unknown size (x[mask]) cannot be aligned: count them first
        arrays = {k: known_chunks(v) for k, v in arrays.items()}
    try:
        broadcast = da.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"{k}: {a.shape}" for k, a in arrays.items())
        raise FormulaError(f"input arrays do not broadcast together ({shapes})",
                           hint="give arrays of one shape, or shapes NumPy can broadcast") from None
    return names, list(broadcast), scalars


def _blocks_call(kernel, names, scalars, grad, *blocks):
    d = kernel.derivative()
    inputs = dict(scalars)
    inputs.update(zip(names, blocks))
    if grad:
        value, grads = d(**inputs)
        outs = [value] + [grads[w] for w in kernel.wrt]
    else:
        outs = [d.value(**inputs)]
    shape = np.broadcast_shapes(*(b.shape for b in blocks))
    return np.stack([np.broadcast_to(o, shape) for o in outs])


def _blocks_sum(kernel, names, scalars, grad, summed, *blocks):
    d = kernel.derivative()
    inputs = dict(scalars)
    inputs.update(zip(names, blocks))
    if grad:
        value, grads = d(**inputs)
        sums = [value] + [grads[w] for w in summed]
    else:
        sums = [d.value(**inputs)]
    return np.array(sums, dtype=np.float64).reshape((1,) * blocks[0].ndim + (len(sums),))


def evaluate(d, inputs, grad):
    """``d(**inputs)`` / ``d.value(**inputs)`` with Dask arrays among the inputs."""
    import dask.array as da
    names, arrays, scalars = _prepare(d, inputs)
    ndim = arrays[0].ndim
    _, aligned = da.core.unify_chunks(*[x for a in arrays for x in (a, tuple(range(ndim)))])
    if d.reduce is None:
        kernel = BlockKernel(d)
        n_out = 1 + len(d.wrt) if grad else 1
        stacked = da.map_blocks(_blocks_call, kernel, names, scalars, grad, *aligned,
                                new_axis=0, chunks=((n_out,),) + aligned[0].chunks,
                                dtype=np.float64, meta=np.empty((0,) * (ndim + 1)))
        if not grad:
            return stacked[0]
        return stacked[0], {w: stacked[1 + k] for k, w in enumerate(d.wrt)}
    summed = [w for w in d.wrt if w in scalars] if grad else []
    kernel = BlockKernel(d, reduce="sum")
    numblocks = aligned[0].numblocks
    k = 1 + len(summed)
    partial = da.map_blocks(_blocks_sum, kernel, names, scalars, grad, summed, *aligned,
                            new_axis=ndim, chunks=tuple((1,) * nb for nb in numblocks) + ((k,),),
                            dtype=np.float64, meta=np.empty((0,) * (ndim + 1)))
    sums = partial.sum(axis=tuple(range(ndim)))            # Dask's tree reduction
    size = math.prod(aligned[0].shape)
    scale = (1.0 / size if size else math.nan) if d.reduce == "mean" else 1.0   # empty: nan, as NumPy
    value = sums[0] * scale
    if not grad:
        return value
    out = {w: sums[1 + j] * scale for j, w in enumerate(summed)}
    point = [w for w in d.wrt if w not in scalars]
    if point:       # per-point gradients of array inputs: the elementwise kernel, lazily
        import copy
        each = copy.copy(d)
        each.reduce = None
        _, grads = evaluate(each, inputs, True)
        for w in point:
            g = grads[w] * scale
            if inputs[w].shape != g.shape:
                lead = g.ndim - inputs[w].ndim
                axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(inputs[w].shape)
                                                  if s == 1 and g.shape[lead + i] != 1)
                g = g.sum(axis=axes, keepdims=True).reshape(inputs[w].shape)
            out[w] = g
    return value, {w: out[w] for w in d.wrt}


# --- fits on Dask data ------------------------------------------------------------------
def _check_finite(columns):
    import dask
    import dask.array as da
    lazy = {k: da.isfinite(v).all() for k, v in columns.items() if _is_dask(v)}
    done = dict(zip(lazy, dask.compute(*lazy.values())))
    for k, ok in done.items():
        if not ok:
            row = int(da.argmin(da.isfinite(columns[k])).compute())
            value = float(columns[k][row].compute())
            what = "weights (sigma)" if k == "fit_sigma" else f"data column {k!r}"
            raise FormulaError(f"{what} holds {value} at row {row}",
                               hint="drop or fill the rows with NaN or inf before fitting")
    if "fit_sigma" in columns and _is_dask(columns["fit_sigma"]):
        if not bool((columns["fit_sigma"] > 0).all().compute()):
            raise FormulaError("weights (sigma) must be positive",
                               hint="weights are the standard deviations of the observations")


def _aligned(columns):
    """The columns as Dask arrays with one chunking (NumPy columns are chunked alike)."""
    import dask.array as da
    first = next(v for v in columns.values() if _is_dask(v))
    out = {}
    for k, v in columns.items():
        if _is_dask(v):
            out[k] = v.astype(np.float64)
        elif np.ndim(v):
            out[k] = da.from_array(np.asarray(v, dtype=np.float64), chunks=first.chunks)
        else:
            out[k] = float(v)
    arrays = {k: v for k, v in out.items() if not isinstance(v, float)}
    _, aligned = da.core.unify_chunks(*[x for a in arrays.values() for x in (a, "i")])
    out.update(zip(arrays, aligned))
    return out


def _factor_block(kernel, names, data_names, target, x, scalars, *blocks):
    """The R factor of one block's ``[J | r]``, as in-memory fits compute it chunk by chunk."""
    from .compressed_squares import chunk_factor
    d = kernel.derivative()
    cols = dict(scalars)
    cols.update(zip(data_names, blocks))
    return chunk_factor(d, names, cols, target, x)[None]


class Factor:
    """One distributed pass per call: the R factor of ``[J | r]`` at a parameter vector."""

    def __init__(self, d, names, columns, target):
        self.kernel = BlockKernel(d)
        self.names = names
        cols = _aligned(columns)
        self.arrays = {k: v for k, v in cols.items() if not isinstance(v, float)}
        self.scalars = {k: v for k, v in cols.items() if isinstance(v, float)}
        self.target = target

    def rounding_noise(self):
        """``least_squares.rounding_noise`` of the target, in one pass."""
        y = self.arrays[self.target]
        sigma = self.arrays.get("fit_sigma", self.scalars.get("fit_sigma", 1.0))
        from .least_squares import noise_of
        return noise_of(float(((y / sigma) ** 2).sum().compute()))

    def __call__(self, x):
        import dask.array as da
        from .compressed_squares import r_factor
        k = len(self.names) + 1
        first = next(iter(self.arrays.values()))
        parts = da.map_blocks(_factor_block, self.kernel, self.names, list(self.arrays), self.target,
                              [float(v) for v in x], self.scalars, *self.arrays.values(),
                              new_axis=[1, 2], chunks=((1,) * first.numblocks[0], (k,), (k,)),
                              dtype=np.float64, meta=np.empty((0, 0, 0)))
        return r_factor(parts.compute().reshape(-1, k))


def fit_dask(d, text, names, columns, n, target, x0, bounds, loss, total, verbose,
             absolute_sigma, max_steps, method="auto", lr=0.1, steps=10000):
    """``symdiff.fit`` on Dask data; ``total``: the loss derivative (``reduce="sum"``) for
    losses other than squares, and for the first-order methods."""
    from .compressed_squares import CompressedResiduals
    from .fit_result import FitResult, Progress
    from .least_squares import EXACT_POINTS, covariance, fit_residuals
    columns = _persisted(columns)
    _check_finite(columns)
    p = len(names)
    factor = Factor(d, names, columns, target)
    squares = loss == "squares" and method not in ("bfgs", "lbfgs", "adam")
    progress = Progress(verbose and squares)
    res = CompressedResiduals(factor, p, factor.rounding_noise(), progress)

    def exact_columns():     # a few points: their loss is recomputed with 40 digits
        import dask
        lazy = {k: v for k, v in columns.items() if _is_dask(v)}
        done = dict(zip(lazy, dask.compute(*lazy.values())))
        return {k: done.get(k, v) for k, v in columns.items()}

    def errors(x, c, success):      # least squares by a first-order method: the usual errors
        if loss != "squares" or not success:
            return np.full(p, np.nan), np.full((p, p), np.nan)
        cov = covariance(res.jac(x), 0.5 * c, n, p, absolute_sigma)
        return np.sqrt(np.diag(cov)), cov

    name = loss if loss in ("squares", "absolute", "huber") else f"sum({loss})"
    if method == "adam":      # first order from the start, as on NumPy data
        from .minimize import adam
        x, c, count, message, success = adam(_loss_function(total, names, columns), x0, bounds, n, lr, steps,
                                             kinked=has_kink(total.graph))
        stderr, cov = errors(x, c, success)
        return FitResult(text, d, names, x, stderr, cov, c, success, message, count, "dask adam", n,
                         name, None, target)
    r = fit_residuals(res, d, text, names, columns, n, target, x0, bounds,
                      method if squares else "auto", progress, absolute_sigma, max_steps,
                      exact_columns if n <= EXACT_POINTS else None,
                      lean=True)     # every evaluation is a distributed pass
    r.method = "dask"
    if squares:
        return r
    x = np.array([r.params[k] for k in names]) if r.success else x0
    x, c, success, message, extra = _other_loss(total, names, columns, x, bounds, method)
    stderr, cov = errors(x, c, success)
    if verbose:
        import sys
        print(f"symdiff fit (dask): {message} after {r.steps + extra} passes, loss {c:.10g}", file=sys.stderr)
    return FitResult(text, d, names, x, stderr, cov, c, success, message, r.steps + extra, "dask", n, name,
                     None, target)


PERSIST_SHARE = 0.5     # of the cluster's memory: data up to this size is kept there during a fit


def _persisted(columns):
    """With a ``dask.distributed`` client, the Dask columns persisted on the workers for the
    fit (released when the fit returns): each of its hundreds of passes then reads them
    from the workers' memory instead of rebuilding them (from_array: shipping the chunks
    again). A huber fit of 5,000 points on a 2-process LocalCluster: 52 -> 26 s. Only
    when they take at most PERSIST_SHARE of the workers' memory; otherwise, and without a
    client (or with another scheduler set), each pass computes them anew, as data bigger
    than memory needs."""
    try:
        from distributed import default_client
        client = default_client()
    except (ImportError, ValueError):       # no distributed, or no client
        return columns
    arrays = {k: v for k, v in columns.items() if _is_dask(v)}
    from dask.base import get_scheduler
    if not arrays or get_scheduler(collections=list(arrays.values())) != client.get:
        return columns                      # another scheduler asked for (dask.config.set)
    try:
        workers = client.scheduler_info()["workers"].values()
        memory = sum(w.get("memory_limit") or 0 for w in workers)
    except Exception:                       # a client that cannot say: compute as before
        return columns
    size = sum(v.nbytes for v in arrays.values())
    if not memory or not size <= PERSIST_SHARE * memory:
        return columns
    out = dict(columns)
    out.update(zip(arrays, client.persist(list(arrays.values()))))
    return out


def _loss_function(total, names, columns, count=None):
    """``value_and_grad(x)`` of the summed loss: one distributed pass per call."""
    import dask
    cols = _aligned(columns)
    fixed = {k: v for k, v in cols.items() if k in total.inputs}
    fixed.setdefault("fit_sigma", 1.0)

    def value_and_grad(x):
        inputs = dict(fixed)
        inputs.update(zip(names, (float(v) for v in x)))
        value, grads = total(**inputs)
        if count is not None:
            count[0] += 1
        out = dask.compute(value, *(grads[k] for k in names))
        return float(out[0]), np.array([float(v) for v in out[1:]])
    return value_and_grad


def _other_loss(total, names, columns, x0, bounds, method="auto"):
    """BFGS on distributed passes; the Nelder-Mead polish of in-memory fits (hundreds of
    passes) only where the loss program has a kink (``functions.has_kink``: "absolute",
    "huber", abs in a formula), where BFGS alone stopped up to 3e-3 short of the minimum (a
    least absolute deviations fit, 500 points); smooth losses converge without it."""
    from .minimize import minimize_loss
    count = [0]
    kinked = has_kink(total.graph)
    x, value, _, success, message = minimize_loss(_loss_function(total, names, columns, count), x0, bounds,
                                                  method, polish=kinked)
    return x, value, success, message, count[0]
