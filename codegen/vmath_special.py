"""Vectorizable float64 atan, atan2, asinh, erf and erfc (the companions of ``vmath``).

Same rules as ``codegen.vmath``: float arithmetic, comparisons, conditional expressions
(``select``) and IEEE bit tricks only, so that LLVM vectorizes loops that inline them; the
same functions run as plain Python give the same bits; never an exception (inf and nan
follow C99/NumPy). Polynomials are Chebyshev series evaluated by Clenshaw's recurrence; their
coefficients are interpolants of the exact functions at Chebyshev nodes (mpmath, 50 digits;
``_derive`` rebuilds them), truncated where the terms fall below 1e-19 of the first (and to at most 24 terms:
Numba stops unrolling, and LLVM vectorizing, at 25).

- ``vatan``: |x| reduced to |z| <= tan(pi/8) (z = x, (x-1)/(x+1) or -1/x, plus pi/4 or
  pi/2 in two parts), atan(z) = z + z*t*R(t), t = z*z.
- ``vatan2``: the quadrant from the signs of x and y, the angle from vatan(|y/x|).
- ``vasinh``: log1p(a + a*a/(1 + sqrt(1 + a*a))) for |x| = a <= 2**28, log1p(a - 1) + log(2)
  above; one vlog1p either way.
- ``verf``/``verfc``: for |x| < 0.5, erf(x) = x*P(x*x); above, erfc(x) = exp(-x*x)*erfcx(x),
  erfcx a series in x on [0.5, 2] and in 1/x beyond, with x*x split exactly into hi + lo
  (Dekker), so exp(-x*x) keeps its accuracy where x*x is large.

Accuracy against SciPy/libm is checked in tests/test_vmath_special.py.
"""
import math

import numpy as np

from .vmath import vexp, vlog1p

PI = math.pi
PI_LO = 1.2246467991473532e-16       # pi - PI, rounded
PIO2 = math.pi / 2
PIO2_LO = 6.123233995736766e-17
PIO4 = math.pi / 4
PIO4_LO = 3.061616997868383e-17
TAN_PI_8 = 0.41421356237309503
TAN_3PI_8 = 2.414213562373095
ASINH_BIG = 268435456.0              # 2**28
LN2 = math.log(2.0)
SPLIT = 134217729.0                  # 2**27 + 1, Veltkamp's splitter
ERF_T = 0.25                         # erf's polynomial holds for x*x <= ERF_T
ERFC_X_MAX = 27.5                    # erfc(x) underflows to 0 beyond about 27.2
ATAN_T = 0.1715728752538099
ATAN_C = (-0.3175967348755782, 0.015287330953370771, -0.0004353522436798789, 1.3462765939324904e-05, -4.3729562445046217e-07, 1.4676633293272413e-08, -5.04229509497806e-10, 1.7629800332933142e-11, -6.248787902259656e-13, 2.2391932258678657e-14, -8.096080381010495e-16, 2.9491722837357504e-17, -1.0811122815011457e-18, 3.984705184027268e-20)
ERF_C = (1.083882205490613, -0.04367779108737525, 0.0008071118294133213, -1.191317951927046e-05, 1.440278733630302e-07, -1.467715582316901e-09, 1.2902439604484931e-11, -9.963857180158892e-14, 6.857505850501839e-16, -4.255370438044438e-18)
ERFCX_C = (0.4006822530639845, -0.17395587897748596, 0.03383702540740585, -0.006032263577025819, 0.001000274118215681, -0.0001558965252433288, 2.3014442396758424e-05, -3.2375421924541957e-06, 4.360702485858127e-07, -5.645684833789816e-08, 7.048623263203286e-09, -8.509612327566787e-10, 9.957554366871612e-11, -1.1316613855047257e-11, 1.2513369992930791e-12, -1.3483678086194079e-13, 1.4178345509581745e-14, -1.4566964654246537e-15, 1.4639564848603663e-16, -1.4406081509350508e-17, 1.3893934243911832e-18, -1.314421430456738e-19, 0.0, 0.0)
ERFC_U0 = 0.03636363636363636
ERFC_G = (0.5415460801326082, -0.027128357302808746, -0.004235410518397064, 0.000625370711138547, -7.918839242723777e-06, -9.97255599575634e-06, 1.6161658790777666e-06, -2.3957876962370474e-08, -3.8733615338510624e-08, 8.067513105050082e-09, -4.138601566946433e-10, -1.8406601713792294e-10, 5.637408247514605e-11, -6.296080187161009e-12, -7.044962354949731e-13, 4.419430072408485e-13, -8.562900544986915e-14, 3.2748432725039735e-15, 3.089577292995235e-15, -1.0433938685562306e-15, 1.5257807825523293e-16, 7.594391408914301e-18, -1.0357788190983316e-17, 2.8358022939760877e-18)


