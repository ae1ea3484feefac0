"""Hand-written Numba kernels for the three benchmark formulas.

Each formula has a forward-only kernel (value) and a fused kernel (one loop
computing the value and every per-point gradient).  Scalar parameters get a
per-point gradient array like the arrays do, matching what
``jax.vmap(jax.value_and_grad(...))`` and SymPy's lambdified derivatives give.

Outputs are allocated by numpy in a thin Python wrapper and passed in, not
with ``np.empty`` inside the jitted code: numpy madvises large arrays onto
transparent huge pages, Numba's allocator does not, and on this VM the 4 KiB
first-touch page faults of six fresh 8 MB arrays cost ~25 ms -- four times
the arithmetic of the neuron kernel.
The reverse sweep is written out by hand; ``bench_formulas.check_hand_kernels``
checks it against central finite differences of the forward kernel.
"""

import math

import numpy as np
from numba import njit, prange

JIT = dict(error_model="numpy", cache=False)


def _outputs(k, like):
    return tuple(np.empty(like.shape) for _ in range(k))


# --- neuron: sigmoid(a*x + b*y + c) ------------------------------------------
@njit(**JIT)
def _neuron_forward(a, b, c, x, y, v):
    for i in range(x.shape[0]):
        v[i] = 1.0 / (1.0 + math.exp(-(a * x[i] + b * y[i] + c)))


@njit(**JIT)
def _neuron_fused(a, b, c, x, y, v, ga, gb, gc, gx, gy):
    for i in range(x.shape[0]):
        s = 1.0 / (1.0 + math.exp(-(a * x[i] + b * y[i] + c)))
        dz = s * (1.0 - s)           # d sigmoid / dz
        v[i] = s
        ga[i] = dz * x[i]
        gb[i] = dz * y[i]
        gc[i] = dz
        gx[i] = dz * a
        gy[i] = dz * b


@njit(parallel=True, **JIT)
def _neuron_fused_parallel(a, b, c, x, y, v, ga, gb, gc, gx, gy):
    """Same as _neuron_fused with prange: reference for the two-thread run."""
    for i in prange(x.shape[0]):
        s = 1.0 / (1.0 + math.exp(-(a * x[i] + b * y[i] + c)))
        dz = s * (1.0 - s)
        v[i] = s
        ga[i] = dz * x[i]
        gb[i] = dz * y[i]
        gc[i] = dz
        gx[i] = dz * a
        gy[i] = dz * b


def neuron_forward(a, b, c, x, y):
    (v,) = out = _outputs(1, x)
    _neuron_forward(a, b, c, x, y, *out)
    return v


def neuron_fused(a, b, c, x, y):
    out = _outputs(6, x)
    _neuron_fused(a, b, c, x, y, *out)
    return out


def neuron_fused_parallel(a, b, c, x, y):
    out = _outputs(6, x)
    _neuron_fused_parallel(a, b, c, x, y, *out)
    return out


# --- micrograd's test expression -----------------------------------------------
#   c = a + b; d = a*b + b**3; c += c + 1; c += 1 + c + (-a)
#   d += d*2 + relu(b + a); d += 3*d + relu(b - a)
#   e = c - d; f = e**2; g = f/2.0; g += 10.0/f
@njit(**JIT)
def _micrograd_forward(a, b, g):
    for i in range(a.shape[0]):
        ai = a[i]
        bi = b[i]
        c = ai + bi
        d = ai * bi + bi * bi * bi
        c = c + (c + 1.0)
        c = c + (1.0 + c - ai)
        d = d + (d * 2.0 + max(bi + ai, 0.0))
        d = d + (3.0 * d + max(bi - ai, 0.0))
        e = c - d
        f = e * e
        g[i] = f / 2.0 + 10.0 / f


@njit(**JIT)
def _micrograd_fused(a, b, g, ga, gb):
    for i in range(a.shape[0]):
        ai = a[i]
        bi = b[i]
        # forward
        c0 = ai + bi
        d0 = ai * bi + bi * bi * bi
        c1 = c0 + (c0 + 1.0)
        c2 = c1 + (1.0 + c1 - ai)
        d1 = d0 + (d0 * 2.0 + max(bi + ai, 0.0))
        d2 = d1 + (3.0 * d1 + max(bi - ai, 0.0))
        e = c2 - d2
        f = e * e
        g[i] = f / 2.0 + 10.0 / f
        # reverse
        f_ = 0.5 - 10.0 / (f * f)
        e_ = 2.0 * e * f_
        c2_ = e_
        d2_ = -e_
        d1_ = 4.0 * d2_                                  # d2 = 4*d1 + relu(b - a)
        r2 = d2_ if bi - ai > 0.0 else 0.0
        d0_ = 3.0 * d1_                                  # d1 = 3*d0 + relu(b + a)
        r1 = d1_ if bi + ai > 0.0 else 0.0
        c1_ = 2.0 * c2_                                  # c2 = 2*c1 + 1 - a
        c0_ = 2.0 * c1_                                  # c1 = 2*c0 + 1
        ga[i] = c0_ + d0_ * bi + r1 - r2 - c2_
        gb[i] = c0_ + d0_ * (ai + 3.0 * bi * bi) + r1 + r2


