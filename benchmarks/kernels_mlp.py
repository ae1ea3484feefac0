"""Hand-written Numba training loops for the MLP benchmarks.

Every kernel runs the WHOLE training run in one njit call and returns the
loss trajectory (``losses[k]`` = loss at the parameters before update ``k``)
plus the final parameters.  Weights are ``W[out, in]``, biases ``b[out]``;
parameters are updated on copies, the caller's arrays are left alone.

Two layouts:
* per-sample: one sample at a time through small dense helpers (what a
  scalar-per-sample code generator produces);
* batched, samples innermost: activations are ``Z[unit, sample]`` so the
  innermost loop runs over contiguous samples and vectorizes.
"""

import math

import numpy as np
from numba import njit

JIT = dict(error_model="numpy", cache=False)
# Weight gradients are sums over samples; letting LLVM reassociate that sum is
# what allows it to vectorize it (changes rounding at the 1e-16 level only).
JIT_REDUCE = dict(error_model="numpy", cache=False, fastmath={"reassoc"})


# --- per-sample dense layer helpers ------------------------------------------------
@njit(**JIT)
def _dense(W, b, x, z):
    """z = W x + b"""
    for j in range(W.shape[0]):
        acc = b[j]
        for i in range(W.shape[1]):
            acc += W[j, i] * x[i]
        z[j] = acc


@njit(**JIT)
def _dense_back(W, x, dz, gW, gb, dx):
    """gW += dz x^T, gb += dz, dx = W^T dz (dx may have length 0: not needed)."""
    for i in range(dx.shape[0]):
        dx[i] = 0.0
    for j in range(W.shape[0]):
        d = dz[j]
        gb[j] += d
        for i in range(W.shape[1]):
            gW[j, i] += d * x[i]
        if dx.shape[0]:
            for i in range(W.shape[1]):
                dx[i] += W[j, i] * d


@njit(**JIT)
def _sgd(p, g, lr, decay):
    """p -= lr * (g + decay * p), for a 1-d or 2-d parameter (via a flat view)."""
    pf = p.reshape(-1)
    gf = g.reshape(-1)
    for i in range(pf.shape[0]):
        pf[i] -= lr * (gf[i] + decay * pf[i])


@njit(**JIT)
def _sum_sq(p):
    s = 0.0
    pf = p.reshape(-1)
    for i in range(pf.shape[0]):
        s += pf[i] * pf[i]
    return s


# --- lecture MLP(3, [4, 4, 1]), tanh on every layer, sum of squared errors ---------
@njit(**JIT)
def lecture_train(W1, b1, W2, b2, W3, b3, X, Y, lr, steps):
    W1, b1, W2, b2, W3, b3 = W1.copy(), b1.copy(), W2.copy(), b2.copy(), W3.copy(), b3.copy()
    gW1, gb1, gW2, gb2 = np.empty_like(W1), np.empty_like(b1), np.empty_like(W2), np.empty_like(b2)
    gW3, gb3 = np.empty_like(W3), np.empty_like(b3)
    h1, h2, out = np.empty(b1.shape[0]), np.empty(b2.shape[0]), np.empty(b3.shape[0])
    d1, d2, d3 = np.empty_like(h1), np.empty_like(h2), np.empty_like(out)
    no_dx = np.empty(0)
    losses = np.empty(steps)
    for k in range(steps):
        for g in (gW1, gW2, gW3):
            g[:] = 0.0
        for g in (gb1, gb2, gb3):
            g[:] = 0.0
        loss = 0.0
        for s in range(X.shape[0]):
            _dense(W1, b1, X[s], h1)
            for j in range(h1.shape[0]):
                h1[j] = math.tanh(h1[j])
            _dense(W2, b2, h1, h2)
            for j in range(h2.shape[0]):
                h2[j] = math.tanh(h2[j])
            _dense(W3, b3, h2, out)
            for j in range(out.shape[0]):
                out[j] = math.tanh(out[j])
                r = out[j] - Y[s]
                loss += r * r
                d3[j] = 2.0 * r * (1.0 - out[j] * out[j])
            _dense_back(W3, h2, d3, gW3, gb3, d2)
            for j in range(h2.shape[0]):
                d2[j] *= 1.0 - h2[j] * h2[j]
            _dense_back(W2, h1, d2, gW2, gb2, d1)
            for j in range(h1.shape[0]):
                d1[j] *= 1.0 - h1[j] * h1[j]
            _dense_back(W1, X[s], d1, gW1, gb1, no_dx)
        losses[k] = loss
        _sgd(W1, gW1, lr, 0.0)
        _sgd(b1, gb1, lr, 0.0)
        _sgd(W2, gW2, lr, 0.0)
        _sgd(b2, gb2, lr, 0.0)
        _sgd(W3, gW3, lr, 0.0)
        _sgd(b3, gb3, lr, 0.0)
    return losses, (W1, b1, W2, b2, W3, b3)


