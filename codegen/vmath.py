"""Branch-free, vectorizable float64 elementary functions (exp, log, sin, ...).

Why this module exists
----------------------
Numba from PyPI ships without Intel SVML, so ``math.exp`` & co. inside an
``@njit`` loop become scalar libm calls and LLVM's loop vectorizer gives up on
the whole loop.  The functions here are written with nothing but float
arithmetic, comparisons, conditional expressions (``a if c else b``, lowered
to ``select``) and a few 64-bit integer operations on the IEEE bit pattern
(``np.float64(x).view(np.int64)``, a plain ``bitcast`` in LLVM).  After
inlining, LLVM vectorizes loops that call them (packed ``vfmadd``/``vmulpd``
on ``ymm``/``zmm`` registers), which is what makes fused gradient kernels fast.

They are *also* ordinary Python functions: called on Python floats they give
bit-for-bit the same results as the compiled versions (compiled without
``fastmath``), and they never raise (no ``OverflowError``/``ZeroDivisionError``
for any float input, including inf and nan; ints and numpy scalars are
converted with ``float(x)`` first, a no-op under Numba).  Compiling with
``fastmath={"contract"}`` (FMA contraction) changes results by at most 2 ulp
(measured; the accuracy bounds below hold for both).

Using them under Numba
----------------------
This module deliberately does not import numba.  The "leaf" functions
(``vexp``, ``vexpm1``, ``vlog``, ``vlog1p``, ``vsin``, ``vcos``, ``vsincos``)
only use ``np``/``math``, module constants and ``codegen/fma_exact.py``'s
:func:`fma`, ``scale2``, ``fminimum`` and ``fmaximum`` (the clamps: one
vminpd/vmaxpd each, where ``c if x > c else x`` costs a compare and a masked
move), whose compiled versions ``codegen.fma`` registers: import it first, as
:func:`jit_namespace` does, so ``numba.njit(vmath.vexp)`` works.  Functions built on other ones (``vtanh``, ``vsigmoid``,
``vsoftplus``) call their siblings by global name, which Numba can only
resolve to compiled functions; use :func:`jit_namespace`, which compiles
every public function with ``numba.njit`` and the options you pass, wired to
each other, and returns them as attributes of a module object (which Numba,
unlike a dict or SimpleNamespace, resolves at compile time)::

    import numba
    from codegen import vmath
    vm = vmath.jit_namespace(numba.njit, error_model="numpy", inline="always")
    @numba.njit
    def kernel(x, out):
        for i in range(x.size):
            out[i] = vm.vtanh(x[i]) * vm.vexp(x[i])   # resolved at compile time

Pass ``inline="always"``: LLVM's inliner alone leaves calls to the bigger
functions (or many calls in one kernel) un-inlined, and a loop with a call
in it is not vectorized (vsoftplus: 40 ns/element instead of 4).

Accuracy (measured against glibc libm / mpmath, see tests/test_vmath.py)
------------------------------------------------------------------------
Max errors in ulps of the true value, measured on dense grids and random
samples of each function's domain (millions of points against glibc, the
worst few hundred re-checked with mpmath): exp 0.91, expm1 1.24, log 0.74,
log1p 0.77, sin/cos 1.87 (|x| <= 1e5; 2.33 up to 4.2e8), sincos 1.53 (2.25),
tanh 2.39 (glibc's own tanh: 2.14), sigmoid 2.18, softplus 1.65.  sin/cos
reduce with fused multiply-adds beyond |x| = 4.2e8 (1.66 ulp up to 2**47) and are nan
beyond 2**47 = 1.4e14 (see vsin).  Subnormal inputs
and results are handled (no flush to zero).

Method and constants
--------------------
Every function is "range reduction + polynomial", in the style of fdlibm/Cephes
(exp, log) and SLEEF (sin/cos reduction modulo pi).  The splitting constants
(Cody-Waite ``LN2_HI``/``LN2_LO``, the 5-part split of pi) and every polynomial
coefficient are produced by :func:`_derive_constants` (mpmath, 60 digits; the
polynomials by a Remez exchange implemented there), and the tests check the
literals below against it (bit-exact with VMATH_DERIVE=1, else their error
bounds).  No code was copied from those libraries.
Polynomials are evaluated with Estrin's scheme (for exp and sin with Horner
for the last terms, which keeps Horner's accuracy): much shorter dependency
chains, which matter in big fused loops, where LLVM vectorizes but does not
interleave and latency rather than throughput is the limit.
"""

import math
import types

import numpy as np

from .fma_exact import fma, fmaximum, fminimum, scale2

__all__ = [
    "vexp", "vexpm1", "vlog", "vlog1p", "vsin", "vcos", "vsincos", "vtanh",
    "vsigmoid", "vsoftplus", "jit_namespace", "PUBLIC_FUNCTIONS",
]

_hex = float.fromhex

INF = math.inf
NAN = math.nan

# Adding SHIFT = 1.5 * 2**52 to a float v with |v| < 2**51 rounds v to the
# nearest integer (ties to even) and leaves that integer, in two's complement,
# in the low mantissa bits of the sum: bits(v + SHIFT) = SHIFT_BITS + round(v).
SHIFT = 6755399441055744.0            # 0x1.8p52
SHIFT_BITS = 0x4338000000000000       # bits(SHIFT); its low 11 bits are zero
MANT_MASK = 0x000FFFFFFFFFFFFF
TWO54 = 18014398509481984.0           # 2**54, rescales subnormals for log