def _atan_series(s):
    """sum ATAN_C[k]*T_k(s), k < 14: Clenshaw, written out (a loop over a tuple
    would not unroll in Numba and stop vectorization)."""
    s2 = 2.0 * s
    b1 = ATAN_C[13]
    b2 = 0.0
    b1, b2 = s2 * b1 - b2 + ATAN_C[12], b1
    b1, b2 = s2 * b1 - b2 + ATAN_C[11], b1
    b1, b2 = s2 * b1 - b2 + ATAN_C[10], b1
    b1, b2 = s2 * b1 - b2 + ATAN_C[9], b1
    b1, b2 = s2 * b1 - b2 + ATAN_C[8], b1
    b1, b2 = s2 * b1 - b2 + ATAN_C[7], b1
    b1, b2 = s2 * b1 - b2 + ATAN_C[6], b1
    b1, b2 = s2 * b1 - b2 + ATAN_C[5], b1
    b1, b2 = s2 * b1 - b2 + ATAN_C[4], b1
    b1, b2 = s2 * b1 - b2 + ATAN_C[3], b1
    b1, b2 = s2 * b1 - b2 + ATAN_C[2], b1
    b1, b2 = s2 * b1 - b2 + ATAN_C[1], b1
    return s * b1 - b2 + ATAN_C[0]


def _erf_series(s):
    """sum ERF_C[k]*T_k(s), k < 10: Clenshaw, written out (a loop over a tuple
    would not unroll in Numba and stop vectorization)."""
    s2 = 2.0 * s
    b1 = ERF_C[9]
    b2 = 0.0
    b1, b2 = s2 * b1 - b2 + ERF_C[8], b1
    b1, b2 = s2 * b1 - b2 + ERF_C[7], b1
    b1, b2 = s2 * b1 - b2 + ERF_C[6], b1
    b1, b2 = s2 * b1 - b2 + ERF_C[5], b1
    b1, b2 = s2 * b1 - b2 + ERF_C[4], b1
    b1, b2 = s2 * b1 - b2 + ERF_C[3], b1
    b1, b2 = s2 * b1 - b2 + ERF_C[2], b1
    b1, b2 = s2 * b1 - b2 + ERF_C[1], b1
    return s * b1 - b2 + ERF_C[0]


def _erfcx_series(s, w):
    """sum c[k]*T_k(s), k < 24, c = ERFCX_C where w is 0.0 and ERFC_G where w is 1.0 (blended
    exactly: a*1.0 + b*0.0 is a). Clenshaw, written out: a loop over a tuple does not unroll
    in Numba, and selects per term stop LLVM from vectorizing; blends do not."""
    v = 1.0 - w
    s2 = 2.0 * s
    b1 = ERFCX_C[23] * v + ERFC_G[23] * w
    b2 = 0.0
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[22] * v + ERFC_G[22] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[21] * v + ERFC_G[21] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[20] * v + ERFC_G[20] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[19] * v + ERFC_G[19] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[18] * v + ERFC_G[18] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[17] * v + ERFC_G[17] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[16] * v + ERFC_G[16] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[15] * v + ERFC_G[15] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[14] * v + ERFC_G[14] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[13] * v + ERFC_G[13] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[12] * v + ERFC_G[12] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[11] * v + ERFC_G[11] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[10] * v + ERFC_G[10] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[9] * v + ERFC_G[9] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[8] * v + ERFC_G[8] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[7] * v + ERFC_G[7] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[6] * v + ERFC_G[6] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[5] * v + ERFC_G[5] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[4] * v + ERFC_G[4] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[3] * v + ERFC_G[3] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[2] * v + ERFC_G[2] * w), b1
    b1, b2 = s2 * b1 - b2 + (ERFCX_C[1] * v + ERFC_G[1] * w), b1
    return s * b1 - b2 + (ERFCX_C[0] * v + ERFC_G[0] * w)


