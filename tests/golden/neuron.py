import numpy as np


def sigmoid(x):
    """Logistic function, stable for large |x|: one exp of a non-positive number.
    (symdiff's kernels run codegen.vmath.vsigmoid: this function, one division.)"""
    z = np.exp(-abs(x))
    return (1.0 if x >= 0.0 else z)/(1.0 + z)


def value_and_grad(a, x, b, y, c):
    """q = a*x + b*y + c
    f = sigmoid(q)

    Returns f and its gradient (da, dx, db, dy, dc)."""
    # forward
    q = a*x + b*y + c
    f = sigmoid(q)
    # backward
    df = 1.0                              # seed: df/df = 1
    # f = sigmoid(q)
    dq = f*(1 - f)*df                     # sigmoid: f*(1 - f)
    # q = a*x + b*y + c
    da = x*dq                             # mul: x
    dx = a*dq                             # mul: a
    db = y*dq                             # mul: y
    dy = b*dq                             # mul: b
    dc = dq
    return f, da, dx, db, dy, dc