# ---- exp / expm1 ---------------------------------------------------------
INV_LN2 = _hex("0x1.71547652b82fep+0")       # 1/ln 2 rounded to double
# Cody-Waite split of ln 2: LN2_HI has 32 significant bits, so k*LN2_HI is
# exact for |k| < 2**21; LN2_LO = ln 2 - LN2_HI rounded to double.
LN2_HI = _hex("0x1.62e42ff000000p-1")
LN2_LO = _hex("-0x1.718432a1b0e26p-35")
# Remez minimax fit, degree 10, of Q(r) = (expm1(r) - r) / r**2 on
# |r| <= ln2/2, so expm1(r) = r + r*r*Q(r).  Absolute error 2**-59.3 for the
# exact minimax coefficients, 2**-58.4 once they are rounded to double.
# (All "errors" quoted for polynomials below are of this kind: the real
# arithmetic error of the double coefficients; the float evaluation adds
# the usual few half-ulps.)
EXP_Q0 = _hex("0x1.0000000000000p-1")
EXP_Q1 = _hex("0x1.5555555555557p-3")
EXP_Q2 = _hex("0x1.5555555555558p-5")
EXP_Q3 = _hex("0x1.11111111100dfp-7")
EXP_Q4 = _hex("0x1.6c16c16c15200p-10")
EXP_Q5 = _hex("0x1.a01a01abe6526p-13")
EXP_Q6 = _hex("0x1.a01a01acf93ddp-16")
EXP_Q7 = _hex("0x1.71de0236f0484p-19")
EXP_Q8 = _hex("0x1.27e4ccd1c5437p-22")
EXP_Q9 = _hex("0x1.af4dde420c022p-26")
EXP_Q10 = _hex("0x1.1f8b45c6217a5p-29")

# vsigmoid: R(z) = r*coth(r/2) = 2 + z*P(z), z = r*r, |r| <= ln2/2 (+ margin), so
# exp(r) = (R + r)/(R - r).  Remez minimax fit, degree 4, of P(z) = (R - 2)/z,
# weighted by z (the error of R): 2**-58.8 absolute, with double coefficients.
COTH_P0 = _hex("0x1.555555555553ep-3")
COTH_P1 = _hex("-0x1.6c16c16bebdcap-9")
COTH_P2 = _hex("0x1.1566aaf275a1fp-14")
COTH_P3 = _hex("-0x1.bbd41cab57798p-20")
COTH_P4 = _hex("0x1.6376be6720ac4p-25")

# ---- log / log1p ---------------------------------------------------------
SQRT_HALF_BITS = 0x3FE6A09E667F3BCD   # bits(sqrt(0.5)), rounded to double
# Remez minimax fit, degree 6, of P(z) = (2*atanh(s) - 2*s) / (s*z), z = s*s,
# on 0 <= s <= (sqrt2-1)/(sqrt2+1), weighted so that the relative error of
# log(1+f) = 2*atanh(s), s = f/(2+f), is 2**-59.0 (like fdlibm's Lg1..7).
LOG_P0 = _hex("0x1.5555555555592p-1")
LOG_P1 = _hex("0x1.999999997fdb8p-2")
LOG_P2 = _hex("0x1.24924941f1235p-2")
LOG_P3 = _hex("0x1.c71c52095e45cp-3")
LOG_P4 = _hex("0x1.74663ee836fd5p-3")
LOG_P5 = _hex("0x1.39a1babc3e474p-3")
LOG_P6 = _hex("0x1.2f05635972257p-3")

