"""The points of an array call: the inputs' broadcast shape, and each input as a scalar or
as a flat array over the points (what every kernel loop takes)."""
import math

import numpy as np

from .errors import FormulaError


def flatten_points(names, values):
    """``(shape, size, mask, args)`` for float64 ``values`` named ``names``: ``mask[k]`` says
    whether input k is an array over the points (``args[k]`` flat, contiguous) or a scalar
    (``args[k]`` a float, never broadcast into memory)."""
    try:
        shape = np.broadcast_shapes(*(a.shape for a in values))
    except ValueError:
        shapes = ", ".join(f"{k}: {a.shape}" for k, a in zip(names, values) if a.ndim)
        raise FormulaError(f"input arrays do not broadcast together ({shapes})",
                           hint="give arrays of one shape, or shapes NumPy can broadcast") from None
    size = math.prod(shape)
    mask, args = [], []
    for a in values:
        if a.size == 1:
            mask.append(False)
            args.append(float(a.reshape(())))
        else:
            mask.append(True)
            flat = a if a.shape == shape else np.broadcast_to(a, shape)
            args.append(np.ascontiguousarray(flat).reshape(size))
    return shape, size, tuple(mask), args