# --- moons MLP(2, [16, 16, 1]): relu, relu, linear; hinge + L2 --------------------
@njit(**JIT)
def moons_train_per_sample(W1, b1, W2, b2, W3, b3, X, Y, reg, steps):
    W1, b1, W2, b2, W3, b3 = W1.copy(), b1.copy(), W2.copy(), b2.copy(), W3.copy(), b3.copy()
    gW1, gb1, gW2, gb2 = np.empty_like(W1), np.empty_like(b1), np.empty_like(W2), np.empty_like(b2)
    gW3, gb3 = np.empty_like(W3), np.empty_like(b3)
    h1, h2, out = np.empty(b1.shape[0]), np.empty(b2.shape[0]), np.empty(b3.shape[0])
    d1, d2, d3 = np.empty_like(h1), np.empty_like(h2), np.empty_like(out)
    no_dx = np.empty(0)
    n = X.shape[0]
    losses = np.empty(steps)
    for k in range(steps):
        for g in (gW1, gW2, gW3):
            g[:] = 0.0
        for g in (gb1, gb2, gb3):
            g[:] = 0.0
        loss = 0.0
        for s in range(n):
            _dense(W1, b1, X[s], h1)
            for j in range(h1.shape[0]):
                h1[j] = max(h1[j], 0.0)
            _dense(W2, b2, h1, h2)
            for j in range(h2.shape[0]):
                h2[j] = max(h2[j], 0.0)
            _dense(W3, b3, h2, out)
            margin = 1.0 - Y[s] * out[0]
            if margin > 0.0:
                loss += margin
                d3[0] = -Y[s] / n
            else:
                d3[0] = 0.0
            _dense_back(W3, h2, d3, gW3, gb3, d2)
            for j in range(h2.shape[0]):
                if h2[j] <= 0.0:
                    d2[j] = 0.0
            _dense_back(W2, h1, d2, gW2, gb2, d1)
            for j in range(h1.shape[0]):
                if h1[j] <= 0.0:
                    d1[j] = 0.0
            _dense_back(W1, X[s], d1, gW1, gb1, no_dx)
        sq = (_sum_sq(W1) + _sum_sq(b1) + _sum_sq(W2) + _sum_sq(b2)
              + _sum_sq(W3) + _sum_sq(b3))
        losses[k] = loss / n + reg * sq
        lr = 1.0 - 0.9 * k / 100
        for p, g in ((W1, gW1), (W2, gW2), (W3, gW3)):
            _sgd(p, g, lr, 2.0 * reg)
        for p, g in ((b1, gb1), (b2, gb2), (b3, gb3)):
            _sgd(p, g, lr, 2.0 * reg)
    return losses, (W1, b1, W2, b2, W3, b3)


# --- batched dense layer helpers: Z[unit, sample], samples innermost ---------------
@njit(**JIT)
def _dense_cols(W, b, XT, Z):
    """Z[j, s] = b[j] + sum_i W[j, i] * XT[i, s]"""
    for j in range(W.shape[0]):
        for s in range(XT.shape[1]):
            Z[j, s] = b[j]
        for i in range(W.shape[1]):
            w = W[j, i]
            for s in range(XT.shape[1]):
                Z[j, s] += w * XT[i, s]


@njit(**JIT_REDUCE)
def _dense_cols_grads(XT, dZ, gW, gb):
    """gW[j, i] = sum_s dZ[j, s] * XT[i, s], gb[j] = sum_s dZ[j, s] (overwrite)."""
    for j in range(dZ.shape[0]):
        acc = 0.0
        for s in range(dZ.shape[1]):
            acc += dZ[j, s]
        gb[j] = acc
        for i in range(XT.shape[0]):
            acc = 0.0
            for s in range(dZ.shape[1]):
                acc += dZ[j, s] * XT[i, s]
            gW[j, i] = acc


@njit(**JIT)
def _dense_cols_dx(W, dZ, dXT):
    """dXT[i, s] = sum_j W[j, i] * dZ[j, s]"""
    dXT[:, :] = 0.0
    for j in range(W.shape[0]):
        for i in range(W.shape[1]):
            w = W[j, i]
            for s in range(dZ.shape[1]):
                dXT[i, s] += w * dZ[j, s]