# ---- sin / cos -----------------------------------------------------------
INV_PI = _hex("0x1.45f306dc9c883p-2")        # 1/pi rounded to double
# pi = PI_1 + PI_2 + PI_3 + PI_4 + PI_5 (+ 2**-154 relative): PI_1..PI_4 have
# 25 significant bits each, so n*PI_i is exact for |n| < 2**28.
PI_1 = _hex("0x1.921fb50000000p+1")
PI_2 = _hex("0x1.110b460000000p-25")
PI_3 = _hex("0x1.1a62630000000p-53")
PI_4 = _hex("0x1.8a2e030000000p-80")
PI_5 = _hex("0x1.c1cd129024e09p-106")
# Remez minimax fit, degree 7, of S(z) = (sin(r) - r) / r**3, z = r*r, on
# |r| <= pi/2 (1 + 2**-20), minimizing the relative error of
# sin(r) = r + r*z*S(z): 2**-61.6 (2**-57.4 with double coefficients).
SIN_S0 = _hex("-0x1.5555555555555p-3")
SIN_S1 = _hex("0x1.11111111110c1p-7")
SIN_S2 = _hex("-0x1.a01a01a0148bcp-13")
SIN_S3 = _hex("0x1.71de3a5287c59p-19")
SIN_S4 = _hex("-0x1.ae6454cb56785p-26")
SIN_S5 = _hex("0x1.6123cb28cd168p-33")
SIN_S6 = _hex("-0x1.ae431d8a1b02ap-41")
SIN_S7 = _hex("0x1.8829a1682dd1cp-49")
# Beyond this |x| the products n*PI_i are no longer exact (see vsin/vcos): the
# reduction then uses pi = PIF_1 + PIF_2 + PIF_3 (53-bit parts) with fused
# multiply-adds, x - n*PIF_1 being exact while |n| < 2**51.
TRIG_EXACT_LIMIT = 4.2e8
PIF_1 = _hex("0x1.921fb54442d18p+1")
PIF_2 = _hex("0x1.1a62633145c07p-53")
PIF_3 = _hex("-0x1.f1976b7ed8fbcp-109")
# Beyond |x| = 2**47 sin and cos are nan: n = round(x/pi) is then taken from a
# product x*INV_PI whose rounding can push r past the polynomials' range (errors
# of 100+ ulp from 2**49 on), and without a Payne-Hanek reduction (big tables,
# gathers) there is no cheap exact n.
TRIG_LIMIT = 2.0 ** 47
# vsincos reduces modulo pi/2 (|r| <= pi/4) and needs both kernels:
# Remez, degree 5: sin(r) = r + r*z*SC_S(z), relative error 2**-56.4, and
# cos(r) = 1 - z/2 + z*z*SC_C(z), absolute error 2**-59.9, on |r| <= pi/4.
TWO_OVER_PI = _hex("0x1.45f306dc9c883p-1")   # 2/pi rounded to double
SC_S0 = _hex("-0x1.5555555555548p-3")
SC_S1 = _hex("0x1.111111110f7d0p-7")
SC_S2 = _hex("-0x1.a01a019bfdedfp-13")
SC_S3 = _hex("0x1.71de3567d287ep-19")
SC_S4 = _hex("-0x1.ae5e5a90f711fp-26")
SC_S5 = _hex("0x1.5d8fd1837d72ep-33")
SC_C0 = _hex("0x1.555555555554cp-5")
SC_C1 = _hex("-0x1.6c16c16c15184p-10")
SC_C2 = _hex("0x1.a01a019cb26e2p-16")
SC_C3 = _hex("-0x1.27e4f80a75b52p-22")
SC_C4 = _hex("0x1.1ee9ec473df1ap-29")
SC_C5 = _hex("-0x1.8faecef06f9ddp-37")


def vexp(x):
    """exp(x), max error < 1 ulp (measured 0.91 ulp against mpmath).

    Reduction: x = k*ln2 + r with k = round(x/ln2) (SHIFT trick) and
    r = (x - k*LN2_HI) - k*LN2_LO (Cody-Waite, k*LN2_HI exact), |r| <= ln2/2.
    exp(r) = 1 + (r + r*r*Q(r)) with Q the degree-10 Remez polynomial
    (Estrin scheme for its high terms: shorter dependency chains matter in
    big fused loops, which LLVM does not interleave). Every a*b + c is one
    :func:`fma` (one rounding; 14 vfmadd instead of 14 multiplies and 14
    adds: the neuron's fused sum runs 1.2x faster), with the same bits in
    plain Python, in the NumPy array tier and compiled.
    2**k is applied by :func:`scale2` (ldexp: one vscalefpd with AVX-512),
    so overflow gives inf and underflow gives gradual subnormals / 0 with a
    single rounding.  x is clamped to
    [-1000, 1000] first (exp is already inf/0 there), nan propagates.
    """
    x = float(x)                     # no-op under Numba; tames numpy scalars
    x = fmaximum(fminimum(x, 1000.0), -1000.0)   # one vminpd, one vmaxpd; nan stays nan
    kd = fma(x, INV_LN2, SHIFT)
    k = kd - SHIFT
    r = fma(-k, LN2_LO, fma(-k, LN2_HI, x))
    r2 = r * r
    r4 = r2 * r2
    # Estrin for the high terms (short dependency chain), Horner for the
    # last three (keeps the rounding error of q at Horner's level); every
    # a*b + c is one fused multiply-add (one rounding, one instruction)
    q = fma(fma(EXP_Q10, r, EXP_Q9), r2, fma(EXP_Q8, r, EXP_Q7))
    q = fma(q, r4, fma(fma(EXP_Q6, r, EXP_Q5), r2, fma(EXP_Q4, r, EXP_Q3)))
    q = fma(r, fma(r, fma(r, q, EXP_Q2), EXP_Q1), EXP_Q0)
    p = 1.0 + fma(r2, q, r)
    # k in [-1443, 1443] as an integer, from the bits of kd (no float-to-int
    # conversion, which would be undefined for nan; p is nan then anyway)
    ki = np.float64(kd).view(np.int64) - SHIFT_BITS
    return scale2(p, ki)             # p * 2**k rounded once


