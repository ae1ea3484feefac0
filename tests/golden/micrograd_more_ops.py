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
    t1 = relu(c)
    d_2 = d + (d*2 + t1)
    t2 = b - a
    t3 = relu(t2)
    d_3 = d_2 + (3*d_2 + t3)
    e = c_3 - d_3
    f = e**2
    g = f/2.0
    t4 = 10.0/f
    g_2 = g + t4
    # backward
    dg_2 = 1.0                            # seed: dg_2/dg_2 = 1
    # g_2 = g + t4
    dg = dg_2                             # add: gradient passes through
    dt4 = dg_2                            # add: gradient passes through
    # t4 = 10.0/f
    df = -t4/f*dt4                        # div: d(a/b)/db = -y/b
    # g = f/2.0
    df += dg/2.0                          # div: d(a/b)/da = 1/b
    # f = e**2
    de = 2*e*df                           # pow: d(a**b)/da = b*a**(b-1)
    # e = c_3 - d_3
    dc_3 = de                             # sub: gradient passes through
    dd_3 = -de                            # sub: minus the gradient
    # d_3 = d_2 + (3*d_2 + t3)
    dd_2 = dd_3                           # add: gradient passes through
    dd_2 += 3*dd_3                        # mul: times the other factor
    dt3 = dd_3                            # add: gradient passes through
    # t3 = relu(t2)
    dt2 = (dt3 if t2 > 0 else 0.0)        # relu: 1 if x > 0 else 0
    # t2 = b - a
    db = dt2                              # sub: gradient passes through
    da = -dt2                             # sub: minus the gradient
    # d_2 = d + (d*2 + t1)
    dd = dd_2                             # add: gradient passes through
    dd += 2*dd_2                          # mul: times the other factor
    dt1 = dd_2                            # add: gradient passes through
    # t1 = relu(c)
    dc = (dt1 if c > 0 else 0.0)          # relu: 1 if x > 0 else 0
    # c_3 = c_2 + (1 + c_2 - a)
    dc_2 = dc_3                           # add: gradient passes through
    dc_2 += dc_3                          # add: gradient passes through
    da += -dc_3                           # neg: -gradient
    # c_2 = c + (c + 1)
    dc += dc_2                            # add: gradient passes through
    dc += dc_2                            # add: gradient passes through
    # d = a*b + b**3
    da += b*dd                            # mul: times the other factor
    db += a*dd                            # mul: times the other factor
    db += 3*b**2*dd                       # pow: d(a**b)/da = b*a**(b-1)
    # c = a + b
    da += dc                              # add: gradient passes through
    db += dc                              # add: gradient passes through
    return g_2, da, db
