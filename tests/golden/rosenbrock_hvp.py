import numpy as np


def value_and_grad(x, y, x_dot, y_dot):
    """f = (1 - x)**2 + 100*(y - x**2)**2

    Returns f, its gradient (dx, dy) and the Hessian times (x_dot, y_dot): (dx_dot, dy_dot)."""
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
    # along the vector (x_dot, y_dot): d/dt of every line above
    t2_dot = y_dot - 2*x*x_dot            # sum rule
    dt1_dot = -2*x_dot                    # product rule
    dt2_dot = 200.0*t2_dot                # product rule
    dx_dot = -(dt2*2*x_dot + 2*x*dt2_dot)  # sum rule
    dx_dot -= dt1_dot                     # sum rule
    dy_dot = dt2_dot                      # the same value
    return f, dx, dy, dx_dot, dy_dot
