"""``differentiate(..., reduce="sum" | "mean")``: the formula summed (or averaged) over
the broadcast points in one fused pass (``codegen/reduce.py``).

- the value is a float;
- the gradient with respect to an input is shaped like that input: a float for a scalar
  (a parameter), summed over the points without a per-point array; a per-point array for
  an input given as a full array (``d(sum f)/dx[i] = df[i]/dx[i]``); an input broadcast
  along some axes gets its per-point gradient summed over them.

Summation is blocked, then pairwise (``codegen/reduce.py``: 16 lanes of 16 points per
256-point block, the error bound of ``np.sum``) and deterministic: the same bits for any
number of threads.
"""

import numpy as np

REDUCTIONS = ("sum", "mean")


def reduced(d, values, grad):
    """Value (and gradients) of ``d`` reduced with ``d.reduce`` over the points of values
    (float64 arrays in ``d.inputs`` order)."""
    from .points import flatten_points
    shape, size, mask, args = flatten_points(d.inputs, values)
    is_array = dict(zip(d.inputs, mask))
    wrt = list(d.wrt) if grad else []
    point_wrt = [w for w in wrt if is_array[w]]
    sum_wrt = [w for w in wrt if not is_array[w]]
    from codegen import buffers
    per_point = [buffers.empty(size) for _ in point_wrt]   # on 64-byte lines, as d(...)'s
    sums = _sums(d, mask, args, per_point, 1 + len(sum_wrt), size, grad) if size \
        else np.zeros(1 + len(sum_wrt))
    scale = 1.0 / size if d.reduce == "mean" and size else 1.0
    if d.reduce == "mean" and not size:
        sums = np.full(1 + len(sum_wrt), np.nan)
    value = float(sums[0] * scale)
    if not grad:
        return value
    out = {}
    given = dict(zip(d.inputs, values))
    for k, w in enumerate(sum_wrt):
        g = sums[1 + k] * scale
        out[w] = float(g) if given[w].ndim == 0 else np.full(given[w].shape, g)
    for w, g in zip(point_wrt, per_point):
        if scale != 1.0:
            g *= scale
        out[w] = _unbroadcast(g.reshape(shape), given[w].shape)
    return value, {w: out[w] for w in d.wrt}


def _unbroadcast(g, shape):
    """A per-point gradient summed over the axes its input was broadcast along."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + k for k, s in enumerate(shape) if s == 1 and g.shape[lead + k] != 1)
    return np.sum(g, axis=axes, keepdims=True).reshape(shape)


def _sums(d, mask, args, per_point, n_summed, size, grad):
    from codegen import reduce as R
    kernels = d.kernels
    if kernels.kind == "tape":
        wrt_rows = {w: 1 + k for k, w in enumerate(d.wrt)}
        is_array = dict(zip(d.inputs, mask))
        summed = [0] + ([wrt_rows[w] for w in d.wrt if not is_array[w]] if grad else [])
        points = [wrt_rows[w] for w in d.wrt if is_array[w]] if grad else []
        return R.run_tape(kernels, args, mask, summed, points, per_point, size, grad)
    cache = d.__dict__.setdefault("_reductions", {})
    compiled = cache.get(mask)
    if compiled is None:
        compiled = cache[mask] = R.compiled_reduction(d.program, mask)
    return R.run_straight(compiled, args, per_point, n_summed, size, grad)
