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

    Returns g (g_2 below), its gradient (da, db) and its Hessian's entries d2g_da_db for a up to b in wrt order (3: each symmetric pair once)."""
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
    # second order: d/da of every line above that depends on a
    dt1_da = (1.0 if t1 > 0 else 0.0)     # chain rule, relu: 1 if y > 0 else 0
    dd_2_da = b + (2*b + dt1_da)          # sum rule
    dt2_da = (-1.0 if t2 > 0 else 0.0)    # chain rule, relu: 1 if y > 0 else 0
    dd_3_da = dd_2_da + (3*dd_2_da + dt2_da)  # sum rule
    de_da = 3.0 - dd_3_da                 # sum rule
    df_da = 2*e*de_da                     # power rule
    dt3_da = -t3/f*df_da                  # quotient rule
    d2g_df_da = -dt3*(dt3_da/f - t3/f/f*df_da)  # sum rule
    d2g_de_da = df*2*de_da + 2*e*d2g_df_da  # product rule
    d2g_dd_2_da = -d2g_de_da - 3*d2g_de_da  # sum rule
    d2g_da_da = -(-d2g_de_da if t2 > 0 else 0.0)  # sum rule
    d2g_dd_da = d2g_dd_2_da + 2*d2g_dd_2_da  # sum rule
    d2g_da_da += (d2g_dd_2_da if t1 > 0 else 0.0)  # same branch as the line it differentiates
    d2g_dc_2_da = d2g_de_da + d2g_de_da   # sum rule
    d2g_da_da -= d2g_de_da                # sum rule
    d2g_dc_da = d2g_dc_2_da + d2g_dc_2_da  # sum rule
    d2g_da_da += b*d2g_dd_da              # product rule
    d2g_da_da += d2g_dc_da                # paths join: add this path
    # second order: d/db of every line above that depends on b
    dd_db = a + 3*b**2                    # sum rule
    dd_2_db = dd_db + (2*dd_db + dt1_da)  # sum rule
    dt2_db = (1.0 if t2 > 0 else 0.0)     # chain rule, relu: 1 if y > 0 else 0
    dd_3_db = dd_2_db + (3*dd_2_db + dt2_db)  # sum rule
    de_db = 4.0 - dd_3_db                 # sum rule
    df_db = 2*e*de_db                     # power rule
    dt3_db = -t3/f*df_db                  # quotient rule
    d2g_df_db = -dt3*(dt3_db/f - t3/f/f*df_db)  # sum rule
    d2g_de_db = df*2*de_db + 2*e*d2g_df_db  # product rule
    d2g_dd_2_db = -d2g_de_db - 3*d2g_de_db  # sum rule
    d2g_db_db = (-d2g_de_db if t2 > 0 else 0.0)  # same branch as the line it differentiates
    d2g_da_db = -(-d2g_de_db if t2 > 0 else 0.0)  # sum rule
    d2g_dd_db = d2g_dd_2_db + 2*d2g_dd_2_db  # sum rule
    d2g_db_db += (d2g_dd_2_db if t1 > 0 else 0.0)  # same branch as the line it differentiates
    d2g_da_db += (d2g_dd_2_db if t1 > 0 else 0.0)  # same branch as the line it differentiates
    d2g_dc_2_db = d2g_de_db + d2g_de_db   # sum rule
    d2g_da_db -= d2g_de_db                # sum rule
    d2g_dc_db = d2g_dc_2_db + d2g_dc_2_db  # sum rule
    d2g_da_db += dd + b*d2g_dd_db         # product rule
    d2g_db_db += a*d2g_dd_db              # product rule
    d2g_db_db += dd*3*2*b + 3*b**2*d2g_dd_db  # product rule
    d2g_da_db += d2g_dc_db                # paths join: add this path
    d2g_db_db += d2g_dc_db                # paths join: add this path
    return g_2, da, db, d2g_da_da, d2g_da_db, d2g_db_db