def vexpm1(x):
    """exp(x) - 1, also accurate for tiny x; max error < 1.5 ulp (meas. 1.24).

    Same reduction and polynomial as :func:`vexp` (p = expm1(r)).  With
    s = 2**(k-1) (exact for the clamped range k in [-65, 1024]):
    expm1(x) = 2**k*(1 + p) - 1 = 2*((s - 0.5) + s*r + s*r*r*Q(r)), summed
    as ((s - 0.5) + s*r) + s*r*r*Q(r) for k < 2 (the first sum is exact or
    of the size of the result: no cancellation error) and as
    (s*r + s*r*r*Q(r)) + (s - 0.5) for k >= 2; the final doubling overflows
    to inf exactly when the result does.  x is clamped to
    [-45, 710] (expm1 is -1 / inf there).  |x| < 2**-60 returns x itself
    (keeps -0.0 and subnormals exact).
    """
    x = float(x)                     # no-op under Numba; tames numpy scalars
    t = fmaximum(fminimum(x, 710.0), -45.0)
    kd = t * INV_LN2 + SHIFT
    k = kd - SHIFT
    r = (t - k * LN2_HI) - k * LN2_LO
    r2 = r * r
    r4 = r2 * r2
    # Estrin for the high terms (short dependency chain), Horner for the
    # last three (keeps the rounding error of q at Horner's level)
    q = ((EXP_Q3 + EXP_Q4 * r) + (EXP_Q5 + EXP_Q6 * r) * r2) \
        + ((EXP_Q7 + EXP_Q8 * r) + (EXP_Q9 + EXP_Q10 * r) * r2) * r4
    q = EXP_Q0 + r * (EXP_Q1 + r * (EXP_Q2 + r * q))
    e = ((np.float64(kd).view(np.int64) - SHIFT_BITS) + 1022) & 2047
    s = float(np.int64(e << 52).view(np.float64))
    # (s - 0.5) + s*r is exact or a single rounding of a value of the size of
    # the result; the polynomial tail s*r*r*q is added last.
    tail = s * (r2 * q)
    y = ((s - 0.5) + s * r) + tail if k < 2.0 else (s * r + tail) + (s - 0.5)
    y = y * 2.0
    return x if abs(x) < 8.673617379884035e-19 else y


def _log_doc():  # pragma: no cover - documentation anchor only
    """Shared method of vlog / vlog1p.

    Write the argument as 2**e * m with m in [sqrt(1/2), sqrt(2)) using its
    bits (exponent field re-centred at sqrt(1/2), as in musl), f = m - 1
    (exact), s = f/(2+f), z = s*s.  Then (fdlibm's identity)
    log(1+f) = f - (f*f/2 - s*(f*f/2 + z*P(z))) and
    log(x) = e*LN2_HI + (log(1+f) + e*LN2_LO), e*LN2_HI exact.
    """


def vlog(x):
    """Natural log, max error < 1 ulp (measured 0.74).

    See ``_log_doc`` for the method (one division, degree-6 Remez polynomial
    in z = s**2).  Subnormal x are first scaled by 2**54.  Edges as NumPy:
    log(0) = -inf, log(x<0) = nan, log(inf) = inf, log(nan) = nan.
    """
    x = float(x)                     # no-op under Numba; tames numpy scalars
    a = abs(x)
    tiny = a < 2.2250738585072014e-308
    a = a * TWO54 if tiny else a
    ix = np.float64(a).view(np.int64) - SQRT_HALF_BITS
    m = float(np.int64((ix & MANT_MASK) + SQRT_HALF_BITS).view(np.float64))
    # exponent e = ix >> 52 converted to float with the SHIFT trick
    e = float(np.int64((ix >> 52) + SHIFT_BITS).view(np.float64)) - SHIFT
    e = e - 54.0 if tiny else e
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    z2 = z * z
    p = ((LOG_P0 + LOG_P1 * z) + (LOG_P2 + LOG_P3 * z) * z2) \
        + ((LOG_P4 + LOG_P5 * z) + LOG_P6 * z2) * (z2 * z2)
    hfsq = 0.5 * (f * f)
    y = e * LN2_HI + (f - (hfsq - (s * (hfsq + z * p) + e * LN2_LO)))
    y = y if x < INF else x          # +inf -> inf, nan -> nan
    y = -INF if x == 0.0 else y
    return NAN if x < 0.0 else y


def vlog1p(x):
    """log(1 + x), accurate also for tiny x; max error < 1 ulp (measured 0.77).

    u = 1 + x and its exact rounding error c (Knuth's TwoSum), then the vlog
    method on u with f corrected by c * 2**-e (so for |x| small, f == x
    exactly).  |x| < 2**-60 returns x itself.  Edges: log1p(-1) = -inf,
    x < -1 -> nan, inf -> inf, nan -> nan.
    """
    x = float(x)                     # no-op under Numba; tames numpy scalars
    u = 1.0 + x
    bb = u - 1.0
    c = (1.0 - (u - bb)) + (x - bb)
    a = abs(u)                       # u < 0 only for x < -1 (nan below)
    ix = np.float64(a).view(np.int64) - SQRT_HALF_BITS
    m = float(np.int64((ix & MANT_MASK) + SQRT_HALF_BITS).view(np.float64))
    ei = ix >> 52
    e = float(np.int64(ei + SHIFT_BITS).view(np.float64)) - SHIFT
    # 2**-e for the correction; beyond e = 60 the correction is negligible
    # and the clamp keeps the exponent field in range.
    ec = 60 if ei > 60 else ei
    ec = -60 if ec < -60 else ec
    scale = float(np.int64((1023 - ec) << 52).view(np.float64))
    f = (m - 1.0) + c * scale
    s = f / (2.0 + f)
    z = s * s
    z2 = z * z
    p = ((LOG_P0 + LOG_P1 * z) + (LOG_P2 + LOG_P3 * z) * z2) \
        + ((LOG_P4 + LOG_P5 * z) + LOG_P6 * z2) * (z2 * z2)
    hfsq = 0.5 * (f * f)
    y = e * LN2_HI + (f - (hfsq - (s * (hfsq + z * p) + e * LN2_LO)))
    y = y if x < INF else x          # +inf -> inf, nan -> nan
    y = -INF if x == -1.0 else y
    y = NAN if x < -1.0 else y
    return x if abs(x) < 8.673617379884035e-19 else y


