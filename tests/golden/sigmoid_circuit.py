import numpy as np


def value_and_grad(w0, x0, w1, x1, w2):
    """f = 1/(1 + exp(-(w0*x0 + w1*x1 + w2)))

    Returns f and its gradient (dw0, dx0, dw1, dx1, dw2)."""
    # forward
    t1 = w0*x0 + w1*x1 + w2
    t2 = np.exp(-t1)
    t3 = 1 + t2
    f = 1/t3
    # backward
    df = 1.0                              # seed: df/df = 1
    # f = 1/t3
    dt3 = -f/t3*df                        # div: -f/t3
    # t3 = 1 + t2
    dt2 = dt3
    # t2 = np.exp(-t1)
    dt1 = -t2*dt2                         # exp: -t2
    # t1 = w0*x0 + w1*x1 + w2
    dw0 = x0*dt1                          # mul: x0
    dx0 = w0*dt1                          # mul: w0
    dw1 = x1*dt1                          # mul: x1
    dx1 = w1*dt1                          # mul: w1
    dw2 = dt1
    return f, dw0, dx0, dw1, dx1, dw2
