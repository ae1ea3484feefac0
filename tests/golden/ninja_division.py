import numpy as np


def value_and_grad(a, b, c, d):
    """x = (a + b)/(c + d)

    Returns x and its gradient (da, db, dc, dd)."""
    # forward
    t1 = a + b
    t2 = c + d
    x = t1/t2
    # backward
    dx = 1.0                              # seed: dx/dx = 1
    # x = t1/t2
    dt1 = dx/t2                           # div: 1.0/t2
    dt2 = -x/t2*dx                        # div: -x/t2
    # t2 = c + d
    dc = dt2
    dd = dt2
    # t1 = a + b
    da = dt1
    db = dt1
    return x, da, db, dc, dd