def vexp_ratio(t):
    """(kd, r, R) for exp as a ratio: t = k*ln2 + r as in :func:`vexp` (k from kd's bits,
    |r| <= ln2/2) and R = r*coth(r/2) = 2 + z*P(z), z = r*r, P the degree-4 Remez
    polynomial COTH_P, so exp(r) = (R + r)/(R - r) (fdlibm's rational form of exp). Shared
    by :func:`vsigmoid` and :func:`vtanh`, whose own division is exp's too."""
    kd = fma(t, INV_LN2, SHIFT)
    k = kd - SHIFT
    r = fma(-k, LN2_LO, fma(-k, LN2_HI, t))
    z = r * r
    big_r = fma(z, fma(z, fma(z, fma(z, fma(z, COTH_P4, COTH_P3), COTH_P2), COTH_P1), COTH_P0), 2.0)
    return kd, r, big_r


def vreduce_fma(x, n, p1, p2, p3):
    """x - n*(p1 + p2 + p3) by three fused multiply-adds: the trig reduction beyond
    TRIG_EXACT_LIMIT (see :func:`vsin`). Its callers use it only where |x| is that big; the
    array tier (``codegen.arraytier``) computes it only there (its fma is emulated)."""
    return fma(-n, p3, fma(-n, p2, fma(-n, p1, x)))


def vsin(x):
    """sin(x); max error < 2 ulp for |x| <= 1e5 (measured 1.85), < 2.5 ulp
    for |x| <= 4.2e8 (TRIG_EXACT_LIMIT; measured 2.33).

    Reduction modulo pi (as in SLEEF): n = round(x/pi), r = x - n*pi with pi
    split in 5 parts (PI_1..PI_4 of 25 bits, so each n*PI_i is exact for
    |n| < 2**28, and a 53-bit tail): the subtractions are either exact or
    relative to the final r, so r is correct to ~1 ulp even next to multiples
    of pi.  Then sin(x) = (-1)**n * sin(r), |r| <= pi/2, with
    sin(r) = r + r*z*S(z), z = r*r, S the degree-7 Remez polynomial.

    For 4.2e8 < |x| <= 2**47 (TRIG_LIMIT, 1.4e14) the products n*PI_i are
    inexact, so r = x - n*pi is taken with fused multiply-adds of the 53-bit
    parts PIF_1..3 instead (x - n*PIF_1 is exact there): < 2.5 ulp (measured
    1.66 for sin, cos and sincos on random arguments up to 2**48), ~2**-110
    absolute next to multiples of pi. Beyond 2**47 the result is nan, not a
    wrong number (no Payne-Hanek reduction; NumPy's libm gives the true value,
    of an argument whose ulp is 1/32 or more). sin(+-inf) and sin(nan)
    are nan.  |x| < 2**-27 returns x (exact; keeps -0.0).
    """
    x = float(x)                     # no-op under Numba; tames numpy scalars
    kd = x * INV_PI + SHIFT
    n = kd - SHIFT
    r = x - n * PI_1
    r = r - n * PI_2
    r = r - n * PI_3
    r = r - n * PI_4
    r = r - n * PI_5
    r = vreduce_fma(x, n, PIF_1, PIF_2, PIF_3) if abs(x) > TRIG_EXACT_LIMIT else r
    z = r * r
    z2 = z * z
    p = ((SIN_S2 + SIN_S3 * z) + (SIN_S4 + SIN_S5 * z) * z2) \
        + (SIN_S6 + SIN_S7 * z) * (z2 * z2)
    p = SIN_S0 + z * (SIN_S1 + z * p)   # Horner for the last two terms
    y = r + (r * z) * p
    odd = np.float64(kd).view(np.int64) & 1
    y = -y if odd == 1 else y
    y = NAN if abs(x) > TRIG_LIMIT else y    # also inf; nan stays nan
    return x if abs(x) < 7.450580596923828e-09 else y


def vcos(x):
    """cos(x); max error < 2 ulp for |x| <= 1e5 (measured 1.87), < 2.5 ulp
    for |x| <= 4.2e8 (TRIG_EXACT_LIMIT; measured 2.27).

    n = round(x/pi - 1/2), h = n + 1/2, r = x - h*pi (same 5-part split as
    :func:`vsin`; h*PI_i exact for |h| < 2**27), |r| <= pi/2, and
    cos(x) = cos(h*pi + r) = (-1)**(n+1) * sin(r), evaluated with the sin
    polynomial; r is accurate near the zeros of cos.  Same large-|x|
    behaviour as vsin (x - h*PIF_1 is exact too: h*PIF_1 is a multiple of
    2**-52; nan beyond 2**47).  cos(+-inf) and cos(nan) are nan.
    """
    x = float(x)                     # no-op under Numba; tames numpy scalars
    kd = (x * INV_PI - 0.5) + SHIFT
    h = (kd - SHIFT) + 0.5
    r = x - h * PI_1
    r = r - h * PI_2
    r = r - h * PI_3
    r = r - h * PI_4
    r = r - h * PI_5
    r = vreduce_fma(x, h, PIF_1, PIF_2, PIF_3) if abs(x) > TRIG_EXACT_LIMIT else r
    z = r * r
    z2 = z * z
    p = ((SIN_S2 + SIN_S3 * z) + (SIN_S4 + SIN_S5 * z) * z2) \
        + (SIN_S6 + SIN_S7 * z) * (z2 * z2)
    p = SIN_S0 + z * (SIN_S1 + z * p)   # Horner for the last two terms
    y = r + (r * z) * p
    odd = np.float64(kd).view(np.int64) & 1
    y = y if odd == 1 else -y
    return NAN if abs(x) > TRIG_LIMIT else y    # also inf; nan stays nan