def vatan(x):
    """atan(x), within 2 ulp; atan(+-inf) = +-pi/2, atan(-0.0) = -0.0, nan stays nan."""
    x = float(x)                     # no-op under Numba; tames numpy scalars
    a = abs(x)
    big = a > TAN_3PI_8
    mid = a > TAN_PI_8
    z = -1.0 / a if big else ((a - 1.0) / (a + 1.0) if mid else a)
    hi = PIO2 if big else (PIO4 if mid else 0.0)
    lo = PIO2_LO if big else (PIO4_LO if mid else 0.0)
    t = z * z
    r = z + z * t * _atan_series(t * (2.0 / ATAN_T) - 1.0)
    y = hi + (lo + r)
    return math.copysign(y, x)


def vatan2(y, x):
    """atan2(y, x) as C99 defines it (the angle of (x, y) in [-pi, pi], signed zeros and
    infinities included), within 2 ulp: r = atan(min/max) of |x|, |y| (at most pi/4), then
    r, pi/2 - r, pi/2 + r or pi - r with pi/2 and pi in two parts."""
    y = float(y)
    x = float(x)
    ay = abs(y)
    ax = abs(x)
    steep = ay > ax
    big = ay if steep else ax
    small = ax if steep else ay
    ratio = small / (big if big != 0.0 else 1.0)
    ratio = 1.0 if (ay == math.inf and ax == math.inf) else ratio
    r = vatan(ratio)
    left = math.copysign(1.0, x) < 0.0                              # x < 0 or x = -0.0
    a = (PIO2_LO + r) + PIO2 if steep else (PI_LO - r) + PI
    b = (PIO2_LO - r) + PIO2 if steep else r
    return math.copysign(a if left else b, y)


def vasinh(x):
    """asinh(x), within 2 ulp; asinh(+-inf) = +-inf, asinh(-0.0) = -0.0."""
    x = float(x)
    a = abs(x)
    big = a > ASINH_BIG
    m = 0.0 if big else a
    t = m * m
    arg = a - 1.0 if big else m + t / (1.0 + np.sqrt(1.0 + t))
    y = vlog1p(arg) + (LN2 if big else 0.0)
    return math.copysign(y, x)


def _erfc_positive(a):
    """erfc(a) for a >= 0.5 (a may be inf or nan): exp(-a*a)*erfcx(a), erfcx from a series
    in a on [0.5, 2] and in 1/a above (no branch, no table lookup)."""
    c = ERFC_X_MAX if a > ERFC_X_MAX else a            # nan stays nan
    near = c < 2.0
    u = 1.0 / c
    f = _erfcx_series((c - 1.25) * (1.0 / 0.75) if near
                      else (2.0 * u - (ERFC_U0 + 0.5)) * (1.0 / (0.5 - ERFC_U0)),
                      0.0 if near else 1.0)
    f = f if near else f * u
    # exp(-c*c) with c*c = p + q exactly (Veltkamp split, Dekker's product)
    p = c * c
    s = SPLIT * c
    ch = s - (s - c)
    cl = c - ch
    q = ((ch * ch - p) + 2.0 * ch * cl) + cl * cl
    r = vexp(-p) * (1.0 - q) * f
    return 0.0 if a > ERFC_X_MAX else r


def verf(x):
    """erf(x), within a few ulp of SciPy's; erf(+-inf) = +-1, erf(-0.0) = -0.0."""
    x = float(x)
    a = abs(x)
    t = a * a
    small = a * _erf_series(t * (2.0 / ERF_T) - 1.0)
    y = small if a < 0.5 else 1.0 - _erfc_positive(0.5 if a < 0.5 else a)
    return math.copysign(y, x)


def verfc(x):
    """erfc(x), within a few ulp of SciPy's; erfc(-inf) = 2, erfc(inf) = 0."""
    x = float(x)
    a = abs(x)
    t = a * a
    small = 1.0 - x * _erf_series(t * (2.0 / ERF_T) - 1.0)
    big = _erfc_positive(0.5 if a < 0.5 else a)
    big = 2.0 - big if x < 0.0 else big
    return small if a < 0.5 else big


PUBLIC_FUNCTIONS = ("vatan", "vatan2", "vasinh", "verf", "verfc")
JIT_FUNCTIONS = ("_atan_series", "_erf_series", "_erfcx_series", "_erfc_positive") \
    + PUBLIC_FUNCTIONS
