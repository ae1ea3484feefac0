"""The ``np`` that generated kernel modules see.

Generated source calls ``np.exp``, ``np.log``... so a reader sees familiar NumPy. A kernel
module binds its ``np`` global to a namespace where the transcendental functions are
``codegen.vmath``'s vectorizable implementations (within about 2 ulp of libm): pip's Numba
has no SVML, so ``np.exp`` would be a scalar libm call that stops LLVM from vectorizing
the loop. Everything else is NumPy's own.

The plain-Python run of a module (``Derivative.python``) binds the same Python functions,
uncompiled, so Numba and plain Python give bit-identical results on the same source.
"""
import functools
import math
import types

import numpy as np

from . import vmath

FAST = {"exp": "vexp", "expm1": "vexpm1", "log": "vlog", "log1p": "vlog1p",
        "sin": "vsin", "cos": "vcos", "tanh": "vtanh"}
PASS_THROUGH = ("sqrt", "sinh", "cosh", "tan", "sign", "abs", "pi", "e", "inf", "nan",
                "float64", "maximum", "minimum", "zeros", "empty")


def _namespace(functions, name):
    module = types.ModuleType(name, __doc__)
    for attr in PASS_THROUGH:
        setattr(module, attr, getattr(np, attr))
    for attr, fast in FAST.items():
        setattr(module, attr, getattr(functions, fast))
    return module


def _float64(fn):
    return functools.wraps(fn)(lambda *args: np.float64(fn(*args)))


def _libm(fn, overflow):
    """math.<fn> (the C library's, as Numba calls it) with NumPy semantics: inf on overflow."""
    def call(x):
        try:
            return np.float64(fn(x))
        except OverflowError:
            return np.float64(overflow(x))
        except ValueError:         # tan(inf): math raises, C returns nan
            return np.float64(math.nan)
    return functools.wraps(fn)(call)


def _sign(x):
    """np.sign as Numba compiles it: sign(-0.0) is -0.0 (NumPy's own gives 0.0), NaN stays."""
    return np.float64(1.0 if x > 0 else -1.0 if x < 0 else x)


@functools.lru_cache(maxsize=None)
def plain():
    """Namespace for plain-Python runs: vmath's functions as Python, returning NumPy
    scalars so that later arithmetic follows NumPy (x/0 is inf, not ZeroDivisionError).
    sinh, cosh, tan and sign are the ones Numba's compiled code calls (the C library's,
    and Numba's sign), not NumPy's own, which differ in the last bit (or at -0.0)."""
    wrapped = types.SimpleNamespace(**{fast: _float64(getattr(vmath, fast)) for fast in FAST.values()})
    module = _namespace(wrapped, "symdiff_np_plain")
    module.sinh = _libm(math.sinh, lambda x: math.copysign(math.inf, x))
    module.cosh = _libm(math.cosh, lambda x: math.inf)
    module.tan = _libm(math.tan, lambda x: math.nan)
    module.sign = _sign
    return module


@functools.lru_cache(maxsize=None)
def compiled(inline=True):
    """Namespace for Numba: vmath's functions compiled, and with ``inline`` inlined into
    each kernel at Numba's IR level (what lets loops vectorize, but compile time grows
    quickly with the number of calls: kernels.py only asks for it on small programs)."""
    import numba
    options = dict(error_model="numpy", cache=True)
    if inline:
        options["inline"] = "always"
    jitted = vmath.jit_namespace(numba.njit, **options)
    return _namespace(jitted, "symdiff_np_numba" + ("_inline" if inline else ""))