def vsincos(x):
    """(sin(x), cos(x)) with one shared reduction.

    Max error < 1.6 ulp for |x| <= 1e5 (measured 1.53), < 2.5 ulp for
    |x| <= 4.2e8 (measured 2.25).

    Cheaper than vsin + vcos when both are needed (gradients of sin/cos).
    Reduction modulo pi/2 (fdlibm-style quadrants): n = round(2x/pi),
    r = x - n*pi/2 with the halves of the PI_i parts (exact for |n| < 2**28),
    |r| <= pi/4; sin(r) = r + r*z*SC_S(z) and
    cos(r) = w + (((1 - w) - z/2) + z*z*SC_C(z)), w = 1 - z/2 (the bracket
    recovers the rounding error of w), degree-5 Remez polynomials SC_S, SC_C in
    z = r*r; the quadrant n mod 4 selects and negates.  Same large-|x|
    reduction and nan beyond 2**47 as :func:`vsin`.
    """
    x = float(x)                     # no-op under Numba; tames numpy scalars
    kd = x * TWO_OVER_PI + SHIFT
    n = kd - SHIFT
    r = x - n * (0.5 * PI_1)
    r = r - n * (0.5 * PI_2)
    r = r - n * (0.5 * PI_3)
    r = r - n * (0.5 * PI_4)
    r = r - n * (0.5 * PI_5)
    r = vreduce_fma(x, n, 0.5 * PIF_1, 0.5 * PIF_2, 0.5 * PIF_3) if abs(x) > TRIG_EXACT_LIMIT else r
    z = r * r
    z2 = z * z
    z4 = z2 * z2
    p = ((SC_S0 + SC_S1 * z) + (SC_S2 + SC_S3 * z) * z2) \
        + (SC_S4 + SC_S5 * z) * z4
    s = r + (r * z) * p
    q = ((SC_C0 + SC_C1 * z) + (SC_C2 + SC_C3 * z) * z2) \
        + (SC_C4 + SC_C5 * z) * z4
    hz = 0.5 * z
    w = 1.0 - hz
    c = w + (((1.0 - w) - hz) + z2 * q)
    quad = np.float64(kd).view(np.int64) & 3
    odd = (quad & 1) == 1
    sin_x = c if odd else s
    cos_x = s if odd else c
    sin_x = -sin_x if (quad & 2) == 2 else sin_x
    cos_x = -cos_x if ((quad + 1) & 2) == 2 else cos_x
    sin_x = x if abs(x) < 7.450580596923828e-09 else sin_x
    huge = abs(x) > TRIG_LIMIT       # also inf; nan stays nan
    return (NAN if huge else sin_x), (NAN if huge else cos_x)


def vtanh(x):
    """tanh(x), max error < 2.5 ulp (measured 2.39; glibc's tanh: 2.14), one division.

    With y = 2|x| (|x| clamped to 22, where tanh is 1.0 in double) and -y = k*ln2 + r
    (:func:`vexp_ratio`), exp(-y) = u*(R + r)/(R - r), u = 2**k (exact: k >= -64), so
    tanh|x| = (1 - exp(-y))/(1 + exp(-y)) = (R*(1 - u) - r*(1 + u)) / (R*(1 + u) - r*(1 - u)),
    each side one fused multiply-add of exact or once-rounded parts: no cancellation
    (for small |x|, k = 0 and the numerator is -2r = 4|x| exactly). The sign is restored
    with copysign (odd function, tanh(-0.0) = -0.0); tanh(+-inf) = +-1, tanh(nan) = nan.
    """
    x = float(x)                     # no-op under Numba; tames numpy scalars
    a = fminimum(abs(x), 22.0)       # one vminpd; nan stays nan
    kd, r, big_r = vexp_ratio(-2.0 * a)
    # u = 2**k from kd's bits (k in [-64, 0]: a normal number)
    u = float(np.int64((np.float64(kd).view(np.int64) - SHIFT_BITS + 1023) << 52).view(np.float64))
    minus, plus = 1.0 - u, 1.0 + u   # exact
    num = fma(big_r, minus, -(r * plus))
    den = fma(big_r, plus, -(r * minus))
    return math.copysign(num / den, x)


def vsigmoid(x):
    """Logistic sigmoid 1/(1 + exp(-x)), max error < 2.5 ulp (measured 2.18), one division.

    t = -|x| = k*ln2 + r and exp(r) = (R + r)/(R - r) (:func:`vexp_ratio`).
    With a = R - r and b = 2**k*(a + 2r) (= 2**k*(R + r); a + 2r carries less of
    a's rounding error than R + r), exp(t) = b/a, so sigmoid(x) = a/(a + b) for
    x >= 0 and b/(a + b) for x < 0: the division that sigmoid needs anyway is
    exp's too (7 fewer vector operations than vexp, then a division: the
    neuron's fused sum runs 1.25x faster). t is clamped to -1000 (b is 0 there:
    sigmoid is 1 or 0); sigmoid(-740) is the correct subnormal, not 0; nan stays
    nan.
    """
    x = float(x)                     # no-op under Numba; tames numpy scalars
    kd, r, big_r = vexp_ratio(fmaximum(-abs(x), -1000.0))   # one vmaxpd; nan stays nan
    a = big_r - r
    b = scale2(fma(r, 2.0, a), np.float64(kd).view(np.int64) - SHIFT_BITS)
    num = a if x >= 0.0 else b
    return num / (a + b)


