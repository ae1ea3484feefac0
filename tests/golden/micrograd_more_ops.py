import numpy as np


def relu(x):
    """max(x, 0); NaN stays NaN."""
    return 0.0 if x <= 0.0 else x


def value_and_grad(a, b):
    """c = a + b
    d = a*b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d*2 + relu(b + a)
    d += 3*d + relu(b - a)
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f

    Returns g (g_2 below) and its gradient (da, db)."""
    # forward
    c = a + b
    d = a*b + b**3
    c_2 = c + (c + 1)
    c_3 = c_2 + (1 + c_2 - a)
    t1 = relu(b + a)
    d_2 = d + (d*2 + t1)
    t2 = relu(b - a)
    d_3 = d_2 + (3*d_2 + t2)
    e = c_3 - d_3
    f = e**2
    g = f/2.0
    t3 = 10.0/f
    g_2 = g + t3
    # backward
    dg_2 = 1.0                            # seed: dg_2/dg_2 = 1
    # g_2 = g + t3
    dg = dg_2
    dt3 = dg_2
    # t3 = 10.0/f
    df = -t3/f*dt3                        # div: -t3/f
    # g = f/2.0
    df += dg/2.0                          # div: 1.0/2.0
    # f = e**2
    de = 2*e*df                           # pow: 2*e
    # e = c_3 - d_3
    dc_3 = de
    dd_3 = -de
    # d_3 = d_2 + (3*d_2 + t2)
    dd_2 = dd_3 + 3*dd_3                  # add, mul: 1.0 + 3
    dt2 = dd_3
    # t2 = relu(b - a)
    db = (dt2 if t2 > 0 else 0.0)         # relu: (1.0 if t2 > 0 else 0.0)
    da = -(dt2 if t2 > 0 else 0.0)        # relu: -(1.0 if t2 > 0 else 0.0)
    # d_2 = d + (d*2 + t1)
    dd = dd_2 + 2*dd_2                    # add, mul: 1.0 + 2
    dt1 = dd_2
    # t1 = relu(b + a)
    db += (dt1 if t1 > 0 else 0.0)        # relu: (1.0 if t1 > 0 else 0.0)
    da += (dt1 if t1 > 0 else 0.0)        # relu: (1.0 if t1 > 0 else 0.0)
    # c_3 = c_2 + (1 + c_2 - a)
    dc_2 = dc_3 + dc_3                    # add: 1.0 + 1.0
    da -= dc_3
    # c_2 = c + (c + 1)
    dc = dc_2 + dc_2                      # add: 1.0 + 1.0
    # d = a*b + b**3
    da += b*dd                            # mul: b
    db += a*dd                            # mul: a
    db += 3*b**2*dd                       # pow: 3*b**2
    # c = a + b
    da += dc
    db += dc
    return g_2, da, db
