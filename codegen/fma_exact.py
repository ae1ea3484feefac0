"""``fma(a, b, c)``: a*b + c rounded once, in plain Python (exact rational arithmetic),
``scale2(p, k)``: p * 2**k rounded once (``math.ldexp``), and ``fminimum``/``fmaximum``:
the smaller/larger of two floats, nan if either is nan (IEEE 754-2019 minimum/maximum).

vmath's ``vexp`` calls them all; ``codegen/fma.py`` registers its compiled version (the
``llvm.fma`` intrinsic) and ``codegen/arraytier.py`` has the NumPy version: the same bits
everywhere. This module imports neither numba nor vmath."""
import math
from fractions import Fraction


def fma(a, b, c):
    """a*b + c rounded once (IEEE fusedMultiplyAdd). In plain Python: exact rational
    arithmetic, then one rounding (int/int division rounds correctly); under Numba the
    ``llvm.fma`` intrinsic, registered by ``codegen/fma.py`` (imported by
    ``vmath.jit_namespace``): the same bits, one vfmadd instruction."""
    a, b, c = float(a), float(b), float(c)
    if not (math.isfinite(a) and math.isfinite(b)):
        return a * b + c               # an inf or nan factor: the float product's inf/nan
    if not math.isfinite(c):
        return c                       # a finite a*b (even beyond the float range) + inf/nan
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    if exact == 0:
        return a * b + c               # the sign of an exact zero, as IEEE rounds it
    try:
        return exact.numerator / exact.denominator
    except OverflowError:
        return math.inf if exact > 0 else -math.inf


def scale2(p, k):
    """p * 2**k rounded once (overflow to inf, gradual underflow to subnormals and 0), for
    an integer k with |k| < 2**31 (any k if p is nan or inf). In plain Python ``math.ldexp``; under Numba
    the ``llvm.ldexp`` intrinsic, registered by ``codegen/fma.py`` (``vscalefpd`` with
    AVX-512, vectorized with the loop): the same bits."""
    p = float(p)
    try:
        return math.ldexp(p, int(k))
    except OverflowError:
        return math.copysign(math.inf, p)


def fminimum(a, b):
    """The smaller of a and b, nan if either is nan (IEEE 754-2019 ``minimum``, NumPy's
    ``np.minimum``); vmath clamps with it, b a non-zero constant. Under Numba the
    ``llvm.minimum`` intrinsic (``codegen/fma.py``): one ``vminpd`` when b is a non-zero
    constant, where ``b if a > b else a`` became a compare and a masked move."""
    a, b = float(a), float(b)
    if a != a or b != b:
        return a + b                   # nan
    if a == b:
        return a if math.copysign(1.0, a) < 0 else b     # minimum(-0.0, 0.0) is -0.0
    return a if a < b else b


def fmaximum(a, b):
    """The larger of a and b, nan if either is nan (IEEE 754-2019 ``maximum``, NumPy's
    ``np.maximum``); ``llvm.maximum`` under Numba (see :func:`fminimum`)."""
    a, b = float(a), float(b)
    if a != a or b != b:
        return a + b                   # nan
    if a == b:
        return b if math.copysign(1.0, a) < 0 else a     # maximum(-0.0, 0.0) is 0.0
    return a if a > b else b