def vsoftplus(x):
    """softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)).

    Max error < 2 ulp (measured 1.65), never overflows; softplus(-inf) = 0,
    softplus(+inf) = inf.
    """
    x = float(x)                     # no-op under Numba; tames numpy scalars
    t = vexp(-abs(x))
    base = 0.0 if x < 0.0 else x
    return base + vlog1p(t)


PUBLIC_FUNCTIONS = (
    "vexp", "vexpm1", "vlog", "vlog1p", "vsin", "vcos", "vsincos", "vtanh",
    "vsigmoid", "vsoftplus",
)
HELPER_FUNCTIONS = ("vexp_ratio", "vreduce_fma")   # compiled with them, called by them only


def jit_namespace(njit, *more, **options):
    """Compile all public functions with ``njit(**options)``.

    ``njit`` is normally ``numba.njit``; the recommended options are
    ``error_model="numpy", inline="always"`` (and optionally
    ``fastmath={"contract"}``).  ``inline="always"`` matters: LLVM's own
    inliner declines to inline the larger functions (e.g. ``vsoftplus``) or
    several calls into one big kernel, and a loop containing a call does not
    vectorize.  Returns a module object (``types.ModuleType``) holding the
    compiled functions: Numba resolves ``vm.vexp(x)`` on a global module
    object at compile time (it cannot do so on a SimpleNamespace or dict).

    Each function is re-created with a private globals dict in which sibling
    names refer to the compiled versions, so composite functions
    (vtanh -> vexpm1) compile too. ``more``: companion modules whose ``JIT_FUNCTIONS``
    are compiled into the same namespace, wired to the same siblings.
    """
    import importlib
    importlib.import_module("codegen.fma")    # registers fma's compiled implementation
    decorate = njit(**options) if options else njit
    env = dict(globals())
    names = list(PUBLIC_FUNCTIONS) + list(HELPER_FUNCTIONS)
    for module in more:   # companion modules (codegen.vmath_special): their functions and constants
        env.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
        names += [n for n in module.JIT_FUNCTIONS if n not in names]
    compiled = {}
    for name in names:
        fn = env[name]
        clone = types.FunctionType(fn.__code__, env, name, fn.__defaults__,
                                   fn.__closure__)
        clone.__doc__ = fn.__doc__
        clone.__module__ = fn.__module__
        clone.__qualname__ = fn.__qualname__
        compiled[name] = decorate(clone)
    env.update(compiled)
    module = types.ModuleType(__name__ + "_jit", "vmath functions compiled "
                              "with %r, options %r" % (njit, options))
    for name, fn in compiled.items():
        setattr(module, name, fn)
    return module


# --------------------------------------------------------------------------
# Derivation of the constants above (development / test use only).
# --------------------------------------------------------------------------

def _remez(mp, f, w, a, b, n, iters=40, grid=3000):
    """Weighted minimax polynomial of degree n for f on [a, b] (mpmath).

    Classic Remez exchange: solve sum_j c_j x_i**j + (-1)**i E / w(x_i) =
    f(x_i) on n+2 reference points, move the references to the alternating
    extrema of w*(f - p) on a dense Chebyshev grid, repeat until the levelled
    error E equals the true maximum error.  Returns (coeffs, max_error).
    """
    a, b = mp.mpf(a), mp.mpf(b)
    m = n + 2
    xs = [(a + b) / 2 - (b - a) / 2 * mp.cos(mp.pi * i / (m - 1))
          for i in range(m)]
    xs = [x if w(x) != 0 else x + (b - a) * mp.mpf("1e-3") for x in xs]
    gx = [a + (b - a) * (1 - mp.cos(mp.pi * i / (grid - 1))) / 2
          for i in range(grid)]
    fg = [f(x) for x in gx]
    wg = [w(x) for x in gx]
    c = maxerr = None
    for _ in range(iters):
        A = mp.matrix(m, m)
        rhs = mp.matrix(m, 1)
        for i, x in enumerate(xs):
            for j in range(n + 1):
                A[i, j] = x ** j
            A[i, n + 1] = (-1) ** i / w(x)
            rhs[i] = f(x)
        sol = mp.lu_solve(A, rhs)
        c = [sol[j] for j in range(n + 1)]
        E = sol[n + 1]
        eg = [wx * (fx - mp.polyval(c[::-1], x))
              for x, fx, wx in zip(gx, fg, wg)]
        alt = []
        for i in range(grid):
            e = eg[i]
            if (i == 0 or abs(e) >= abs(eg[i - 1])) and \
                    (i == grid - 1 or abs(e) >= abs(eg[i + 1])):
                if alt and mp.sign(e) == mp.sign(eg[alt[-1]]):
                    if abs(e) > abs(eg[alt[-1]]):
                        alt[-1] = i
                else:
                    alt.append(i)
        while len(alt) > m:
            if abs(eg[alt[0]]) < abs(eg[alt[-1]]):
                alt.pop(0)
            else:
                alt.pop()
        maxerr = max(abs(e) for e in eg)
        if len(alt) == m:
            xs = [gx[i] for i in alt]
        if abs(maxerr - abs(E)) < abs(E) * mp.mpf("1e-6"):
            break
    return c, maxerr


