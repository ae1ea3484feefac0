import numpy as np


def sigmoid(x):
    """Logistic function, stable for large |x|: one exp of a non-positive number.
    (symdiff's kernels run codegen.vmath.vsigmoid: this function, one division.)"""
    z = np.exp(-abs(x))
    return (1.0 if x >= 0.0 else z)/(1.0 + z)


def value_and_grad(a, x, b, y, c):
    """q = a*x + b*y + c
    f = sigmoid(q)

    Returns f, its gradient (da, dx, db, dy, dc) and its Hessian's entries d2f_da_db for a up to b in wrt order (15: each symmetric pair once)."""
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
    # local derivatives of the forward lines, shared below
    df_dq = f*(1 - f)                     # sigmoid: y*(1 - y)
    # second order: d/da of every line above that depends on a
    df_da = df_dq*x                       # chain rule, sigmoid: y*(1 - y)
    d2f_dq_da = (1 - f)*df_da - f*df_da   # product rule
    d2f_da_da = x*d2f_dq_da               # product rule
    # second order: d/dx of every line above that depends on x
    df_dx = df_dq*a                       # chain rule, sigmoid: y*(1 - y)
    d2f_dq_dx = (1 - f)*df_dx - f*df_dx   # product rule
    d2f_da_dx = dq + x*d2f_dq_dx          # product rule
    d2f_dx_dx = a*d2f_dq_dx               # product rule
    # second order: d/db of every line above that depends on b
    df_db = df_dq*y                       # chain rule, sigmoid: y*(1 - y)
    d2f_dq_db = (1 - f)*df_db - f*df_db   # product rule
    d2f_da_db = x*d2f_dq_db               # product rule
    d2f_dx_db = a*d2f_dq_db               # product rule
    d2f_db_db = y*d2f_dq_db               # product rule
    # second order: d/dy of every line above that depends on y
    df_dy = df_dq*b                       # chain rule, sigmoid: y*(1 - y)
    d2f_dq_dy = (1 - f)*df_dy - f*df_dy   # product rule
    d2f_da_dy = x*d2f_dq_dy               # product rule
    d2f_dx_dy = a*d2f_dq_dy               # product rule
    d2f_db_dy = dq + y*d2f_dq_dy          # product rule
    d2f_dy_dy = b*d2f_dq_dy               # product rule
    # second order: d/dc of every line above that depends on c
    d2f_dq_dc = (1 - f)*df_dq - f*df_dq   # product rule
    d2f_da_dc = x*d2f_dq_dc               # product rule
    d2f_dx_dc = a*d2f_dq_dc               # product rule
    d2f_db_dc = y*d2f_dq_dc               # product rule
    d2f_dy_dc = b*d2f_dq_dc               # product rule
    d2f_dc_dc = d2f_dq_dc                 # the same value
    return f, da, dx, db, dy, dc, d2f_da_da, d2f_da_dx, d2f_dx_dx, d2f_da_db, d2f_dx_db, d2f_db_db, d2f_da_dy, d2f_dx_dy, d2f_db_dy, d2f_dy_dy, d2f_da_dc, d2f_dx_dc, d2f_db_dc, d2f_dy_dc, d2f_dc_dc