def micrograd_forward(a, b):
    (g,) = out = _outputs(1, a)
    _micrograd_forward(a, b, *out)
    return g


def micrograd_fused(a, b):
    out = _outputs(3, a)
    _micrograd_fused(a, b, *out)
    return out


# --- transcendental mix: log(1 + exp(sin(x*y) + cos(x)/(1 + y*y)))*tanh(x - y) ---
@njit(**JIT)
def _transcendental_forward(x, y, v):
    for i in range(x.shape[0]):
        xi = x[i]
        yi = y[i]
        u = math.sin(xi * yi) + math.cos(xi) / (1.0 + yi * yi)
        v[i] = math.log(1.0 + math.exp(u)) * math.tanh(xi - yi)


@njit(**JIT)
def _transcendental_fused(x, y, v, gx, gy):
    for i in range(x.shape[0]):
        xi = x[i]
        yi = y[i]
        q = 1.0 + yi * yi
        xy = xi * yi
        cx = math.cos(xi)
        u = math.sin(xy) + cx / q
        eu = math.exp(u)
        sp = math.log(1.0 + eu)
        t = math.tanh(xi - yi)
        v[i] = sp * t
        u_ = t * eu / (1.0 + eu)          # dv/du = tanh * sigmoid(u)
        d_ = sp * (1.0 - t * t)           # dv/d(x - y)
        cxy = math.cos(xy)
        gx[i] = u_ * (cxy * yi - math.sin(xi) / q) + d_
        gy[i] = u_ * (cxy * xi - 2.0 * yi * cx / (q * q)) - d_


def transcendental_forward(x, y):
    (v,) = out = _outputs(1, x)
    _transcendental_forward(x, y, *out)
    return v


def transcendental_fused(x, y):
    out = _outputs(3, x)
    _transcendental_fused(x, y, *out)
    return out


# --- special functions: atan(x*y) + erf(x - y)*log1p(x*x) + asinh(y), with libm's ------
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@njit(**JIT)
def _special_forward(x, y, v):
    for i in range(x.shape[0]):
        xi = x[i]
        yi = y[i]
        v[i] = math.atan(xi * yi) + math.erf(xi - yi) * math.log1p(xi * xi) + math.asinh(yi)


@njit(**JIT)
def _special_fused(x, y, v, gx, gy):
    for i in range(x.shape[0]):
        xi = x[i]
        yi = y[i]
        xy = xi * yi
        d = xi - yi
        e = math.erf(d)
        l1 = math.log1p(xi * xi)
        v[i] = math.atan(xy) + e * l1 + math.asinh(yi)
        a_ = 1.0 / (1.0 + xy * xy)                    # atan'(x*y)
        e_ = TWO_OVER_SQRT_PI * math.exp(-d * d) * l1  # erf'(x - y)*log1p(x*x)
        gx[i] = a_ * yi + e_ + e * 2.0 * xi / (1.0 + xi * xi)
        gy[i] = a_ * xi - e_ + 1.0 / math.sqrt(1.0 + yi * yi)


def special_forward(x, y):
    (v,) = out = _outputs(1, x)
    _special_forward(x, y, *out)
    return v


def special_fused(x, y):
    out = _outputs(3, x)
    _special_fused(x, y, *out)
    return out


# --- a sum of sines: sin(1*x + y)*w1 + ... + sin(K*x + y)*wK, w_k = k % 7 + 1 ----------
# (big enough that symdiff runs it on its tape, codegen/tape.py)
SINE_TERMS = 100


@njit(**JIT)
def _sines_forward(x, y, v):
    for i in range(x.shape[0]):
        s = 0.0
        for k in range(1, SINE_TERMS + 1):
            s += math.sin(k * x[i] + y[i]) * (k % 7 + 1)
        v[i] = s


@njit(**JIT)
def _sines_fused(x, y, v, gx, gy):
    for i in range(x.shape[0]):
        s = 0.0
        dx = 0.0
        dy = 0.0
        for k in range(1, SINE_TERMS + 1):
            arg = k * x[i] + y[i]
            w = k % 7 + 1
            s += math.sin(arg) * w
            c = math.cos(arg) * w        # d/darg, then the chain rule into x and y
            dx += c * k
            dy += c
        v[i] = s
        gx[i] = dx
        gy[i] = dy


def sines_forward(x, y):
    (v,) = out = _outputs(1, x)
    _sines_forward(x, y, *out)
    return v


def sines_fused(x, y):
    out = _outputs(3, x)
    _sines_fused(x, y, *out)
    return out