def _derive_constants():
    """Recompute every constant of this module with mpmath (60 digits).

    Returns a dict name -> float, bit-identical to the literals above (the
    Remez results depend on the grid, so reproduce with these exact
    settings).  Needs ``mpmath`` (a sympy dependency); takes 3-7 s, so
    tests/test_vmath.py runs it only with VMATH_DERIVE=1 and otherwise
    checks the error bounds of the stored polynomials directly.
    """
    import mpmath as mp
    mp.mp.dps = 60
    out = {}

    def split(v, bits):          # v rounded to `bits` significant bits
        e = mp.floor(mp.log(abs(v), 2))
        return mp.nint(v * mp.mpf(2) ** (bits - 1 - e)) * \
            mp.mpf(2) ** (e - (bits - 1))

    ln2 = mp.log(2)
    out["INV_LN2"] = float(1 / ln2)
    hi = split(ln2, 32)
    out["LN2_HI"], out["LN2_LO"] = float(hi), float(ln2 - hi)
    out["INV_PI"] = float(1 / mp.pi)
    rest = mp.pi
    for i in range(1, 5):
        part = split(rest, 25)
        out["PI_%d" % i] = float(part)
        rest -= part
    out["PI_5"] = float(rest)
    rest = mp.pi
    for i in range(1, 4):
        out["PIF_%d" % i] = float(rest)
        rest -= mp.mpf(out["PIF_%d" % i])

    def series_or(fn, series, x):
        return series(x) if abs(x) < mp.mpf("1e-8") else fn(x)

    # exp: Q(r) = (expm1(r) - r)/r^2, |r| <= ln2/2 (+ margin), abs. error
    h = ln2 / 2 * (1 + mp.mpf(2) ** -30)
    q, _ = _remez(mp, lambda r: series_or(
        lambda t: (mp.expm1(t) - t) / t ** 2,
        lambda t: mp.fsum(t ** k / mp.factorial(k + 2) for k in range(8)), r),
        lambda r: mp.mpf(1), -h, h, 10)
    for i, v in enumerate(q):
        out["EXP_Q%d" % i] = float(v)

    # sigmoid: P(z) = (r coth(r/2) - 2)/z, z = r^2, weight z (error of R)
    def coth_p(z):
        if z < mp.mpf("1e-12"):
            return mp.fsum(c * z ** k for k, c in enumerate(
                (mp.mpf(1) / 6, -mp.mpf(1) / 360, mp.mpf(1) / 15120, -mp.mpf(1) / 604800)))
        r = mp.sqrt(z)
        return (r / mp.tanh(r / 2) - 2) / z
    c, _ = _remez(mp, coth_p, lambda z: z, 0, h ** 2, 4)
    for i, v in enumerate(c):
        out["COTH_P%d" % i] = float(v)

    # log: P(z) = (2 atanh(s) - 2 s)/(s z), weight z (error of s*z*P)
    smax = (mp.sqrt(2) - 1) / (mp.sqrt(2) + 1) * (1 + mp.mpf(2) ** -30)
    p, _ = _remez(mp, lambda z: series_or(
        lambda t: (2 * mp.atanh(mp.sqrt(t)) - 2 * mp.sqrt(t))
        / (mp.sqrt(t) * t),
        lambda t: mp.fsum(2 * t ** k / (2 * k + 3) for k in range(8)), z),
        lambda z: z, 0, smax ** 2, 6)
    for i, v in enumerate(p):
        out["LOG_P%d" % i] = float(v)

    # sin: S(z) = (sin r - r)/r^3, relative error of sin(r), |r| <= pi/2
    zmax = (mp.pi / 2 * (1 + mp.mpf(2) ** -20)) ** 2

    def w_sin(z):
        if z == 0:
            return mp.mpf(0)
        r = mp.sqrt(z)
        return z * r / mp.sin(r)
    s, _ = _remez(mp, lambda z: series_or(
        lambda t: (mp.sin(mp.sqrt(t)) - mp.sqrt(t)) / (mp.sqrt(t) * t),
        lambda t: mp.fsum((-1) ** (k + 1) * t ** k / mp.factorial(2 * k + 3)
                          for k in range(8)), z),
        w_sin, 0, zmax, 7)
    for i, v in enumerate(s):
        out["SIN_S%d" % i] = float(v)

    # vsincos kernels on |r| <= pi/4
    out["TWO_OVER_PI"] = float(2 / mp.pi)
    zmax = (mp.pi / 4 * (1 + mp.mpf(2) ** -20)) ** 2
    s, _ = _remez(mp, lambda z: series_or(
        lambda t: (mp.sin(mp.sqrt(t)) - mp.sqrt(t)) / (mp.sqrt(t) * t),
        lambda t: mp.fsum((-1) ** (k + 1) * t ** k / mp.factorial(2 * k + 3)
                          for k in range(8)), z),
        w_sin, 0, zmax, 5)
    for i, v in enumerate(s):
        out["SC_S%d" % i] = float(v)
    c, _ = _remez(mp, lambda z: series_or(
        lambda t: (mp.cos(mp.sqrt(t)) - 1 + t / 2) / t ** 2,
        lambda t: mp.fsum((-1) ** k * t ** k / mp.factorial(2 * k + 4)
                          for k in range(8)), z),
        lambda z: z * z, 0, zmax, 5)
    for i, v in enumerate(c):
        out["SC_C%d" % i] = float(v)
    return out
