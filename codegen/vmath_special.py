"""Vectorizable float64 atan, atan2, asinh, erf and erfc (the companions of ``vmath``).

Same rules as ``codegen.vmath``: float arithmetic, comparisons, conditional expressions
(``select``) and IEEE bit tricks only, so that LLVM vectorizes loops that inline them; the
same functions run as plain Python give the same bits; never an exception (inf and nan
follow C99/NumPy). Polynomials are Chebyshev series evaluated by Clenshaw's recurrence; their
coefficients are interpolants of the exact functions at Chebyshev nodes (mpmath, 50 digits;
``_derive`` rebuilds them), truncated where the terms fall below 1e-19 of the first.

- ``vatan``: |x| reduced to |z| <= tan(pi/8) (z = x, (x-1)/(x+1) or -1/x, plus pi/4 or
  pi/2 in two parts), atan(z) = z + z*t*R(t), t = z*z.
- ``vatan2``: the quadrant from the signs of x and y, the angle from vatan(|y/x|).
- ``vasinh``: log1p(a + a*a/(1 + sqrt(1 + a*a))) for |x| = a <= 2**28, log1p(a - 1) + log(2)
  above; one vlog1p either way.
- ``verf``/``verfc``: for |x| < 0.5, erf(x) = x*P(x*x); above, erfc(x) = exp(-x*x)*G(1/x)/x
  with G on five intervals of 1/x (picked from its exponent bits) and x*x split exactly into
  hi + lo (Dekker), so exp(-x*x) keeps its accuracy where x*x is large.

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
ERFC_LO = (0.03636363636363636, 0.125, 0.25, 0.5, 1.0)
ERFC_HI = (0.125, 0.25, 0.5, 1.0, 2.0)
ERFC_C = np.array((
    (0.5621099581877602, -0.001970704720780542, -0.0002608001025880169, 2.7223677132434805e-06, 1.5837737286400245e-07, -4.38983542288966e-09, -1.2061006523559517e-10, 7.988133542221534e-12, 4.196295395786503e-14, -1.519733239187375e-14, 2.6610430634583476e-16, 2.6770369286452998e-17, -1.3683468868124925e-18, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    (0.554346688086811, -0.005954652682742062, -0.0004072671646853867, 1.2928072406492937e-05, 1.5851603325191747e-07, -2.497156985567688e-08, 6.18306724761633e-10, 2.8440011472415783e-11, -2.8238844570978325e-12, 6.497110173064208e-14, 4.844717204190417e-15, -4.901890253737282e-16, 1.3648614177145996e-17, 9.000717108176912e-19, -1.142883114759956e-19, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    (0.5301308770132606, -0.018689308366538884, -0.0007329027318898532, 8.615653175129029e-05, -3.4066275133405097e-06, -8.525525623418828e-08, 2.3854766446998496e-08, -1.8555735983967876e-09, 5.305750311905564e-11, 5.915018316494957e-12, -1.0499162575041925e-12, 8.566402726606955e-14, -2.9602489021399388e-15, -2.8499739745622953e-16, 6.282991524018568e-17, -6.343667736849818e-18, 3.5780820434589947e-19, 0.0, 0.0, 0.0, 0.0),
    (0.4687089566349605, -0.041775068132475786, 0.0005040623963318858, 0.00016888702949542888, -2.5430051898348638e-05, 2.2949329159500325e-06, -1.2625248725454873e-07, -1.7887685298692902e-09, 1.6302900358124004e-09, -2.7115250283810896e-10, 3.109328807363296e-11, -2.626724466263171e-12, 1.2274102894328633e-13, 9.3230577582814e-15, -3.492421562678726e-15, 5.907371269573016e-16, -7.500447469203527e-17, 7.558655117219068e-18, -5.467252594172218e-19, 0.0, 0.0),
    (0.3636325118971986, -0.059711150527535194, 0.004096553412518921, -0.00016297282512062086, -1.3841677051161836e-05, 4.803992236540447e-06, -8.355440844977146e-07, 1.1590422933605827e-07, -1.384772712899695e-08, 1.422318810182146e-09, -1.1562413131118581e-10, 4.4954826510413764e-12, 8.459078896933856e-13, -2.868465652155706e-13, 5.710532889638292e-14, -9.361905635320316e-15, 1.362675527661776e-15, -1.8009092175419615e-16, 2.1563822044107843e-17, -2.2715690327138287e-18, 1.9058059454366382e-19),
))
ERFC_N = ERFC_C.shape[1]


def _clenshaw1(s):
    """sum ATAN_C[k]*T_k(s), s in [-1, 1]."""
    b1 = 0.0
    b2 = 0.0
    for k in range(len(ATAN_C) - 1, 0, -1):
        b1, b2 = 2.0 * s * b1 - b2 + ATAN_C[k], b1
    return s * b1 - b2 + ATAN_C[0]


def _clenshaw2(s):
    b1 = 0.0
    b2 = 0.0
    for k in range(len(ERF_C) - 1, 0, -1):
        b1, b2 = 2.0 * s * b1 - b2 + ERF_C[k], b1
    return s * b1 - b2 + ERF_C[0]


def _clenshaw_erfc(k, s):
    b1 = 0.0
    b2 = 0.0
    for j in range(ERFC_N - 1, 0, -1):
        b1, b2 = 2.0 * s * b1 - b2 + ERFC_C[k, j], b1
    return s * b1 - b2 + ERFC_C[k, 0]


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
    r = z + z * t * _clenshaw1(t * (2.0 / ATAN_T) - 1.0)
    y = hi + (lo + r)
    return math.copysign(y, x)


def vatan2(y, x):
    """atan2(y, x) as C99 defines it (the angle of (x, y) in [-pi, pi], signed zeros and
    infinities included), within 2 ulp."""
    y = float(y)
    x = float(x)
    ax = abs(x)
    q = abs(y) / (ax if ax != 0.0 else 1.0)
    q = math.inf if ax == 0.0 else q
    both_zero = y == 0.0 and x == 0.0
    both_inf = abs(y) == math.inf and abs(x) == math.inf
    q = 0.0 if both_zero else (1.0 if both_inf else q)
    a = vatan(q)
    left = math.copysign(1.0, x) < 0.0 and not (x == 0.0 and y != 0.0)   # x < 0 or -0.0
    r = (PI_LO - a) + PI if left else a
    return math.copysign(r, y)


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
    """erfc(a) for a >= 0.5 (a may be inf or nan)."""
    c = ERFC_X_MAX if a > ERFC_X_MAX else a            # nan stays nan
    u = 1.0 / c
    e = (np.float64(u).view(np.int64) >> 52) - 1023    # u in [2**e, 2**(e+1))
    k = e + 4
    k = 0 if k < 0 else k
    k = 4 if k > 4 else k
    lo = ERFC_LO[k]
    hi = ERFC_HI[k]
    g = _clenshaw_erfc(k, (2.0 * u - (lo + hi)) / (hi - lo))
    # exp(-a*a) with a*a = p + q exactly (Veltkamp split, Dekker's product)
    p = c * c
    s = SPLIT * c
    ah = s - (s - c)
    al = c - ah
    q = ((ah * ah - p) + 2.0 * ah * al) + al * al
    r = vexp(-p) * (1.0 - q) * g * u
    return 0.0 if a > ERFC_X_MAX else r


def verf(x):
    """erf(x), within a few ulp of SciPy's; erf(+-inf) = +-1, erf(-0.0) = -0.0."""
    x = float(x)
    a = abs(x)
    t = a * a
    small = a * _clenshaw2(t * (2.0 / ERF_T) - 1.0)
    y = small if a < 0.5 else 1.0 - _erfc_positive(0.5 if a < 0.5 else a)
    return math.copysign(y, x)


def verfc(x):
    """erfc(x), within a few ulp of SciPy's; erfc(-inf) = 2, erfc(inf) = 0."""
    x = float(x)
    a = abs(x)
    t = a * a
    small = 1.0 - x * _clenshaw2(t * (2.0 / ERF_T) - 1.0)
    big = _erfc_positive(0.5 if a < 0.5 else a)
    big = 2.0 - big if x < 0.0 else big
    return small if a < 0.5 else big


PUBLIC_FUNCTIONS = ("vatan", "vatan2", "vasinh", "verf", "verfc")
JIT_FUNCTIONS = ("_clenshaw1", "_clenshaw2", "_clenshaw_erfc", "_erfc_positive") + PUBLIC_FUNCTIONS