@njit(**JIT)
def moons_train_batched(W1, b1, W2, b2, W3, b3, XT, Y, reg, steps):
    W1, b1, W2, b2, W3, b3 = W1.copy(), b1.copy(), W2.copy(), b2.copy(), W3.copy(), b3.copy()
    gW1, gb1, gW2, gb2 = np.empty_like(W1), np.empty_like(b1), np.empty_like(W2), np.empty_like(b2)
    gW3, gb3 = np.empty_like(W3), np.empty_like(b3)
    n = XT.shape[1]
    H1, H2 = np.empty((b1.shape[0], n)), np.empty((b2.shape[0], n))
    S = np.empty((1, n))
    D1, D2, D3 = np.empty_like(H1), np.empty_like(H2), np.empty_like(S)
    losses = np.empty(steps)
    for k in range(steps):
        _dense_cols(W1, b1, XT, H1)
        H1[:, :] = np.maximum(H1, 0.0)
        _dense_cols(W2, b2, H1, H2)
        H2[:, :] = np.maximum(H2, 0.0)
        _dense_cols(W3, b3, H2, S)
        loss = 0.0
        for s in range(n):
            margin = 1.0 - Y[s] * S[0, s]
            if margin > 0.0:
                loss += margin
                D3[0, s] = -Y[s] / n
            else:
                D3[0, s] = 0.0
        _dense_cols_grads(H2, D3, gW3, gb3)
        _dense_cols_dx(W3, D3, D2)
        for j in range(D2.shape[0]):
            for s in range(n):
                if H2[j, s] <= 0.0:
                    D2[j, s] = 0.0
        _dense_cols_grads(H1, D2, gW2, gb2)
        _dense_cols_dx(W2, D2, D1)
        for j in range(D1.shape[0]):
            for s in range(n):
                if H1[j, s] <= 0.0:
                    D1[j, s] = 0.0
        _dense_cols_grads(XT, D1, gW1, gb1)
        sq = (_sum_sq(W1) + _sum_sq(b1) + _sum_sq(W2) + _sum_sq(b2)
              + _sum_sq(W3) + _sum_sq(b3))
        losses[k] = loss / n + reg * sq
        lr = 1.0 - 0.9 * k / 100
        for p, g in ((W1, gW1), (W2, gW2), (W3, gW3)):
            _sgd(p, g, lr, 2.0 * reg)
        for p, g in ((b1, gb1), (b2, gb2), (b3, gb3)):
            _sgd(p, g, lr, 2.0 * reg)
    return losses, (W1, b1, W2, b2, W3, b3)


# --- MLP(784, [128, 10]): relu hidden, softmax cross-entropy, minibatch SGD --------
@njit(**JIT)
def _softmax_xent_cols(Z, labels, D):
    """Mean cross-entropy of logits Z[class, s]; D = d loss / d Z. Returns loss."""
    nc, n = Z.shape
    loss = 0.0
    for s in range(n):
        m = Z[0, s]
        for c in range(1, nc):
            m = max(m, Z[c, s])
        tot = 0.0
        for c in range(nc):
            D[c, s] = math.exp(Z[c, s] - m)
            tot += D[c, s]
        loss += math.log(tot) + m - Z[labels[s], s]
        for c in range(nc):
            D[c, s] /= tot * n
        D[labels[s], s] -= 1.0 / n
    return loss / n


@njit(**JIT)
def xent_train_loops(W1, b1, W2, b2, XTb, Lb, lr, steps):
    """XTb[batch, feature, sample]; Lb[batch, sample] integer labels."""
    W1, b1, W2, b2 = W1.copy(), b1.copy(), W2.copy(), b2.copy()
    gW1, gb1, gW2, gb2 = np.empty_like(W1), np.empty_like(b1), np.empty_like(W2), np.empty_like(b2)
    n = XTb.shape[2]
    H, Z = np.empty((b1.shape[0], n)), np.empty((b2.shape[0], n))
    DH, DZ = np.empty_like(H), np.empty_like(Z)
    losses = np.empty(steps)
    for k in range(steps):
        XT = XTb[k % XTb.shape[0]]
        labels = Lb[k % Lb.shape[0]]
        _dense_cols(W1, b1, XT, H)
        H[:, :] = np.maximum(H, 0.0)
        _dense_cols(W2, b2, H, Z)
        losses[k] = _softmax_xent_cols(Z, labels, DZ)
        _dense_cols_grads(H, DZ, gW2, gb2)
        _dense_cols_dx(W2, DZ, DH)
        for j in range(DH.shape[0]):
            for s in range(n):
                if H[j, s] <= 0.0:
                    DH[j, s] = 0.0
        _dense_cols_grads(XT, DH, gW1, gb1)
        _sgd(W1, gW1, lr, 0.0)
        _sgd(b1, gb1, lr, 0.0)
        _sgd(W2, gW2, lr, 0.0)
        _sgd(b2, gb2, lr, 0.0)
    return losses, (W1, b1, W2, b2)


@njit(**JIT)
def xent_train_blas(W1, b1, W2, b2, XTb, Lb, lr, steps):
    """Same as xent_train_loops with the three products done by np.dot (BLAS)."""
    W1, b1, W2, b2 = W1.copy(), b1.copy(), W2.copy(), b2.copy()
    n = XTb.shape[2]
    DZ = np.empty((b2.shape[0], n))
    losses = np.empty(steps)
    for k in range(steps):
        XT = XTb[k % XTb.shape[0]]
        labels = Lb[k % Lb.shape[0]]
        H = np.maximum(np.dot(W1, XT) + b1.reshape(-1, 1), 0.0)
        Z = np.dot(W2, H) + b2.reshape(-1, 1)
        losses[k] = _softmax_xent_cols(Z, labels, DZ)
        gW2 = np.dot(DZ, H.T)
        gb2 = DZ.sum(axis=1)
        DH = np.dot(W2.T, DZ) * (H > 0.0)
        gW1 = np.dot(DH, XT.T)
        gb1 = DH.sum(axis=1)
        W1 -= lr * gW1
        b1 -= lr * gb1
        W2 -= lr * gW2
        b2 -= lr * gb2
    return losses, (W1, b1, W2, b2)
