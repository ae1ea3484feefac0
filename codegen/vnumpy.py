"""The ``np`` and ``math`` that generated kernel modules see, bound from the op table.

Generated source calls ``np.exp``, ``np.arctan``, ``math.erf``... so a reader sees familiar
NumPy. A kernel module binds its ``np`` and ``math`` globals to namespaces where each op's
function is the one its table entry names: ``codegen.vmath``'s vectorizable version where
the entry names one (``vmath="vatan"``; within a few ulp of libm): pip's Numba has no SVML,
so ``np.arctan`` would be a scalar libm call that stops LLVM from vectorizing the loop.
Everything else is NumPy's own (Numba compiles it to the C library's function).

The plain-Python run of a module (``Derivative.python``) binds the same functions,
uncompiled (vmath's in Python; the C library's through ``math``, where the table names it;
NumPy's only where every implementation agrees to the bit), so Numba and plain Python give
bit-identical results on the same source.
"""
import functools
import math
import types

import numpy as np

from symdiff.functions import OPS

from . import vmath, vmath_special

# what helpers and printed constants use besides the ops' own functions
PASS_THROUGH = ("pi", "e", "inf", "nan", "float64", "zeros", "fmod", "copysign", "exp",
                "log1p", "sqrt", "abs", "floor", "empty")   # empty: blocked loops' scratch
# vmath functions helpers reach through np (softplus calls np.log1p, sigmoid np.exp)
_HELPER_FAST = {"exp": "vexp", "log1p": "vlog1p"}


def bindings():
    """(namespace, name, vmath function or None) for every op's function: what kernels bind."""
    out = []
    for op in OPS.values():
        if op.namespace in ("np", "math"):
            out.append((op.namespace, op.func, op.vmath))
    return tuple(sorted(set(out), key=lambda b: (b[0], b[1])))


def helper_bindings():
    """(helper, vmath function) for the helpers kernels run as vmath's version: the same
    function computed another way (sigmoid: ``vsigmoid``, whose exp shares sigmoid's
    division). The helper's text stays what a reader sees and what ``export`` ships."""
    return tuple(sorted((op.helper, op.vmath) for op in OPS.values() if op.helper and op.vmath))


def bind_helpers(module, functions):
    """Rebind ``module``'s helpers to their vmath versions in ``functions``: ``"plain"``
    (plain Python), ``"compiled"``/``"compiled_inline"`` (Numba) or a dict (the array tier's
    vmath). Returns the names rebound."""
    if functions == "plain":
        functions = _plain_vmath()
    elif functions in ("compiled", "compiled_inline"):
        functions = _jitted(functions == "compiled_inline")
    rebound = set()
    for name, fast in helper_bindings():
        if hasattr(module, name):
            setattr(module, name, functions[fast] if isinstance(functions, dict) else getattr(functions, fast))
            rebound.add(name)
    return rebound


def _fill(module, namespace, vmath_functions, plain):
    source = np if namespace == "np" else math
    for space, name, fast in bindings():
        if space != namespace:
            continue
        if fast is not None:
            setattr(module, name, getattr(vmath_functions, fast))
        elif plain:
            setattr(module, name, _plain_function(namespace, name))
        else:
            setattr(module, name, getattr(source, name))
    return module


def _np_module(functions, plain, name):
    module = types.ModuleType(name, __doc__)
    for attr in PASS_THROUGH:
        setattr(module, attr, getattr(np, attr))
    for attr, fast in _HELPER_FAST.items():
        setattr(module, attr, getattr(functions, fast))
    return _fill(module, "np", functions, plain)


def _math_module(functions, plain, name):
    module = types.ModuleType(name, "math, with the op table's vectorizable functions")
    for attr in dir(math):
        if not attr.startswith("_"):
            setattr(module, attr, getattr(math, attr))
    return _fill(module, "math", functions, plain)


def _float64(fn):
    return functools.wraps(fn)(lambda *args: np.float64(fn(*args)))


def _libm(fn, fallback):
    """The C library's ``fn`` (what Numba's compiled call reaches) with NumPy semantics:
    where Python's math raises (overflow, a domain edge), NumPy's value (inf, nan)."""
    def call(*args):
        try:
            return np.float64(fn(*args))
        except (OverflowError, ValueError):
            with np.errstate(all="ignore"):
                return np.float64(fallback(*args))
    return functools.wraps(fn)(call)


def _sign(x):
    """np.sign as Numba compiles it: sign(-0.0) is -0.0 (NumPy's own gives 0.0), NaN stays."""
    return np.float64(1.0 if x > 0 else -1.0 if x < 0 else x)


def _plain_function(namespace, name):
    op = next(o for o in OPS.values() if o.namespace == namespace and o.func == name)
    if op.libm is not None:
        return _libm(getattr(math, op.libm), op.numpy)
    if name == "sign":
        return _sign
    return getattr(np if namespace == "np" else math, name)


@functools.lru_cache(maxsize=None)
def _plain_vmath():
    names = {fast for _, _, fast in bindings() if fast} | set(_HELPER_FAST.values()) \
        | {fast for _, fast in helper_bindings()}
    return types.SimpleNamespace(**{f: _float64(getattr(vmath, f, None) or getattr(vmath_special, f))
                                    for f in names})


@functools.lru_cache(maxsize=None)
def plain():
    """``np`` for plain-Python runs: vmath's functions as Python, returning NumPy scalars
    so that later arithmetic follows NumPy (x/0 is inf, not ZeroDivisionError); libm's
    functions where Numba calls libm (sinh, tan, asin...), and Numba's sign."""
    return _np_module(_plain_vmath(), True, "symdiff_plain_np")


@functools.lru_cache(maxsize=None)
def plain_math():
    """``math`` for plain-Python runs (math.erf is vmath's verf, as compiled)."""
    return _math_module(_plain_vmath(), True, "symdiff_plain_math")


@functools.lru_cache(maxsize=None)
def _jitted(inline):
    import numba
    options = dict(error_model="numpy", cache=True)
    if inline:
        options["inline"] = "always"
    return vmath.jit_namespace(numba.njit, vmath_special, **options)


@functools.lru_cache(maxsize=None)
def compiled(inline=True):
    """``np`` for Numba: vmath's functions compiled, and with ``inline`` inlined into
    each kernel at Numba's IR level (what lets loops vectorize, but compile time grows
    quickly with the number of calls: kernels.py only asks for it on small programs)."""
    return _np_module(_jitted(inline), False, "symdiff_numba_np" + ("_inline" if inline else ""))


@functools.lru_cache(maxsize=None)
def compiled_math(inline=True):
    """``math`` for Numba, with vmath's functions where the table names them."""
    return _math_module(_jitted(inline), False, "symdiff_numba_math" + ("_inline" if inline else ""))
