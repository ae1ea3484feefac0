import numpy as np


def value_and_grad(w0, x0, w1, x1, w2):
    """f = 1/(1 + exp(-(w0*x0 + w1*x1 + w2)))

    Returns f and its gradient (dw0, dx0, dw1, dx1, dw2)."""
    # forward
    t1 = w0*x0 + w1*x1 + w2
    t2 = -t1
    t3 = np.exp(t2)
    t4 = 1 + t3
    f = 1/t4
    # backward
    df = 1.0                              # seed: df/df = 1
    # f = 1/t4
    dt4 = -f/t4*df                        # div: d(a/b)/db = -y/b
    # t4 = 1 + t3
    dt3 = dt4                             # add: gradient passes through
    # t3 = np.exp(t2)
    dt2 = t3*dt3                          # exp: y
    # t2 = -t1
    dt1 = -dt2                            # neg: -gradient
    # t1 = w0*x0 + w1*x1 + w2
    dw0 = x0*dt1                          # mul: times the other factor
    dx0 = w0*dt1                          # mul: times the other factor
    dw1 = x1*dt1                          # mul: times the other factor
    dx1 = w1*dt1                          # mul: times the other factor
    dw2 = dt1                             # add: gradient passes through
    return f, dw0, dx0, dw1, dx1, dw2
