import numpy as np


def value_and_grad(x, y):
    """f = (1 - x)**2 + 100*(y - x**2)**2

    Returns f, its gradient (dx, dy) and its Hessian's entries d2f_da_db for a up to b in wrt order (3: each symmetric pair once)."""
    # forward
    t1 = 1 - x
    t2 = y - x**2
    f = t1**2 + 100*t2**2
    # backward
    df = 1.0                              # seed: df/df = 1
    # f = t1**2 + 100*t2**2
    dt1 = 2*t1*df                         # pow: 2*t1
    dt2 = 2*t2*100*df                     # pow: 2*t2*100
    # t2 = y - x**2
    dy = dt2
    dx = -2*x*dt2                         # pow: -2*x
    # t1 = 1 - x
    dx -= dt1
    # second order: d/dx of every line above that depends on x
    dt2_dx = -2*x                         # sum rule
    d2f_dt2_dx = 200.0*dt2_dx             # product rule
    d2f_dx_dx = -(dt2*2 + 2*x*d2f_dt2_dx)  # sum rule
    d2f_dx_dx += 2                        # sum rule
    # second order: d/dy of every line above that depends on y
    d2f_dx_dy = -2*x*200.0                # sum rule
    d2f_dy_dy = 200.0                     # the same value
    return f, dx, dy, d2f_dx_dx, d2f_dx_dy, d2f_dy_dy
