"""``fma(a, b, c)``: a*b + c rounded once, in plain Python (exact rational arithmetic), and
``scale2(p, k)``: p * 2**k rounded once (``math.ldexp``).

vmath's ``vexp`` calls both; ``codegen/fma.py`` registers its compiled version (the
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
